package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/edgeagent/edgeagent/internal/label"
)

// The counts here are read from the counters table, which triggers keep in
// the same transaction as every change to the labels and serials
// (internal/store/migrations/0009_counters.sql): a handful of rows, however
// many labels the ledger holds. Counts of 0 are left out, as a count of the
// rows would leave them out.

// Queued counts the labels waiting, by printer.
func (l *Ledger) Queued(ctx context.Context) (map[string]int, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT k1, n FROM counters WHERE what = 'labels' AND k2 = 'queued' AND n != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// UnknownLabel is a label a person must look at.
type UnknownLabel struct {
	ID      int64      `json:"id"`
	Kind    label.Kind `json:"kind"`
	OrderID string     `json:"order_id"`
	GTIN    string     `json:"gtin"`
	Serial  string     `json:"serial"`
	Subject string     `json:"subject"`
	Printer string     `json:"printer"`
	Reason  string     `json:"reason"`
}

// UnknownLabels lists the labels whose outcome is unknown.
func (l *Ledger) UnknownLabels(ctx context.Context) ([]UnknownLabel, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, kind, COALESCE(order_id, ''), gtin, serial, subject, printer, reason FROM labels WHERE state = 'unknown' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UnknownLabel{}
	for rows.Next() {
		var u UnknownLabel
		if err := rows.Scan(&u.ID, &u.Kind, &u.OrderID, &u.GTIN, &u.Serial, &u.Subject, &u.Printer, &u.Reason); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// OrderCounts counts a label order's pack labels by state.
func (l *Ledger) OrderCounts(ctx context.Context, orderID string) (map[LabelState]int, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT k2, n FROM counters WHERE what = 'order_labels' AND k1 = ? AND n != 0`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[LabelState]int{}
	for rows.Next() {
		var s LabelState
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		counts[s] = n
	}
	return counts, rows.Err()
}

// OpenLabels counts an order's labels still on their way (queued or
// printing), inside tx: from the counters, which the triggers have moved
// with every label changed in tx so far.
func OpenLabels(tx *sql.Tx, orderID string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM counters WHERE what = 'order_labels' AND k1 = ? AND k2 IN ('queued', 'printing')`, orderID).Scan(&n)
	return n, err
}

// Available counts a product's available serials inside tx.
func Available(tx *sql.Tx, gtin string) (int, error) {
	var n int
	err := tx.QueryRow(availableSQL, gtin).Scan(&n)
	return n, err
}

const availableSQL = `SELECT COALESCE(SUM(n), 0) FROM counters WHERE what = 'serials' AND k1 = ? AND k2 = 'available'`

// PrintedSerials lists the serials of an order's printed labels.
func (l *Ledger) PrintedSerials(ctx context.Context, orderID string) ([]string, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT serial FROM labels WHERE order_id = ? AND state = 'printed' ORDER BY id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LabelView is one label, for the printers page.
type LabelView struct {
	ID      int64      `json:"id"`
	Kind    label.Kind `json:"kind"`
	OrderID string     `json:"order_id"`
	Serial  string     `json:"serial"`
	Subject string     `json:"subject"`
	Printer string     `json:"printer"`
	State   LabelState `json:"state"`
	At      time.Time  `json:"at"`
}

// RecentLabels lists the last labels handled.
func (l *Ledger) RecentLabels(ctx context.Context, n int) ([]LabelView, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, kind, COALESCE(order_id, ''), serial, subject, printer, state, updated_at FROM labels ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LabelView
	for rows.Next() {
		var v LabelView
		var at int64
		if err := rows.Scan(&v.ID, &v.Kind, &v.OrderID, &v.Serial, &v.Subject, &v.Printer, &v.State, &at); err != nil {
			return nil, err
		}
		v.At = time.UnixMilli(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// LabelCounts counts labels by state.
func (l *Ledger) LabelCounts(ctx context.Context) (map[LabelState]int, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT k2, SUM(n) FROM counters WHERE what = 'labels' GROUP BY k2 HAVING SUM(n) != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[LabelState]int{}
	for rows.Next() {
		var s LabelState
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SerialCounts counts serials by product and state.
func (l *Ledger) SerialCounts(ctx context.Context) (map[string]map[SerialState]int, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT k1, k2, n FROM counters WHERE what = 'serials' AND n != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[SerialState]int{}
	for rows.Next() {
		var g string
		var s SerialState
		var n int
		if err := rows.Scan(&g, &s, &n); err != nil {
			return nil, err
		}
		if out[g] == nil {
			out[g] = map[SerialState]int{}
		}
		out[g][s] = n
	}
	return out, rows.Err()
}

// PrinterCount is what the ledger holds of one printer's labels.
type PrinterCount struct {
	Queued, Printed, Unknown int
	// Last is the last label the printer printed (0 for none).
	Last int64
}

// PrinterCounts counts each printer's labels queued, printed and unknown,
// all time, and names the last one it printed: what a restart does not
// reset.
func (l *Ledger) PrinterCounts(ctx context.Context) (map[string]PrinterCount, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT k1, k2, n, last_id FROM counters
		WHERE what = 'labels' AND k2 IN ('queued', 'printed', 'unknown') AND n != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]PrinterCount{}
	for rows.Next() {
		var p string
		var s LabelState
		var n int
		var last int64
		if err := rows.Scan(&p, &s, &n, &last); err != nil {
			return nil, err
		}
		c := out[p]
		switch s {
		case LabelQueued:
			c.Queued = n
		case LabelPrinted:
			c.Printed, c.Last = n, last
		case LabelUnknown:
			c.Unknown = n
		}
		out[p] = c
	}
	return out, rows.Err()
}

// OrderLabel is the label of an order to show: the next it prints, else
// its first. It is 0 when the order has no labels yet.
func (l *Ledger) OrderLabel(ctx context.Context, orderID string) (int64, error) {
	var id sql.NullInt64
	err := l.db.Reader().QueryRowContext(ctx, `SELECT MIN(id) FROM labels WHERE order_id = ? AND state = 'queued'`, orderID).Scan(&id)
	if err == nil && !id.Valid {
		err = l.db.Reader().QueryRowContext(ctx, `SELECT MIN(id) FROM labels WHERE order_id = ?`, orderID).Scan(&id)
	}
	return id.Int64, err
}

// Printable is a label as it goes to the printer.
type Printable struct {
	Row
	ZPL  []byte
	DPMM int // dots per millimetre it is laid out for
}

// LabelZPL returns a label as it prints: a pack label rendered from its
// template with its serial's data, any other label as it was stored.
func (l *Ledger) LabelZPL(ctx context.Context, id int64) (Printable, error) {
	var p Printable
	var batch, expiry string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT l.id, l.kind, COALESCE(l.order_id, ''), l.gtin, l.serial, l.subject, l.template, l.data,
		l.printer, l.state, l.reason, COALESCE(s.batch, ''), COALESCE(s.expiry, '')
		FROM labels l LEFT JOIN serials s ON l.kind = 'pack' AND s.gtin = l.gtin AND s.serial = l.serial WHERE l.id = ?`, id).
		Scan(&p.ID, &p.Kind, &p.OrderID, &p.GTIN, &p.Serial, &p.Subject, &p.Template, &p.Data, &p.Printer, &p.State, &p.Reason, &batch, &expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("label %d: %w", id, ErrLabelNotFound)
	}
	if err != nil {
		return p, err
	}
	p.ZPL, p.DPMM = p.Data, 8
	if p.Kind != label.Pack {
		if t, ok := l.cfg.Templates.Get(string(p.Kind)); ok && p.Kind == label.SSCC {
			p.DPMM = t.DPMM
		}
		return p, nil
	}
	t, ok := l.cfg.Templates.Get(p.Template)
	if !ok {
		return p, fmt.Errorf("label %d: template %s is not configured", id, p.Template)
	}
	p.DPMM = t.DPMM
	p.ZPL, err = Render(t, nil, PackData{OrderID: p.OrderID, GTIN: p.GTIN, Batch: batch, Expiry: expiry, Serial: p.Serial})
	return p, err
}
