package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/store"
)

func v2Server(t *testing.T, generate bool) (*Server, *Line) {
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "a.db")}, zerolog.Nop())
	require.NoError(t, err)
	l := testLine(t, db, ledger.SerialConfig{Generate: generate}, orders.Extra{Amount: 5, Type: "percentage"}, "p1")
	t.Cleanup(func() { db.Close() })
	fakePrinter(t, l, "p1")
	require.NoError(t, l.Ledger.AddProduct(context.Background(), "09506000134352", "EU", map[string]string{"AB12": "261231"}))
	people := testPeople(t, db)
	s, err := New(Config{Listen: "127.0.0.1:0", Line: l, Tokens: map[string]string{"erp": "erp-token-0123456789"}, ChannelKeys: []string{"ch"},
		ServiceToken: serviceToken, People: people, DB: db}, zerolog.Nop())
	require.NoError(t, err)
	require.NoError(t, checked(t, s).Start())
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, l
}

func call(t *testing.T, s *Server, method, path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	req.Header.Set("x-access-token", "erp-token-0123456789")
	req.Header.Set("x-channel-key", "ch")
	req.Header.Set("Content-Type", "application/json") // as the V2 documentation has every call
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

const lo = `{"order_id":"LO-1","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":10,"destination_tag":"p1","template_tag":"pack"}`

func with(obj, kv string) string {
	k := kv[:strings.Index(kv, ":")]
	i := strings.Index(obj, k+":")
	if i < 0 {
		return strings.TrimSuffix(obj, "}") + "," + kv + "}"
	}
	j := strings.IndexAny(obj[i:], ",}") + i
	return obj[:i] + kv + obj[j:]
}

func TestLocalV2LabelOrders(t *testing.T) {
	s, l := v2Server(t, true)
	const path = "/v1/manufacturer/v2/api/label_orders/"
	for _, tc := range []struct {
		name    string
		body    string
		hdr     map[string]string
		status  int
		message string
		code    string
	}{
		{"no token", lo, map[string]string{"x-access-token": ""}, 401, "No token provided", "ERR0001"},
		{"bad token", lo, map[string]string{"x-access-token": "nope"}, 401, "Failed to authenticate token", "ERR0000"},
		{"bearer", with(lo, `"order_id":"LO-B"`), map[string]string{"x-access-token": "", "Authorization": "Bearer erp-token-0123456789"}, 200, "Label order created successfully", ""},
		{"channel", lo, map[string]string{"x-channel-key": ""}, 400, "Channel ID is missing or it needs to be in correct format", ""},
		{"unparsable", `{"order_id": "x",}`, nil, 400, "Request body could not be parsed", ""},
		{"batch", with(lo, `"batch":"NOPE"`), nil, 404, "Batch not found", ""},
		{"template", with(lo, `"template_tag":"nope"`), nil, 404, "Printing template doesn't exist!", ""},
		{"destination", with(lo, `"destination_tag":"nope"`), nil, 404, "Destination not found", ""},
		{"product", with(lo, `"product_code":"09506000134369"`), nil, 404, "ProductError: the product does not exist", ""},
		{"order_id", with(lo, `"order_id":""`), nil, 400, "ValidationError: order_id: is required", ""},
		{"schema", with(lo, `"product_code_schema":"EAN"`), nil, 400, `ValidationError: product_code_schema: must be "GTIN", got "EAN"`, ""},
		{"quantity", with(lo, `"quantity":"ten"`), nil, 400, "ValidationError: quantity: must be a whole number", ""},
		{"extra type", with(lo, `"extra_label_amount":3`), nil, 400, "ValidationError: extra_label_type: is required when extra_label_amount is given", ""},
		{"created", lo, nil, 200, "Label order created successfully", ""},
		{"exists", lo, nil, 409, "Label order already exists!", ""},
	} {
		code, body := call(t, s, http.MethodPost, path, tc.body, tc.hdr)
		assert.Equal(t, tc.status, code, tc.name)
		assert.Equal(t, tc.message, body["message"], tc.name)
		if tc.code != "" {
			assert.Equal(t, tc.code, body["code"], tc.name)
		}
	}
	// Created without execute: nothing printed until released.
	st, _, err := l.Orders.Status(context.Background(), "LO-1")
	require.NoError(t, err)
	assert.Equal(t, orders.Created, st)
	queued, err := l.Ledger.Queued(context.Background())
	require.NoError(t, err)
	assert.Empty(t, queued, "nothing is queued for printing before the order is released")

	// Execute: 10 labels and the channel's default 5% extra (rounded up).
	code, body := call(t, s, http.MethodPost, path, with(with(lo, `"order_id":"LO-2"`), `"execute":true`), nil)
	require.Equal(t, 200, code, body)
	require.Eventually(t, func() bool {
		st, counts, _ := l.Orders.Status(context.Background(), "LO-2")
		return st == orders.Completed && counts["printed"] == 11
	}, 5*time.Second, 10*time.Millisecond)
}

func TestLocalV2SerialShortage(t *testing.T) {
	s, l := v2Server(t, false)
	code, body := call(t, s, http.MethodPost, "/v1/manufacturer/v2/api/label_orders/", with(lo, `"execute":true`), nil)
	assert.Equal(t, 409, code)
	assert.Equal(t, "Not enough serials assigned at the moment", body["message"])
	st, _, err := l.Orders.Status(context.Background(), "LO-1")
	require.NoError(t, err)
	assert.Equal(t, orders.Suspended, st)
	var serials []string
	for i := 0; i < 11; i++ {
		serials = append(serials, "IMP"+string(rune('A'+i)))
	}
	n, err := l.Ledger.ImportSerials(context.Background(), "cli:test", "09506000134352", serials)
	require.NoError(t, err)
	assert.Equal(t, 11, n)
	_, err = l.Ledger.ImportSerials(context.Background(), "cli:test", "09506000134352", []string{"bad serial"})
	assert.ErrorContains(t, err, "not in GS1 character set 82")
	require.NoError(t, l.Orders.Resume(context.Background(), "supervisor", "LO-1"))
	require.Eventually(t, func() bool {
		st, counts, _ := l.Orders.Status(context.Background(), "LO-1")
		return st == orders.Completed && counts["printed"] == 11
	}, 5*time.Second, 10*time.Millisecond)
}

const po = `{"order_id":"Order130","order_description":"Packaging Order 130","product_code":"09506000134352","product_code_schema":"GTIN","batch":"B2","expiry_date":"221200","quantity":10,"extra_percentage":10,"serialized":true,"packaging_line_tag":"line-1","market":"EU"}`

func TestLocalV2PackagingOrdersAndDecommission(t *testing.T) {
	s, l := v2Server(t, true)
	const path = "/v1/manufacturer/v2/api/packaging_order"
	code, body := call(t, s, http.MethodPost, path, po, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, "Packaging order created", body["message"])
	data := body["data"].(map[string]any)
	assert.Equal(t, "Open", data["status"])
	assert.Equal(t, "221200", data["expiry_date"])
	for _, tc := range []struct{ body, message string }{
		{po, "Packaging order already exists!"},
		{with(po, `"order_id":""`), "ValidationError: order_id: is required"},
		{with(with(po, `"order_id":"X"`), `"extra_percentage":101`), "ValidationError: extra_percentage: must be 0-100, got 101"},
		{with(with(po, `"order_id":"X"`), `"quantity":100001`), "ValidationError: quantity: must be 0-100000, got 100001"},
		{with(with(po, `"order_id":"X"`), `"market":"UK"`), `ValidationError: market: must be EU, US, CHN or IDN, got "UK"`},
		{with(with(po, `"order_id":"X"`), `"expiry_date":"221301"`), "ValidationError: expiry_date: month 13"},
		{with(with(po, `"order_id":"X"`), `"product_code":"09506000134369"`), "ProductError: the product does not exist"},
	} {
		_, body := call(t, s, http.MethodPost, path, tc.body, nil)
		assert.Contains(t, body["message"], tc.message, tc.body)
	}
	code, body = call(t, s, http.MethodGet, path+"/open", "", nil)
	require.Equal(t, 200, code)
	assert.Len(t, body["data"], 1)
	code, body = call(t, s, http.MethodGet, path+"/details?order_id=Order130", "", nil)
	require.Equal(t, 200, code)
	assert.Equal(t, "Order130", body["data"].(map[string]any)["order_id"])
	code, body = call(t, s, http.MethodGet, path+"/details?order_id=nope", "", nil)
	assert.Equal(t, 404, code)
	assert.Equal(t, "Packaging order not found", body["message"])
	// The packaging order's batch is now known: a label order may use it.
	code, body = call(t, s, http.MethodPost, "/v1/manufacturer/v2/api/label_orders/", with(with(with(lo, `"batch":"B2"`), `"quantity":2`), `"execute":true`), nil)
	require.Equal(t, 200, code, body)
	var serials []string
	require.Eventually(t, func() bool {
		st, _, _ := l.Orders.Status(context.Background(), "LO-1")
		return st == orders.Completed
	}, 5*time.Second, 10*time.Millisecond)
	rows, err := s.cfg.Line.Ledger.UnknownLabels(context.Background())
	require.NoError(t, err)
	require.Empty(t, rows)
	require.NoError(t, lineSerials(l, &serials))

	const dpath = "/v1/manufacturer/v2/api/serials/decommission"
	dec := `{"product_code":"09506000134352","product_code_schema":"GTIN","reason":"destroy","send_to_market":false,"market_id":"EU","serials":["` + serials[0] + `"]}`
	code, body = call(t, s, http.MethodPost, dpath, dec, nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, "Serials decommissioned", body["message"])
	assert.Equal(t, []any{map[string]any{"serial_number": serials[0], "status": "Decommissioned"}}, body["data"])
	for _, tc := range []struct{ body, message string }{
		{dec, "Serial " + serials[0] + " is already Decommissioned"},
		{with(dec, `"reason":"lost"`), "ValidationError: reason: must be one of destroy, sample, free_sample, check_out, lock, export"},
		{with(dec, `"send_to_market":null`), "ValidationError: send_to_market: is required"},
		{with(dec, `"serials":[]`), "ValidationError: serials: must hold 1-10000 serials, got 0"},
		{with(dec, `"serials":["NEVER"]`), "Serial NEVER not found"},
		{with(dec, `"product_code":"09506000134369"`), "ProductError: the product does not exist"},
	} {
		_, body := call(t, s, http.MethodPost, dpath, tc.body, nil)
		assert.Contains(t, body["message"], tc.message, tc.body)
	}
}

// lineSerials reads the printed serials through the decommission-free
// path: the unknown list is empty, so the printed ones are the order's.
func lineSerials(l *Line, out *[]string) error {
	rows, err := l.Ledger.PrintedSerials(context.Background(), "LO-1")
	*out = rows
	return err
}

// In a V2 request an optional field that is null, or an empty text, is as
// if it were absent, as openapi.yaml says (the server is checked against
// it: a request the document refused would fail the test).
func TestLocalV2NullAndEmptyAreAbsent(t *testing.T) {
	s, _ := v2Server(t, true)
	for i, tc := range []struct{ path, body string }{
		{"label_orders/", with(lo, `"execute":null`)},
		{"label_orders/", with(lo, `"extra_label_amount":null`)},
		{"label_orders/", with(lo, `"extra_label_type":""`)},
		{"packaging_order", with(po9, `"market":""`)},
		{"packaging_order", with(po9, `"batch":""`)},
		{"packaging_order", with(po9, `"expiry_date":""`)},
		{"packaging_order", with(po9, `"order_description":""`)},
		{"packaging_order", with(po9, `"packaging_line_tag":null`)},
		{"packaging_order", with(po9, `"quantity":null`)},
		{"packaging_order", with(po9, `"serialized":null`)},
		{"serials/commission", `{"product_code":"09506000134352","product_code_schema":"GTIN","batch":"","expiry_date":null,"serials":["EXT-A"]}`},
	} {
		body := strings.Replace(tc.body, `"order_id":"`, fmt.Sprintf(`"order_id":"N%d-`, i), 1)
		code, out := call(t, s, http.MethodPost, "/v1/manufacturer/v2/api/"+tc.path, body, nil)
		assert.Equal(t, http.StatusOK, code, "%s: %v", body, out)
	}
}
