package api

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// randomCloud delivers, refuses, or fails to take each item, at random.
type randomCloud struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (c *randomCloud) Send(_ context.Context, _ string, items []queue.Pending) []queue.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]queue.Outcome, len(items))
	for i := range items {
		switch r := c.rng.IntN(10); {
		case r < 6:
			out[i].Delivered = true
		case r < 8:
			out[i].Failure = &queue.Failure{Class: queue.Permanent, Message: "refused"}
		default:
			out[i].Failure = &queue.Failure{Class: queue.Temporary, Message: "unreachable"}
		}
	}
	return out
}

// TestCountersFollowTheLine: after a random run of the line through its
// own parts — label orders released and printed, labels unknown and then
// resolved or reprinted, serials decommissioned, cases and pallets packed,
// closed, cancelled and disaggregated, facts delivered, refused, retried,
// parked and purged after their retention by a dispatcher at work the
// whole time — every counter equals the count of its table, and every
// count the dashboard and the metrics read equals a count of the rows.
func TestCountersFollowTheLine(t *testing.T) {
	ctx := context.Background()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "c.db"), MaxBatch: 16, MaxDelay: time.Millisecond}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l := testLine(t, db, ledger.SerialConfig{Generate: true}, orders.Extra{}, "p1", "p2")
	const gtin = "09506000134352"
	require.NoError(t, l.Ledger.AddProduct(ctx, gtin, "EU", map[string]string{"AB12": "261231"}))
	_, err = l.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	for _, c := range []stations.StationConfig{{Name: "case-1", Printer: "p1", CaseCapacity: 3}, {Name: "pallet-1", Mode: stations.ModePallet, PalletCapacity: 2}} {
		_, err := l.Stations.Add(ctx, c)
		require.NoError(t, err)
	}
	cloud := &randomCloud{rng: rand.New(rand.NewPCG(seed, 2))}
	d := queue.NewDispatcher(db, cloud, queue.Config{DefaultBatch: 4, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Poll: 5 * time.Millisecond, Retention: 30 * time.Millisecond, PurgeBatch: 3, PurgeEvery: 10 * time.Millisecond,
		OnDelivered: func(tx *sql.Tx, items []queue.Pending) error { return l.Ledger.Delivered(tx, items) }}, zerolog.Nop())
	// The dispatcher works beside the line, and stops while the counts
	// are compared (they would change between two reads).
	stop := func() {}
	start := func() {
		dctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { defer close(stopped); _ = d.Run(dctx) }()
		stop = func() { cancel(); <-stopped; stop = func() {} }
	}
	start()
	t.Cleanup(func() { stop() })

	// one picks a random row of a query's answer.
	one := func(q string, args ...any) (string, bool) {
		rows, err := db.Reader().Query(q, args...)
		require.NoError(t, err)
		defer rows.Close()
		var all []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			all = append(all, s)
		}
		require.NoError(t, rows.Err())
		if len(all) == 0 {
			return "", false
		}
		return all[rng.IntN(len(all))], true
	}
	labelRef := func(q string) (label.Ref, string, bool) {
		s, ok := one(`SELECT id || ' ' || kind || ' ' || printer FROM labels WHERE ` + q)
		if !ok {
			return label.Ref{}, "", false
		}
		var ref label.Ref
		var printer string
		_, err := fmt.Sscanf(s, "%d %s %s", &ref.ID, &ref.Kind, &printer)
		require.NoError(t, err)
		return ref, printer, true
	}
	scanAt := func(station, raw string) {
		st, ok := l.Stations.Get(station)
		require.True(t, ok)
		if state, err := st.State(ctx, 0); err == nil && state.Container == "" && raw != stations.CmdNew {
			scanAt0(t, st, stations.CmdNew) // a container to scan into
		}
		scanAt0(t, st, raw)
	}
	orderN := 0
	no := false
	actions := map[string]func(){
		"label order": func() {
			orderN++
			q := 1 + rng.IntN(6)
			// A refusal (a printer of another line) is part of the run.
			_ = l.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: fmt.Sprintf("LO-%d", orderN), ProductCode: gtin, ProductCodeSchema: "GTIN",
				Batch: "AB12", Quantity: &q, DestinationTag: []string{"p1", "p2", "p3"}[rng.IntN(3)], TemplateTag: "pack", Execute: rng.IntN(3) > 0})
		},
		"release": func() {
			if id, ok := one(`SELECT order_id FROM label_orders WHERE status = 'created'`); ok {
				require.NoError(t, l.Orders.Release(ctx, "ana", id))
			}
		},
		"print": func() {
			for range 1 + rng.IntN(8) {
				ref, printer, ok := labelRef(`state = 'queued'`)
				if !ok {
					return
				}
				require.NoError(t, l.Ledger.Printing(ctx, printer, ref))
				if rng.IntN(5) == 0 {
					require.NoError(t, l.Ledger.Unknown(ctx, printer, ref, "no answer"))
				} else {
					require.NoError(t, l.Ledger.Printed(ctx, printer, ref))
				}
			}
		},
		"resolve": func() {
			ref, _, ok := labelRef(`state = 'unknown'`)
			if !ok {
				return
			}
			switch rng.IntN(3) {
			case 0:
				require.NoError(t, l.Ledger.Resolve(ctx, "ana", ref.ID, true, "seen on the pack"))
			case 1:
				require.NoError(t, l.Ledger.Resolve(ctx, "ana", ref.ID, false, "not on the line"))
			default:
				require.NoError(t, l.Ledger.Reprint(ctx, "ana", ref.ID, "print it again"))
			}
		},
		"decommission": func() {
			if rng.IntN(3) > 0 {
				return // packs are for packing, mostly
			}
			sn, ok := one(`SELECT serial FROM serials s WHERE state IN ('printed', 'commissioned')
				AND NOT EXISTS (SELECT 1 FROM container_items i WHERE i.gtin = s.gtin AND i.serial = s.serial)`)
			if ok {
				_, err := l.Orders.Decommission(ctx, "ana", v2.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "sample", SendToMarket: &no, Serials: []string{sn}})
				require.NoError(t, err)
			}
		},
		"pack": func() {
			for range 1 + rng.IntN(4) {
				switch r := rng.IntN(10); {
				case r < 1:
					scanAt("case-1", stations.CmdNew)
				case r < 8:
					if sn, ok := one(`SELECT serial FROM serials WHERE state IN ('printed', 'commissioned', 'printed', 'commissioned', 'decommissioned', 'unknown')`); ok {
						scanAt("case-1", "(01)"+gtin+"(17)261231(10)AB12(21)"+sn)
					}
				case r < 9:
					scanAt("case-1", stations.CmdClose)
				default:
					scanAt("case-1", stations.CmdCancel)
				}
			}
		},
		"pallet": func() {
			switch r := rng.IntN(6); {
			case r < 1:
				scanAt("pallet-1", stations.CmdNew)
			case r < 5:
				if sscc, ok := one(`SELECT sscc FROM containers c WHERE level = 'case' AND state = 'closed'
					AND NOT EXISTS (SELECT 1 FROM container_items i WHERE i.child = c.sscc)`); ok {
					scanAt("pallet-1", "(00)"+sscc)
				}
			default:
				scanAt("pallet-1", stations.CmdClose)
			}
		},
		"disaggregate": func() {
			if sscc, ok := one(`SELECT sscc FROM containers WHERE state = 'closed'`); ok {
				_ = l.Containers.Disaggregate(ctx, "ana", sscc, "rework") // a case on a pallet is refused
			}
		},
		"queue": func() {
			if id, ok := one(`SELECT id FROM outbox WHERE state = 'parked'`); ok && rng.IntN(2) == 0 {
				var n int64
				_, _ = fmt.Sscan(id, &n)
				// The dispatcher runs beside the workload: an item read as
				// parked may have been retried and delivered since.
				if err := queue.Retry(ctx, db, n, "ana", "try again"); err != nil {
					var se *queue.StateError
					require.ErrorAs(t, err, &se)
					require.Equal(t, queue.StateDelivered, se.State)
				}
			}
			if id, ok := one(`SELECT id FROM outbox WHERE state = 'pending'`); ok && rng.IntN(3) == 0 {
				var n int64
				_, _ = fmt.Sscan(id, &n)
				_ = queue.Park(ctx, db, n, "ana", "hold it") // delivered meanwhile: refused
			}
			d.Notify()
		},
		"wait": func() { time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) },
	}
	// The run goes on until it went through what it says (the audit log
	// and the stations' verdicts tell), 400 actions at least.
	did := func() []string {
		var out []string
		rows, err := db.Reader().Query(`SELECT DISTINCT action FROM audit_log UNION SELECT DISTINCT station || ' ' || code FROM scans WHERE ok ORDER BY 1`)
		require.NoError(t, err)
		for rows.Next() {
			var a string
			require.NoError(t, rows.Scan(&a))
			out = append(out, a)
		}
		require.NoError(t, rows.Close())
		return out
	}
	covers := []string{"label_order.release", "label.resolve", "label.reprint", "serial.decommission", "case-1 added", "case-1 closed",
		"container.cancel", "pallet-1 added", "pallet-1 closed", "container.disaggregate", "queue.park", "queue.retry"}
	names := make([]string, 0, len(actions))
	for n := range actions {
		names = append(names, n)
	}
	for round := 0; round < 400 || !subset(did(), covers) && round < 4000; round++ {
		name := names[round%len(names)] // each action often, in a random order
		if round >= 3*len(names) {
			name = names[rng.IntN(len(names))]
		}
		actions[name]()
		if round%50 == 49 {
			stop()
			requireCountersExact(t, l, db, fmt.Sprintf("round %d, after %s", round, name))
			start()
		}
	}
	time.Sleep(50 * time.Millisecond) // the last deliveries and purges
	stop()
	requireCountersExact(t, l, db, "at the end")
	require.Subset(t, did(), covers)
	st, err := d.Stats(ctx)
	require.NoError(t, err)
	require.Positive(t, st.DeliveredTotal, "facts delivered")
	require.Positive(t, st.ParkedTotal, "facts refused")
	var purged int
	require.NoError(t, db.Reader().QueryRow(`SELECT (SELECT MAX(id) FROM outbox) - COUNT(*) FROM outbox`).Scan(&purged))
	require.Positive(t, purged, "delivered facts purged after their retention")
}

func subset(have, want []string) bool {
	in := map[string]bool{}
	for _, h := range have {
		in[h] = true
	}
	for _, w := range want {
		if !in[w] {
			return false
		}
	}
	return true
}

func scanAt0(t *testing.T, st *stations.Station, raw string) {
	t.Helper()
	sc := stations.Scan{Source: "test", Raw: []byte(raw), Plain: raw}
	if m, err := gs1.Parse([]byte(raw)); err == nil {
		sc = stations.Scan{Source: "test", Raw: []byte("]d2" + m.ElementString()), GS1: m}
	}
	_, err := st.Handle(context.Background(), sc)
	require.NoError(t, err)
}

// requireCountersExact checks the counters against their tables, and what
// the dashboard reads from them against counts of the rows.
func requireCountersExact(t *testing.T, l *Line, db *store.DB, when string) {
	t.Helper()
	ctx := context.Background()
	problems, err := store.VerifyCounters(ctx, db.Reader())
	require.NoError(t, err)
	require.Empty(t, problems, when)

	groups := func(q string) map[string]int {
		rows, err := db.Reader().Query(q)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			require.NoError(t, rows.Scan(&k, &n))
			out[k] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	c, err := l.counts(ctx)
	require.NoError(t, err)
	require.Equal(t, groups(`SELECT state, COUNT(*) FROM labels GROUP BY state`), c.Labels, when)
	serials := map[string]map[string]int{}
	for k, n := range groups(`SELECT gtin || ' ' || state, COUNT(*) FROM serials GROUP BY gtin, state`) {
		var g, s string
		_, _ = fmt.Sscan(k, &g, &s)
		if serials[g] == nil {
			serials[g] = map[string]int{}
		}
		serials[g][s] = n
	}
	require.Equal(t, serials, c.Serials, when)
	cs := map[string]map[string]int{}
	for k, n := range groups(`SELECT level || ' ' || state, COUNT(*) FROM containers GROUP BY level, state`) {
		var lv, s string
		_, _ = fmt.Sscan(k, &lv, &s)
		if cs[lv] == nil {
			cs[lv] = map[string]int{}
		}
		cs[lv][s] = n
	}
	require.Equal(t, cs, c.Containers, when)
	require.Equal(t, groups(`SELECT status, COUNT(*) FROM label_orders GROUP BY status`), c.LabelOrder, when)

	queued, err := l.Ledger.Queued(ctx)
	require.NoError(t, err)
	require.Equal(t, groups(`SELECT printer, COUNT(*) FROM labels WHERE state = 'queued' GROUP BY printer`), queued, when)
	pc, err := l.Ledger.PrinterCounts(ctx)
	require.NoError(t, err)
	want := map[string]ledger.PrinterCount{}
	rows, err := db.Reader().Query(`SELECT printer, SUM(state = 'queued'), SUM(state = 'printed'), SUM(state = 'unknown'),
		COALESCE(MAX(iif(state = 'printed', id, NULL)), 0) FROM labels GROUP BY printer HAVING SUM(state IN ('queued', 'printed', 'unknown')) > 0`)
	require.NoError(t, err)
	for rows.Next() {
		var p string
		var c ledger.PrinterCount
		require.NoError(t, rows.Scan(&p, &c.Queued, &c.Printed, &c.Unknown, &c.Last))
		want[p] = c
	}
	require.NoError(t, rows.Close())
	require.Equal(t, want, pc, when)

	views, err := l.Orders.LabelOrders(ctx, 1000)
	require.NoError(t, err)
	for _, v := range views {
		require.Equal(t, groups(`SELECT state, COUNT(*) FROM labels WHERE order_id = '`+v.OrderID+`' GROUP BY state`), v.Labels, "%s: order %s", when, v.OrderID)
	}
	po, err := l.Orders.PackagingOrders(ctx, 10)
	require.NoError(t, err)
	for _, p := range po {
		require.Equal(t, groups(`SELECT 'n', COUNT(*) FROM containers WHERE level = 'case' AND state = 'closed' AND order_id = '` + p.OrderID + `'`)["n"],
			p.Cases, "%s: packaging order %s", when, p.OrderID)
	}

	st, err := queue.ReadStats(ctx, db)
	require.NoError(t, err)
	q := groups(`SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	require.Equal(t, [3]int{q["pending"], q["parked"], q["delivered"]}, [3]int{st.Pending, st.Parked, st.Delivered}, when)
	var oldest sql.NullInt64
	require.NoError(t, db.Reader().QueryRow(`SELECT MIN(created_at) FROM outbox WHERE state = 'pending'`).Scan(&oldest))
	if oldest.Valid {
		require.Equal(t, time.UnixMilli(oldest.Int64), st.OldestPending, when)
	} else {
		require.True(t, st.OldestPending.IsZero(), when)
	}
}
