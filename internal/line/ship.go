package line

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/facts"
)

// MaxShipOrders is how many orders one label request carries: a ship
// station requests labels by itself when it has collected this many.
const MaxShipOrders = 20

func (w *work) collected() (int, error) {
	var n int
	err := w.tx.QueryRow(`SELECT COUNT(*) FROM ship_orders WHERE station = ? AND state = 'collected'`, w.s.cfg.Name).Scan(&n)
	return n, err
}

// collectOrder adds a scanned order number to the next label request.
func (w *work) collectOrder(ref string) error {
	if ref == "" || len(ref) > 255 {
		return refuse("not_order", "An order number has 1-255 characters, got %d", len(ref))
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f {
			return refuse("not_order", "An order number has no control characters")
		}
	}
	if w.s.cfg.IntegrationID <= 0 {
		return refuse("no_integration", "This station has no shipping integration configured")
	}
	var state, station string
	err := w.tx.QueryRow(`SELECT state, station FROM ship_orders WHERE order_ref = ? AND state != 'failed'`, ref).Scan(&state, &station)
	switch {
	case err == nil && state == "collected" && station == w.s.cfg.Name:
		return refuse("duplicate", "Order %s is already collected: scanned twice", ref)
	case err == nil:
		return refuse("already_shipped", "Order %s was already scanned at station %s (%s)", ref, station, state)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := w.tx.Exec(`INSERT INTO ship_orders (station, order_ref, state, updated_at) VALUES (?, ?, 'collected', ?)`, w.s.cfg.Name, ref, w.now); err != nil {
		return err
	}
	n, err := w.collected()
	if err != nil {
		return err
	}
	w.v.Code, w.v.Message = "collected", fmt.Sprintf("Order %s added (%d): scan more, then CLOSE", ref, n)
	if n >= MaxShipOrders {
		return w.requestLabels()
	}
	return nil
}

// requestLabels queues a label request for the collected orders: one
// outbox item per order, all in one batch, so each order's outcome is
// kept and shown on its own.
func (w *work) requestLabels() error {
	rows, err := w.tx.Query(`SELECT id, order_ref FROM ship_orders WHERE station = ? AND state = 'collected' ORDER BY id`, w.s.cfg.Name)
	if err != nil {
		return err
	}
	type order struct {
		id  int64
		ref string
	}
	var orders []order
	for rows.Next() {
		var o order
		if err := rows.Scan(&o.id, &o.ref); err != nil {
			rows.Close()
			return err
		}
		orders = append(orders, o)
	}
	rows.Close()
	if len(orders) == 0 {
		return refuse("no_orders", "No orders scanned: scan order numbers first")
	}
	request := w.s.cfg.Name + "/" + strconv.FormatInt(orders[0].id, 10)
	for _, o := range orders {
		if _, err := w.tx.Exec(`UPDATE ship_orders SET state = 'requested', request = ?, updated_at = ? WHERE id = ?`, request, w.now, o.id); err != nil {
			return err
		}
		f := facts.ShipFact{ID: o.id, Station: w.s.cfg.Name, OrderNumber: o.ref, IntegrationID: w.s.cfg.IntegrationID}
		if _, err := w.s.l.outbox.Enqueue(w.tx, facts.ShipItem(f, request)); err != nil {
			return err
		}
	}
	w.after = append(w.after, w.s.l.notify)
	w.v.Code, w.v.Message = "requested", fmt.Sprintf("Labels requested for %d orders", len(orders))
	return nil
}

func (w *work) dropOrders() error {
	res, err := w.tx.Exec(`DELETE FROM ship_orders WHERE station = ? AND state = 'collected'`, w.s.cfg.Name)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return refuse("no_orders", "No orders scanned: nothing to cancel")
	}
	if err := audit(w.tx, w.actor(), "ship.cancel", w.s.cfg.Name, fmt.Sprintf("%d orders", n), "", ""); err != nil {
		return err
	}
	w.v.Code, w.v.Message = "cancelled", fmt.Sprintf("%d scanned orders dropped", n)
	return nil
}

func (w *work) undoOrder() error {
	var id int64
	var ref string
	err := w.tx.QueryRow(`SELECT id, order_ref FROM ship_orders WHERE station = ? AND state = 'collected' ORDER BY id DESC LIMIT 1`, w.s.cfg.Name).Scan(&id, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return refuse("no_orders", "Nothing to undo: no orders scanned")
	}
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(`DELETE FROM ship_orders WHERE id = ?`, id); err != nil {
		return err
	}
	if err := audit(w.tx, w.actor(), "ship.undo", w.s.cfg.Name, ref, "", "undo last"); err != nil {
		return err
	}
	w.v.Code, w.v.Message = "undone", "Order "+ref+" taken off the request"
	return nil
}

// ShipmentOf returns the shipment already made for a ship order ("" if
// none): a retried request does not ask for a second one.
func (l *Line) ShipmentOf(ctx context.Context, id int64) (string, error) {
	var s string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT shipment_id FROM ship_orders WHERE id = ?`, id).Scan(&s)
	return s, err
}

// ShipRequested records the shipment the service made for an order.
func (l *Line) ShipRequested(ctx context.Context, id int64, shipment string) error {
	return l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE ship_orders SET shipment_id = ?, state = 'requested', detail = '', updated_at = ? WHERE id = ?`, shipment, nowMS(), id)
		return err
	})
}

// ShipFailed records why the service refused an order's label, and tells
// the station.
func (l *Line) ShipFailed(ctx context.Context, id int64, detail string) error {
	station, ref, err := l.shipOrder(ctx, id)
	if err != nil {
		return err
	}
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE ship_orders SET state = 'failed', detail = ?, updated_at = ? WHERE id = ?`, detail, nowMS(), id)
		return err
	})
	if err == nil {
		l.news(station, false, "ship_failed", "No label for order "+ref+": "+detail)
	}
	return err
}

// ShipLabelled stores an order's downloaded label and prints it at the
// station's printer.
func (l *Line) ShipLabelled(ctx context.Context, id int64, label []byte) error {
	station, ref, err := l.shipOrder(ctx, id)
	if err != nil {
		return err
	}
	fresh := false
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE ship_orders SET state = 'labelled', label = ?, updated_at = ? WHERE id = ? AND state IN ('requested', 'labelled', 'failed')`, label, nowMS(), id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	if err != nil || !fresh {
		return err // a label already on its way is not printed twice
	}
	s, ok := l.Station(station)
	if !ok || l.cfg.Printers[s.cfg.Printer] == nil {
		l.news(station, false, "ship_no_printer", "Label for order "+ref+" is ready, but the station has no printer")
		return nil
	}
	lid := "ship:" + strconv.FormatInt(id, 10)
	if err := l.cfg.Printers[s.cfg.Printer].Submit(lid, []PrintLabel{{ID: lid, Data: label}}); err != nil {
		return err
	}
	l.news(station, true, "ship_label", "Label for order "+ref+" printing")
	return nil
}

func (l *Line) shipOrder(ctx context.Context, id int64) (station, ref string, err error) {
	err = l.db.Reader().QueryRowContext(ctx, `SELECT station, order_ref FROM ship_orders WHERE id = ?`, id).Scan(&station, &ref)
	return
}

// news publishes a verdict that no scan caused.
func (l *Line) news(station string, ok bool, code, msg string) {
	if s, found := l.Station(station); found {
		s.publish(Verdict{Station: station, At: time.Now(), OK: ok, Code: code, Message: msg, Mode: ModeShip})
	}
}

// ShipOrder is a scanned shipping order and what became of it.
type ShipOrder struct {
	ID       int64  `json:"id"`
	Station  string `json:"station"`
	Order    string `json:"order"`
	State    string `json:"state"`
	Shipment string `json:"shipment,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// ShipOrders lists a station's shipping orders, newest first.
func (l *Line) ShipOrders(ctx context.Context, station string) ([]ShipOrder, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT id, station, order_ref, state, shipment_id, detail FROM ship_orders WHERE station = ? ORDER BY id DESC`, station)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ShipOrder
	for rows.Next() {
		var o ShipOrder
		if err := rows.Scan(&o.ID, &o.Station, &o.Order, &o.State, &o.Shipment, &o.Detail); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// otherLabel records the printer's outcome for a label that carries no
// serial: a container label (sscc:…) or a shipping label (ship:…). It
// reports false for ledger labels.
func (l *Line) otherLabel(ctx context.Context, labelID, state, reason string) (bool, error) {
	kind, rest, _ := strings.Cut(labelID, ":")
	switch kind {
	case "test":
		return true, nil // a test label: nothing to record
	case "sscc":
		sscc, _, _ := strings.Cut(rest, ":")
		return true, l.db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE containers SET label_state = ? WHERE sscc = ?`, state, sscc)
			return err
		})
	case "ship":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return true, fmt.Errorf("label id %q: not a shipping label", labelID)
		}
		err = l.db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE ship_orders SET state = ?, detail = ?, updated_at = ? WHERE id = ? AND state IN ('labelled', 'printing', 'unknown')`, state, reason, nowMS(), id)
			return err
		})
		if err == nil && state == "unknown" {
			if station, ref, err := l.shipOrder(ctx, id); err == nil {
				l.news(station, false, "ship_unknown", "Label for order "+ref+" may not have printed: "+reason)
			}
		}
		return true, err
	}
	return false, nil
}
