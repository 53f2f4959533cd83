package line

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Label order statuses.
const (
	OrderCreated   = "created"
	OrderReleased  = "released"
	OrderPrinting  = "printing"
	OrderCompleted = "completed"
	OrderSuspended = "suspended"
)

// extraFor computes the extra labels of an order: the order's own, or the
// channel default.
func (l *Line) extraFor(o v2.LabelOrder) int {
	amount, typ := l.cfg.Extra.Amount, l.cfg.Extra.Type
	if o.ExtraLabelAmount != nil {
		amount, typ = *o.ExtraLabelAmount, o.ExtraLabelType
	}
	if amount <= 0 {
		return 0
	}
	if typ == "percentage" {
		return (*o.Quantity*amount + 99) / 100
	}
	return amount
}

// CreateLabelOrder checks and stores a label order; with Execute it is
// released at once: serials allocated, labels rendered and sent to the
// destination's printer. Refusals are the documented ones (*v2.Refusal).
func (l *Line) CreateLabelOrder(ctx context.Context, actor string, o v2.LabelOrder) error {
	if err := o.Validate(); err != nil {
		return v2.Validation(err)
	}
	tmpl, ok := l.cfg.Templates.Get(o.TemplateTag)
	if !ok {
		return v2.Refuse(404, v2.MsgTemplateMissing)
	}
	if _, ok := l.cfg.Printers[o.DestinationTag]; !ok {
		return v2.Refuse(404, v2.MsgDestinationAbsent)
	}
	for _, k := range tmpl.Keys {
		if !labelKeys[k] {
			return v2.Validation(&v2.FieldError{Field: "template_tag", Rule: fmt.Sprintf("template %s takes key %q, which a label order cannot fill (gtin, batch, expiry, serial, order_id)", tmpl.Tag, k)})
		}
	}
	req, _ := json.Marshal(o)
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var products int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM products WHERE gtin = ?`, o.ProductCode).Scan(&products); err != nil {
			return err
		}
		if products == 0 {
			return v2.RefuseProduct
		}
		var expiry string
		err := tx.QueryRow(`SELECT expiry FROM batches WHERE gtin = ? AND batch = ?`, o.ProductCode, o.Batch).Scan(&expiry)
		if errors.Is(err, sql.ErrNoRows) {
			return v2.Refuse(404, v2.MsgBatchNotFound)
		}
		if err != nil {
			return err
		}
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM label_orders WHERE order_id = ?`, o.OrderID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return v2.Refuse(409, v2.MsgLabelOrderExists)
		}
		if _, err := tx.Exec(`INSERT INTO label_orders (order_id, gtin, batch, expiry, quantity, extra, destination, template, status, created_by, created_at, request)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)`, o.OrderID, o.ProductCode, o.Batch, expiry, *o.Quantity, l.extraFor(o),
			o.DestinationTag, o.TemplateTag, actor, nowMS(), req); err != nil {
			return err
		}
		return audit(tx, actor, "label_order.create", o.OrderID, "", OrderCreated, "")
	})
	if err != nil || !o.Execute {
		return err
	}
	return l.Release(ctx, actor, o.OrderID)
}

// labelKeys are the data a label order fills into a template.
var labelKeys = map[string]bool{"gtin": true, "batch": true, "expiry": true, "serial": true, "order_id": true}

// Release allocates the order's serials, renders its labels and sends them
// to the printer. Without enough serials the order is suspended with the
// documented message; Resume tries again.
func (l *Line) Release(ctx context.Context, actor, orderID string) error {
	var job []PrintLabel
	var dest, gtin string
	var refusal error
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		job, refusal = nil, nil
		var batch, expiry, template, status string
		var qty, extra int
		err := tx.QueryRow(`SELECT gtin, batch, expiry, quantity, extra, destination, template, status FROM label_orders WHERE order_id = ?`, orderID).
			Scan(&gtin, &batch, &expiry, &qty, &extra, &dest, &template, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no label order %q", orderID)
		}
		if err != nil {
			return err
		}
		if status != OrderCreated && status != OrderSuspended {
			return fmt.Errorf("label order %s is %s: only created or suspended orders are released", orderID, status)
		}
		tmpl, ok := l.cfg.Templates.Get(template)
		if !ok {
			return v2.Refuse(404, v2.MsgTemplateMissing)
		}
		n := qty + extra
		var avail int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM serials WHERE gtin = ? AND state = 'available'`, gtin).Scan(&avail); err != nil {
			return err
		}
		if avail < n {
			if !l.cfg.Serials.Generate {
				refusal = v2.Refuse(409, v2.MsgNoSerialsAssigned)
				if _, err := tx.Exec(`UPDATE label_orders SET status = 'suspended', message = ? WHERE order_id = ?`, v2.MsgNoSerialsAssigned, orderID); err != nil {
					return err
				}
				return audit(tx, actor, "label_order.suspend", orderID, status, OrderSuspended, v2.MsgNoSerialsAssigned)
			}
			if err := l.generate(tx, gtin, n-avail); err != nil {
				return err
			}
		}
		rows, err := tx.Query(`SELECT serial FROM serials WHERE gtin = ? AND state = 'available' LIMIT ?`, gtin, n)
		if err != nil {
			return err
		}
		var serials []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			serials = append(serials, s)
		}
		rows.Close()
		now := nowMS()
		var buf []byte
		for _, s := range serials {
			res, err := tx.Exec(`INSERT INTO labels (order_id, gtin, serial, printer, state, updated_at) VALUES (?, ?, ?, ?, 'queued', ?)`, orderID, gtin, s, dest, now)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			if _, err := tx.Exec(`UPDATE serials SET state = 'allocated', order_id = ?, label_id = ?, batch = ?, expiry = ?, updated_at = ? WHERE gtin = ? AND serial = ?`,
				orderID, id, batch, expiry, now, gtin, s); err != nil {
				return err
			}
			data := zpl.Data{}
			for _, k := range tmpl.Keys {
				data[k] = map[string]string{"gtin": gtin, "batch": batch, "expiry": expiry, "serial": s, "order_id": orderID}[k]
			}
			if buf, err = tmpl.Render(buf[:0], data); err != nil {
				return fmt.Errorf("render label for serial %s: %w", s, err)
			}
			job = append(job, PrintLabel{ID: strconv.FormatInt(id, 10), Serial: s, Data: append([]byte(nil), buf...)})
		}
		if _, err := tx.Exec(`UPDATE label_orders SET status = 'printing', message = '' WHERE order_id = ?`, orderID); err != nil {
			return err
		}
		return audit(tx, actor, "label_order.release", orderID, status, OrderPrinting, fmt.Sprintf("%d labels", len(job)))
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal
	}
	if l.cfg.Serials.Generate {
		// Serials are made as orders need them: the pool is meant to be empty.
	} else if left, err := l.PoolLevel(ctx, gtin); err == nil && l.cfg.Serials.LowPool > 0 && left < l.cfg.Serials.LowPool {
		l.cfg.Log.Warn().Str("gtin", gtin).Int("available", left).Msg("serial pool low")
	}
	p := l.cfg.Printers[dest]
	if p == nil {
		return v2.Refuse(404, v2.MsgDestinationAbsent)
	}
	return p.Submit(orderID, job)
}

// Resume releases a suspended order again.
func (l *Line) Resume(ctx context.Context, actor, orderID string) error {
	return l.Release(ctx, actor, orderID)
}

func parseLabelID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("label id %q: not a number", id)
	}
	return n, nil
}

// Printing records, durably, that a label's bytes are about to leave for
// the printer.
func (l *Line) Printing(ctx context.Context, printer, labelID string) error {
	return l.labelState(ctx, labelID, []string{"queued", "unknown"}, "printing", "printing", "")
}

// Printed records the printer's confirmation; the serial is then queued for
// commissioning.
func (l *Line) Printed(ctx context.Context, printer, labelID string) error {
	return l.labelState(ctx, labelID, []string{"printing", "queued"}, "printed", "printed", "")
}

// Unknown records a label whose outcome the printer could not confirm: a
// person must look and resolve it.
func (l *Line) Unknown(ctx context.Context, printer, labelID, reason string) error {
	return l.labelState(ctx, labelID, []string{"printing", "queued"}, "unknown", "unknown", reason)
}

func (l *Line) labelState(ctx context.Context, labelID string, from []string, to, serialTo, reason string) error {
	if done, err := l.otherLabel(ctx, labelID, to, reason); done {
		return err
	}
	id, err := parseLabelID(labelID)
	if err != nil {
		return err
	}
	commissioned := false
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		var state, gtin, serial, orderID string
		if err := tx.QueryRow(`SELECT state, gtin, serial, order_id FROM labels WHERE id = ?`, id).Scan(&state, &gtin, &serial, &orderID); err != nil {
			return fmt.Errorf("label %d: %w", id, err)
		}
		ok := false
		for _, f := range from {
			ok = ok || f == state
		}
		if !ok {
			return fmt.Errorf("label %d is %s, not %s", id, state, strings.Join(from, " or "))
		}
		now := nowMS()
		if _, err := tx.Exec(`UPDATE labels SET state = ?, reason = ?, updated_at = ? WHERE id = ?`, to, reason, now, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE serials SET state = ?, updated_at = ? WHERE gtin = ? AND serial = ?`, serialTo, now, gtin, serial); err != nil {
			return err
		}
		if to == "printed" {
			if err := l.commission(tx, gtin, serial); err != nil {
				return err
			}
			commissioned = true
		}
		return l.completeOrder(tx, orderID)
	})
	if commissioned {
		l.notify()
	}
	return err
}

// commission queues the serial's commission, in the same transaction as
// its printed state.
func (l *Line) commission(tx *sql.Tx, gtin, serial string) error {
	var batch, expiry string
	if err := tx.QueryRow(`SELECT batch, expiry FROM serials WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&batch, &expiry); err != nil {
		return err
	}
	f := facts.SerialFact{ProductCode: gtin, Batch: batch, ExpiryDate: expiry, Serial: serial}
	_, err := l.outbox.Enqueue(tx, facts.CommissionItem(gtin+"/"+batch, f))
	return err
}

// completeOrder marks an order completed when none of its labels is still
// on its way.
func (l *Line) completeOrder(tx *sql.Tx, orderID string) error {
	var open int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM labels WHERE order_id = ? AND state IN ('queued', 'printing')`, orderID).Scan(&open); err != nil {
		return err
	}
	if open == 0 {
		_, err := tx.Exec(`UPDATE label_orders SET status = 'completed' WHERE order_id = ? AND status = 'printing'`, orderID)
		return err
	}
	return nil
}

// LabelOrderStatus reads an order's status and label counts by state.
func (l *Line) LabelOrderStatus(ctx context.Context, orderID string) (string, map[string]int, error) {
	var status string
	if err := l.db.Reader().QueryRowContext(ctx, `SELECT status FROM label_orders WHERE order_id = ?`, orderID).Scan(&status); err != nil {
		return "", nil, err
	}
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT state, COUNT(*) FROM labels WHERE order_id = ? GROUP BY state`, orderID)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return "", nil, err
		}
		counts[s] = n
	}
	return status, counts, rows.Err()
}

// UnknownLabel is a label a person must look at.
type UnknownLabel struct {
	ID      int64  `json:"id"`
	OrderID string `json:"order_id"`
	GTIN    string `json:"gtin"`
	Serial  string `json:"serial"`
	Printer string `json:"printer"`
	Reason  string `json:"reason"`
}

// UnknownLabels lists the labels whose outcome is unknown.
func (l *Line) UnknownLabels(ctx context.Context) ([]UnknownLabel, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, order_id, gtin, serial, printer, reason FROM labels WHERE state = 'unknown' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UnknownLabel
	for rows.Next() {
		var u UnknownLabel
		if err := rows.Scan(&u.ID, &u.OrderID, &u.GTIN, &u.Serial, &u.Printer, &u.Reason); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// ResolveUnknown is a person's verdict on an unknown label: printed (the
// label is on the line: the serial is commissioned) or not (the serial is
// decommissioned locally and never used).
func (l *Line) ResolveUnknown(ctx context.Context, actor string, labelID int64, printed bool, reason string) error {
	if reason == "" {
		return errors.New("resolving an unknown label needs a reason")
	}
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var state, gtin, serial, orderID string
		if err := tx.QueryRow(`SELECT state, gtin, serial, order_id FROM labels WHERE id = ?`, labelID).Scan(&state, &gtin, &serial, &orderID); err != nil {
			return fmt.Errorf("label %d: %w", labelID, err)
		}
		if state != "unknown" {
			return fmt.Errorf("label %d is %s: only unknown labels are resolved", labelID, state)
		}
		now := nowMS()
		if printed {
			if _, err := tx.Exec(`UPDATE labels SET state = 'printed', reason = ?, updated_at = ? WHERE id = ?`, "confirmed by "+actor+": "+reason, now, labelID); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE serials SET state = 'printed', updated_at = ? WHERE gtin = ? AND serial = ?`, now, gtin, serial); err != nil {
				return err
			}
			if err := l.commission(tx, gtin, serial); err != nil {
				return err
			}
		} else {
			if _, err := tx.Exec(`UPDATE labels SET state = 'voided', reason = ?, updated_at = ? WHERE id = ?`, "voided by "+actor+": "+reason, now, labelID); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE serials SET state = 'decommissioned', reason = 'destroy', updated_at = ? WHERE gtin = ? AND serial = ?`, now, gtin, serial); err != nil {
				return err
			}
		}
		verdict := map[bool]string{true: "printed", false: "voided"}[printed]
		if err := audit(tx, actor, "label.resolve", "label/"+strconv.FormatInt(labelID, 10)+" "+gtin+"/"+serial, "unknown", verdict, reason); err != nil {
			return err
		}
		return l.completeOrder(tx, orderID)
	})
	if err == nil && printed {
		l.notify()
	}
	return err
}

// Reprint sends a label whose outcome is unknown again, with the same
// serial: an audited supervisor action.
func (l *Line) Reprint(ctx context.Context, actor string, labelID int64, reason string) error {
	if reason == "" {
		return errors.New("a reprint needs a reason")
	}
	var job PrintLabel
	var dest, orderID string
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var state, gtin, serial, batch, expiry, template string
		if err := tx.QueryRow(`SELECT l.state, l.gtin, l.serial, l.order_id, l.printer, s.batch, s.expiry, o.template FROM labels l
			JOIN serials s ON s.gtin = l.gtin AND s.serial = l.serial JOIN label_orders o ON o.order_id = l.order_id WHERE l.id = ?`, labelID).
			Scan(&state, &gtin, &serial, &orderID, &dest, &batch, &expiry, &template); err != nil {
			return fmt.Errorf("label %d: %w", labelID, err)
		}
		if state != "unknown" {
			return fmt.Errorf("label %d is %s: only labels whose outcome is unknown are reprinted", labelID, state)
		}
		tmpl, ok := l.cfg.Templates.Get(template)
		if !ok {
			return v2.Refuse(404, v2.MsgTemplateMissing)
		}
		data := zpl.Data{}
		for _, k := range tmpl.Keys {
			data[k] = map[string]string{"gtin": gtin, "batch": batch, "expiry": expiry, "serial": serial, "order_id": orderID}[k]
		}
		out, err := tmpl.Render(nil, data)
		if err != nil {
			return err
		}
		job = PrintLabel{ID: strconv.FormatInt(labelID, 10), Serial: serial, Data: out}
		if _, err := tx.Exec(`UPDATE labels SET state = 'queued', updated_at = ? WHERE id = ?`, nowMS(), labelID); err != nil {
			return err
		}
		return audit(tx, actor, "label.reprint", "label/"+strconv.FormatInt(labelID, 10)+" "+gtin+"/"+serial, state, "reprint", reason)
	})
	if err != nil {
		return err
	}
	p := l.cfg.Printers[dest]
	if p == nil {
		return v2.Refuse(404, v2.MsgDestinationAbsent)
	}
	return p.Submit(orderID+"/reprint", []PrintLabel{job})
}

// PrintedSerials lists the serials of an order's printed labels.
func (l *Line) PrintedSerials(ctx context.Context, orderID string) ([]string, error) {
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

// Recover runs at start-up, before the printers: a label that was on its
// way to a printer when the agent stopped has an unknown outcome (a person
// decides), and labels that never left are sent again, in order, with the
// serials they were given.
func (l *Line) Recover(ctx context.Context) (unknown, resent int, err error) {
	type pending struct {
		id                                          int64
		order, gtin, serial, printer, batch, expiry string
		template                                    string
	}
	var queued []pending
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		queued, unknown = nil, 0
		now := nowMS()
		res, err := tx.Exec(`UPDATE serials SET state = 'unknown', updated_at = ? WHERE (gtin, serial) IN (SELECT gtin, serial FROM labels WHERE state = 'printing')`, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE labels SET state = 'unknown', reason = 'the agent stopped before the printer confirmed the label', updated_at = ? WHERE state = 'printing'`, now); err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		unknown = int(n)
		if unknown > 0 {
			if err := audit(tx, "agent", "labels.recover", "", "printing", "unknown", fmt.Sprintf("%d labels in flight at stop", unknown)); err != nil {
				return err
			}
		}
		rows, err := tx.Query(`SELECT l.id, l.order_id, l.gtin, l.serial, l.printer, s.batch, s.expiry, o.template FROM labels l
			JOIN serials s ON s.gtin = l.gtin AND s.serial = l.serial JOIN label_orders o ON o.order_id = l.order_id
			WHERE l.state = 'queued' ORDER BY l.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.order, &p.gtin, &p.serial, &p.printer, &p.batch, &p.expiry, &p.template); err != nil {
				return err
			}
			queued = append(queued, p)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, 0, err
	}
	// Orders stored with execute but stopped before their release are
	// released now: the client was told the order exists.
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT order_id FROM label_orders WHERE status = 'created' AND json_extract(CAST(request AS TEXT), '$.execute') = 1 ORDER BY created_at`)
	if err != nil {
		return unknown, resent, err
	}
	var release []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return unknown, resent, err
		}
		release = append(release, id)
	}
	rows.Close()
	defer func() {
		for _, id := range release {
			if rerr := l.Release(ctx, "agent", id); rerr != nil && err == nil {
				l.cfg.Log.Warn().Err(rerr).Str("order", id).Msg("label order stored with execute could not be released")
			}
		}
	}()
	// One job per order and printer, in label order.
	type key struct{ order, printer string }
	jobs := map[key][]PrintLabel{}
	var keys []key
	for _, p := range queued {
		tmpl, ok := l.cfg.Templates.Get(p.template)
		if !ok {
			return unknown, resent, fmt.Errorf("label %d: template %s is missing", p.id, p.template)
		}
		data := zpl.Data{}
		for _, k := range tmpl.Keys {
			data[k] = map[string]string{"gtin": p.gtin, "batch": p.batch, "expiry": p.expiry, "serial": p.serial, "order_id": p.order}[k]
		}
		out, err := tmpl.Render(nil, data)
		if err != nil {
			return unknown, resent, fmt.Errorf("label %d: %w", p.id, err)
		}
		k := key{p.order, p.printer}
		if _, seen := jobs[k]; !seen {
			keys = append(keys, k)
		}
		jobs[k] = append(jobs[k], PrintLabel{ID: strconv.FormatInt(p.id, 10), Serial: p.serial, Data: out})
	}
	for _, k := range keys {
		p := l.cfg.Printers[k.printer]
		if p == nil {
			l.cfg.Log.Error().Str("printer", k.printer).Str("order", k.order).Msg("queued labels wait: the printer is no longer configured")
			continue
		}
		if err := p.Submit(k.order+"/resumed", jobs[k]); err != nil {
			return unknown, resent, err
		}
		resent += len(jobs[k])
	}
	return unknown, resent, nil
}
