package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// orders close through the running agent, on the printer emulator: the
// connection drops in the middle of the second label, so the close is
// refused naming it; once it is voided the order closes, and the
// odometer's travel agrees with the labels printed. A second order is
// closed with no agent running, on the database itself.
func TestOrdersCloseThroughTheAgent(t *testing.T) {
	sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Faults: []printersim.Fault{{Kind: printersim.Drop, After: 1}}}, zerolog.Nop())
	require.NoError(t, err)
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700)
	cfgPath := filepath.Join(dir, "edgeagent.yaml")
	yaml := fmt.Sprintf(`line:
  name: line-4
  printers: [{tag: p1, url: "%s"}]
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}]}]
  serials: {generate: true}
data_dir: %s
http: {listen: "%s", token: a-long-enough-token}
v2: {channel_keys: [ch-1]}
`, sim.URL(), dir, addr)
	require.NoError(t, os.WriteFile(cfgPath, []byte(yaml), 0o600))
	cfg, err := config.Load(cfgPath)
	require.NoError(t, err)
	const pw = "supervisor password 1\n"
	code, _, errs := runCLI(t, pw, "users", "add", "ana", "--role", "supervisor", "--config", cfgPath, "--password-stdin")
	require.Equal(t, 0, code, errs)
	code, _, errs = runCLI(t, "operator password 1\n", "users", "add", "oli", "--role", "operator", "--config", cfgPath, "--password-stdin")
	require.Equal(t, 0, code, errs)
	closeCmd := func(id, reason string) (int, string, string) {
		return runCLI(t, pw, "orders", "close", id, "--config", cfgPath, "--reason", reason, "--user", "ana", "--password-stdin")
	}
	a, err := agent.Start(context.Background(), agentConfig(cfg, zpl.Builtin()), zerolog.Nop())
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			a.Stop(context.Background())
		}
	}()
	order := func(id string, qty int) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/manufacturer/v2/api/label_orders/", strings.NewReader(fmt.Sprintf(
			`{"order_id":"%s","product_code":"09506000134352","product_code_schema":"GTIN","batch":"AB12","quantity":%d,"destination_tag":"p1","template_tag":"pack","execute":true}`, id, qty)))
		req.Header.Set("x-access-token", "a-long-enough-token")
		req.Header.Set("x-channel-key", "ch-1")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	order("LO-7", 3)

	code, _, errs = runCLI(t, "", "orders", "close", "LO-7", "--config", cfgPath)
	require.Equal(t, 2, code, "no reason: a usage error")
	require.Contains(t, errs, "--reason is required")
	code, _, errs = runCLI(t, "", "orders", "close", "LO-7", "--config", cfgPath, "--reason", "batch done")
	require.Equal(t, 2, code, "nobody signs: a usage error")
	require.Contains(t, errs, "--user is required: a close is signed by a supervisor")
	code, _, errs = runCLI(t, "operator password 1\n", "orders", "close", "LO-7", "--config", cfgPath, "--reason", "batch done", "--user", "oli", "--password-stdin")
	require.Equal(t, 1, code, errs)
	require.Contains(t, errs, "oli is an operator; this act needs a supervisor's signature")
	// The second label's connection dropped: its outcome is unknown.
	settled := assert.Eventually(t, func() bool {
		_, _, errs = closeCmd("LO-7", "batch done")
		return strings.Contains(errs, "or unknown: 1 unknown — ") // neither queued nor printing
	}, 20*time.Second, 50*time.Millisecond, "the order's labels settle")
	require.True(t, settled, errs)
	assert.Contains(t, errs, "1 unknown — label 2 (serial ")
	assert.Contains(t, errs, "(HTTP 409)")

	code, _, errs = runCLI(t, "", "labels", "resolve", "2", "--config", cfgPath, "--void", "--reason", "not on the roll")
	require.Equal(t, 0, code, errs)
	code, out, errs := closeCmd("LO-7", "batch done")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "label order LO-7 (09506000134352, batch AB12) closed ")
	assert.Contains(t, out, "by user:ana (signed: approved): batch done")
	assert.Contains(t, out, "labels: planned 3, allocated 3, printed 2, voided 1, reprints 0, never allocated 0")
	assert.Contains(t, out, "serials: commissioned 0, waiting for the cloud 2 (parked 0), decommissioned 0, voided 1")
	assert.Contains(t, out, "odometer of p1: 0 to 2, travel 2; printed 2 + reprints 0 + other labels 0 = 2; difference 0")
	assert.Contains(t, out, "every check holds")
	assert.Equal(t, int64(2), sim.Odometer())

	code, out, errs = runCLI(t, "", "orders", "reconciliation", "LO-7", "--config", cfgPath, "--json")
	require.Equal(t, 0, code, errs)
	var kept struct {
		Report     json.RawMessage `json:"report"`
		SHA256     string          `json:"sha256"`
		AuditEntry int64           `json:"audit_entry"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &kept))
	sum := sha256.Sum256(kept.Report)
	assert.Equal(t, hex.EncodeToString(sum[:]), kept.SHA256, "the report as stored, byte for byte")
	var rep orders.Reconciliation
	require.NoError(t, json.Unmarshal(kept.Report, &rep))
	assert.Equal(t, orders.LabelFigures{Planned: 3, Allocated: 3, Printed: 2, Voided: 1}, rep.Labels)
	code, _, errs = closeCmd("LO-7", "again")
	require.Equal(t, 1, code)
	assert.Contains(t, errs, "closed already")

	// With no agent running, the command closes on the database itself.
	order("LO-8", 2)
	require.NoError(t, sim.WaitPrinted(context.Background(), 4))
	require.Eventually(t, func() bool {
		st, _, err := a.Line.Orders.Status(context.Background(), "LO-8")
		return err == nil && st == orders.Completed
	}, 10*time.Second, 20*time.Millisecond, "LO-8 completes")
	require.NoError(t, a.Stop(context.Background()))
	stopped = true
	code, out, errs = closeCmd("LO-8", "end of shift")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "by user:ana (signed: approved): end of shift", "signed on the database as through the agent")
	assert.Contains(t, out, "printed 2")
	assert.Contains(t, out, "odometer of p1: 2 to 4, travel 2")
}
