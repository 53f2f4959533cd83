package agent

import (
	"context"
	"encoding/json"
	"image"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/api/apitest"
	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/testutil"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

const (
	gtin  = "09506000134352"
	token = "erp-token-0123456789"
)

type rig struct {
	agent *Agent
	sim   *printersim.Sim
	cloud *cloudsim.Sim
	url   string
}

// start runs a printer emulator, an agent, and (unless cloudAddr is given
// with cloudUp false) a cloud emulator.
func start(t *testing.T, pcfg printersim.Config, cloudAddr string, cloudUp bool, opts ...func(*Config)) *rig {
	t.Helper()
	pcfg.Listen = "127.0.0.1:0"
	sim, err := printersim.Start(pcfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { sim.Close() })
	r := &rig{sim: sim}
	if cloudAddr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		cloudAddr = ln.Addr().String()
		ln.Close()
	}
	if cloudUp {
		r.cloud = startCloud(t, cloudAddr)
	}
	cfg := Config{
		DB:          store.Config{Path: filepath.Join(t.TempDir(), "data", "edgeagent.db"), MaxBatch: 64, MaxDelay: time.Millisecond},
		LineName:    "line-1",
		Templates:   zpl.Builtin(),
		Printers:    []PrinterConfig{{Tag: "line-1-printer", URL: sim.URL()}},
		Products:    []Product{{GTIN: gtin, Market: "EU", Batches: map[string]string{"AB12": "261231"}}},
		Serials:     ledger.SerialConfig{Generate: true, Length: 10},
		Listen:      "127.0.0.1:0",
		Tokens:      map[string]string{"erp": token},
		ChannelKeys: []string{"line-channel"},
		Cloud:       &cloud.Config{BaseURL: "http://" + cloudAddr, ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 3 * time.Second},
		Queue:       queue.Config{BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond},
		PullEvery:   50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := Start(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	t.Cleanup(func() { a.Stop(context.Background()) })
	r.agent, r.url = a, "http://"+a.API.Addr()
	return r
}

func startCloud(t *testing.T, addr string) *cloudsim.Sim {
	c, err := cloudsim.Start(cloudsim.Config{Listen: addr, Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// checked is a client whose every exchange with the agent's API is
// validated against openapi.yaml, the document the agent serves: an answer
// the document does not describe fails the test (apitest).
func checked(t *testing.T) *http.Client {
	return apitest.Client(t, apitest.MustNew(t, api.OpenAPI()))
}

func post(t *testing.T, url, path, body string) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
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

const order55 = `{"order_id":"MCS360418","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12",
	"quantity":50,"extra_label_amount":10,"extra_label_type":"percentage","destination_tag":"line-1-printer","template_tag":"pack","execute":true}`

// printedSerials decodes the DataMatrix of every label the emulator printed.
func printedSerials(t *testing.T, sim *printersim.Sim) []string {
	var out []string
	for _, l := range sim.Printed() {
		img, _, err := zpl.Preview(l.ZPL, zpl.PreviewOptions{DPMM: 8})
		require.NoError(t, err)
		d, err := testutil.Decode(img.SubImage(image.Rect(0, 0, 160, 240)), testutil.DataMatrix)
		require.NoError(t, err)
		require.Equal(t, "]d2", d.AIM)
		msg, err := gs1.ParseElementString(d.Text)
		require.NoError(t, err)
		v := map[string]string{}
		for _, e := range msg.Elements {
			v[e.AI] = e.Value
		}
		require.Equal(t, gtin, v["01"])
		require.Equal(t, "AB12", v["10"])
		require.Equal(t, "261231", v["17"])
		out = append(out, v["21"])
	}
	return out
}

func distinct(s []string) bool {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}

func commissionedAt(c *cloudsim.Sim) map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range c.Received() {
		if r.Endpoint != "commission" || r.Status != 200 {
			continue
		}
		var body struct{ Serials []string }
		_ = json.Unmarshal(r.Body, &body)
		for _, s := range body.Serials {
			out[s] = r.At
		}
	}
	return out
}

func TestLabelOrderEndToEnd(t *testing.T) {
	r := start(t, printersim.Config{Speed: 0}, "", true)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	require.Equal(t, 200, code, body)
	assert.Equal(t, map[string]any{"success": true, "message": "Label order created successfully"}, body)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 55))
	serials := printedSerials(t, r.sim)
	require.Len(t, serials, 55, "50 labels and 10% extra")
	require.True(t, distinct(serials), "every serial distinct")

	require.Eventually(t, func() bool { return len(commissionedAt(r.cloud)) == 55 }, 20*time.Second, 20*time.Millisecond)
	at := commissionedAt(r.cloud)
	printedAt := map[string]time.Time{}
	for i, l := range r.sim.Printed() {
		printedAt[serials[i]] = l.At
	}
	for _, s := range serials {
		require.Contains(t, at, s)
		assert.True(t, at[s].After(printedAt[s]), "%s commissioned after the printer printed it", s)
		st, _ := r.cloud.SerialStatus(gtin, s)
		assert.Equal(t, "Commissioned", st)
	}
	status, counts, err := r.agent.Line.Orders.Status(context.Background(), "MCS360418")
	require.NoError(t, err)
	assert.Equal(t, orders.Completed, status)
	assert.Equal(t, map[ledger.LabelState]int{ledger.LabelPrinted: 55}, counts)

	code, body = post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	assert.Equal(t, 409, code)
	assert.Equal(t, "Label order already exists!", body["message"])
}

func TestLabelOrderWithPrinterFaults(t *testing.T) {
	r := start(t, printersim.Config{Speed: 200, Faults: []printersim.Fault{
		{Kind: printersim.MediaOut, After: 15, For: 200 * time.Millisecond},
		{Kind: printersim.Drop, After: 30},
	}}, "", true)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	require.Equal(t, 200, code, body)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		status, _, _ := r.agent.Line.Orders.Status(ctx, "MCS360418")
		return status == orders.Completed
	}, 30*time.Second, 20*time.Millisecond)
	serials := printedSerials(t, r.sim)
	require.True(t, distinct(serials), "no serial printed twice")
	_, counts, _ := r.agent.Line.Orders.Status(ctx, "MCS360418")
	assert.Equal(t, 54, counts["printed"])
	assert.Equal(t, 1, counts["unknown"], "the label on the wire when the connection dropped")
	assert.Len(t, serials, 54)
	unknown, err := r.agent.Line.Ledger.UnknownLabels(ctx)
	require.NoError(t, err)
	require.Len(t, unknown, 1, "listed for a person")
	assert.NotContains(t, serials, unknown[0].Serial)
	require.Eventually(t, func() bool { return len(commissionedAt(r.cloud)) == 54 }, 20*time.Second, 20*time.Millisecond)
	_, notCommissioned := commissionedAt(r.cloud)[unknown[0].Serial]
	assert.False(t, notCommissioned, "an unknown label's serial is not commissioned until a person says")

	// The person looks: the label did not come out; reprint it with the
	// same serial.
	require.ErrorContains(t, r.agent.Line.Ledger.Reprint(ctx, "supervisor", unknown[0].ID, ""), "a reason is required")
	require.NoError(t, r.agent.Line.Ledger.Reprint(ctx, "supervisor", unknown[0].ID, "label not on the line"))
	require.Eventually(t, func() bool { return len(r.sim.Printed()) == 55 }, 10*time.Second, 10*time.Millisecond)
	all := printedSerials(t, r.sim)
	assert.Equal(t, unknown[0].Serial, all[54], "the reprint carries the same serial")
	require.Eventually(t, func() bool { return len(commissionedAt(r.cloud)) == 55 }, 20*time.Second, 20*time.Millisecond)
}

func TestLabelOrderWithTheCloudDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	r := start(t, printersim.Config{}, addr, false)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	require.Equal(t, 200, code, body)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 55), "labels print without the cloud")
	require.Eventually(t, func() bool {
		st, err := queue.ReadStats(ctx, r.agent.DB)
		return err == nil && st.Pending == 55
	}, 10*time.Second, 10*time.Millisecond, "the commissions wait for the cloud")

	c := startCloud(t, addr)
	require.Eventually(t, func() bool { return len(commissionedAt(c)) == 55 }, 20*time.Second, 20*time.Millisecond)
	for _, s := range printedSerials(t, r.sim) {
		st, _ := c.SerialStatus(gtin, s)
		require.Equal(t, "Commissioned", st, s)
	}
}

func TestOpenPackagingOrdersArePulledFromTheCloud(t *testing.T) {
	r := start(t, printersim.Config{}, "", true)
	c, err := cloud.New(cloud.Config{BaseURL: r.cloud.URL(), ChannelKey: "demo-channel", Token: "demo-static-token"})
	require.NoError(t, err)
	q := 5
	_, err = c.CreatePackagingOrder(context.Background(), cloud.PackagingOrder{OrderID: "PO-CLOUD-1", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "B2024-11", ExpiryDate: "270600", Quantity: &q, Market: "EU"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		o, err := r.agent.Line.Orders.PackagingOrderDetails(context.Background(), "PO-CLOUD-1")
		return err == nil && o.Status == "Open"
	}, 5*time.Second, 20*time.Millisecond)
	// Its batch is known on the line now.
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", strings.Replace(strings.Replace(order55, `"AB12"`, `"B2024-11"`, 1), `"quantity":50`, `"quantity":2`, 1))
	require.Equal(t, 200, code, body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 3))
}

func TestPackagingOrderAndDecommissionReachTheCloud(t *testing.T) {
	r := start(t, printersim.Config{}, "", true)
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/packaging_order",
		`{"order_id":"Order130","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","expiry_date":"261231","quantity":10,"market":"EU"}`)
	require.Equal(t, 200, code, body)
	code, body = post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", strings.Replace(order55, `"quantity":50`, `"quantity":3`, 1))
	require.Equal(t, 200, code, body)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, r.sim.WaitPrinted(ctx, 4))
	serials := printedSerials(t, r.sim)
	code, body = post(t, r.url, "/v1/manufacturer/v2/api/serials/decommission",
		`{"product_code":"09506000134352","product_code_schema":"GTIN","reason":"sample","send_to_market":false,"serials":["`+serials[0]+`"]}`)
	require.Equal(t, 200, code, body)
	require.Eventually(t, func() bool {
		st, _ := r.cloud.SerialStatus(gtin, serials[0])
		return st == "Decommissioned" && r.cloud.Snapshot().PackagingOrders == 1
	}, 20*time.Second, 20*time.Millisecond, "the decommission follows the commission to the cloud, and so does the packaging order")
	st, _ := r.cloud.SerialStatus(gtin, serials[1])
	require.Equal(t, "Commissioned", st)
}

// Labels queued when the agent stops are printed after the restart, with
// their serials; the one on its way is unknown; none is printed twice.
func TestRestartMidOrder(t *testing.T) {
	sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Speed: 40}, zerolog.Nop())
	require.NoError(t, err)
	defer sim.Close()
	cfg := Config{
		DB:        store.Config{Path: filepath.Join(t.TempDir(), "data", "edgeagent.db"), MaxBatch: 64},
		LineName:  "line-1",
		Templates: zpl.Builtin(),
		Printers:  []PrinterConfig{{Tag: "line-1-printer", URL: sim.URL()}},
		Products:  []Product{{GTIN: gtin, Market: "EU", Batches: map[string]string{"AB12": "261231"}}},
		Serials:   ledger.SerialConfig{Generate: true, Length: 10},
	}
	ctx := context.Background()
	a, err := Start(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	q := 60
	require.NoError(t, a.Line.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-R", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "line-1-printer", TemplateTag: "pack", Execute: true}))
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, sim.WaitPrinted(wctx, 15))
	require.NoError(t, a.Stop(ctx))

	a, err = Start(ctx, cfg, zerolog.Nop())
	require.NoError(t, err)
	defer a.Stop(ctx)
	require.Eventually(t, func() bool {
		s, _, _ := a.Line.Orders.Status(ctx, "LO-R")
		return s == orders.Completed
	}, 20*time.Second, 20*time.Millisecond)
	_, counts, err := a.Line.Orders.Status(ctx, "LO-R")
	require.NoError(t, err)
	assert.Equal(t, 60, counts["printed"]+counts["unknown"], "every label printed or waiting for a person: %v", counts)
	assert.LessOrEqual(t, counts["unknown"], 1, "at most the label on its way")
	serials := printedSerials(t, sim)
	assert.True(t, distinct(serials), "no serial printed twice")
	assert.GreaterOrEqual(t, len(serials), counts["printed"])
}

// /readyz answers 200 once the database answers, every printer has been
// checked and every scanner has started, and lists what it found: a
// printer that cannot be reached is reported, and does not hold readiness
// back for ever.
func TestReadyzReportsPrintersAndScanners(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := ln.Addr().String() // nothing listens here once closed
	ln.Close()
	r := start(t, printersim.Config{}, "", true, func(c *Config) {
		c.Printers = append(c.Printers, PrinterConfig{Tag: "gone", URL: "tcp://" + gone})
		c.Stations = []StationConfig{{StationConfig: stations.StationConfig{Name: "case-1", Printer: "line-1-printer"}, Scanners: []string{"tcp-listen://127.0.0.1:0"}}}
	})
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	}, 10*time.Second, 5*time.Millisecond)
	assert.Contains(t, body, "ready\n")
	assert.Contains(t, body, "printer line-1-printer: ready\n")
	assert.Contains(t, body, "printer gone: offline\n")
	assert.Regexp(t, `scanner tcp-listen://127\.0\.0\.1:0 of station case-1: listening\n`, body)
}
