package api

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
)

// rangedServer is a line with a small SSCC range and a small range of
// generated serials.
func rangedServer(t *testing.T) (*Server, *Line) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "a.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	led, err := ledger.New(db, ledger.Config{Serials: ledger.SerialConfig{Generate: true, Length: 4, Alphabet: "AB", Prefix: "L2", LowPool: 2}})
	require.NoError(t, err)
	cs, err := containers.New(led, containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 3, Ranges: []containers.Range{{From: 101, To: 103}}, LowWater: 2})
	require.NoError(t, err)
	ships := shipments.New(led)
	l := &Line{Name: "line-2", Ledger: led, Containers: cs, Shipments: ships, Orders: orders.New(led, orders.Config{Line: "line-2"}),
		Stations: stations.New(led, cs, ships, stations.Config{})}
	require.NoError(t, led.AddProduct(ctx, "09506000134352", "EU", nil))
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, ServiceToken: serviceToken, People: testPeople(t, db), DB: db}, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, l
}

func sample(t *testing.T, s *Server, name string) (float64, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	require.Contains(t, fams, name)
	m := fams[name].GetMetric()[0]
	labels := map[string]string{}
	for _, lp := range m.GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	return m.GetGauge().GetValue(), labels
}

// What is left of the line's ranges is a metric with the low-water marks,
// and the overview warns when it runs low, then says when nothing is left.
func TestRangesAreMeasuredAndWarnedOf(t *testing.T) {
	s, l := rangedServer(t)
	ctx := context.Background()
	v, labels := sample(t, s, "edgeagent_sscc_left")
	assert.Equal(t, 3.0, v)
	assert.Equal(t, map[string]string{"line": "line-2"}, labels)
	v, _ = sample(t, s, "edgeagent_sscc_range_size")
	assert.Equal(t, 3.0, v)
	v, _ = sample(t, s, "edgeagent_sscc_low_water")
	assert.Equal(t, 2.0, v)
	v, labels = sample(t, s, "edgeagent_serials_left")
	assert.Equal(t, 4.0, v, "two letters of A and B after the prefix")
	assert.Equal(t, map[string]string{"line": "line-2", "gtin": "09506000134352"}, labels)
	v, _ = sample(t, s, "edgeagent_serials_low_water")
	assert.Equal(t, 2.0, v)
	o, err := s.overview(ctx)
	require.NoError(t, err)
	assert.Empty(t, o.(Overview).Alerts)

	alloc := func() {
		require.NoError(t, l.Ledger.DB().Write(ctx, func(tx *sql.Tx) error {
			sscc, _, err := l.Containers.Allocate(tx)
			if err != nil {
				return err
			}
			return containers.Create(tx, sscc, containers.Case, "s", "", containers.Allocated, 1)
		}))
	}
	alloc()
	alloc()
	require.NoError(t, l.Ledger.DB().Write(ctx, func(tx *sql.Tx) error { _, err := l.Ledger.Take(tx, "09506000134352", 3); return err }))
	v, _ = sample(t, s, "edgeagent_sscc_left")
	assert.Equal(t, 1.0, v)
	v, _ = sample(t, s, "edgeagent_serials_left")
	assert.Equal(t, 1.0, v)
	o, err = s.overview(ctx)
	require.NoError(t, err)
	assert.Equal(t, []Alert{
		{Level: "warn", Text: "Only 1 SSCC is left in this line's range (line.sscc.ranges, low-water mark 2): give the line a new range before they run out"},
		{Level: "warn", Text: `Few serials left in this line's range (prefix "L2", low-water mark 2) for 09506000134352 (1): lengthen line.serials.length before they run out`},
	}, o.(Overview).Alerts)

	alloc()
	o, err = s.overview(ctx)
	require.NoError(t, err)
	assert.Equal(t, Alert{Level: "bad", Text: "No SSCC left in this line's range (line.sscc.ranges): stations refuse NEW containers until the line is given a new range; preprinted SSCC labels can still be scanned"},
		o.(Overview).Alerts[0])
}
