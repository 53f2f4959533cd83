package cloudsim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
)

// FuzzRequests sends arbitrary bodies to every endpoint: the emulator must
// never panic, and bad input must never get a 5xx.
func FuzzRequests(f *testing.F) {
	paths := []struct{ method, path string }{
		{"POST", "/v1/api_auth"}, {"POST", apiPrefix + "/label_orders/"}, {"POST", apiPrefix + "/packaging_order"},
		{"GET", apiPrefix + "/packaging_order/details?order_id=x"}, {"POST", apiPrefix + "/serials/commission"},
		{"POST", apiPrefix + "/serials/decommission"}, {"POST", apiPrefix + "/aggregate/container"},
		{"DELETE", apiPrefix + "/aggregate/container"}, {"POST", "/api/v3/orders/create-labels-async"},
		{"GET", "/api/v3/shipments/511"}, {"GET", "/api/v3/parcels/1/documents/label"},
	}
	f.Add(uint8(1), []byte(`{"order_id":"A","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":5,"destination_tag":"line-1-printer","template_tag":"pack"}`))
	f.Add(uint8(4), []byte(`{"product_code":"09506000134352","product_code_schema":"GTIN","serials":["A","B"]}`))
	f.Add(uint8(6), []byte(`{"parent":"095060001343521236","child_trade_items":[{"product_code":"09506000134352","product_code_schema":"GTIN","serial_number":"A"}]}`))
	f.Add(uint8(8), []byte(`{"integration_id":70,"orders":[{"order_number":"ORD-2024-00174"},{"order_id":7}]}`))
	f.Add(uint8(2), []byte(`{"quantity":1e309}`))
	f.Add(uint8(0), []byte(`{"api_key":["x"]}`))
	s := New(Config{Seed: DefaultSeed(), Log: zerolog.Nop()})
	h := s.Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		p := paths[int(which)%len(paths)]
		req := httptest.NewRequest(p.method, p.path, bytes.NewReader(body))
		req.Header.Set("x-access-token", "demo-static-token")
		req.Header.Set("x-channel-key", "demo-channel")
		req.SetBasicAuth("ship-public", "ship-secret")
		if p.path[1] == 'v' {
			req.Header.Del("Authorization")
			req.Header.Set("x-access-token", "demo-static-token")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && !bytes.Contains(w.Body.Bytes(), []byte("More serials have been requested")) {
			t.Fatalf("%s %s %q: %d %s", p.method, p.path, body, w.Code, w.Body.String())
		}
		if w.Code == http.StatusOK && w.Body.Len() == 0 {
			t.Fatalf("empty answer")
		}
	})
}
