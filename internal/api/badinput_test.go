package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const po9 = `{"order_id":"PO-9","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231"}`

// Every bad input found by trying the API as an adversarial ERP would:
// each gets a clear refusal naming the field and the rule, never a 500,
// and stores nothing. docs/cloud.md lists the same cases.
func TestBadInputIsRefusedClearly(t *testing.T) {
	s, l := v2Server(t, true)
	const (
		labelOrders = "/v1/manufacturer/v2/api/label_orders/"
		packaging   = "/v1/manufacturer/v2/api/packaging_order"
	)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		message                  string // contained in the answer's message (or error)
	}{
		{"extra overflows", "POST", labelOrders, with(lo, `"extra_label_amount":9223372036854775807,"extra_label_type":"amount"`), 400, "extra_label_amount: must be a whole number from"},
		{"extra above the cap", "POST", labelOrders, with(lo, `"extra_label_amount":200000,"extra_label_type":"amount"`), 400, "extra_label_amount: must be 0-100000"},
		{"total above the cap", "POST", labelOrders, with(with(lo, `"quantity":100000`), `"extra_label_amount":1,"extra_label_type":"amount"`), 400, "100001 labels; at most 100000"},
		{"batch with a space", "POST", packaging, with(po9, `"batch":"BAD BATCH"`), 400, "batch: character ' ' at position 4"},
		{"batch not ASCII", "POST", packaging, with(po9, `"batch":"ÄB12"`), 400, "batch: character"},
		{"batch with NUL", "POST", packaging, with(po9, `"batch":"X\u0000Y"`), 400, "batch: character"},
		{"batch of 40", "POST", packaging, with(po9, `"batch":"`+strings.Repeat("A", 40)+`"`), 400, "batch: must be 1-20 characters"},
		{"batch with ZPL", "POST", packaging, with(po9, `"batch":"^XZ~JR"`), 400, "batch: character '^'"},
		{"order_id with CR", "POST", labelOrders, with(lo, `"order_id":"A\rB"`), 400, "order_id: must not hold control characters"},
		{"order_id with TAB", "POST", labelOrders, with(lo, `"order_id":"A\tB"`), 400, "order_id: must not hold control characters"},
		{"order_id spaces", "POST", labelOrders, with(lo, `"order_id":"   "`), 400, "order_id: must not be only spaces"},
		{"order_id ZPL", "POST", labelOrders, with(lo, `"order_id":"A^XZ"`), 400, "order_id: must not hold ^ or ~"},
		{"order_id of 65", "POST", labelOrders, with(lo, `"order_id":"`+strings.Repeat("x", 65)+`"`), 400, "order_id: must be 1-64 characters, got 65"},
		{"invalid UTF-8", "POST", labelOrders, with(lo, "\"order_id\":\"\xff\""), 400, "body: must be UTF-8 text"},
		{"duplicate key", "POST", labelOrders, strings.TrimSuffix(lo, "}") + `,"execute":true,"execute":false}`, 400, "execute: is given twice"},
		{"key case", "POST", labelOrders, strings.TrimSuffix(lo, "}") + `,"EXECUTE":true}`, 400, `EXECUTE: is not a field of this request (did you mean "execute"?)`},
		{"misspelt key", "POST", labelOrders, strings.TrimSuffix(lo, "}") + `,"exectue":true}`, 400, `exectue: is not a field of this request (did you mean "execute"?)`},
		{"top-level array", "POST", labelOrders, "[" + lo + "]", 400, "body: must be an object"},
		{"serials[1]", "POST", "/v1/manufacturer/v2/api/serials/decommission",
			`{"product_code":"09506000134352","product_code_schema":"GTIN","reason":"destroy","send_to_market":false,"serials":["A",5]}`, 400, "serials[1]: must be text"},
		{"every fault at once", "POST", labelOrders, `{"product_code_schema":"GTIN"}`, 400, "order_id: is required; product_code: is required; batch: is required; quantity: is required; destination_tag: is required; template_tag: is required"},
		{"path beyond the route", "POST", labelOrders + "anything/else", lo, 404, "no such endpoint"},
		{"wrong method", "GET", "/v1/manufacturer/v2/api/label_orders", "", 405, "GET is not allowed"},
		{"unknown label id", "POST", "/api/v1/labels/abc/resolve", `{"printed":true,"reason":"x"}`, 400, `label id "abc": must be a label number`},
		{"resolve without printed", "POST", "/api/v1/labels/1/resolve", `{"reason":"x"}`, 400, "printed: give true"},
		{"aggregation without a token", "POST", "/v1/manufacturer/v2/api/aggregate/container", `{"parent":"000000000000000003"}`, 401, "No token provided"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if strings.HasPrefix(tc.path, "/api/v1/") {
				hdr["Authorization"] = "Bearer " + serviceToken
			}
			if tc.name == "aggregation without a token" {
				hdr["x-access-token"] = ""
			}
			code, body := call(t, s, tc.method, tc.path, tc.body, hdr)
			assert.Equal(t, tc.status, code, "%v", body)
			msg, _ := body["message"].(string)
			if msg == "" {
				msg, _ = body["error"].(string)
			}
			assert.Contains(t, msg, tc.message)
			assert.NotRegexp(t, `v2\.|\*[a-z]+\.[A-Z]|strconv|json: `, msg, "no Go names in an answer")
		})
	}
	counts, err := l.Orders.StatusCounts(t.Context())
	require.NoError(t, err)
	assert.Empty(t, counts, "no refused order was stored")
	code, body := call(t, s, http.MethodPost, labelOrders, `{"order_id":"A",`, nil)
	assert.Equal(t, 400, code)
	assert.Equal(t, "Request body could not be parsed", body["message"], "the documented answer for text that is not JSON")
}
