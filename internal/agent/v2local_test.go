package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

func send(t *testing.T, method, url, path, body string) (int, map[string]any) {
	req, _ := http.NewRequest(method, url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("x-access-token", token)
	req.Header.Set("x-channel-key", "line-channel")
	req.Header.Set("Content-Type", "application/json")
	resp, err := checked(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func tradeItems(serials ...string) string {
	var b bytes.Buffer
	for i, s := range serials {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"product_code":%q,"product_code_schema":"GTIN","serial_number":%q,"batch":"AB12","expiry_date":"261231"}`, gtin, s)
	}
	return b.String()
}

// An ERP that aggregates and commissions through the cloud API can point
// at the line PC: the same rules as a station, the same path to the cloud.
func TestLocalAggregationAndCommission(t *testing.T) {
	r := start(t, printersim.Config{}, "", true)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders", labelOrder("LO-AGG", 6))
	require.Equal(t, 200, code, "%v", body)
	require.Eventually(t, func() bool { return labelsIn(t, r.agent)[ledger.LabelPrinted] == 6 }, 20*time.Second, 10*time.Millisecond)
	sn, err := r.agent.Line.Ledger.PrintedSerials(t.Context(), "LO-AGG")
	require.NoError(t, err)
	const agg = "/v1/manufacturer/v2/api/aggregate/container"
	const case1, case2, pallet = "095060000000000015", "095060000000000022", "195060000000000012"

	code, body = send(t, "POST", r.url, agg, `{"parent":"`+case1+`","child_trade_items":[`+tradeItems(sn[0], sn[1], sn[2])+`]}`)
	require.Equal(t, 200, code, "%v", body)
	assert.Equal(t, "Aggregated on container", body["message"])
	code, body = send(t, "POST", r.url, agg, `{"parent":"`+case2+`","child_trade_items":[`+tradeItems(sn[3], sn[2])+`]}`)
	assert.Equal(t, 409, code)
	assert.Contains(t, body["message"], "already aggregated in "+case1)
	code, body = send(t, "POST", r.url, agg, `{"parent":"`+case2+`","child_trade_items":[`+tradeItems("NOSUCH")+`]}`)
	assert.Equal(t, 404, code)
	assert.Equal(t, "Serial NOSUCH not found", body["message"])
	code, _ = send(t, "POST", r.url, agg, `{"parent":"`+case2+`","child_trade_items":[`+tradeItems(sn[3], sn[4])+`]}`)
	require.Equal(t, 200, code)
	code, body = send(t, "POST", r.url, agg, `{"parent":"`+pallet+`","child_containers":["`+case1+`","`+case2+`"]}`)
	require.Equal(t, 200, code, "%v", body)
	code, body = send(t, "DELETE", r.url, agg, `{"parent":"`+case2+`","child_trade_items":[`+tradeItems(sn[4])+`]}`)
	require.Equal(t, 200, code, "%v", body)
	code, body = send(t, "DELETE", r.url, agg, `{"parent":"`+case2+`","child_trade_items":[`+tradeItems(sn[5])+`]}`)
	assert.Equal(t, 409, code)
	assert.Contains(t, body["message"], "is not in container "+case2)

	// A pack in a container is not decommissioned over the API either.
	code, body = post(t, r.url, "/v1/manufacturer/v2/api/serials/decommission",
		`{"product_code":"`+gtin+`","product_code_schema":"GTIN","reason":"destroy","send_to_market":false,"serials":["`+sn[0]+`"]}`)
	assert.Equal(t, 409, code)
	assert.Contains(t, body["message"], "already aggregated in "+case1)

	// Commission: a serial the cloud has is "already Commissioned", as the
	// cloud says; one printed elsewhere is recorded and sent.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, r.agent.DB.Reader().QueryRow(`SELECT COUNT(*) FROM serials WHERE state = 'commissioned'`).Scan(&n))
		return n == 6
	}, 20*time.Second, 20*time.Millisecond)
	const commission = "/v1/manufacturer/v2/api/serials/commission"
	code, body = post(t, r.url, commission, `{"product_code":"`+gtin+`","product_code_schema":"GTIN","serials":["`+sn[5]+`","EXT-0001"]}`)
	assert.Equal(t, 409, code)
	assert.Equal(t, "Serial "+sn[5]+" is already Commissioned", body["message"])
	code, body = post(t, r.url, commission, `{"product_code":"`+gtin+`","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231","serials":["EXT-0001"]}`)
	require.Equal(t, 200, code, "%v", body)

	require.Eventually(t, func() bool {
		st, p := r.cloud.SerialStatus(gtin, sn[0])
		ext, _ := r.cloud.SerialStatus(gtin, "EXT-0001")
		_, out := r.cloud.SerialStatus(gtin, sn[4])
		return st == "Commissioned" && p == case1 && ext == "Commissioned" && out == ""
	}, 20*time.Second, 20*time.Millisecond, "aggregations, the disaggregation and the external commission reach the cloud")
}

// The supervisor's test print through the agent's own printers: a tag the
// line has prints, another is 404 naming it (it was a 500).
func TestTestPrintOfAnUnknownPrinterIsNotFound(t *testing.T) {
	const service = "service-token-0123456789"
	r := start(t, printersim.Config{}, "", false, func(c *Config) { c.ServiceToken = service; c.Cloud = nil })
	print := func(tag string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, r.url+"/api/v1/printers/"+tag+"/test", nil)
		req.Header.Set("Authorization", "Bearer "+service)
		resp, err := checked(t).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	code, body := print("line-1-printer")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = print("nope")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, `printer "nope": no such printer on this line`, body["error"])
}
