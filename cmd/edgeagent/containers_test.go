package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/stations"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// A station page's wedge scans through the API, the live verdict stream,
// and the supervisor's container commands.
func TestStationPageAndContainerCommands(t *testing.T) {
	sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
	require.NoError(t, err)
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	cfgPath := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line:
  name: line-3
  printers: [{tag: p1, url: "%s"}]
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}], case_capacity: 12}]
  serials: {generate: true, length: 8}
  sscc: {company_prefix: "9506000", extension: 2}
  stations: [{name: case-1, printer: p1, gs: "|"}]
data_dir: %s
http: {listen: "%s", token: a-long-enough-token}
`, sim.URL(), dir, addr)), 0o600))
	cfg, err := config.Load(cfgPath)
	require.NoError(t, err)
	a, err := agent.Start(context.Background(), agentConfig(cfg, zpl.Builtin()), zerolog.Nop())
	require.NoError(t, err)
	defer a.Stop(context.Background())
	ctx := context.Background()
	_, err = a.Line.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-9", ProductCode: "09506000134352", ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	q := 2
	require.NoError(t, a.Line.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-1", ProductCode: "09506000134352", ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	require.Eventually(t, func() bool { s, _, _ := a.Line.Orders.Status(ctx, "LO-1"); return s == orders.Completed }, 10*time.Second, 10*time.Millisecond)
	serials, err := a.Line.Ledger.PrintedSerials(ctx, "LO-1")
	require.NoError(t, err)

	call := func(method, path, body, token string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b []byte
		b, _ = bufio.NewReader(resp.Body).ReadBytes(0)
		return resp.StatusCode, b
	}
	code, _ := call("POST", "/api/v1/stations/case-1/scan", `{"data":"CMD:NEW"}`, "")
	assert.Equal(t, 401, code, "the station API needs the token")
	code, _ = call("POST", "/api/v1/stations/nope/scan", `{"data":"CMD:NEW"}`, "a-long-enough-token")
	assert.Equal(t, 404, code)
	// A client's mistake is 400, so a client does not send it again and again.
	for _, bad := range []string{`{"data":""}`, `{"data":"` + strings.Repeat("A", 4097) + `"}`, `{"data":"CMD:NEW\rCMD:CLOSE"}`} {
		code, body := call("POST", "/api/v1/stations/case-1/scan", bad, "a-long-enough-token")
		assert.Equal(t, 400, code, "%.60s: %v", bad, body)
		assert.NotContains(t, fmt.Sprint(body), "scan again")
	}

	// The verdict stream.
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/stations/case-1/events", nil)
	req.Header.Set("Authorization", "Bearer a-long-enough-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := bufio.NewReader(resp.Body)

	scan := func(data string) stations.Verdict {
		code, body := call("POST", "/api/v1/stations/case-1/scan", fmt.Sprintf(`{"data":%q}`, data), "a-long-enough-token")
		require.Equal(t, 200, code, string(body))
		var v stations.Verdict
		require.NoError(t, json.Unmarshal(body, &v))
		return v
	}
	v := scan("CMD:NEW")
	require.Equal(t, "opened", v.Code, v.Message)
	sscc := v.Container
	for {
		l, err := events.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(l, "data: ") {
			var ev stations.Verdict
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev))
			assert.Equal(t, v.Scan, ev.Scan, "the stream carries the verdict")
			break
		}
	}
	// A wedge scanner types | for GS.
	for _, s := range serials {
		v = scan("010950600013435217261231" + "10AB12|21" + s)
		require.Equal(t, "added", v.Code, v.Message)
	}
	assert.Equal(t, 12, v.Capacity, "capacity from the product")
	v = scan("010950600013435217261231" + "10AB1221" + serials[0])
	assert.Equal(t, "unreadable", v.Code, "no separator: ambiguous, never guessed")
	require.Equal(t, "closed", scan("CMD:CLOSE").Code)

	code, out, errs := runCLI(t, "", "containers", "list", "--config", cfgPath)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, sscc)
	assert.Contains(t, out, "closed")
	code, _, errs = runCLI(t, "", "containers", "disaggregate", sscc, "--config", cfgPath)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "--reason is required")
	code, out, errs = runCLI(t, "", "containers", "remove", "09506000134352/"+serials[0], "--config", cfgPath, "--reason", "crushed")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "taken out of "+sscc)
	code, out, errs = runCLI(t, "", "containers", "disaggregate", sscc, "--config", cfgPath, "--reason", "rework")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "disaggregated")
	code, _, errs = runCLI(t, "", "containers", "disaggregate", sscc, "--config", cfgPath, "--reason", "again")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "only closed containers are disaggregated")
	code, out, _ = runCLI(t, "", "containers", "list", "--config", cfgPath, "--state", "disaggregated")
	require.Equal(t, 0, code)
	assert.Contains(t, out, sscc)
}
