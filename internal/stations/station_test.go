package stations

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

const testGTIN = "09506000134352"

// testLine is the domain of a line on one database, as the agent
// assembles it.
type testLine struct {
	db         *store.DB
	ledger     *ledger.Ledger
	containers *containers.Containers
	orders     *orders.Orders
	stations   *Registry
}

// Station returns a station by name.
func (l *testLine) Station(name string) (*Station, bool) { return l.stations.Get(name) }

// openLine opens a line on the database at path with one packaging order
// and the stations given.
func openLine(t testing.TB, path string, stations ...StationConfig) (*testLine, *store.DB) {
	return openLineWith(t, store.Config{Path: path, MaxBatch: 64, CheckpointEvery: benchCheckpoint}, stations...)
}

// openLineWith is openLine on a database opened with cfg.
func openLineWith(t testing.TB, cfg store.Config, stations ...StationConfig) (*testLine, *store.DB) {
	ctx := context.Background()
	db, err := store.Open(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	led, err := ledger.New(db, ledger.Config{Serials: ledger.SerialConfig{Generate: true, Length: 10}})
	require.NoError(t, err)
	cs, err := containers.New(led, containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 3})
	require.NoError(t, err)
	ships := shipments.New(led)
	l := &testLine{db: db, ledger: led, containers: cs, orders: orders.New(led, orders.Config{Line: "line-1", Printers: []string{"p1"}}),
		stations: New(led, cs, ships, Config{Printers: []string{"p1"}})}
	require.NoError(t, led.AddProduct(ctx, testGTIN, "EU", map[string]string{"AB12": "261231"}))
	if o, _ := l.orders.PackagingOrderDetails(ctx, "PO-1"); o.OrderID == "" {
		_, err = l.orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
		require.NoError(t, err)
	}
	for _, s := range stations {
		_, err := l.stations.Add(ctx, s)
		require.NoError(t, err)
	}
	return l, db
}

func command(c string) Scan { return Scan{Source: "test", Raw: []byte(c), Plain: c} }

func TestSSCCsAreNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "l.db")
	ctx := context.Background()
	seen := map[string]bool{}
	for restart := 0; restart < 3; restart++ {
		l, db := openLine(t, path, StationConfig{Name: "a"}, StationConfig{Name: "b", Mode: ModePallet})
		for i := 0; i < 5; i++ {
			for _, name := range []string{"a", "b"} {
				st, _ := l.Station(name)
				v, err := st.Handle(ctx, command(CmdNew))
				require.NoError(t, err)
				require.Equal(t, "opened", v.Code, v.Message)
				require.False(t, seen[v.Container], "SSCC %s issued twice", v.Container)
				seen[v.Container] = true
				require.True(t, gs1.ValidCheckDigit(v.Container), v.Container)
				require.Regexp(t, `^39506000\d{10}$`, v.Container)
				v, err = st.Handle(ctx, command(CmdCancel))
				require.NoError(t, err)
				require.Equal(t, "cancelled", v.Code)
			}
		}
		require.NoError(t, db.Close())
	}
	assert.Len(t, seen, 30)
}

func TestStationStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "l.db")
	ctx := context.Background()
	l, db := openLine(t, path, StationConfig{Name: "a"})
	st, _ := l.Station("a")
	v, err := st.Handle(ctx, command(CmdNew))
	require.NoError(t, err)
	open := v.Container
	require.NoError(t, db.Close())

	l, db = openLine(t, path, StationConfig{Name: "a"})
	defer db.Close()
	st, _ = l.Station("a")
	state, err := st.State(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, open, state.Container, "the open case is still open")
	assert.Len(t, state.Recent, 1)
	v, err = st.Handle(ctx, command(CmdNew))
	require.NoError(t, err)
	assert.Equal(t, "container_open", v.Code)
}

func TestStationConfigIsChecked(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"))
	defer db.Close()
	ctx := context.Background()
	for cfg, want := range map[*StationConfig]string{
		{}:                                  "name is required",
		{Name: "x", Mode: "sorting"}:        `mode must be case, pallet, decommission or ship, got "sorting"`,
		{Name: "x", Mode: ModeDecommission}: "reason must be one of destroy, sample",
		{Name: "x", Printer: "nowhere"}:     `printer "nowhere" is not a configured printer`,
		{Name: "x", CaseCapacity: -1}:       "capacities must not be negative",
		{Name: "x", Reason: "shred"}:        `reason must be one of`,
	} {
		_, err := l.stations.Add(ctx, *cfg)
		assert.ErrorContains(t, err, want)
	}
	_, err := containers.New(l.ledger, containers.SSCCConfig{CompanyPrefix: "95x"})
	assert.ErrorContains(t, err, "sscc: ")
}

// The printed command sheet carries exactly the commands stations know.
func TestCommandSheetMatchesCommands(t *testing.T) {
	tmpl, ok := zpl.Builtin().Get("commands")
	require.True(t, ok)
	out, err := tmpl.Render(nil, zpl.Data{"station": "S"})
	require.NoError(t, err)
	var sheet []string
	for _, m := range regexp.MustCompile(`\^BC[^\^]*\^FD(CMD:[A-Z_]+)\^FS`).FindAllStringSubmatch(string(out), -1) {
		sheet = append(sheet, m[1])
	}
	assert.Equal(t, Commands, sheet)
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	defer db.Close()
	st, _ := l.Station("a")
	for _, c := range Commands {
		v, err := st.Handle(context.Background(), command(c))
		require.NoError(t, err)
		assert.NotEqual(t, "unknown_command", v.Code, fmt.Sprintf("%s: %s", c, v.Message))
	}
}

// FuzzStationScan: whatever a scanner sends, a station answers with a
// verdict (and stores it), never an error or a panic.
func FuzzStationScan(f *testing.F) {
	for _, s := range []string{"CMD:NEW", "(01)09506000134352(21)ABC(10)AB12(17)261231", "(00)095060001343521236", "CMD:CLOSE",
		"CMD:SAMPLE", "(01)09506000134352(21)", "CMD:REMOVE", "\x1d\x1d", "CMD:SHIP", "ORDER-1"} {
		f.Add(s)
	}
	l, db := openLine(f, filepath.Join(f.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	f.Cleanup(func() { db.Close() })
	st, _ := l.Station("a")
	f.Fuzz(func(t *testing.T, raw string) {
		sc := Scan{Source: "fuzz", Raw: []byte(raw)}
		if m, err := gs1.Parse([]byte(raw)); err == nil {
			sc.GS1 = m
		} else if strings.HasPrefix(raw, "(") {
			sc.Err = err
		} else {
			sc.Plain = raw
		}
		v, err := st.Handle(context.Background(), sc)
		if err != nil {
			t.Fatalf("scan %q: %v", raw, err)
		}
		if v.Code == "" || v.Message == "" || v.Scan == 0 {
			t.Fatalf("scan %q: verdict %+v", raw, v)
		}
	})
}

var benchCheckpoint time.Duration
