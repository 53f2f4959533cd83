package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

const (
	testGTIN  = "09506000134352"
	otherGTIN = "00000000000000" // valid check digit, not registered
)

type line struct {
	db     *store.DB
	ledger *ledger.Ledger
	orders *Orders
}

// openOrders opens the orders of a line with printer p1 and one product
// (batch AB12, expiry 261231).
func openOrders(t *testing.T, serials ledger.SerialConfig, cfg Config) *line {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "o.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l, err := ledger.New(db, ledger.Config{Serials: serials})
	require.NoError(t, err)
	require.NoError(t, l.AddProduct(ctx, testGTIN, "EU", map[string]string{"AB12": "261231"}))
	if cfg.Printers == nil {
		cfg.Printers = []string{"p1"}
	}
	return &line{db: db, ledger: l, orders: New(l, cfg)}
}

func labelOrder(id string, qty int) v2.LabelOrder {
	return v2.LabelOrder{OrderID: id, ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: &qty,
		DestinationTag: "p1", TemplateTag: "pack", Execute: true}
}

// printQueued is a fake printer pulling from the ledger: it takes every
// label queued for p1, records it printing, then printed — or unknown where
// unknown says so — and returns the serials of its pack labels in order.
func printQueued(t *testing.T, l *ledger.Ledger, unknown func(i int) bool) []string {
	t.Helper()
	ctx := context.Background()
	var serials []string
	for i := 0; ; i++ {
		queued, err := l.Queued(ctx)
		require.NoError(t, err)
		if queued["p1"] == 0 {
			return serials
		}
		lb, err := l.Next(ctx, "p1")
		require.NoError(t, err)
		require.NoError(t, l.Printing(ctx, "p1", lb.Ref))
		if unknown != nil && unknown(i) {
			require.NoError(t, l.Unknown(ctx, "p1", lb.Ref, "no answer"))
		} else {
			require.NoError(t, l.Printed(ctx, "p1", lb.Ref))
		}
		if lb.Kind == label.Pack {
			serials = append(serials, lb.Subject)
		}
	}
}

// auditActions lists the audit log's actions, oldest first.
func auditActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Reader().Query(`SELECT action FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		out = append(out, a)
	}
	return out
}

// outboxKinds counts the queued outbox items by kind.
func outboxKinds(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	recs, err := queue.List(context.Background(), db, "", 0, false)
	require.NoError(t, err)
	out := map[string]int{}
	for _, r := range recs {
		out[r.Kind]++
	}
	return out
}

func labelCount(t *testing.T, db *store.DB) int {
	var n int
	require.NoError(t, db.Reader().QueryRow(`SELECT COUNT(*) FROM labels`).Scan(&n))
	return n
}

func TestCreateLabelOrderRefusalsStoreNothing(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 2)))
	require.NoError(t, l.ledger.AddProduct(ctx, testGTIN, "", map[string]string{"AB 12": "261231"}))

	noQty := labelOrder("LO-2", 1)
	noQty.Quantity = nil
	mod := func(f func(o *v2.LabelOrder)) v2.LabelOrder { o := labelOrder("LO-2", 3); f(&o); return o }
	for name, tc := range map[string]struct {
		order v2.LabelOrder
		is    error
		field string // a *v2.FieldError on this field
		rule  string // …whose rule says this
	}{
		"validation":              {order: noQty, field: "quantity"},
		"unknown template":        {order: mod(func(o *v2.LabelOrder) { o.TemplateTag = "nope" }), is: ErrTemplateNotFound},
		"unknown destination":     {order: mod(func(o *v2.LabelOrder) { o.DestinationTag = "p9" }), is: ErrDestinationNotFound},
		"template it cannot fill": {order: mod(func(o *v2.LabelOrder) { o.TemplateTag = "sscc" }), field: "template_tag", rule: `takes key "sscc"`},
		"unknown product":         {order: mod(func(o *v2.LabelOrder) { o.ProductCode = otherGTIN }), is: ledger.ErrProductNotFound},
		"unknown batch":           {order: mod(func(o *v2.LabelOrder) { o.Batch = "ZZ99" }), is: ledger.ErrBatchNotFound},
		"existing order":          {order: labelOrder("LO-1", 5), is: ErrLabelOrderExists},
		"batch not in CSET 82":    {order: mod(func(o *v2.LabelOrder) { o.Batch = "AB 12" }), field: "batch", rule: "CSET 82"},
	} {
		t.Run(name, func(t *testing.T) {
			err := l.orders.CreateLabelOrder(ctx, "erp", tc.order)
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			} else {
				var fe *v2.FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tc.field, fe.Field, fe.Error())
				assert.Contains(t, fe.Rule, tc.rule)
			}
		})
	}
	counts, err := l.orders.StatusCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[State]int{Printing: 1}, counts, "no refused order was stored")
	assert.Equal(t, 2, labelCount(t, l.db), "only LO-1's labels exist")
	assert.Equal(t, map[string]int{}, outboxKinds(t, l.db))
	assert.Equal(t, []string{"label_order.create", "label_order.release"}, auditActions(t, l.db))
}

func TestCreateWithoutExecuteThenRelease(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	lo := labelOrder("LO-1", 3)
	lo.Execute = false
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", lo))
	st, counts, err := l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Created, st)
	assert.Empty(t, counts, "a created order has no labels")
	queued, err := l.ledger.Queued(ctx)
	require.NoError(t, err)
	assert.Empty(t, queued)

	require.NoError(t, l.orders.Release(ctx, "ana", "LO-1"))
	st, counts, err = l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Printing, st)
	assert.Equal(t, map[ledger.LabelState]int{ledger.LabelQueued: 3}, counts)

	var se *StateError
	require.ErrorAs(t, l.orders.Release(ctx, "ana", "LO-1"), &se, "a released order is not released twice")
	assert.Equal(t, Printing, se.State)
	assert.Contains(t, se.Error(), "LO-1 is printing")
	require.ErrorIs(t, l.orders.Release(ctx, "ana", "LO-9"), ErrLabelOrderNotFound)
	_, _, err = l.orders.Status(ctx, "LO-9")
	require.ErrorIs(t, err, ErrLabelOrderNotFound)
	assert.Equal(t, 3, labelCount(t, l.db))
	assert.Equal(t, []string{"label_order.create", "label_order.release"}, auditActions(t, l.db))
}

func TestEmptyImportedPoolSuspendsUntilResumed(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{}, Config{}) // imported serials only
	ctx := context.Background()
	err := l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 3))
	require.ErrorIs(t, err, ledger.ErrNoSerials)
	st, counts, err := l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Suspended, st, "the order is kept, suspended")
	assert.Empty(t, counts)
	views, err := l.orders.LabelOrders(ctx, 10)
	require.NoError(t, err)
	require.Len(t, views, 1)
	assert.Equal(t, v2.MsgNoSerialsAssigned, views[0].Message)
	assert.Equal(t, 0, labelCount(t, l.db), "no label was queued")
	stats, err := queue.ReadStats(ctx, l.db)
	require.NoError(t, err)
	assert.Equal(t, 0, stats.Pending)

	// Two serials are not enough for three labels.
	_, err = l.ledger.ImportSerials(ctx, "cli", testGTIN, []string{"S1", "S2"})
	require.NoError(t, err)
	require.ErrorIs(t, l.orders.Resume(ctx, "ana", "LO-1"), ledger.ErrNoSerials)
	_, err = l.ledger.ImportSerials(ctx, "cli", testGTIN, []string{"S3"})
	require.NoError(t, err)
	require.NoError(t, l.orders.Resume(ctx, "ana", "LO-1"))
	st, counts, err = l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Printing, st)
	assert.Equal(t, 3, counts[ledger.LabelQueued])
	left, err := l.ledger.PoolLevel(ctx, testGTIN)
	require.NoError(t, err)
	assert.Equal(t, 0, left)
	views, err = l.orders.LabelOrders(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, views[0].Message, "the suspension message is cleared")
	assert.Equal(t, []string{"label_order.create", "label_order.suspend", "serials.import", "label_order.suspend", "serials.import", "label_order.release"},
		auditActions(t, l.db))
}

func TestExtraLabels(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{Extra: Extra{Amount: 1, Type: "amount"}})
	ctx := context.Background()
	pct := labelOrder("PCT", 10)
	fifteen := 15
	pct.ExtraLabelAmount, pct.ExtraLabelType = &fifteen, "percentage"
	amt := labelOrder("AMT", 5)
	three := 3
	amt.ExtraLabelAmount, amt.ExtraLabelType = &three, "amount"
	none := labelOrder("NONE", 5)
	zero := 0
	none.ExtraLabelAmount, none.ExtraLabelType = &zero, "amount"
	def := labelOrder("DEF", 4)
	for _, lo := range []v2.LabelOrder{pct, amt, none, def} {
		require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", lo))
	}
	want := map[string]int{"PCT": 12, "AMT": 8, "NONE": 5, "DEF": 5} // 15% of 10 rounds up to 2; the channel default is 1
	views, err := l.orders.LabelOrders(ctx, 10)
	require.NoError(t, err)
	require.Len(t, views, 4)
	for _, v := range views {
		assert.Equal(t, want[v.OrderID], v.Planned, v.OrderID)
		assert.Equal(t, want[v.OrderID], v.Labels[string(ledger.LabelQueued)], v.OrderID)
	}
}

func TestOrderCompletesWhenNoLabelIsOnItsWay(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 4)))
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-2", 1)))

	// Print LO-1's first label only: the order is still printing.
	lb, err := l.ledger.Next(ctx, "p1")
	require.NoError(t, err)
	require.NoError(t, l.ledger.Printing(ctx, "p1", lb.Ref))
	require.NoError(t, l.ledger.Printed(ctx, "p1", lb.Ref))
	st, _, err := l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Printing, st)

	// The rest: LO-1's last label's outcome is unknown; LO-2 prints.
	printQueued(t, l.ledger, func(i int) bool { return i == 2 })
	st, counts, err := l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Completed, st, "an unknown label is not on its way: the order is complete")
	assert.Equal(t, map[ledger.LabelState]int{ledger.LabelPrinted: 3, ledger.LabelUnknown: 1}, counts)
	sc, err := l.orders.StatusCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[State]int{Completed: 2}, sc)

	views, err := l.orders.LabelOrders(ctx, 10)
	require.NoError(t, err)
	byID := map[string]LabelOrderView{}
	for _, v := range views {
		byID[v.OrderID] = v
	}
	assert.Equal(t, 3, byID["LO-1"].Done())
	assert.Equal(t, 75, byID["LO-1"].Percent())
	assert.Equal(t, 100, byID["LO-2"].Percent())
	assert.Equal(t, 0, LabelOrderView{}.Percent())
	limited, err := l.orders.LabelOrders(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, limited, 1)

	// A reprint puts the order back to printing until the label is printed.
	unknown, err := l.ledger.UnknownLabels(ctx)
	require.NoError(t, err)
	require.Len(t, unknown, 1)
	require.NoError(t, l.ledger.Reprint(ctx, "ana", unknown[0].ID, "torn"))
	st, _, err = l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Printing, st)
	assert.Len(t, printQueued(t, l.ledger, nil), 1)
	st, counts, err = l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Completed, st)
	assert.Equal(t, map[ledger.LabelState]int{ledger.LabelPrinted: 4}, counts)
	assert.Equal(t, map[string]int{"commission": 5}, outboxKinds(t, l.db))
}

func TestRecoverReleasesOrdersStoredWithExecute(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	for _, id := range []string{"STUCK", "HELD"} {
		lo := labelOrder(id, 2)
		lo.Execute = false
		require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", lo))
	}
	// STUCK was stored with execute by an earlier version that released in
	// a second step, and the agent stopped in between.
	stuck := labelOrder("STUCK", 2)
	req, err := json.Marshal(stuck)
	require.NoError(t, err)
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE label_orders SET request = ? WHERE order_id = 'STUCK'`, req)
		return err
	}))
	l.orders.Recover(ctx)
	st, counts, err := l.orders.Status(ctx, "STUCK")
	require.NoError(t, err)
	assert.Equal(t, Printing, st)
	assert.Equal(t, 2, counts[ledger.LabelQueued])
	st, _, err = l.orders.Status(ctx, "HELD")
	require.NoError(t, err)
	assert.Equal(t, Created, st, "an order stored without execute waits for its release")
	l.orders.Recover(ctx) // nothing left to release
	assert.Equal(t, 2, labelCount(t, l.db))
}

func TestReleaseChecksTheConfigurationAgain(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{Printers: []string{"p1", "p2"}})
	ctx := context.Background()
	lo := labelOrder("LO-1", 1)
	lo.Execute, lo.DestinationTag = false, "p2"
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", lo))
	// The agent restarts without printer p2.
	o := New(l.ledger, Config{Printers: []string{"p1"}})
	require.ErrorIs(t, o.Release(ctx, "ana", "LO-1"), ErrDestinationNotFound)
	st, _, err := o.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Created, st)
}

func TestPackagingOrders(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{Line: "line-1"})
	ctx := context.Background()
	po := v2.PackagingOrder{OrderID: "PO-1", ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "NEW1", ExpiryDate: "270630", Market: "EU"}
	got, err := l.orders.CreatePackagingOrder(ctx, "erp", po)
	require.NoError(t, err)
	assert.Equal(t, PackagingOpen, got.Status)
	products, err := l.ledger.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, "270630", products[testGTIN]["NEW1"], "the order's batch becomes master data")
	assert.Equal(t, map[string]int{"packaging_order": 1}, outboxKinds(t, l.db))

	_, err = l.orders.CreatePackagingOrder(ctx, "erp", po)
	require.ErrorIs(t, err, ErrPackagingOrderExists)
	us := po
	us.OrderID, us.Market = "PO-US", "US"
	_, err = l.orders.CreatePackagingOrder(ctx, "erp", us)
	var me *MarketError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, MarketError{Field: "market", Market: "EU"}, *me)
	assert.Contains(t, me.Error(), "registered for market EU")
	unknown := po
	unknown.OrderID, unknown.ProductCode = "PO-X", otherGTIN
	_, err = l.orders.CreatePackagingOrder(ctx, "erp", unknown)
	require.ErrorIs(t, err, ledger.ErrProductNotFound)
	var fe *v2.FieldError
	bad := po
	bad.OrderID, bad.ProductCode = "PO-B", "12345"
	_, err = l.orders.CreatePackagingOrder(ctx, "erp", bad)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "product_code", fe.Field)
	_, err = l.orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{ProductCode: testGTIN, ProductCodeSchema: "GTIN"})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "order_id", fe.Field)
	assert.Equal(t, map[string]int{"packaging_order": 1}, outboxKinds(t, l.db), "refused orders queue nothing")

	d, err := l.orders.PackagingOrderDetails(ctx, "PO-1")
	require.NoError(t, err)
	assert.Equal(t, "NEW1", d.Batch)
	assert.Equal(t, PackagingOpen, d.Status)
	_, err = l.orders.PackagingOrderDetails(ctx, "PO-9")
	require.ErrorIs(t, err, ErrPackagingOrderNotFound)
	_, err = l.orders.PackagingOrderDetails(ctx, "")
	require.ErrorAs(t, err, &fe)

	// From the cloud: new ones are stored, known ones left alone.
	cloud := []v2.PackagingOrder{
		{OrderID: "PO-1", ProductCode: testGTIN, Batch: "OTHER", Status: "In progress"},
		{OrderID: "PO-C1", ProductCode: "09506000134369", Batch: "C1", ExpiryDate: "280101", Market: "US"},
		{OrderID: "PO-C2", ProductCode: testGTIN, Status: "In progress"},
		{OrderID: "", ProductCode: testGTIN},
	}
	n, err := l.orders.AddCloudPackagingOrders(ctx, cloud)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = l.orders.AddCloudPackagingOrders(ctx, cloud)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a second pull adds nothing")
	d, err = l.orders.PackagingOrderDetails(ctx, "PO-1")
	require.NoError(t, err)
	assert.Equal(t, "NEW1", d.Batch, "a known order is not overwritten")
	products, err = l.ledger.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"C1": "280101"}, products["09506000134369"])
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		p, err := ledger.ProductOf(tx, "09506000134369")
		assert.Equal(t, "US", p.Market)
		return err
	}))

	open, err := l.orders.OpenPackagingOrders(ctx)
	require.NoError(t, err)
	var ids []string
	for _, o := range open {
		ids = append(ids, o.OrderID)
	}
	assert.Equal(t, []string{"PO-1", "PO-C1"}, ids, "PO-C2 is in progress")
	views, err := l.orders.PackagingOrders(ctx, 10)
	require.NoError(t, err)
	require.Len(t, views, 3)
	origins := map[string]string{}
	for _, v := range views {
		origins[v.OrderID] = v.Origin + " " + v.Status
	}
	assert.Equal(t, map[string]string{"PO-1": "local Open", "PO-C1": "cloud Open", "PO-C2": "cloud In progress"}, origins)

	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		p, err := PackagingOf(tx, "PO-1")
		require.NoError(t, err)
		assert.Equal(t, &Packaging{ID: "PO-1", ProductCode: testGTIN, Batch: "NEW1", Expiry: "270630"}, p)
		p, err = PackagingOf(tx, "PO-9")
		require.NoError(t, err)
		assert.Nil(t, p)
		active, err := ActivePackaging(tx, 10)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"PO-1", "PO-C1", "PO-C2"}, active)
		return nil
	}))
	assert.Equal(t, []string{"packaging_order.create", "packaging_order.pull", "packaging_order.pull"}, auditActions(t, l.db))
}

func TestDecommission(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 3)))
	serials := printQueued(t, l.ledger, nil)
	require.Len(t, serials, 3)
	const sscc = "395060000000000017"
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO containers (sscc, level, state, station, origin, opened_at) VALUES (?, 'case', 'open', 's1', 'scanned', 0)`, sscc); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO container_items (sscc, gtin, serial, batch, expiry) VALUES (?, ?, ?, 'AB12', '261231')`, sscc, testGTIN, serials[1])
		return err
	}))
	yes, no := true, false
	dec := func(serials ...string) v2.Decommission {
		return v2.Decommission{ProductCode: testGTIN, ProductCodeSchema: "GTIN", Reason: "destroy", SendToMarket: &no, Serials: serials}
	}
	serialState := func(s string) ledger.SerialState {
		var st ledger.SerialState
		require.NoError(t, l.db.Reader().QueryRow(`SELECT state FROM serials WHERE gtin = ? AND serial = ?`, testGTIN, s).Scan(&st))
		return st
	}

	// One pack in a case refuses them all.
	_, err := l.orders.Decommission(ctx, "ana", dec(serials[0], serials[1]))
	var ice *containers.InContainerError
	require.ErrorAs(t, err, &ice)
	assert.Equal(t, containers.InContainerError{Item: "serial " + serials[1], Container: sscc}, *ice)
	assert.Contains(t, ice.Error(), "take it out first")
	assert.Equal(t, ledger.SerialPrinted, serialState(serials[0]), "nothing changed")
	assert.Equal(t, map[string]int{"commission": 3}, outboxKinds(t, l.db))

	_, err = l.orders.Decommission(ctx, "ana", dec("NOSUCH"))
	var nf *ledger.SerialNotFoundError
	require.ErrorAs(t, err, &nf)
	bad := dec(serials[0])
	bad.MarketID = "US"
	_, err = l.orders.Decommission(ctx, "ana", bad)
	var me *MarketError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "market_id", me.Field)
	bad = dec(serials[0])
	bad.SendToMarket = nil
	_, err = l.orders.Decommission(ctx, "ana", bad)
	var fe *v2.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "send_to_market", fe.Field)
	bad = dec(serials[0])
	bad.ProductCode = otherGTIN
	_, err = l.orders.Decommission(ctx, "ana", bad)
	require.ErrorIs(t, err, ledger.ErrProductNotFound)

	ok := dec(serials[0], serials[2])
	ok.SendToMarket, ok.MarketID = &yes, "EU"
	out, err := l.orders.Decommission(ctx, "ana", ok)
	require.NoError(t, err)
	assert.Equal(t, []v2.SerialStatus{{SerialNumber: serials[0], Status: "Decommissioned"}, {SerialNumber: serials[2], Status: "Decommissioned"}}, out)
	assert.Equal(t, ledger.SerialDecommissioned, serialState(serials[0]))
	recs, err := queue.List(ctx, l.db, "", 0, true)
	require.NoError(t, err)
	var facts []map[string]any
	for _, r := range recs {
		if r.Kind == "decommission" {
			var f map[string]any
			require.NoError(t, json.Unmarshal(r.Payload, &f))
			facts = append(facts, f)
		}
	}
	require.Len(t, facts, 2)
	for _, f := range facts {
		assert.Equal(t, "destroy", f["reason"])
		assert.Equal(t, true, f["send_to_market"])
		assert.Equal(t, "EU", f["market_id"])
		assert.Equal(t, "AB12", f["batch"])
	}

	_, err = l.orders.Decommission(ctx, "ana", dec(serials[0]))
	var sse *ledger.SerialStateError
	require.ErrorAs(t, err, &sse, "already decommissioned")
	assert.Equal(t, ledger.SerialDecommissioned, sse.State)
	assert.Equal(t, 2, outboxKinds(t, l.db)["decommission"])
}

// A large order is released in steps of ReleaseStep labels, each its own
// transaction; the answer comes after the first, and Continue takes the
// rest, keeping the order's labels together in its printer's queue.
func TestLargeOrdersAreReleasedInSteps(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true, Length: 12}, Config{})
	ctx := context.Background()
	big := labelOrder("LO-BIG", 2*ReleaseStep+500)
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", big))
	status, counts, err := l.orders.Status(ctx, "LO-BIG")
	require.NoError(t, err)
	assert.Equal(t, Released, status)
	assert.Equal(t, ReleaseStep, counts[ledger.LabelQueued], "one step before the answer")
	// A later order, released at once, queues behind the whole first one.
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-SMALL", 2)))
	require.NoError(t, l.orders.Continue(ctx))
	status, counts, err = l.orders.Status(ctx, "LO-BIG")
	require.NoError(t, err)
	assert.Equal(t, Printing, status)
	assert.Equal(t, 2*ReleaseStep+500, counts[ledger.LabelQueued])
	var orderAt []string
	rows, err := l.db.Reader().Query(`SELECT order_id FROM labels WHERE printer = 'p1' AND state = 'queued' ORDER BY seq, id`)
	require.NoError(t, err)
	for rows.Next() {
		var o string
		require.NoError(t, rows.Scan(&o))
		orderAt = append(orderAt, o)
	}
	rows.Close()
	require.Len(t, orderAt, 2*ReleaseStep+502)
	assert.Equal(t, "LO-BIG", orderAt[2*ReleaseStep+499])
	assert.Equal(t, "LO-SMALL", orderAt[2*ReleaseStep+500], "the later order prints after the whole first one")
}

func TestLabelTotalsAreCappedWithoutOverflow(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	for _, extra := range []int{1 << 62, 200000, 1} {
		lo := labelOrder("LO-CAP", v2.MaxLabels)
		lo.ExtraLabelAmount, lo.ExtraLabelType = &extra, "amount"
		err := l.orders.CreateLabelOrder(ctx, "erp", lo)
		var fe *v2.FieldError
		require.ErrorAs(t, err, &fe, "extra %d", extra)
	}
	_, _, err := l.orders.Status(ctx, "LO-CAP")
	require.ErrorIs(t, err, ErrLabelOrderNotFound, "nothing stored")
}
