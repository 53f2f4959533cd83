package api

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
)

// BenchmarkOverview renders the dashboard's overview with 100,000 serials
// (printed labels of 100 orders) and 1,000 closed cases of 24 packs in the
// database, and 4 stations.
func BenchmarkOverview(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(b.TempDir(), "data", "o.db")}, zerolog.Nop())
	require.NoError(b, err)
	defer db.Close()
	l := testLine(b, db, ledger.SerialConfig{}, orders.Extra{})
	const gtin = "09506000134352"
	require.NoError(b, l.Ledger.AddProduct(ctx, gtin, "EU", map[string]string{"AB12": "261231"}))
	for _, n := range []string{"case-1", "case-2", "pallet-1", "samples"} {
		_, err := l.Stations.Add(ctx, stations.StationConfig{Name: n})
		require.NoError(b, err)
	}
	require.NoError(b, db.Write(ctx, func(tx *sql.Tx) error {
		for o := 0; o < 100; o++ {
			if _, err := tx.Exec(`INSERT INTO label_orders (order_id, gtin, batch, quantity, destination, template, status, created_by, created_at, request)
				VALUES (?, ?, 'AB12', 1000, 'p1', 'pack', 'completed', 'erp', ?, ?)`, fmt.Sprintf("LO-%03d", o), gtin, o, []byte("{}")); err != nil {
				return err
			}
		}
		for i := 0; i < 100000; i++ {
			sn := fmt.Sprintf("S%011d", i)
			if _, err := tx.Exec(`INSERT INTO serials (gtin, serial, state, batch, expiry, updated_at) VALUES (?, ?, 'printed', 'AB12', '261231', 0)`, gtin, sn); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO labels (order_id, gtin, serial, printer, state, updated_at) VALUES (?, ?, ?, 'p1', 'printed', 0)`,
				fmt.Sprintf("LO-%03d", i/1000), gtin, sn); err != nil {
				return err
			}
		}
		for c := 0; c < 1000; c++ {
			sscc := fmt.Sprintf("1950600%011d", c)
			if _, err := tx.Exec(`INSERT INTO containers (sscc, level, state, station, origin, opened_at) VALUES (?, 'case', 'closed', 'case-1', 'allocated', 0)`, sscc); err != nil {
				return err
			}
			for k := 0; k < 24; k++ {
				if _, err := tx.Exec(`INSERT INTO container_items (sscc, gtin, serial) VALUES (?, ?, ?)`, sscc, gtin, fmt.Sprintf("S%011d", c*24+k)); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, DB: db, Printers: func() []PrinterStatus {
		return []PrinterStatus{{Tag: "p1", State: "printing", Printed: 100000, PrintedSinceStart: 100000}, {Tag: "p2", State: "ready"}}
	}}, zerolog.Nop())
	require.NoError(b, err)
	h := s.handler()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/render")
}
