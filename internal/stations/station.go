// Package stations runs the line's stations: state machines driven by
// scans. A case station packs packs into cases, a pallet station cases
// onto pallets, a decommission station takes packs out of circulation with
// a reason, and a ship station collects order numbers and asks for their
// shipping labels. Each scan is judged, its effects and its verdict stored
// in one transaction, and only then answered and shown. Between scans a
// station keeps in memory what its last committed scan left, so a pack scan
// reads from the database only what others may have changed: the pack.
package stations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
)

// Station is a state machine driven by scans. Its state lives in the
// database; Handle takes one scan at a time.
type Station struct {
	reg *Registry
	cfg StationConfig

	mu   sync.Mutex // one scan at a time
	smu  sync.Mutex
	subs map[chan Verdict]struct{}

	// known is the station as its last committed scan left it, so a scan
	// reads none of it from the database; guarded by mu. It is nil until
	// the first scan after a start, and is dropped when a write fails or
	// a supervisor changes the station's order: the next scan reads the
	// station again.
	known *known

	ok, refused atomic.Uint64 // verdicts since start
}

// Verdicts counts the scans accepted and refused since start.
func (s *Station) Verdicts() (ok, refused uint64) { return s.ok.Load(), s.refused.Load() }

// Name is the station's name.
func (s *Station) Name() string { return s.cfg.Name }

// Subscribe returns a channel of the station's verdicts and a function to
// stop. A subscriber too slow to keep up misses verdicts, never blocks the
// station.
func (s *Station) Subscribe() (<-chan Verdict, func()) {
	ch := make(chan Verdict, 64)
	s.smu.Lock()
	s.subs[ch] = struct{}{}
	s.smu.Unlock()
	return ch, func() {
		s.smu.Lock()
		delete(s.subs, ch)
		s.smu.Unlock()
	}
}

func (s *Station) publish(v Verdict) {
	if v.Headline == "" {
		v.Headline = Headline(v.Code, v.Message)
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- v:
		default:
		}
	}
}

// stationRow is the station's stored state.
type stationRow struct {
	mode, reason, order, container string
	removeNext                     bool
}

// known is what a station keeps of its state between scans: its row, and
// its open container with how many items it holds. Only the station's own
// scans change its row and open or close its container; elsewhere items
// can only be taken out of it (another station's REMOVE, a supervisor), so
// the count is trusted only while the line's containers have not changed
// elsewhere since it was counted (containers.Changes).
type known struct {
	row     stationRow
	open    *containers.Container // nil when none is open
	count   int                   // items in open
	changes uint64                // containers.Changes when count was right
}

// work is a scan being judged inside its transaction.
type work struct {
	s      *Station
	tx     *sql.Tx
	row    stationRow
	open   *containers.Container // the row's container, nil when none is open
	count  int                   // items in open
	seen   uint64                // containers.Changes as the scan began
	orders []orders.Packaging    // read from the database by this scan
	v      *Verdict
	notify bool   // facts were queued for the cloud
	wake   string // a printer that has a label queued
	who    string // the audit log's actor
	dirty  bool   // the station row changed
	now    int64
}

// refusal is an operator-readable "no".
type refusal struct{ code, msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(code, format string, a ...any) error {
	return &refusal{code: code, msg: fmt.Sprintf(format, a...)}
}

// Handle judges one scan: the station's state changes and the verdict is
// stored in one transaction, and only then returned and published. An
// error means nothing was stored (the database refused): the operator
// scans again.
func (s *Station) Handle(ctx context.Context, sc Scan) (Verdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.At.IsZero() {
		sc.At = time.Now()
	}
	if v, done, err := s.person(ctx, &sc); done || err != nil {
		return v, err
	}
	var v Verdict
	var w *work
	err := s.reg.db.Write(ctx, func(tx *sql.Tx) error {
		v = Verdict{Station: s.cfg.Name, At: sc.At, Raw: printable(sc.Raw)}
		w = &work{s: s, tx: tx, v: &v, now: nowMS(), who: sc.Actor}
		if err := w.load(); err != nil {
			return err
		}
		if _, err := tx.Exec(`SAVEPOINT judge`); err != nil {
			return err
		}
		row, open, count := w.row, w.open, w.count
		err := w.judge(sc)
		var r *refusal
		switch {
		case errors.As(err, &r):
			// A refusal changes nothing but the record of the scan.
			if _, err := tx.Exec(`ROLLBACK TO judge`); err != nil {
				return err
			}
			w.row, w.open, w.count = row, open, count
			w.notify, w.wake, w.dirty = false, "", false
			v.OK, v.Code, v.Message = false, r.code, r.msg
		case err != nil:
			return err
		default:
			v.OK = true
		}
		if _, err := tx.Exec(`RELEASE judge`); err != nil {
			return err
		}
		if sc.Actor != "" && v.OK {
			if err := audit.Write(tx, sc.Actor, "station.command", s.cfg.Name, "", sc.Plain, v.Message); err != nil {
				return err
			}
		}
		if err := w.describe(); err != nil {
			return err
		}
		// Not prepared per transaction (store.DB.Stmt): the driver keeps
		// this statement prepared on the writer's connection from one
		// transaction to the next.
		r2, err := tx.Exec(`INSERT INTO scans (station, source, at, raw, ok, code, message, container) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.cfg.Name, sc.Source, sc.At.UnixMilli(), v.Raw, v.OK, v.Code, v.Message, v.Container)
		if err != nil {
			return err
		}
		v.Scan, _ = r2.LastInsertId()
		return nil
	})
	if err != nil {
		// Whatever the scan changed was rolled back with it, and how far
		// it got is unknown here: the next scan reads the station again.
		s.known = nil
		return Verdict{}, err
	}
	// Committed: the station is as the scan left it.
	s.known = &known{row: w.row, open: w.open, count: w.count, changes: w.seen}
	s.reg.remember(w.orders)
	if w.notify {
		s.reg.ledger.Notify()
	}
	if w.wake != "" {
		s.reg.ledger.Wake(w.wake)
	}
	if v.OK {
		s.ok.Add(1)
	} else {
		s.refused.Add(1)
	}
	v.Headline = Headline(v.Code, v.Message)
	s.publish(v)
	return v, nil
}

// printable escapes control characters of a read for the record.
func printable(raw []byte) string {
	var b strings.Builder
	for _, c := range raw {
		switch {
		case c == gs1.GS:
			b.WriteString("<GS>")
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "<%02X>", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// load gives the scan the station's state: what the last committed scan
// left, or else the database's. The open container is counted again when
// the line's containers changed elsewhere since it was counted.
func (w *work) load() error {
	s := w.s
	w.seen = s.reg.containers.Changes()
	if k := s.known; k != nil {
		w.row, w.open, w.count = k.row, k.open, k.count
		if k.changes == w.seen || k.open == nil {
			return nil
		}
	} else if err := w.tx.QueryRow(`SELECT mode, reason, order_id, container, remove_next FROM stations WHERE name = ?`, s.cfg.Name).
		Scan(&w.row.mode, &w.row.reason, &w.row.order, &w.row.container, &w.row.removeNext); err != nil {
		return fmt.Errorf("station %s: %w", s.cfg.Name, err)
	}
	w.open, w.count = nil, 0
	if w.row.container == "" {
		return nil
	}
	return w.openContainer(w.row.container)
}

// openContainer reads the container the station has open, and counts it.
func (w *work) openContainer(sscc string) error {
	k, err := containers.Load(w.tx, sscc)
	if err != nil {
		return err
	}
	if k == nil {
		return fmt.Errorf("station %s: its open container %s is not stored", w.s.cfg.Name, sscc)
	}
	n, err := containers.Count(w.tx, sscc)
	if err != nil {
		return err
	}
	w.open, w.count = k, n
	return nil
}

// describe fills the verdict's view of the station after the scan.
func (w *work) describe() error {
	tx := w.tx
	if w.dirty {
		if _, err := tx.Exec(`UPDATE stations SET mode = ?, reason = ?, container = ?, remove_next = ?, updated_at = ? WHERE name = ?`,
			w.row.mode, w.row.reason, w.row.container, w.row.removeNext, w.now, w.s.cfg.Name); err != nil {
			return err
		}
	}
	// A refused scan's changes were rolled back, in the database and here.
	w.v.Mode, w.v.Reason, w.v.Container = w.row.mode, w.row.reason, w.row.container
	if w.v.Mode != ModeDecommission {
		w.v.Reason = ""
	}
	if k := w.open; k != nil {
		w.v.Level, w.v.Count = string(k.Level), w.count
		c, err := w.capacity(k.Level, k.Order)
		if err != nil {
			return err
		}
		w.v.Capacity = c
	}
	if w.v.Mode == ModeShip {
		n, err := shipments.CollectedAt(tx, w.s.cfg.Name)
		if err != nil {
			return err
		}
		w.v.Collected = n
	}
	return nil
}

// judge decides what a scan means and does it.
func (w *work) judge(sc Scan) error {
	switch {
	case sc.Err != nil:
		return refuse("unreadable", "Barcode not usable: %v", sc.Err)
	case sc.GS1 == nil && strings.HasPrefix(strings.ToUpper(sc.Plain), cmdPrefix):
		return w.command(strings.ToUpper(strings.TrimSpace(sc.Plain)))
	}
	switch w.row.mode {
	case ModeShip:
		if sc.GS1 != nil {
			return refuse("not_order", "This is a product or case label, not an order number: scan the order's barcode")
		}
		return w.collectOrder(strings.TrimSpace(sc.Plain))
	case ModeDecommission:
		if sc.GS1 == nil {
			return refuse("not_gs1", "Not a pack label (%q): scan the pack's Data Matrix", clip(sc.Plain, 40))
		}
		return w.decommission(sc.GS1)
	default:
		if sc.GS1 == nil {
			return refuse("not_gs1", "Not a pack or case label (%q): scan a GS1 barcode or a command", clip(sc.Plain, 40))
		}
		return w.aggregate(sc.GS1)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// command carries out a command barcode.
func (w *work) command(cmd string) error {
	setMode := func(mode, reason string) error {
		if w.row.container != "" {
			return refuse("container_open", "%s %s is still open: close or cancel it before switching", levelName(w), w.row.container)
		}
		if w.row.mode == ModeShip && mode != ModeShip {
			if n, err := shipments.CollectedAt(w.tx, w.s.cfg.Name); err != nil {
				return err
			} else if n > 0 {
				return refuse("orders_collected", "%d scanned orders wait for labels: CLOSE to request them or CANCEL to drop them", n)
			}
		}
		w.row.mode, w.row.reason, w.row.removeNext, w.dirty = mode, reason, false, true
		w.v.Code = "mode"
		switch mode {
		case ModeDecommission:
			w.v.Message = "Decommission: " + strings.ReplaceAll(reason, "_", " ") + ". Scan the packs"
		case ModeCase:
			w.v.Message = "Packing cases: scan a case label or NEW"
		case ModePallet:
			w.v.Message = "Building pallets: scan a pallet label or NEW"
		case ModeShip:
			w.v.Message = "Shipping: scan order numbers, then CLOSE"
		}
		return nil
	}
	switch cmd {
	case CmdCase:
		return setMode(ModeCase, "")
	case CmdPallet:
		return setMode(ModePallet, "")
	case CmdShip:
		return setMode(ModeShip, "")
	case CmdNew:
		return w.newContainer()
	case CmdClose:
		if w.row.mode == ModeShip {
			return w.requestLabels()
		}
		return w.closeContainer()
	case CmdCancel:
		if w.row.mode == ModeShip {
			return w.dropOrders()
		}
		return w.cancelContainer()
	case CmdUndo:
		if w.row.mode == ModeShip {
			return w.undoOrder()
		}
		return w.undo()
	case CmdRemove:
		if w.row.mode != ModeCase && w.row.mode != ModePallet {
			return refuse("wrong_mode", "REMOVE works when packing cases or pallets")
		}
		w.row.removeNext, w.dirty = true, true
		w.v.Code, w.v.Message = "remove_next", "Scan the item to take out of its container"
		return nil
	case CmdReprint:
		return w.reprint()
	}
	if r := strings.ToLower(strings.TrimPrefix(cmd, cmdDecomPfx)); validReason(r) {
		return setMode(ModeDecommission, r)
	}
	return refuse("unknown_command", "Unknown command %s", clip(cmd, 40))
}

func levelName(w *work) string {
	if w.row.mode == ModePallet {
		return "Pallet"
	}
	return "Case"
}

// capacity is the limit of a container of the level for an order's
// product (0: none).
func (w *work) capacity(level containers.Level, orderID string) (int, error) {
	if (level == ModeCase && w.s.cfg.CaseCapacity > 0) || (level == ModePallet && w.s.cfg.PalletCapacity > 0) {
		return w.s.capacityOf(level, ""), nil
	}
	if orderID == "" {
		return 0, nil
	}
	o, err := w.order(orderID)
	if err != nil || o == nil {
		return 0, err
	}
	return w.s.capacityOf(level, o.ProductCode), nil
}

// capacityOf is the limit of a container of the level holding the
// product: the station's, else the product's (0: none).
func (s *Station) capacityOf(level containers.Level, product string) int {
	switch {
	case level == ModeCase && s.cfg.CaseCapacity > 0:
		return s.cfg.CaseCapacity
	case level == ModePallet && s.cfg.PalletCapacity > 0:
		return s.cfg.PalletCapacity
	case level == ModePallet:
		return s.reg.cfg.Capacities[product].Pallet
	}
	return s.reg.cfg.Capacities[product].Case
}

// SetOrder binds a station to a packaging order ("" = the line's only
// open order): a supervisor's action, audited.
func (s *Station) SetOrder(ctx context.Context, actor, orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The next scan reads the station's new order from the database.
	s.known = nil
	return s.reg.db.Write(ctx, func(tx *sql.Tx) error {
		var old, container string
		if err := tx.QueryRow(`SELECT order_id, container FROM stations WHERE name = ?`, s.cfg.Name).Scan(&old, &container); err != nil {
			return err
		}
		if container != "" {
			return &BusyError{Station: s.cfg.Name, Container: container}
		}
		if orderID != "" {
			o, err := orders.PackagingOf(tx, orderID)
			if err != nil {
				return err
			}
			if o == nil {
				return fmt.Errorf("packaging order %q: %w", orderID, orders.ErrPackagingOrderNotFound)
			}
		}
		if _, err := tx.Exec(`UPDATE stations SET order_id = ?, updated_at = ? WHERE name = ?`, orderID, nowMS(), s.cfg.Name); err != nil {
			return err
		}
		return audit.Write(tx, actor, "station.order", s.cfg.Name, old, orderID, "")
	})
}

// StationState is what a station screen shows.
type StationState struct {
	Name      string    `json:"name"`
	Mode      string    `json:"mode"`
	Reason    string    `json:"reason,omitempty"`
	Order     string    `json:"order,omitempty"`
	Product   string    `json:"product,omitempty"` // of the packaging order
	Batch     string    `json:"batch,omitempty"`
	Expiry    string    `json:"expiry,omitempty"`
	Container string    `json:"container,omitempty"`
	Level     string    `json:"level,omitempty"`
	Count     int       `json:"count"`
	Capacity  int       `json:"capacity,omitempty"`
	Recent    []Verdict `json:"recent"`
}

// State reads the station's state and its last n verdicts, newest first.
func (s *Station) State(ctx context.Context, n int) (StationState, error) {
	st := StationState{Name: s.cfg.Name, Recent: []Verdict{}}
	db := s.reg.db.Reader()
	if err := db.QueryRowContext(ctx, `SELECT mode, reason, order_id, container FROM stations WHERE name = ?`, s.cfg.Name).
		Scan(&st.Mode, &st.Reason, &st.Order, &st.Container); err != nil {
		return st, err
	}
	order := st.Order
	if order == "" {
		// The line's only open order, if there is just one.
		rows, err := db.QueryContext(ctx, `SELECT order_id FROM packaging_orders WHERE status IN ('Open', 'In progress') ORDER BY created_at LIMIT 2`)
		if err == nil {
			var ids []string
			for rows.Next() {
				var id string
				if rows.Scan(&id) == nil {
					ids = append(ids, id)
				}
			}
			rows.Close()
			if len(ids) == 1 {
				order = ids[0]
			}
		}
	}
	if order != "" {
		var p, b, e sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT json_extract(data, '$.product_code'), json_extract(data, '$.batch'), json_extract(data, '$.expiry_date')
			FROM packaging_orders WHERE order_id = ?`, order).Scan(&p, &b, &e); err == nil {
			st.Order, st.Product, st.Batch, st.Expiry = order, p.String, b.String, e.String
		}
	}
	if st.Container != "" {
		var product sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT level, (SELECT COUNT(*) FROM container_items WHERE sscc = c.sscc),
			(SELECT json_extract(data, '$.product_code') FROM packaging_orders p WHERE p.order_id = c.order_id) FROM containers c WHERE sscc = ?`, st.Container).
			Scan(&st.Level, &st.Count, &product); err != nil {
			return st, err
		}
		st.Capacity = s.capacityOf(containers.Level(st.Level), product.String)
	}
	rows, err := db.QueryContext(ctx, `SELECT id, at, ok, code, message, raw, container FROM scans WHERE station = ? ORDER BY id DESC LIMIT ?`, s.cfg.Name, n)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var v Verdict
		var at int64
		if err := rows.Scan(&v.Scan, &at, &v.OK, &v.Code, &v.Message, &v.Raw, &v.Container); err != nil {
			return st, err
		}
		v.Headline = Headline(v.Code, v.Message)
		v.Station, v.At = s.cfg.Name, time.UnixMilli(at)
		st.Recent = append(st.Recent, v)
	}
	return st, rows.Err()
}

// BusyError is a station that has a container open.
type BusyError struct{ Station, Container string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("station %s has container %s open: close or cancel it first", e.Station, e.Container)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// BadgePrefix starts a badge code: scanned at a station, it signs its
// holder on.
const BadgePrefix = "BADGE:"

// person handles the people side of a scan before it is judged: a badge
// signs its holder on (done), and a scan that needs a person is given the
// operator signed on at the station as its actor — or refused when nobody
// is (done, with the refusal recorded like any verdict).
func (s *Station) person(ctx context.Context, sc *Scan) (Verdict, bool, error) {
	people := s.reg.cfg.People
	if people == nil || sc.Actor != "" {
		return Verdict{}, false, nil
	}
	if code := strings.TrimSpace(sc.Plain); sc.GS1 == nil && len(code) > len(BadgePrefix) && strings.EqualFold(code[:len(BadgePrefix)], BadgePrefix) {
		name, err := people.SignOn(ctx, s.cfg.Name, code)
		if err != nil {
			return s.record(ctx, *sc, "sign_on_refused", "Badge not accepted: "+err.Error())
		}
		return s.record(ctx, Scan{Source: sc.Source, At: sc.At, Raw: []byte(BadgePrefix + "…"), Plain: BadgePrefix, Actor: "user:" + name},
			"signed_on", "Signed on: "+name)
	}
	if !s.cfg.SignOn || !s.needsPerson(ctx, *sc) {
		return Verdict{}, false, nil
	}
	name, ok, err := people.Operator(ctx, s.cfg.Name)
	if err != nil {
		return Verdict{}, true, err
	}
	if !ok {
		return s.record(ctx, *sc, "sign_on", "Sign on first: scan your badge. This needs a person's name")
	}
	sc.Actor = "user:" + name
	return Verdict{}, false, nil
}

// needsPerson reports whether a scan changes the record beyond packing.
func (s *Station) needsPerson(ctx context.Context, sc Scan) bool {
	if sc.GS1 == nil {
		switch strings.ToUpper(strings.TrimSpace(sc.Plain)) {
		case CmdClose, CmdCancel, CmdRemove, CmdUndo:
			return true
		}
		return false
	}
	if k := s.known; k != nil {
		return k.row.mode == ModeDecommission
	}
	var mode string
	if err := s.reg.db.Reader().QueryRowContext(ctx, `SELECT mode FROM stations WHERE name = ?`, s.cfg.Name).Scan(&mode); err != nil {
		return true
	}
	return mode == ModeDecommission
}

// record stores a verdict that changes nothing but the record of the scan.
func (s *Station) record(ctx context.Context, sc Scan, code, msg string) (Verdict, bool, error) {
	v := Verdict{Station: s.cfg.Name, At: sc.At, Raw: printable(sc.Raw), OK: code == "signed_on", Code: code, Message: msg, Headline: Headline(code, msg)}
	err := s.reg.db.Write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`SELECT mode, reason, container FROM stations WHERE name = ?`, s.cfg.Name).Scan(&v.Mode, &v.Reason, &v.Container); err != nil {
			return err
		}
		if v.OK && sc.Actor != "" {
			if err := audit.Write(tx, sc.Actor, "station.sign_on", s.cfg.Name, "", strings.TrimPrefix(sc.Actor, "user:"), ""); err != nil {
				return err
			}
		}
		res, err := tx.Exec(`INSERT INTO scans (station, source, at, raw, ok, code, message, container) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.cfg.Name, sc.Source, sc.At.UnixMilli(), v.Raw, v.OK, v.Code, v.Message, v.Container)
		if err != nil {
			return err
		}
		v.Scan, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		return Verdict{}, true, err
	}
	if v.OK {
		s.ok.Add(1)
	} else {
		s.refused.Add(1)
	}
	s.publish(v)
	return v, true, nil
}
