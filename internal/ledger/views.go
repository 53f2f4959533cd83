package ledger

import (
	"context"
	"database/sql"
	"time"

	"github.com/edgeagent/edgeagent/internal/label"
)

// Queued counts the labels waiting, by printer.
func (l *Ledger) Queued(ctx context.Context) (map[string]int, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT printer, COUNT(*) FROM labels WHERE state = 'queued' GROUP BY printer`)
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
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT state, COUNT(*) FROM labels WHERE order_id = ? GROUP BY state`, orderID)
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
// printing), inside tx.
func OpenLabels(tx *sql.Tx, orderID string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM labels WHERE order_id = ? AND state IN ('queued', 'printing')`, orderID).Scan(&n)
	return n, err
}

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
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT state, COUNT(*) FROM labels GROUP BY state`)
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
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT gtin, state, COUNT(*) FROM serials GROUP BY gtin, state`)
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
