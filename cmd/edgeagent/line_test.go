package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

func TestResumeAndReprintThroughTheAgent(t *testing.T) {
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
	yaml := fmt.Sprintf(`line:
  name: line-3
  printers: [{tag: p1, url: "%s"}]
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}]}]
  serials: {generate: false}
data_dir: %s
http: {listen: "%s", token: a-long-enough-token}
v2: {channel_keys: [ch-1]}
`, sim.URL(), dir, addr)
	require.NoError(t, os.WriteFile(cfgPath, []byte(yaml), 0o600))
	cfg, err := config.Load(cfgPath)
	require.NoError(t, err)
	a, err := agent.Start(context.Background(), agentConfig(cfg, zpl.Builtin()), zerolog.Nop())
	require.NoError(t, err)
	defer a.Stop(context.Background())

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/manufacturer/v2/api/label_orders/", strings.NewReader(
		`{"order_id":"LO-7","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":3,"destination_tag":"p1","template_tag":"pack","execute":true}`))
	req.Header.Set("x-access-token", "a-long-enough-token")
	req.Header.Set("x-channel-key", "ch-1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 409, resp.StatusCode, "no serials yet: suspended")

	code, out, errs := runCLI(t, "A1\nA2\nA3\n", "serials", "import", "--config", cfgPath, "--gtin", "09506000134352", "-")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "3 of 3 serials added")
	code, out, errs = runCLI(t, "", "orders", "resume", "LO-7", "--config", cfgPath)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "label order LO-7 released")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sim.WaitPrinted(ctx, 3))

	code, _, errs = runCLI(t, "", "labels", "reprint", "1", "--config", cfgPath, "--reason", "smudged")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "only labels whose outcome is unknown are reprinted")
	code, _, errs = runCLI(t, "", "orders", "resume", "LO-7", "--config", cfgPath)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "only created or suspended orders are released")
}
