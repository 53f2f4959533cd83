// Package orders keeps the line's label orders and packaging orders. A
// label order is checked, stored and — with execute — released in one
// transaction: its serials are drawn from the ledger and its labels queued
// for their printer, each rendered once first so that an order that cannot
// print is refused before anything is stored.
package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// State is a label order's status.
type State string

// Label order statuses.
const (
	Created   State = "created"   // stored, not released
	Released  State = "released"  // being released: its labels are queued in steps
	Printing  State = "printing"  // released: its labels are queued or printing
	Completed State = "completed" // none of its labels is still on its way
	Suspended State = "suspended" // not enough serials: resume when the pool is filled
	// Closed: a supervisor closed it with its reconciliation (see Close);
	// nothing of it is released or printed again. The stored status stays
	// beside label_orders.closed_at; readers show this one.
	Closed State = "closed"
)

// Errors of orders.
var (
	ErrTemplateNotFound       = errors.New("the printing template does not exist")
	ErrDestinationNotFound    = errors.New("the destination is not a configured printer")
	ErrLabelOrderExists       = errors.New("the label order already exists")
	ErrLabelOrderNotFound     = errors.New("no such label order")
	ErrPackagingOrderExists   = errors.New("the packaging order already exists")
	ErrPackagingOrderNotFound = errors.New("no such packaging order")
)

// StateError is a label order whose status does not allow the act.
type StateError struct {
	OrderID string
	State   State
	Act     string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("label order %s is %s: %s", e.OrderID, e.State, e.Act)
}

// Extra is the default of extra labels when an order gives none (the
// channel settings).
type Extra struct {
	Amount int
	Type   string // amount or percentage
}

// Config sets up the orders.
type Config struct {
	Line     string   // the line's name, kept with packaging orders
	Printers []string // destination tags
	Extra    Extra
	Log      zerolog.Logger
}

// Orders is the store of label and packaging orders.
type Orders struct {
	db     *store.DB
	ledger *ledger.Ledger
	cfg    Config
	dest   map[string]bool
	wake   chan struct{} // a release has more steps
}

// New returns the orders of the line.
func New(l *ledger.Ledger, cfg Config) *Orders {
	o := &Orders{db: l.DB(), ledger: l, cfg: cfg, dest: map[string]bool{}, wake: make(chan struct{}, 1)}
	for _, p := range cfg.Printers {
		o.dest[p] = true
	}
	l.OnLabel(label.Pack, o.labelMoved)
	return o
}

// labelMoved keeps an order's status in step with its labels: completed
// when none is on its way, printing again when one is reprinted.
func (o *Orders) labelMoved(tx *sql.Tx, r ledger.Row, to ledger.LabelState) error {
	if r.OrderID == "" {
		return nil
	}
	if to == ledger.LabelQueued {
		_, err := tx.Exec(`UPDATE label_orders SET status = 'printing' WHERE order_id = ? AND status = 'completed'`, r.OrderID)
		return err
	}
	open, err := ledger.HasOpenLabels(tx, r.OrderID)
	if err != nil || open {
		return err
	}
	_, err = tx.Exec(`UPDATE label_orders SET status = 'completed' WHERE order_id = ? AND status = 'printing'`, r.OrderID)
	return err
}

func nowMS() int64 { return time.Now().UnixMilli() }

// extraFor computes the extra labels of an order: the order's own, or the
// channel default.
func (o *Orders) extraFor(lo v2.LabelOrder) int {
	return lo.Labels(o.cfg.Extra.Amount, o.cfg.Extra.Type) - *lo.Quantity
}

// CreateLabelOrder checks and stores a label order; with Execute it is
// released in the same transaction. A shortfall of serials stores the order
// suspended and answers ledger.ErrNoSerials; every other refusal stores
// nothing.
func (o *Orders) CreateLabelOrder(ctx context.Context, actor string, lo v2.LabelOrder) error {
	if err := lo.Validate(); err != nil {
		return err
	}
	tmpl, ok := o.ledger.Templates().Get(lo.TemplateTag)
	if !ok {
		return ErrTemplateNotFound
	}
	if !o.dest[lo.DestinationTag] {
		return ErrDestinationNotFound
	}
	for _, k := range tmpl.Keys {
		if !labelKeys[k] {
			return &v2.FieldError{Field: "template_tag", Rule: fmt.Sprintf("template %s takes key %q, which a label order cannot fill (gtin, batch, expiry, serial, order_id)", tmpl.Tag, k)}
		}
	}
	if n := lo.Labels(o.cfg.Extra.Amount, o.cfg.Extra.Type); n > v2.MaxLabels {
		return &v2.FieldError{Field: "quantity", Rule: fmt.Sprintf("with the channel's extra labels the order makes %d labels; at most %d", n, v2.MaxLabels)}
	}
	// The first label is rendered before anything is stored, with a serial
	// of the longest kind the line makes: an order that cannot print is
	// refused, not stored.
	probe := ledger.PackData{OrderID: lo.OrderID, GTIN: lo.ProductCode, Batch: lo.Batch, Expiry: "991231", Serial: strings.Repeat("W", 20)}
	if _, err := ledger.Render(tmpl, nil, probe); err != nil {
		return &v2.FieldError{Field: "template_tag", Rule: fmt.Sprintf("the label does not render with this order's data: %v", err)}
	}
	req, _ := json.Marshal(lo)
	var suspended, more bool
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		suspended, more = false, false
		if _, err := ledger.ProductOf(tx, lo.ProductCode); err != nil {
			return err
		}
		expiry, err := ledger.ExpiryOf(tx, lo.ProductCode, lo.Batch)
		if err != nil {
			return err
		}
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM label_orders WHERE order_id = ?`, lo.OrderID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return ErrLabelOrderExists
		}
		if _, err := tx.Exec(`INSERT INTO label_orders (order_id, gtin, batch, expiry, quantity, extra, destination, template, status, created_by, created_at, request)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)`, lo.OrderID, lo.ProductCode, lo.Batch, expiry, *lo.Quantity, o.extraFor(lo),
			lo.DestinationTag, lo.TemplateTag, actor, nowMS(), req); err != nil {
			return err
		}
		if err := audit.Write(tx, actor, "label_order.create", lo.OrderID, "", string(Created), ""); err != nil {
			return err
		}
		if !lo.Execute {
			return nil
		}
		suspended, more, err = o.release(tx, actor, lo.OrderID)
		return err
	})
	if err != nil {
		return err
	}
	if more {
		o.kick()
	}
	return o.afterRelease(ctx, lo.DestinationTag, lo.ProductCode, suspended)
}

func (o *Orders) afterRelease(ctx context.Context, printer, gtin string, suspended bool) error {
	if suspended {
		return ledger.ErrNoSerials
	}
	o.ledger.Wake(printer)
	o.ledger.WarnLowPool(ctx, gtin)
	return nil
}

// labelKeys are the data a label order fills into a template.
var labelKeys = map[string]bool{"gtin": true, "batch": true, "expiry": true, "serial": true, "order_id": true}

// Release allocates a created or suspended order's serials and queues its
// labels. Without enough serials the order is suspended (ledger.ErrNoSerials)
// and Release may be called again when the pool is filled.
func (o *Orders) Release(ctx context.Context, actor, orderID string) error {
	var printer, gtin string
	var suspended, more bool
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`SELECT destination, gtin FROM label_orders WHERE order_id = ?`, orderID).Scan(&printer, &gtin); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("label order %q: %w", orderID, ErrLabelOrderNotFound)
			}
			return err
		}
		var err error
		suspended, more, err = o.release(tx, actor, orderID)
		return err
	})
	if err != nil {
		return err
	}
	if more {
		o.kick()
	}
	return o.afterRelease(ctx, printer, gtin, suspended)
}

// Resume releases a suspended (or never released) order again.
func (o *Orders) Resume(ctx context.Context, actor, orderID string) error {
	return o.Release(ctx, actor, orderID)
}

// ReleaseStep is how many labels one transaction of a release queues at
// most: a large order never holds the writer for long, and the client that
// sent it has its answer after the first step.
const ReleaseStep = 1000

// release does one step of a release inside tx: it reports a suspension,
// and whether more steps remain (Continue takes them).
func (o *Orders) release(tx *sql.Tx, actor, orderID string) (suspended, more bool, err error) {
	var gtin, batch, expiry, template, dest string
	var status State
	var qty, extra, allocated int
	var seq int64
	err = tx.QueryRow(`SELECT rowid, gtin, batch, expiry, quantity, extra, allocated, destination, template, `+statusColumn+` FROM label_orders WHERE order_id = ?`, orderID).
		Scan(&seq, &gtin, &batch, &expiry, &qty, &extra, &allocated, &dest, &template, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, fmt.Errorf("label order %q: %w", orderID, ErrLabelOrderNotFound)
	}
	if err != nil {
		return false, false, err
	}
	if status != Created && status != Suspended && status != Released {
		return false, false, &StateError{OrderID: orderID, State: status, Act: "only created or suspended orders are released"}
	}
	tmpl, ok := o.ledger.Templates().Get(template)
	if !ok {
		return false, false, ErrTemplateNotFound
	}
	if !o.dest[dest] {
		return false, false, ErrDestinationNotFound
	}
	total := qty + extra
	left := total - allocated
	if status != Released && !o.ledger.Serials().Generate {
		// An imported pool must hold the whole order before any of it is
		// queued: an order is not printed in part for want of serials.
		avail, err := ledger.Available(tx, gtin)
		if err != nil {
			return false, false, err
		}
		if avail < left {
			return o.suspend(tx, actor, orderID, status)
		}
	}
	serials, err := o.ledger.Take(tx, gtin, min(left, ReleaseStep))
	if errors.Is(err, ledger.ErrNoSerialsLeft) {
		return o.suspendFor(tx, actor, orderID, status, MsgNoSerialsLeft)
	}
	if errors.Is(err, ledger.ErrNoSerials) {
		return o.suspend(tx, actor, orderID, status)
	}
	if err != nil {
		return false, false, err
	}
	var buf []byte
	for _, s := range serials {
		d := ledger.PackData{OrderID: orderID, GTIN: gtin, Batch: batch, Expiry: expiry, Serial: s, Seq: seq}
		if buf, err = ledger.Render(tmpl, buf[:0], d); err != nil {
			return false, false, &v2.FieldError{Field: "template_tag", Rule: fmt.Sprintf("the label does not render with this order's data: %v", err)}
		}
		if _, err := o.ledger.QueuePack(tx, dest, template, d); err != nil {
			return false, false, err
		}
	}
	allocated += len(serials)
	next := Released
	if allocated >= total {
		next = Printing
	}
	if _, err := tx.Exec(`UPDATE label_orders SET status = ?, allocated = ?, message = '' WHERE order_id = ?`, next, allocated, orderID); err != nil {
		return false, false, err
	}
	if status != Released {
		if err := audit.Write(tx, actor, "label_order.release", orderID, string(status), string(Printing), fmt.Sprintf("%d labels", total)); err != nil {
			return false, false, err
		}
	}
	return false, next == Released, nil
}

// MsgNoSerialsLeft is why an order waits when the line's range of
// generated serials cannot hold it.
const MsgNoSerialsLeft = "No serials left in this line's range (line.serials.prefix): tell the supervisor"

func (o *Orders) suspend(tx *sql.Tx, actor, orderID string, status State) (bool, bool, error) {
	return o.suspendFor(tx, actor, orderID, status, v2.MsgNoSerialsAssigned)
}

func (o *Orders) suspendFor(tx *sql.Tx, actor, orderID string, status State, why string) (bool, bool, error) {
	if _, err := tx.Exec(`UPDATE label_orders SET status = 'suspended', message = ? WHERE order_id = ?`, why, orderID); err != nil {
		return false, false, err
	}
	return true, false, audit.Write(tx, actor, "label_order.suspend", orderID, string(status), string(Suspended), why)
}

// kick wakes Run to continue releases.
func (o *Orders) kick() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run continues releases in steps until ctx ends: woken when an order
// has more steps, and once a second for orders a restart left midway.
func (o *Orders) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := o.Continue(ctx); err != nil && ctx.Err() == nil {
			o.cfg.Log.Error().Err(err).Msg("cannot continue releasing label orders")
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		}
	}
}

// Continue takes every remaining step of the orders being released, each
// in its own transaction.
func (o *Orders) Continue(ctx context.Context) error {
	for {
		var id, printer string
		err := o.db.Reader().QueryRowContext(ctx, `SELECT order_id, destination FROM label_orders WHERE status = 'released' ORDER BY rowid LIMIT 1`).Scan(&id, &printer)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := o.db.Write(ctx, func(tx *sql.Tx) error {
			_, _, err := o.release(tx, "agent", id)
			return err
		}); err != nil {
			return fmt.Errorf("label order %s: %w", id, err)
		}
		o.ledger.Wake(printer)
	}
}

// Recover releases orders stored with execute that a stop caught before
// their release (stores of earlier versions released in a second step).
func (o *Orders) Recover(ctx context.Context) {
	rows, err := o.db.Reader().QueryContext(ctx, `SELECT order_id FROM label_orders WHERE status = 'created' AND closed_at IS NULL AND json_extract(CAST(request AS TEXT), '$.execute') = 1 ORDER BY created_at`)
	if err != nil {
		o.cfg.Log.Error().Err(err).Msg("cannot read label orders to release")
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		if err := o.Release(ctx, "agent", id); err != nil {
			o.cfg.Log.Warn().Err(err).Str("order", id).Msg("label order stored with execute could not be released")
		}
	}
	o.kick() // orders a stop left midway through their release
}

// Status reads an order's status and label counts by state.
func (o *Orders) Status(ctx context.Context, orderID string) (State, map[ledger.LabelState]int, error) {
	var status State
	if err := o.db.Reader().QueryRowContext(ctx, `SELECT `+statusColumn+` FROM label_orders WHERE order_id = ?`, orderID).Scan(&status); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil, ErrLabelOrderNotFound
		}
		return "", nil, err
	}
	counts, err := o.ledger.OrderCounts(ctx, orderID)
	return status, counts, err
}

// SampleSerial stands for the serial on the sample of an order that has no
// labels yet.
const SampleSerial = "SAMPLE"

// Sample is an order's label as it will print, with SampleSerial for the
// serial: what a supervisor checks before releasing an order whose labels
// are not made yet.
func (o *Orders) Sample(ctx context.Context, orderID string) (ledger.Printable, error) {
	var p ledger.Printable
	var batch, expiry string
	err := o.db.Reader().QueryRowContext(ctx, `SELECT gtin, batch, expiry, template, destination FROM label_orders WHERE order_id = ?`, orderID).
		Scan(&p.GTIN, &batch, &expiry, &p.Template, &p.Printer)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("label order %q: %w", orderID, ErrLabelOrderNotFound)
	}
	if err != nil {
		return p, err
	}
	t, ok := o.ledger.Templates().Get(p.Template)
	if !ok {
		return p, fmt.Errorf("label order %q: template %s: %w", orderID, p.Template, ErrTemplateNotFound)
	}
	p.Kind, p.OrderID, p.Serial, p.DPMM = label.Pack, orderID, SampleSerial, t.DPMM
	p.ZPL, err = ledger.Render(t, nil, ledger.PackData{OrderID: orderID, GTIN: p.GTIN, Batch: batch, Expiry: expiry, Serial: SampleSerial})
	return p, err
}
