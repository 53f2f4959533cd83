// Package shipments keeps the shipping orders scanned at ship stations and
// what became of each: requested from the carrier service, labelled,
// printed, or refused with the service's reason. A downloaded label is
// queued in the ledger for the station's printer like any other label.
package shipments

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/store"
)

// MaxOrders is how many orders one label request carries: a ship station
// requests labels by itself when it has collected this many.
const MaxOrders = 20

// State is where a shipping order is.
type State string

// States.
const (
	Collected State = "collected" // scanned, waiting for CLOSE
	Requested State = "requested" // asked of the carrier service
	Labelled  State = "labelled"  // its label is downloaded and queued
	Printed   State = "printed"
	Unknown   State = "unknown" // its label's printing was not confirmed
	Failed    State = "failed"  // the service refused it
)

// Errors.
var (
	ErrNoOrders = errors.New("no orders collected")
)

// DuplicateError is an order number scanned before.
type DuplicateError struct {
	Order, Station string
	State          State
	Here           bool // collected at the same station
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("order %s was already scanned at station %s (%s)", e.Order, e.Station, e.State)
}

// News is something a station's screen should learn after the scan that
// caused it: a label printed or refused later.
type News struct {
	Station string
	OK      bool
	Code    string
	Message string
}

// Shipments is the store of shipping orders.
type Shipments struct {
	db     *store.DB
	ledger *ledger.Ledger

	mu       sync.Mutex
	printers map[string]string // station → printer tag
	news     func(News)
}

// New returns the shipments of the line.
func New(l *ledger.Ledger) *Shipments {
	s := &Shipments{db: l.DB(), ledger: l, printers: map[string]string{}, news: func(News) {}}
	l.OnLabel(label.Shipping, s.labelMoved)
	return s
}

// SetPrinter names a ship station's printer ("" = none).
func (s *Shipments) SetPrinter(station, printer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.printers[station] = printer
}

// OnNews sets where news goes (the stations' screens).
func (s *Shipments) OnNews(fn func(News)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.news = fn
}

func (s *Shipments) tell(n News) {
	s.mu.Lock()
	fn := s.news
	s.mu.Unlock()
	fn(n)
}

func nowMS() int64 { return time.Now().UnixMilli() }

// Collected counts a station's collected orders.
func CollectedAt(tx *sql.Tx, station string) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM ship_orders WHERE station = ? AND state = 'collected'`, station).Scan(&n)
	return n, err
}

// Collect adds a scanned order number to the station's next label request
// and returns how many are collected.
func Collect(tx *sql.Tx, station, ref string, now int64) (int, error) {
	var state State
	var at string
	err := tx.QueryRow(`SELECT state, station FROM ship_orders WHERE order_ref = ? AND state != 'failed'`, ref).Scan(&state, &at)
	switch {
	case err == nil:
		return 0, &DuplicateError{Order: ref, Station: at, State: state, Here: state == Collected && at == station}
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	if _, err := tx.Exec(`INSERT INTO ship_orders (station, order_ref, state, updated_at) VALUES (?, ?, 'collected', ?)`, station, ref, now); err != nil {
		return 0, err
	}
	return CollectedAt(tx, station)
}

// Request queues a label request for a station's collected orders: one
// outbox item per order, all in one batch, so each order's outcome is kept
// and shown on its own. It returns how many orders it carries.
func (s *Shipments) Request(tx *sql.Tx, station string, integration int, now int64) (int, error) {
	rows, err := tx.Query(`SELECT id, order_ref FROM ship_orders WHERE station = ? AND state = 'collected' ORDER BY id`, station)
	if err != nil {
		return 0, err
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
			return 0, err
		}
		orders = append(orders, o)
	}
	rows.Close()
	if len(orders) == 0 {
		return 0, ErrNoOrders
	}
	request := station + "/" + strconv.FormatInt(orders[0].id, 10)
	for _, o := range orders {
		if _, err := tx.Exec(`UPDATE ship_orders SET state = 'requested', request = ?, updated_at = ? WHERE id = ?`, request, now, o.id); err != nil {
			return 0, err
		}
		f := facts.ShipFact{ID: o.id, Station: station, OrderNumber: o.ref, IntegrationID: integration}
		if _, err := s.ledger.Outbox().Enqueue(tx, facts.ShipItem(f, request)); err != nil {
			return 0, err
		}
	}
	return len(orders), nil
}

// Drop forgets a station's collected orders and says how many there were.
func Drop(tx *sql.Tx, actor, station string) (int, error) {
	res, err := tx.Exec(`DELETE FROM ship_orders WHERE station = ? AND state = 'collected'`, station)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, ErrNoOrders
	}
	return int(n), audit.Write(tx, actor, "ship.cancel", station, fmt.Sprintf("%d orders", n), "", "")
}

// UndoLast takes the last collected order off the request and returns it.
func UndoLast(tx *sql.Tx, actor, station string) (string, error) {
	var id int64
	var ref string
	err := tx.QueryRow(`SELECT id, order_ref FROM ship_orders WHERE station = ? AND state = 'collected' ORDER BY id DESC LIMIT 1`, station).Scan(&id, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoOrders
	}
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(`DELETE FROM ship_orders WHERE id = ?`, id); err != nil {
		return "", err
	}
	return ref, audit.Write(tx, actor, "ship.undo", station, ref, "", "undo last")
}

// ShipmentOf returns the shipment already made for a ship order ("" if
// none): a retried request does not ask for a second one.
func (s *Shipments) ShipmentOf(ctx context.Context, id int64) (string, error) {
	var sh string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT shipment_id FROM ship_orders WHERE id = ?`, id).Scan(&sh)
	return sh, err
}

// ShipRequested records the shipment the service made for an order.
func (s *Shipments) ShipRequested(ctx context.Context, id int64, shipment string) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE ship_orders SET shipment_id = ?, state = 'requested', detail = '', updated_at = ? WHERE id = ?`, shipment, nowMS(), id)
		return err
	})
}

// ShipFailed records why the service refused an order's label, and tells
// the station.
func (s *Shipments) ShipFailed(ctx context.Context, id int64, detail string) error {
	station, ref, err := s.order(ctx, id)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE ship_orders SET state = 'failed', detail = ?, updated_at = ? WHERE id = ?`, detail, nowMS(), id)
		return err
	})
	if err == nil {
		s.tell(News{Station: station, Code: "ship_failed", Message: "No label for order " + ref + ": " + detail})
	}
	return err
}

// RequestedElsewhereError refuses a new label for a refused order that
// was scanned again since: the newer request stands.
type RequestedElsewhereError struct {
	Order, Station string
	State          State
}

func (e *RequestedElsewhereError) Error() string {
	return fmt.Sprintf("order %s was scanned again at station %s (%s): that request stands; park this one", e.Order, e.Station, e.State)
}

// Rerequest is the outbox's retry hook for shipping items. A retried
// order that the carrier refused (its address, say, corrected since in the
// shipping service) asks for a new label: the refused shipment is
// forgotten, in the retry's transaction. An order not refused keeps its
// shipment, so a retry after a fault never asks for a second label.
func (s *Shipments) Rerequest(tx *sql.Tx, kind string, payload []byte) error {
	if kind != facts.KindShipLabel {
		return nil
	}
	var f facts.ShipFact
	if err := json.Unmarshal(payload, &f); err != nil {
		return fmt.Errorf("shipping item: %w", err)
	}
	var state State
	var ref string
	err := tx.QueryRow(`SELECT state, order_ref FROM ship_orders WHERE id = ?`, f.ID).Scan(&state, &ref)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != Failed) {
		return nil
	}
	if err != nil {
		return err
	}
	var other Order
	err = tx.QueryRow(`SELECT station, state FROM ship_orders WHERE order_ref = ? AND id != ? AND state != 'failed' LIMIT 1`, ref, f.ID).
		Scan(&other.Station, &other.State)
	if err == nil {
		return &RequestedElsewhereError{Order: ref, Station: other.Station, State: other.State}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.Exec(`UPDATE ship_orders SET state = 'requested', shipment_id = '', detail = '', updated_at = ? WHERE id = ?`, nowMS(), f.ID)
	return err
}

// ShipLabelled stores an order's downloaded label and queues it for the
// station's printer in the same transaction; a label already on its way is
// not queued twice.
func (s *Shipments) ShipLabelled(ctx context.Context, id int64, zpl []byte) error {
	station, ref, err := s.order(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	printer := s.printers[station]
	s.mu.Unlock()
	fresh := false
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE ship_orders SET state = 'labelled', label = ?, updated_at = ? WHERE id = ? AND state IN ('requested', 'failed')`, zpl, nowMS(), id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		if !fresh || printer == "" {
			return nil
		}
		_, err = s.ledger.QueueLabel(tx, label.Shipping, printer, strconv.FormatInt(id, 10), zpl)
		return err
	})
	switch {
	case err != nil || !fresh:
		return err
	case printer == "":
		s.tell(News{Station: station, Code: "ship_no_printer", Message: "Label for order " + ref + " is ready, but the station has no printer"})
	default:
		s.ledger.Wake(printer)
		s.tell(News{Station: station, OK: true, Code: "ship_label", Message: "Label for order " + ref + " printing"})
	}
	return nil
}

// labelMoved follows a shipping label through the printer.
func (s *Shipments) labelMoved(tx *sql.Tx, r ledger.Row, to ledger.LabelState) error {
	id, err := strconv.ParseInt(r.Subject, 10, 64)
	if err != nil {
		return fmt.Errorf("shipping label %d: subject %q is not a shipping order", r.ID, r.Subject)
	}
	var state State
	switch to {
	case ledger.LabelPrinting:
		state = "printing"
	case ledger.LabelPrinted:
		state = Printed
	case ledger.LabelUnknown:
		state = Unknown
	default:
		return nil
	}
	// r is the label as it was before the move: its new reason (why its
	// outcome is unknown) is the one the ledger just stored.
	if _, err := tx.Exec(`UPDATE ship_orders SET state = ?, detail = (SELECT reason FROM labels WHERE id = ?), updated_at = ? WHERE id = ?`,
		state, r.ID, nowMS(), id); err != nil {
		return err
	}
	if to == ledger.LabelPrinted {
		if err := s.journalShipped(tx, id); err != nil {
			return err
		}
	}
	if to == ledger.LabelUnknown {
		var station, ref string
		if err := tx.QueryRow(`SELECT station, order_ref FROM ship_orders WHERE id = ?`, id).Scan(&station, &ref); err == nil {
			go s.tell(News{Station: station, Code: "ship_unknown", Message: "Label for order " + ref + " may not have printed"})
		}
	}
	return nil
}

// journalShipped journals the shipping of an order whose label printed,
// when the order is a container of the line scanned by its SSCC (18
// digits, or with its AI 00): EPCIS ships objects, and an order number
// names none.
func (s *Shipments) journalShipped(tx *sql.Tx, id int64) error {
	var ref, shipment string
	if err := tx.QueryRow(`SELECT order_ref, shipment_id FROM ship_orders WHERE id = ?`, id).Scan(&ref, &shipment); err != nil {
		return err
	}
	sscc := strings.TrimPrefix(ref, "(00)")
	if len(sscc) == 20 && strings.HasPrefix(sscc, "00") {
		sscc = sscc[2:]
	}
	if len(sscc) != 18 || strings.Trim(sscc, "0123456789") != "" || !gs1.ValidCheckDigit(sscc) {
		return nil
	}
	var known bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM containers WHERE sscc = ? AND state = 'closed')`, sscc).Scan(&known); err != nil || !known {
		return err
	}
	return s.ledger.Journal().Ship(tx, shipment, []string{sscc})
}

func (s *Shipments) order(ctx context.Context, id int64) (station, ref string, err error) {
	err = s.db.Reader().QueryRowContext(ctx, `SELECT station, order_ref FROM ship_orders WHERE id = ?`, id).Scan(&station, &ref)
	return
}

// Order is a scanned shipping order and what became of it.
type Order struct {
	ID       int64  `json:"id"`
	Station  string `json:"station"`
	Order    string `json:"order"`
	State    State  `json:"state"`
	Shipment string `json:"shipment,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Orders lists a station's shipping orders, newest first.
func (s *Shipments) Orders(ctx context.Context, station string) ([]Order, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, station, order_ref, state, shipment_id, detail FROM ship_orders WHERE station = ? ORDER BY id DESC`, station)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		var o Order
		if err := rows.Scan(&o.ID, &o.Station, &o.Order, &o.State, &o.Shipment, &o.Detail); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
