package shipments

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

type line struct {
	db   *store.DB
	l    *ledger.Ledger
	s    *Shipments
	news chan News
}

func openShipments(t *testing.T) *line {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "s.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l, err := ledger.New(db, ledger.Config{})
	require.NoError(t, err)
	ln := &line{db: db, l: l, s: New(l), news: make(chan News, 16)}
	ln.s.OnNews(func(n News) { ln.news <- n })
	return ln
}

func (ln *line) write(t *testing.T, fn func(tx *sql.Tx) error) {
	t.Helper()
	require.NoError(t, ln.db.Write(context.Background(), fn))
}

func (ln *line) collect(t *testing.T, station string, refs ...string) int {
	t.Helper()
	var n int
	for _, ref := range refs {
		ln.write(t, func(tx *sql.Tx) error {
			var err error
			n, err = Collect(tx, station, ref, 1)
			return err
		})
	}
	return n
}

func (ln *line) request(t *testing.T, station string) (int, error) {
	var n int
	err := ln.db.Write(context.Background(), func(tx *sql.Tx) error {
		var err error
		n, err = ln.s.Request(tx, station, 7, 2)
		return err
	})
	return n, err
}

func (ln *line) orders(t *testing.T, station string) map[string]Order {
	t.Helper()
	os, err := ln.s.Orders(context.Background(), station)
	require.NoError(t, err)
	out := map[string]Order{}
	for _, o := range os {
		out[o.Order] = o
	}
	return out
}

func (ln *line) nextNews(t *testing.T) News {
	t.Helper()
	select {
	case n := <-ln.news:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no news")
		return News{}
	}
}

func (ln *line) noNews(t *testing.T) {
	t.Helper()
	select {
	case n := <-ln.news:
		t.Fatalf("unexpected news %+v", n)
	default:
	}
}

func TestCollectRefusesDuplicates(t *testing.T) {
	ln := openShipments(t)
	assert.Equal(t, 2, ln.collect(t, "ship1", "A", "B"))
	var dup *DuplicateError
	err := ln.db.Write(context.Background(), func(tx *sql.Tx) error { _, err := Collect(tx, "ship1", "A", 1); return err })
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, DuplicateError{Order: "A", Station: "ship1", State: Collected, Here: true}, *dup)
	err = ln.db.Write(context.Background(), func(tx *sql.Tx) error { _, err := Collect(tx, "ship2", "A", 1); return err })
	require.ErrorAs(t, err, &dup)
	assert.False(t, dup.Here, "collected at another station")
	assert.Contains(t, dup.Error(), "already scanned at station ship1")

	n, err := ln.request(t, "ship1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	err = ln.db.Write(context.Background(), func(tx *sql.Tx) error { _, err := Collect(tx, "ship1", "A", 1); return err })
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, DuplicateError{Order: "A", Station: "ship1", State: Requested, Here: false}, *dup, "requested already: not a double scan")

	// A refused order may be scanned again.
	require.NoError(t, ln.s.ShipFailed(context.Background(), ln.orders(t, "ship1")["A"].ID, "address unknown"))
	assert.Equal(t, 1, ln.collect(t, "ship2", "A"))
}

func TestRequestDropAndUndo(t *testing.T) {
	ln := openShipments(t)
	ctx := context.Background()
	_, err := ln.request(t, "ship1")
	require.ErrorIs(t, err, ErrNoOrders)
	require.ErrorIs(t, ln.db.Write(ctx, func(tx *sql.Tx) error { _, err := Drop(tx, "ana", "ship1"); return err }), ErrNoOrders)
	require.ErrorIs(t, ln.db.Write(ctx, func(tx *sql.Tx) error { _, err := UndoLast(tx, "ana", "ship1"); return err }), ErrNoOrders)

	ln.collect(t, "ship1", "A", "B", "C")
	var ref string
	ln.write(t, func(tx *sql.Tx) error {
		var err error
		ref, err = UndoLast(tx, "ana", "ship1")
		return err
	})
	assert.Equal(t, "C", ref, "the last order comes off")
	var dropped int
	ln.write(t, func(tx *sql.Tx) error {
		var err error
		dropped, err = Drop(tx, "ana", "ship1")
		return err
	})
	assert.Equal(t, 2, dropped)
	assert.Empty(t, ln.orders(t, "ship1"))
	var actions []string
	rows, err := ln.db.Reader().Query(`SELECT action || ' ' || old_value FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	rows.Close()
	assert.Equal(t, []string{"ship.undo C", "ship.cancel 2 orders"}, actions)

	// A request: one outbox item per order, one batch.
	ln.collect(t, "ship1", "D", "E")
	ln.collect(t, "ship2", "F")
	n, err := ln.request(t, "ship1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	recs, err := queue.ListOldest(ctx, ln.db, "", 0)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	byID := map[string]Order{}
	for _, o := range ln.orders(t, "ship1") {
		assert.Equal(t, Requested, o.State)
		byID[o.Order] = o
	}
	full, err := queue.List(ctx, ln.db, "", 0, true)
	require.NoError(t, err)
	for _, r := range full {
		assert.Equal(t, facts.KindShipLabel, r.Kind)
		assert.Equal(t, "shipping/ship1", r.Stream)
		var f facts.ShipFact
		require.NoError(t, json.Unmarshal(r.Payload, &f))
		assert.Equal(t, byID[f.OrderNumber].ID, f.ID)
		assert.Equal(t, 7, f.IntegrationID)
	}
	var requests []string
	rows, err = ln.db.Reader().Query(`SELECT DISTINCT request FROM ship_orders WHERE station = 'ship1'`)
	require.NoError(t, err)
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		requests = append(requests, r)
	}
	rows.Close()
	assert.Len(t, requests, 1, "the orders went out together")
	assert.Equal(t, Collected, ln.orders(t, "ship2")["F"].State, "another station's orders wait")
	ln.write(t, func(tx *sql.Tx) error {
		n, err := CollectedAt(tx, "ship2")
		assert.Equal(t, 1, n)
		return err
	})
}

func TestLabelledOrdersPrintOnce(t *testing.T) {
	ln := openShipments(t)
	ctx := context.Background()
	ln.s.SetPrinter("ship1", "p1")
	ln.collect(t, "ship1", "A", "B")
	_, err := ln.request(t, "ship1")
	require.NoError(t, err)
	os := ln.orders(t, "ship1")
	a, b := os["A"].ID, os["B"].ID

	sh, err := ln.s.ShipmentOf(ctx, a)
	require.NoError(t, err)
	assert.Empty(t, sh)
	require.NoError(t, ln.s.ShipRequested(ctx, a, "SH-1"))
	sh, err = ln.s.ShipmentOf(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, "SH-1", sh, "a retried request finds the shipment")

	require.NoError(t, ln.s.ShipLabelled(ctx, a, []byte("^XA^FDA^FS^XZ")))
	assert.Equal(t, News{Station: "ship1", OK: true, Code: "ship_label", Message: "Label for order A printing"}, ln.nextNews(t))
	require.NoError(t, ln.s.ShipLabelled(ctx, a, []byte("^XA^FDA^FS^XZ")), "a retried download")
	ln.noNews(t)
	queued, err := ln.l.Queued(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"p1": 1}, queued, "the label is queued once")
	assert.Equal(t, Labelled, ln.orders(t, "ship1")["A"].State)

	// The fake printer: the order follows its label.
	lb, err := ln.l.Next(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, label.Shipping, lb.Kind)
	assert.Equal(t, []byte("^XA^FDA^FS^XZ"), lb.Data)
	require.NoError(t, ln.l.Printing(ctx, "p1", lb.Ref))
	assert.Equal(t, State("printing"), ln.orders(t, "ship1")["A"].State)
	require.NoError(t, ln.l.Printed(ctx, "p1", lb.Ref))
	assert.Equal(t, Printed, ln.orders(t, "ship1")["A"].State)
	ln.noNews(t)

	require.NoError(t, ln.s.ShipLabelled(ctx, b, []byte("^XA^FDB^FS^XZ")))
	ln.nextNews(t)
	lb, err = ln.l.Next(ctx, "p1")
	require.NoError(t, err)
	require.NoError(t, ln.l.Printing(ctx, "p1", lb.Ref))
	require.NoError(t, ln.l.Unknown(ctx, "p1", lb.Ref, "printer offline"))
	o := ln.orders(t, "ship1")["B"]
	assert.Equal(t, Unknown, o.State)
	assert.Equal(t, "printer offline", o.Detail)
	assert.Equal(t, News{Station: "ship1", Code: "ship_unknown", Message: "Label for order B may not have printed"}, ln.nextNews(t))
	require.NoError(t, ln.l.Reprint(ctx, "ana", lb.ID, "check"))
	assert.Equal(t, Unknown, ln.orders(t, "ship1")["B"].State, "queued again: the order waits for the printer")
	lb, err = ln.l.Next(ctx, "p1")
	require.NoError(t, err)
	require.NoError(t, ln.l.Printing(ctx, "p1", lb.Ref))
	require.NoError(t, ln.l.Printed(ctx, "p1", lb.Ref))
	o = ln.orders(t, "ship1")["B"]
	assert.Equal(t, Printed, o.State)
	assert.Empty(t, o.Detail, "printed after all: no reason is left")

	_, err = ln.s.ShipmentOf(ctx, 999)
	require.ErrorIs(t, err, sql.ErrNoRows)
	require.ErrorIs(t, ln.s.ShipLabelled(ctx, 999, nil), sql.ErrNoRows)
}

func TestNoPrinterAndFailures(t *testing.T) {
	ln := openShipments(t)
	ctx := context.Background()
	ln.collect(t, "ship1", "A", "B")
	_, err := ln.request(t, "ship1")
	require.NoError(t, err)
	os := ln.orders(t, "ship1")

	require.NoError(t, ln.s.ShipLabelled(ctx, os["A"].ID, []byte("^XA^XZ")))
	assert.Equal(t, News{Station: "ship1", Code: "ship_no_printer", Message: "Label for order A is ready, but the station has no printer"}, ln.nextNews(t))
	assert.Equal(t, Labelled, ln.orders(t, "ship1")["A"].State)
	queued, err := ln.l.Queued(ctx)
	require.NoError(t, err)
	assert.Empty(t, queued)

	require.NoError(t, ln.s.ShipFailed(ctx, os["B"].ID, "address unknown"))
	assert.Equal(t, News{Station: "ship1", Code: "ship_failed", Message: "No label for order B: address unknown"}, ln.nextNews(t))
	o := ln.orders(t, "ship1")["B"]
	assert.Equal(t, Failed, o.State)
	assert.Equal(t, "address unknown", o.Detail)
	require.ErrorIs(t, ln.s.ShipFailed(ctx, 999, "x"), sql.ErrNoRows)

	// A label that arrives after all (a retry succeeded) is still printed.
	ln.s.SetPrinter("ship1", "p1")
	require.NoError(t, ln.s.ShipLabelled(ctx, os["B"].ID, []byte("^XA^XZ")))
	assert.True(t, ln.nextNews(t).OK)
	assert.Equal(t, Labelled, ln.orders(t, "ship1")["B"].State)
}

func TestAShippingLabelMustNameItsOrder(t *testing.T) {
	ln := openShipments(t)
	ctx := context.Background()
	ln.write(t, func(tx *sql.Tx) error {
		_, err := ln.l.QueueLabel(tx, label.Shipping, "p1", "not-an-id", []byte("^XA^XZ"))
		return err
	})
	lb, err := ln.l.Next(ctx, "p1")
	require.NoError(t, err)
	require.ErrorContains(t, ln.l.Printing(ctx, "p1", lb.Ref), "is not a shipping order")
	queued, err := ln.l.Queued(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, queued["p1"], "the refused move changed nothing")
}

// A retry of a refused order forgets its refused shipment, so a new label
// is asked for; an order not refused keeps its shipment; a refused order
// scanned again since is not asked for twice.
func TestRerequest(t *testing.T) {
	ln := openShipments(t)
	ctx := context.Background()
	ln.collect(t, "ship-1", "ORD-1", "ORD-2")
	_, err := ln.request(t, "ship-1")
	require.NoError(t, err)
	orders, err := ln.s.Orders(ctx, "ship-1")
	require.NoError(t, err)
	require.Len(t, orders, 2)
	byRef := map[string]int64{}
	for _, o := range orders {
		byRef[o.Order] = o.ID
		require.NoError(t, ln.s.ShipRequested(ctx, o.ID, "sh-"+o.Order))
	}
	require.NoError(t, ln.s.ShipFailed(ctx, byRef["ORD-1"], "The carrier rejected the address"))
	<-ln.news

	payload := func(ref string) []byte {
		b, _ := json.Marshal(facts.ShipFact{ID: byRef[ref], Station: "ship-1", OrderNumber: ref})
		return b
	}
	ln.write(t, func(tx *sql.Tx) error { return ln.s.Rerequest(tx, facts.KindShipLabel, payload("ORD-2")) })
	sh, err := ln.s.ShipmentOf(ctx, byRef["ORD-2"])
	require.NoError(t, err)
	assert.Equal(t, "sh-ORD-2", sh, "an order not refused keeps its shipment")

	ln.write(t, func(tx *sql.Tx) error { return ln.s.Rerequest(tx, facts.KindShipLabel, payload("ORD-1")) })
	sh, err = ln.s.ShipmentOf(ctx, byRef["ORD-1"])
	require.NoError(t, err)
	assert.Empty(t, sh, "the refused shipment is forgotten")
	orders, err = ln.s.Orders(ctx, "ship-1")
	require.NoError(t, err)
	for _, o := range orders {
		if o.Order == "ORD-1" {
			assert.Equal(t, Requested, o.State)
			assert.Empty(t, o.Detail)
		}
	}

	// Refused again, then scanned again at another station: a retry of the
	// old item is refused, naming where the order is now.
	require.NoError(t, ln.s.ShipFailed(ctx, byRef["ORD-1"], "refused again"))
	<-ln.news
	ln.collect(t, "ship-2", "ORD-1")
	err = ln.db.Write(ctx, func(tx *sql.Tx) error { return ln.s.Rerequest(tx, facts.KindShipLabel, payload("ORD-1")) })
	var ree *RequestedElsewhereError
	require.ErrorAs(t, err, &ree)
	assert.Equal(t, "order ORD-1 was scanned again at station ship-2 (collected): that request stands; park this one", err.Error())

	// Other kinds of items are not the shipments' business.
	ln.write(t, func(tx *sql.Tx) error { return ln.s.Rerequest(tx, "commission", []byte("not json")) })
}

// An order scanned by the SSCC of a closed pallet is shipped in the
// journal when its label prints, with the carrier's shipment as its bill
// of lading; an order number names no object and journals nothing.
func TestShippedPalletIsJournalled(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "s.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l, err := ledger.New(db, ledger.Config{Journal: &journal.Config{Site: "9506000000008"}})
	require.NoError(t, err)
	ln := &line{db: db, l: l, s: New(l), news: make(chan News, 16)}
	ctx := context.Background()
	const pallet = "095060000000000015"
	ln.write(t, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO containers (sscc, level, state, station, origin, opened_at, closed_at) VALUES (?, 'pallet', 'closed', 'pal', 'allocated', 1, 2)`, pallet)
		return err
	})
	ln.s.SetPrinter("ship1", "p1")
	ln.collect(t, "ship1", "(00)"+pallet, "ORD-7")
	_, err = ln.request(t, "ship1")
	require.NoError(t, err)
	for ref, o := range ln.orders(t, "ship1") {
		require.NoError(t, ln.s.ShipRequested(ctx, o.ID, "SH-"+ref[len(ref)-1:]))
		require.NoError(t, ln.s.ShipLabelled(ctx, o.ID, []byte("^XA^XZ")))
		lb, err := ln.l.Next(ctx, "p1")
		require.NoError(t, err)
		require.NoError(t, ln.l.Printing(ctx, "p1", lb.Ref))
		require.NoError(t, ln.l.Printed(ctx, "p1", lb.Ref))
	}
	events, err := journal.Query(ctx, db.Reader(), journal.Filter{})
	require.NoError(t, err)
	require.Len(t, events, 1, "the pallet, not the order number")
	var ev struct {
		Action, BizStep, Disposition string
		EPCList                      []string `json:"epcList"`
		BizTransactionList           []struct {
			Type           string `json:"type"`
			BizTransaction string `json:"bizTransaction"`
		} `json:"bizTransactionList"`
		BizLocation any `json:"bizLocation"`
	}
	require.NoError(t, json.Unmarshal(events[0].Event, &ev))
	assert.Equal(t, "OBSERVE", ev.Action)
	assert.Equal(t, "shipping", ev.BizStep)
	assert.Equal(t, "in_transit", ev.Disposition)
	assert.Equal(t, []string{"https://id.gs1.org/00/" + pallet}, ev.EPCList)
	require.Len(t, ev.BizTransactionList, 1)
	assert.Equal(t, "bol", ev.BizTransactionList[0].Type)
	assert.Equal(t, "urn:epcglobal:cbv:bt:9506000000008:SH-5", ev.BizTransactionList[0].BizTransaction)
	assert.Nil(t, ev.BizLocation, "in transit: no bizLocation")
}
