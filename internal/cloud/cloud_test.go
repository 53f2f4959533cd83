package cloud_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

const gtin = "09506000134352"

func startSim(t testing.TB, f cloudsim.Faults) *cloudsim.Sim {
	t.Helper()
	s, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudsim.DefaultSeed(), Faults: f, Log: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func client(t testing.TB, s *cloudsim.Sim, mod func(*cloud.Config)) *cloud.Client {
	t.Helper()
	cfg := cloud.Config{BaseURL: s.URL(), ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cloud.New(cfg)
	require.NoError(t, err)
	return c
}

func ptr[T any](v T) *T { return &v }

func labelOrder(id string) cloud.LabelOrder {
	return cloud.LabelOrder{OrderID: id, ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: ptr(10),
		ExtraLabelAmount: ptr(2), ExtraLabelType: "amount", DestinationTag: "line-1-printer", TemplateTag: "pack", Execute: true}
}

// rule asserts that err is a client-side FieldError naming the field.
func rule(t *testing.T, err error, field, text string) {
	t.Helper()
	var fe *cloud.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, field, fe.Field)
	assert.Contains(t, fe.Rule, text)
}

// serverRule sends the invalid body straight to the emulator, bypassing the
// client's checks, and asserts it answers ValidationError naming the field.
func serverRule(t *testing.T, s *cloudsim.Sim, method, path, body, field string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("x-access-token", "demo-static-token")
	req.Header.Set("x-channel-key", "demo-channel")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var eb cloud.ErrorBody
	require.NoError(t, jsonDecode(resp, &eb))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Equal(t, cloud.TypeValidation, eb.Error, body)
	assert.Contains(t, eb.Message, field, body)
}

func TestAuthErrors(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	ctx := context.Background()
	_, err := client(t, s, func(c *cloud.Config) { c.Token = "revoked" }).OpenPackagingOrders(ctx)
	require.ErrorIs(t, err, cloud.ErrBadToken)
	assert.Contains(t, err.Error(), "HTTP 401 ERR0000: Failed to authenticate token")
	assert.NotContains(t, err.Error(), "revoked", "no secret in errors")

	_, err = client(t, s, func(c *cloud.Config) { c.ChannelKey = "nope" }).OpenPackagingOrders(ctx)
	require.ErrorIs(t, err, cloud.ErrChannel)

	// No token at all, and an unparsable body, straight to the emulator.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/manufacturer/v2/api/label_orders/", strings.NewReader("{"))
	req.Header.Set("x-channel-key", "demo-channel")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var eb cloud.ErrorBody
	require.NoError(t, jsonDecode(resp, &eb))
	assert.Equal(t, cloud.ErrorBody{Code: "ERR0001", Error: "NoTokenError", Message: "No token provided"}, eb)
	req, _ = http.NewRequest(http.MethodPost, s.URL()+"/v1/manufacturer/v2/api/label_orders/", strings.NewReader(`{"order_id": "x",}`))
	req.Header.Set("Authorization", "Bearer demo-static-token")
	req.Header.Set("x-channel-key", "demo-channel")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, jsonDecode(resp, &eb))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, cloud.MsgUnparsable, eb.Message)
}

func TestLabelOrders(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := client(t, s, nil)
	ctx := context.Background()
	env, err := c.CreateLabelOrder(ctx, labelOrder("MCS360418"))
	require.NoError(t, err)
	assert.Equal(t, "Label order created successfully", env.Message)

	_, err = c.CreateLabelOrder(ctx, labelOrder("MCS360418"))
	require.ErrorIs(t, err, cloud.ErrLabelOrderExists)
	assert.False(t, cloud.IsRetryable(err))
	for _, tc := range []struct {
		mod  func(*cloud.LabelOrder)
		want error
	}{
		{func(o *cloud.LabelOrder) { o.Batch = "NOPE" }, cloud.ErrBatchNotFound},
		{func(o *cloud.LabelOrder) { o.TemplateTag = "nope" }, cloud.ErrTemplateMissing},
		{func(o *cloud.LabelOrder) { o.DestinationTag = "nope" }, cloud.ErrDestinationAbsent},
		{func(o *cloud.LabelOrder) { o.ProductCode = "09506000134376" }, cloud.ErrProduct},
	} {
		o := labelOrder("X-" + time.Now().String())
		tc.mod(&o)
		_, err := c.CreateLabelOrder(ctx, o)
		require.ErrorIs(t, err, tc.want)
	}
	// The US product has 50 serials and no replenishment; the EU one
	// replenishes: the first shortfall asks to try later.
	small := labelOrder("SMALL")
	small.ProductCode, small.Batch, small.Quantity, small.ExtraLabelAmount, small.ExtraLabelType = "09506000134369", "US-1", ptr(60), nil, ""
	_, err = c.CreateLabelOrder(ctx, small)
	require.ErrorIs(t, err, cloud.ErrNoSerialsAssigned)
	big := labelOrder("BIG")
	big.Quantity = ptr(90000)
	big.ExtraLabelType, big.ExtraLabelAmount = "percentage", ptr(10)
	first := big
	first.OrderID = "FIRST"
	_, err = c.CreateLabelOrder(ctx, first)
	require.NoError(t, err, "99,000 labels: within the line's 100,000 and the pool")
	_, err = c.CreateLabelOrder(ctx, big)
	require.ErrorIs(t, err, cloud.ErrSerialsRequested)
	assert.True(t, cloud.IsRetryable(err))
	_, err = c.CreateLabelOrder(ctx, big)
	require.NoError(t, err, "the pool was refilled")

	// Field rules, client side and emulator side.
	for _, tc := range []struct {
		mod         func(*cloud.LabelOrder)
		field, text string
		json        string
	}{
		{func(o *cloud.LabelOrder) { o.OrderID = "" }, "order_id", "is required", `"order_id":""`},
		{func(o *cloud.LabelOrder) { o.OrderID = strings.Repeat("x", 256) }, "order_id", "1-64", `"order_id":"` + strings.Repeat("x", 256) + `"`},
		{func(o *cloud.LabelOrder) { o.ProductCodeSchema = "EAN" }, "product_code_schema", `must be "GTIN"`, `"product_code_schema":"EAN"`},
		{func(o *cloud.LabelOrder) { o.ProductCode = "09506000134353" }, "product_code", "check digit", `"product_code":"09506000134353"`},
		{func(o *cloud.LabelOrder) { o.Batch = "" }, "batch", "is required", `"batch":""`},
		{func(o *cloud.LabelOrder) { o.Quantity = nil }, "quantity", "is required", `"quantity":null`},
		{func(o *cloud.LabelOrder) { o.Quantity = ptr(0) }, "quantity", "1-100000", `"quantity":0`},
		{func(o *cloud.LabelOrder) { o.ExtraLabelType = "" }, "extra_label_type", "required when extra_label_amount", `"extra_label_type":""`},
		{func(o *cloud.LabelOrder) { o.ExtraLabelType = "lots" }, "extra_label_type", "amount or percentage", `"extra_label_type":"lots"`},
		{func(o *cloud.LabelOrder) { o.DestinationTag = "" }, "destination_tag", "is required", `"destination_tag":""`},
		{func(o *cloud.LabelOrder) { o.TemplateTag = "" }, "template_tag", "is required", `"template_tag":""`},
	} {
		o := labelOrder("RULE")
		tc.mod(&o)
		_, err := c.CreateLabelOrder(ctx, o)
		rule(t, err, tc.field, tc.text)
		serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/label_orders/", replaceField(labelOrderJSON, tc.json), tc.field)
	}
	serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/label_orders/", replaceField(labelOrderJSON, `"quantity":"ten"`), "quantity")

	// execute is optional and false unless given: the client leaves it out.
	o := labelOrder("NOEXEC")
	o.Execute, o.ExtraLabelAmount, o.ExtraLabelType = false, nil, ""
	_, err = c.CreateLabelOrder(ctx, o)
	require.NoError(t, err)
	rs := s.Received()
	body := string(rs[len(rs)-1].Body)
	assert.NotContains(t, body, "execute")
	assert.NotContains(t, body, "extra_label")
}

const labelOrderJSON = `{"order_id":"RULE-S","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":10,"extra_label_amount":2,"extra_label_type":"amount","destination_tag":"line-1-printer","template_tag":"pack","execute":true}`

// replaceField swaps one "key":value pair of a flat JSON object.
func replaceField(obj, kv string) string {
	k := kv[:strings.Index(kv, ":")]
	i := strings.Index(obj, k+":")
	j := i + len(k) + 1
	depth := 0
	for ; j < len(obj); j++ {
		ch := obj[j]
		if ch == '"' {
			j++
			for obj[j] != '"' {
				j++
			}
			continue
		}
		if ch == '[' || ch == '{' {
			depth++
		}
		if ch == ']' || ch == '}' {
			if depth == 0 {
				break
			}
			depth--
		}
		if ch == ',' && depth == 0 {
			break
		}
	}
	return obj[:i] + kv + obj[j:]
}

func packagingOrder(id string) cloud.PackagingOrder {
	return cloud.PackagingOrder{OrderID: id, OrderDescription: "Packaging Order 130", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", ExpiryDate: "261200", Quantity: ptr(10), ExtraPercentage: ptr(10), Serialized: ptr(true), PackagingLineTag: "line-1", Market: "EU"}
}

const packagingJSON = `{"order_id":"R","order_description":"d","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261200","quantity":10,"extra_percentage":10,"serialized":true,"market":"EU"}`

func TestPackagingOrders(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := client(t, s, nil)
	ctx := context.Background()
	got, err := c.CreatePackagingOrder(ctx, packagingOrder("Order130"))
	require.NoError(t, err)
	want := packagingOrder("Order130")
	want.Status = "Open"
	assert.Equal(t, want, got)
	_, err = c.CreatePackagingOrder(ctx, packagingOrder("Order131"))
	require.NoError(t, err)
	_, err = c.CreatePackagingOrder(ctx, packagingOrder("Order130"))
	assert.ErrorContains(t, err, "Packaging order already exists!")

	open, err := c.OpenPackagingOrders(ctx)
	require.NoError(t, err)
	require.Len(t, open, 2)
	assert.Equal(t, "Order130", open[0].OrderID)
	d, err := c.PackagingOrderDetails(ctx, "Order131")
	require.NoError(t, err)
	assert.Equal(t, "Open", d.Status)
	_, err = c.PackagingOrderDetails(ctx, "Order999")
	assert.ErrorContains(t, err, "HTTP 404: Packaging order not found")
	rule(t, func() error { _, err := c.PackagingOrderDetails(ctx, ""); return err }(), "order_id", "is required")

	p := packagingOrder("X")
	p.ProductCode = "09506000134376"
	_, err = c.CreatePackagingOrder(ctx, p)
	require.ErrorIs(t, err, cloud.ErrProduct)
	p = packagingOrder("Y")
	p.Market = "US"
	_, err = c.CreatePackagingOrder(ctx, p)
	require.ErrorIs(t, err, cloud.ErrValidation)

	for _, tc := range []struct {
		mod         func(*cloud.PackagingOrder)
		field, text string
		json        string
	}{
		{func(o *cloud.PackagingOrder) { o.OrderID = "" }, "order_id", "is required", `"order_id":""`},
		{func(o *cloud.PackagingOrder) { o.OrderID = strings.Repeat("o", 256) }, "order_id", "1-64", `"order_id":"` + strings.Repeat("o", 256) + `"`},
		{func(o *cloud.PackagingOrder) { o.OrderDescription = strings.Repeat("d", 256) }, "order_description", "1-255", `"order_description":"` + strings.Repeat("d", 256) + `"`},
		{func(o *cloud.PackagingOrder) { o.ProductCode = "" }, "product_code", "is required", `"product_code":""`},
		{func(o *cloud.PackagingOrder) { o.ProductCode = strings.Repeat("1", 256) }, "product_code", "GTIN-14", `"product_code":"` + strings.Repeat("1", 256) + `"`},
		{func(o *cloud.PackagingOrder) { o.ProductCodeSchema = "" }, "product_code_schema", `must be "GTIN"`, `"product_code_schema":""`},
		{func(o *cloud.PackagingOrder) { o.Batch = strings.Repeat("b", 21) }, "batch", "1-20", `"batch":"` + strings.Repeat("b", 21) + `"`},
		{func(o *cloud.PackagingOrder) { o.ExpiryDate = "261301" }, "expiry_date", "month 13", `"expiry_date":"261301"`},
		{func(o *cloud.PackagingOrder) { o.ExpiryDate = "260230" }, "expiry_date", "day 30", `"expiry_date":"260230"`},
		{func(o *cloud.PackagingOrder) { o.ExpiryDate = "2026-12" }, "expiry_date", "YYMMDD", `"expiry_date":"2026-12"`},
		{func(o *cloud.PackagingOrder) { o.Quantity = ptr(100001) }, "quantity", "0-100000", `"quantity":100001`},
		{func(o *cloud.PackagingOrder) { o.ExtraPercentage = ptr(101) }, "extra_percentage", "0-100", `"extra_percentage":101`},
		{func(o *cloud.PackagingOrder) { o.Market = "UK" }, "market", "EU, US, CHN or IDN", `"market":"UK"`},
	} {
		o := packagingOrder("RULE")
		tc.mod(&o)
		_, err := c.CreatePackagingOrder(ctx, o)
		rule(t, err, tc.field, tc.text)
		serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/packaging_order", replaceField(packagingJSON, tc.json), tc.field)
	}
	// Day 00 is the last day of the month, and quantity 0 is allowed.
	o := packagingOrder("EDGE")
	o.ExpiryDate, o.Quantity, o.ExtraPercentage = "221200", ptr(0), ptr(100)
	_, err = c.CreatePackagingOrder(ctx, o)
	require.NoError(t, err)
	serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/packaging_order", replaceField(packagingJSON, `"serialized":"yes"`), "serialized")
}

func TestSerialsAndAggregation(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := client(t, s, nil)
	ctx := context.Background()
	serials := []string{"SN1", "SN2", "SN3", "SN_4/\"%"}
	_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231", Serials: serials})
	require.NoError(t, err)
	_, err = c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"SN2"}})
	assert.ErrorContains(t, err, "HTTP 409: Serial SN2 is already Commissioned")
	rule(t, func() error {
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"ok", "bad serial"}})
		return err
	}(), "serials[1]", "not allowed in GS1 data")
	rule(t, func() error {
		_, err := c.Commission(ctx, cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{strings.Repeat("9", 21)}})
		return err
	}(), "serials[0]", "1-20")

	item := func(sn string) cloud.TradeItem {
		return cloud.TradeItem{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: sn, Batch: "AB12", ExpiryDate: "261231"}
	}
	const case1, case2, pallet = "095060001343521236", "095060001343521243", "195060001343521233"
	env, err := c.Aggregate(ctx, cloud.Aggregation{Parent: case1, ChildTradeItems: []cloud.TradeItem{item("SN1"), item("SN2")}})
	require.NoError(t, err)
	assert.Equal(t, "Aggregated on container", env.Message)
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{item("SN3"), item("SN2")}})
	assert.ErrorContains(t, err, "Serial SN2 is already aggregated in "+case1, "a pack is in one container only")
	st, _ := s.SerialStatus(gtin, "SN3")
	assert.Equal(t, "Commissioned", st)
	_, parent := s.SerialStatus(gtin, "SN3")
	assert.Empty(t, parent, "a refused call changes nothing")
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{item("SN9")}})
	assert.ErrorContains(t, err, "Serial SN9 is not commissioned", "children must be commissioned first")
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: pallet, ChildContainers: []string{case2}})
	assert.ErrorContains(t, err, "Container "+case2+" has no aggregation")
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{item("SN3")}})
	require.NoError(t, err)
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: pallet, ChildContainers: []string{case1, case2}})
	require.NoError(t, err)
	_, err = c.Aggregate(ctx, cloud.Aggregation{Parent: case1, ChildContainers: []string{pallet}})
	assert.ErrorContains(t, err, "cannot hold")
	rule(t, func() error {
		_, err := c.Aggregate(ctx, cloud.Aggregation{Parent: "095060001343521237", ChildContainers: []string{case1}})
		return err
	}(), "parent", "SSCC")
	rule(t, func() error { _, err := c.Aggregate(ctx, cloud.Aggregation{Parent: case1}); return err }(), "child_trade_items", "at least one child")
	late := item("SN3")
	late.ExpiryDate = "261232"
	rule(t, func() error {
		_, err := c.Aggregate(ctx, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{late}})
		return err
	}(),
		"child_trade_items[0].expiry_date", "day 32")
	late.ExpiryDate, late.Batch = "221200", ""
	require.NoError(t, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{late}}.Validate(), "day 00 and no batch are fine")
	late.SerialNumber = ""
	rule(t, cloud.Aggregation{Parent: case2, ChildTradeItems: []cloud.TradeItem{late}}.Validate(), "child_trade_items[0].serial_number", "1-20")
	serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/aggregate/container",
		`{"parent":"`+case2+`","child_trade_items":[{"product_code":"09506000134352","product_code_schema":"GTIN","serial_number":"SN3","expiry_date":"261232"}]}`, "expiry_date")
	serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/aggregate/container",
		`{"parent":"095060001343521237","child_containers":["`+case1+`"]}`, "parent")

	// Decommission: aggregated packs first come out of their container.
	dec := cloud.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "destroy", SendToMarket: ptr(false), MarketID: "EU", Serials: []string{"SN1"}}
	_, err = c.Decommission(ctx, dec)
	assert.ErrorContains(t, err, "Serial SN1 is aggregated in "+case1)
	_, err = c.Disaggregate(ctx, cloud.Aggregation{Parent: case1, ChildTradeItems: []cloud.TradeItem{item("SN1")}})
	require.NoError(t, err)
	_, err = c.Disaggregate(ctx, cloud.Aggregation{Parent: case1, ChildTradeItems: []cloud.TradeItem{item("SN1")}})
	assert.ErrorContains(t, err, "Serial SN1 is not in container "+case1)
	out, err := c.Decommission(ctx, dec)
	require.NoError(t, err)
	assert.Equal(t, []cloud.SerialStatus{{SerialNumber: "SN1", Status: "Assigned"}}, out)
	st, _ = s.SerialStatus(gtin, "SN1")
	assert.Equal(t, "Decommissioned", st)
	_, err = c.Decommission(ctx, dec)
	assert.ErrorContains(t, err, "Serial SN1 is already Decommissioned")
	dec.Serials = []string{"NEVER"}
	_, err = c.Decommission(ctx, dec)
	assert.ErrorContains(t, err, "HTTP 404: Serial NEVER not found")
	dec.ProductCode = "09506000134376"
	_, err = c.Decommission(ctx, dec)
	require.ErrorIs(t, err, cloud.ErrProduct)

	for _, reason := range cloud.Reasons {
		require.NoError(t, cloud.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: reason, SendToMarket: ptr(true), Serials: []string{"A"}}.Validate())
	}
	for _, tc := range []struct {
		mod         func(*cloud.Decommission)
		field, text string
		json        string
	}{
		{func(d *cloud.Decommission) { d.Reason = "lost" }, "reason", "destroy, sample, free_sample, check_out, lock, export", `"reason":"lost"`},
		{func(d *cloud.Decommission) { d.SendToMarket = nil }, "send_to_market", "is required", `"send_to_market":null`},
		{func(d *cloud.Decommission) { d.Serials = nil }, "serials", "1-10000", `"serials":[]`},
		{func(d *cloud.Decommission) { d.MarketID = "XX" }, "market_id", "EU, US, CHN or IDN", `"market_id":"XX"`},
		{func(d *cloud.Decommission) { d.ProductCodeSchema = "gtin" }, "product_code_schema", `must be "GTIN"`, `"product_code_schema":"gtin"`},
	} {
		d := cloud.Decommission{ProductCode: gtin, ProductCodeSchema: "GTIN", Reason: "sample", SendToMarket: ptr(true), Serials: []string{"SN3"}}
		tc.mod(&d)
		_, err := c.Decommission(ctx, d)
		rule(t, err, tc.field, tc.text)
		serverRule(t, s, http.MethodPost, "/v1/manufacturer/v2/api/serials/decommission",
			replaceField(`{"product_code":"09506000134352","product_code_schema":"GTIN","reason":"sample","send_to_market":true,"market_id":"EU","serials":["SN3"]}`, tc.json), tc.field)
	}
	state := s.Snapshot()
	assert.Equal(t, 3, state.Commissioned)
	assert.Equal(t, 1, state.Decommissioned)
	assert.Equal(t, 3, state.Containers)
}

func TestFaultsAreTyped(t *testing.T) {
	f, err := cloudsim.ParseFaults("throttle=packaging_open:1,retry-after=3s")
	require.NoError(t, err)
	s := startSim(t, f)
	_, err = client(t, s, nil).OpenPackagingOrders(context.Background())
	var ce *cloud.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 429, ce.Status)
	assert.True(t, ce.Retryable)
	assert.Equal(t, 3*time.Second, ce.RetryAfter)

	f, _ = cloudsim.ParseFaults("reset=commission:1")
	s = startSim(t, f)
	_, err = client(t, s, nil).Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"R1"}})
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Ambiguous, "sent, applied, no answer: %v", err)
	assert.True(t, ce.Retryable)
	st, _ := s.SerialStatus(gtin, "R1")
	assert.Equal(t, "Commissioned", st, "the emulator applied it")

	f, _ = cloudsim.ParseFaults("error=*:1")
	s = startSim(t, f)
	_, err = client(t, s, nil).OpenPackagingOrders(context.Background())
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 503, ce.Status)
	assert.True(t, ce.Retryable)

	f, _ = cloudsim.ParseFaults("slow-body=200ms,latency=20ms")
	s = startSim(t, f)
	_, err = client(t, s, func(c *cloud.Config) { c.Timeout = 100 * time.Millisecond }).OpenPackagingOrders(context.Background())
	require.Error(t, err, "a per-request timeout")
	require.True(t, cloud.IsRetryable(err))

	for spec, want := range map[string]string{"error=x:1": "endpoint \"x\"", "error=commission:2": "rate from 0 to 1", "latency=fast": "not a duration", "boom=1": "unknown fault"} {
		_, err := cloudsim.ParseFaults(spec)
		assert.ErrorContains(t, err, want, spec)
	}
	assert.False(t, errors.Is(err, cloud.ErrProduct))
}
