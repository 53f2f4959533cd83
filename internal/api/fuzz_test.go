package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/api/apitest"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/store"
)

// fuzzEndpoints are the V2 operations the fuzzer calls.
var fuzzEndpoints = []struct{ method, path string }{
	{"POST", "/v1/manufacturer/v2/api/label_orders/"},
	{"POST", "/v1/manufacturer/v2/api/packaging_order"},
	{"POST", "/v1/manufacturer/v2/api/serials/decommission"},
	{"POST", "/v1/manufacturer/v2/api/serials/commission"},
	{"POST", "/v1/manufacturer/v2/api/aggregate/container"},
	{"DELETE", "/v1/manufacturer/v2/api/aggregate/container"},
	{"GET", "/v1/manufacturer/v2/api/packaging_order/details?order_id="},
}

// fingerprint sums up what a request may change.
func fingerprint(t testing.TB, db *store.DB) string {
	var out [9]int64
	err := db.Reader().QueryRow(`SELECT (SELECT COUNT(*) FROM label_orders), (SELECT COUNT(*) FROM labels), (SELECT COUNT(*) FROM serials),
		(SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM containers), (SELECT COUNT(*) FROM container_items),
		(SELECT COUNT(*) FROM packaging_orders), (SELECT COALESCE(MAX(id), 0) FROM audit_log), (SELECT COUNT(*) FROM products)`).
		Scan(&out[0], &out[1], &out[2], &out[3], &out[4], &out[5], &out[6], &out[7], &out[8])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out)
}

// FuzzLocalAPI sends random and mutated V2 requests to a real server on a
// real database: whatever comes, the answer is never a 5xx, it is one
// openapi.yaml describes, and a refused request leaves the database as it
// was.
func FuzzLocalAPI(f *testing.F) {
	for _, seed := range []string{lo, po, with(lo, `"execute":true`), `{"parent":"095060000000000015","child_trade_items":[{"product_code":"09506000134352","product_code_schema":"GTIN","serial_number":"X"}]}`,
		`{"product_code":"09506000134352","product_code_schema":"GTIN","reason":"destroy","send_to_market":false,"serials":["A"]}`,
		`{"product_code":"09506000134352","product_code_schema":"GTIN","serials":["EXT-1"]}`, `[]`, `{"order_id":"A","order_id":"B"}`, "\xff", ""} {
		for i := range fuzzEndpoints {
			f.Add(uint8(i), []byte(seed))
		}
	}
	dir := f.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "edgeagent-fuzz-"); err == nil {
			dir = d
			f.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "data", "fuzz.db")}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	l := testLine(f, db, ledger.SerialConfig{Generate: true}, orders.Extra{Amount: 5, Type: "percentage"}, "p1")
	if err := l.Ledger.AddProduct(context.Background(), "09506000134352", "EU", map[string]string{"AB12": "261231"}); err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, Tokens: map[string]string{"erp": "erp-token-0123456789"}, ChannelKeys: []string{"ch"}, RateLimit: 1e9}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Shutdown(context.Background()) })
	doc := apitest.MustNew(f, openapiYAML)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := fuzzEndpoints[int(which)%len(fuzzEndpoints)]
		path := ep.path
		if strings.HasSuffix(path, "=") {
			path += strings.NewReplacer("&", "", "#", "", " ", "+").Replace(string(body))
			body = nil
		}
		before := fingerprint(t, db)
		req, err := http.NewRequest(ep.method, "http://"+s.Addr()+path, strings.NewReader(string(body)))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("x-access-token", "erp-token-0123456789")
		req.Header.Set("x-channel-key", "ch")
		req.Header.Set("Content-Type", "application/json")
		// Whatever comes, the answer is one openapi.yaml describes: a body
		// the document refuses is refused (4xx), never taken or a 5xx.
		resp, err := apitest.Client(t, doc).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", ep.method, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d", ep.method, path, body, resp.StatusCode)
		}
		if resp.StatusCode != http.StatusOK {
			if after := fingerprint(t, db); after != before {
				t.Fatalf("%s %s %q: refused with %d, but the database changed: %s -> %s", ep.method, path, body, resp.StatusCode, before, after)
			}
		}
	})
}
