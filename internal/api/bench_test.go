package api

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchLines.remove()
	os.Exit(code)
}

// benchGTINs are the products of the benchmark's line.
var benchGTINs = [4]string{"09506000134352", "09506000134369", "09506000134376", "09506000134383"}

// benchBuild fills a new database with the records of a line that has
// made ?1 serials (a multiple of 1,000): as many pack labels, 1,000 to a
// label order alternating between printers p1 and p2, all printed but one
// in 100,000 unknown (10 at least) and the last order's last 500 still
// queued; one case of 24 packs for every 100 serials, on pallets of 50
// cases, 1,000 cases to a packaging order, every pack scanned; a
// commission fact for every printed label, delivered and kept but the last
// ?1/1,000 (pending; 1,000 at least) and one in 10,000 (parked; 200 at
// least), so that the pages list as many rows on a small line as on a
// large one. One statement a table, from a recursive CTE, in one
// transaction: the counters are kept by their triggers as the rows go in,
// as they are for every writer.
var benchBuild = []string{
	`INSERT INTO products (gtin, market) VALUES ('09506000134352', 'EU'), ('09506000134369', 'EU'), ('09506000134376', 'EU'), ('09506000134383', 'EU')`,
	`INSERT INTO batches (gtin, batch, expiry) SELECT gtin, 'AB12', '261231' FROM products`,
	`WITH RECURSIVE o(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM o WHERE i + 1 < ?1 / 1000)
	INSERT INTO label_orders (order_id, gtin, batch, expiry, quantity, destination, template, status, created_by, created_at, request, allocated)
	SELECT printf('LO-%06d', i), CASE i % 4 WHEN 0 THEN '09506000134352' WHEN 1 THEN '09506000134369' WHEN 2 THEN '09506000134376' ELSE '09506000134383' END,
		'AB12', '261231', 1000, 'p' || (1 + i % 2), 'pack', iif(i + 1 = ?1 / 1000, 'printing', 'completed'), 'erp', 1700000000000 + i * 60000,
		CAST('{}' AS BLOB), 1000 FROM o`,
	`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?1)
	INSERT INTO labels (id, kind, order_id, gtin, serial, subject, template, printer, state, seq, updated_at)
	SELECT i + 1, 'pack', printf('LO-%06d', i / 1000),
		CASE (i / 1000) % 4 WHEN 0 THEN '09506000134352' WHEN 1 THEN '09506000134369' WHEN 2 THEN '09506000134376' ELSE '09506000134383' END,
		printf('S%011d', i), printf('S%011d', i), 'pack', 'p' || (1 + (i / 1000) % 2),
		CASE WHEN i >= ?1 - 500 THEN 'queued' WHEN i % min(100000, ?1 / 10) = 999 THEN 'unknown' ELSE 'printed' END, i / 1000 + 1, 1700000000000 + i FROM c`,
	`INSERT INTO serials (gtin, serial, state, order_id, label_id, batch, expiry, updated_at)
	SELECT gtin, serial, CASE state WHEN 'queued' THEN 'allocated' WHEN 'unknown' THEN 'unknown'
		ELSE iif(id > ?1 - max(?1 / 1000, 1000) - 500 OR id % min(10000, ?1 / 200) = 0, 'printed', 'commissioned') END,
		order_id, id, 'AB12', '261231', updated_at FROM labels`,
	`INSERT INTO outbox (kind, stream, key, batch_key, payload, state, created_at, delivered_at)
	SELECT 'commission', gtin || '/AB12', gtin || '/' || serial, gtin || '|AB12|261231',
		CAST(printf('{"product_code":"%s","batch":"AB12","expiry_date":"261231","serial":"%s"}', gtin, serial) AS BLOB),
		CASE WHEN id % min(10000, ?1 / 200) = 0 THEN 'parked' WHEN id > ?1 - max(?1 / 1000, 1000) - 500 THEN 'pending' ELSE 'delivered' END, updated_at,
		iif(id % min(10000, ?1 / 200) = 0 OR id > ?1 - max(?1 / 1000, 1000) - 500, NULL, updated_at + 2000) FROM labels WHERE state = 'printed'`,
	`WITH RECURSIVE p(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM p WHERE i + 1 < max(1, ?1 / 100000))
	INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at)
	SELECT printf('PO-%04d', i), CAST(printf('{"order_id":"PO-%04d","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231"}', i) AS BLOB),
		'Closed', 'local', 'line-1', 1700000000000 + i FROM p`,
	`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?1 / 100)
	INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at, closed_at)
	SELECT printf('3950600%011d', i), 'case', 'closed', 'case-' || (1 + i % 2), printf('PO-%04d', i / 1000), 'allocated', 1700000000000 + i * 3000, 1700000000000 + i * 3000 + 2900 FROM c`,
	`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?1 / 100 * 24)
	INSERT INTO container_items (sscc, gtin, serial, batch, expiry)
	SELECT printf('3950600%011d', i / 24), CASE (i / 1000) % 4 WHEN 0 THEN '09506000134352' WHEN 1 THEN '09506000134369' WHEN 2 THEN '09506000134376' ELSE '09506000134383' END,
		printf('S%011d', i), 'AB12', '261231' FROM c`,
	`WITH RECURSIVE p(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM p WHERE i + 1 < max(1, ?1 / 5000))
	INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at, closed_at)
	SELECT printf('3950601%011d', i), 'pallet', 'closed', 'pallet-1', printf('PO-%04d', i / 20), 'allocated', 1700000000000 + i * 150000, 1700000000000 + i * 150000 + 149000 FROM p`,
	`INSERT INTO container_items (sscc, child) SELECT printf('3950601%011d', CAST(substr(sscc, 8) AS INTEGER) / 50), sscc FROM containers WHERE level = 'case'`,
	`INSERT INTO scans (station, source, at, raw, ok, code, message, container)
	SELECT 'case-' || (1 + (i.id / 24) % 2), 'tcp://10.0.0.21:23', 1700000000000 + i.id * 125, '(01)' || i.gtin || '(21)' || i.serial, 1, 'added', 'Pack added', i.sscc
	FROM container_items i WHERE i.serial IS NOT NULL ORDER BY i.id`,
}

// benchLine is a line whose database holds the records of a number of
// serials, served by the dashboard as the agent serves it.
type benchLine struct {
	serials int
	h       http.Handler
	db      *store.DB
	session string // a supervisor's, signed in
}

// benchCache keeps each size of line built once per test binary (the
// ten-million-row line takes minutes to build), each in a directory of its
// own that TestMain removes.
type benchCache struct {
	sync.Mutex
	dirs  []string
	lines map[int]*benchLine
}

var benchLines = &benchCache{lines: map[int]*benchLine{}}

func (c *benchCache) remove() {
	c.Lock()
	defer c.Unlock()
	for _, l := range c.lines {
		l.db.Close()
	}
	for _, d := range c.dirs {
		os.RemoveAll(d)
	}
}

// openBenchLine returns the line with n serials, building it the first time.
func openBenchLine(b *testing.B, n int) *benchLine {
	benchLines.Lock()
	defer benchLines.Unlock()
	if l := benchLines.lines[n]; l != nil {
		return l
	}
	dir, err := os.MkdirTemp("", "edgeagent-bench-overview-")
	require.NoError(b, err)
	benchLines.dirs = append(benchLines.dirs, dir)
	path := filepath.Join(dir, "data", "o.db")
	ctx := context.Background()
	start := time.Now()
	db, err := store.Open(ctx, store.Config{Path: path}, zerolog.Nop()) // the schema, as the agent creates it
	require.NoError(b, err)
	require.NoError(b, db.Close())
	// The bulk goes in without a journal: a database being built for a
	// benchmark is thrown away if the build fails.
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF&_foreign_keys=0")
	require.NoError(b, err)
	raw.SetMaxOpenConns(1)
	_, err = raw.Exec(`PRAGMA cache_size = -262144`)
	require.NoError(b, err)
	tx, err := raw.Begin()
	require.NoError(b, err)
	for _, q := range benchBuild {
		_, err := tx.Exec(q, n)
		require.NoError(b, err, q)
	}
	require.NoError(b, tx.Commit())
	_, err = raw.Exec(`PRAGMA journal_mode = WAL`)
	require.NoError(b, err)
	require.NoError(b, raw.Close())
	built := time.Since(start)

	db, err = store.Open(ctx, store.Config{Path: path}, zerolog.Nop())
	require.NoError(b, err)
	l := testLine(b, db, ledger.SerialConfig{}, orders.Extra{}, "p1", "p2")
	liveOrder(b, l, n)
	d := queue.NewDispatcher(db, nil, queue.Config{}, zerolog.Nop()) // its stats only: it does not run
	// The printers as the agent reports them: the ledger's counts, read
	// at every render (a failed read stops the benchmark: it would measure
	// less than a page).
	printers := func() []PrinterStatus {
		counts, err := l.Ledger.PrinterCounts(context.Background())
		if err != nil {
			panic(err)
		}
		var out []PrinterStatus
		for _, tag := range []string{"p1", "p2"} {
			c := counts[tag]
			out = append(out, PrinterStatus{Tag: tag, URL: "tcp://10.0.0.5:9100", State: "printing", Printed: int64(c.Printed), Unknown: int64(c.Unknown),
				Queued: c.Queued, Last: c.Last, PrintedSinceStart: 1000})
		}
		return out
	}
	people := testPeople(b, db)
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, DB: db, Dispatcher: d, Printers: printers, CloudConfigured: true, People: people}, zerolog.Nop())
	require.NoError(b, err)
	ana, err := people.Users.Get(ctx, "ana")
	require.NoError(b, err)
	session, _, err := people.Sessions.Create(ctx, ana, "192.0.2.1:1234")
	require.NoError(b, err)
	var size int64
	require.NoError(b, db.Reader().QueryRow(`SELECT page_count * page_size FROM pragma_page_count, pragma_page_size`).Scan(&size))
	b.Logf("line of %d serials: built in %v, opened and made live in %v more, %d MB", n, built.Round(time.Second),
		(time.Since(start) - built).Round(time.Second), size>>20)
	bl := &benchLine{serials: n, h: s.handler(), db: db, session: session}
	benchLines.lines[n] = bl
	return bl
}

// liveOrder gives the line a packaging order in progress, as a shift
// leaves it: two case stations with cases open and filling, a pallet
// station with an empty pallet, a decommission station that took three
// samples, all through the stations as scanners do.
func liveOrder(b *testing.B, l *Line, n int) {
	ctx := context.Background()
	require.NoError(b, l.Ledger.DB().Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO packaging_orders (order_id, data, status, origin, line, created_at) VALUES ('PO-LIVE',
			CAST('{"order_id":"PO-LIVE","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231"}' AS BLOB),
			'In progress', 'local', 'line-1', ?)`, time.Now().UnixMilli())
		return err
	}))
	for _, c := range []stations.StationConfig{{Name: "case-1", Order: "PO-LIVE", CaseCapacity: 24}, {Name: "case-2", Order: "PO-LIVE", CaseCapacity: 24},
		{Name: "pallet-1", Mode: stations.ModePallet, Order: "PO-LIVE"}, {Name: "samples", Mode: stations.ModeDecommission, Reason: "sample", Order: "PO-LIVE"}} {
		_, err := l.Stations.Add(ctx, c)
		require.NoError(b, err)
	}
	// Packs of the first product that are in no case: an order's labels
	// past the packed ones, not the last order's.
	order := (n/100*24 + 999) / 1000
	for order%4 != 0 {
		order++
	}
	require.Less(b, order, n/1000-1, "a printed order of the first product that is not packed")
	next := order * 1000
	scan := func(station, raw string) {
		st, ok := l.Stations.Get(station)
		require.True(b, ok)
		sc := stations.Scan{Source: "tcp://10.0.0.21:23", Raw: []byte(raw), Plain: raw}
		if m, err := gs1.Parse([]byte(raw)); err == nil {
			sc = stations.Scan{Source: sc.Source, Raw: []byte("]d2" + m.ElementString()), GS1: m}
		}
		v, err := st.Handle(ctx, sc)
		require.NoError(b, err)
		require.True(b, v.OK, "%s %s: %s", station, raw, v.Message)
	}
	pack := func(station string, packs int) {
		for range packs {
			scan(station, fmt.Sprintf("(01)%s(17)261231(10)AB12(21)S%011d", benchGTINs[0], next))
			next++
		}
	}
	scan("case-1", stations.CmdNew)
	pack("case-1", 10)
	scan("case-2", stations.CmdNew)
	pack("case-2", 5)
	scan("pallet-1", stations.CmdNew)
	pack("samples", 3)
}

// benchSerials is how many serials the large line has: ten million, or
// EDGEAGENT_BENCH_SERIALS (a multiple of 1,000) to try the benchmark on a
// smaller one.
func benchSerials(b *testing.B) int {
	n := 10_000_000
	if v := os.Getenv("EDGEAGENT_BENCH_SERIALS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
		require.True(b, n >= 100_000 && n%1000 == 0, "EDGEAGENT_BENCH_SERIALS=%d: a multiple of 1,000, at least 100,000", n)
	}
	return n
}

// BenchmarkOverview renders the dashboard pages that show the line's
// totals — the overview, the printers, the stations and the queue, and
// the metrics beside them — as a signed-in supervisor's browser (or
// Prometheus) asks for them, on a line at ten million serials and labels
// (benchBuild, liveOrder: 10,000 label orders, 100,000 closed cases on
// 2,000 pallets, 10 million commission facts, 4 stations at work), and in
// the same loop the same page on the same kind of line at 10,000 serials,
// showing as many rows: the anchor. Each iteration renders the page once
// on each line, the order alternating. ms/render is the large line's
// mean, anchor-ms/render the small one's, x-anchor their ratio (1 when a
// page costs the same whatever the line holds); serials says how large
// the large line was.
func BenchmarkOverview(b *testing.B) {
	large := openBenchLine(b, benchSerials(b))
	small := openBenchLine(b, 10_000)
	for _, page := range []struct{ name, path string }{{"overview", "/"}, {"printers", "/printers"}, {"stations", "/stations"}, {"queue", "/queue"},
		{"metrics", "/metrics"}} {
		b.Run(page.name, func(b *testing.B) {
			render := func(l *benchLine) time.Duration {
				start := time.Now()
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, page.path, nil)
				r.RemoteAddr = "127.0.0.1:40000" // a browser, or Prometheus, on the line PC
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: l.session})
				l.h.ServeHTTP(w, r)
				took := time.Since(start)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
				return took
			}
			render(large) // the pages' statements prepared, as a running agent has them
			render(small)
			var tLarge, tSmall time.Duration
			n := 0
			for b.Loop() {
				if n%2 == 0 {
					tLarge += render(large)
					tSmall += render(small)
				} else {
					tSmall += render(small)
					tLarge += render(large)
				}
				n++
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			b.ReportMetric(ms(tLarge), "ms/render")
			b.ReportMetric(ms(tSmall), "anchor-ms/render")
			b.ReportMetric(float64(tLarge)/float64(tSmall), "x-anchor")
			b.ReportMetric(float64(large.serials), "serials")
		})
	}
}
