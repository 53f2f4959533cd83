package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/stations"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// rangesConfig writes a configuration of a line with the SSCC and serial
// settings given.
func rangesConfig(t *testing.T, dir, sscc, serials string) string {
	p := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf(`line:
  name: line-2
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}]}]
  serials: %s
  sscc: %s
  stations: [{name: case-1, sign_on: false}]
data_dir: %s
http: {listen: "127.0.0.1:0", token: a-long-enough-token}
`, serials, sscc, filepath.Join(dir, "data"))), 0o600))
	return p
}

// config check applies the rules of the ranges and the serial prefix that
// run applies, one fault a line as field: rule, and run refuses the file
// before it makes a database.
func TestConfigCheckChecksTheRanges(t *testing.T) {
	dir := t.TempDir()
	cfg := rangesConfig(t, dir, `{company_prefix: "9506000", extension: 1, low_water: -5, ranges: [{from: 1, to: 1000}, {from: 900, to: 2000}, {from: 5000, to: 10000000000}]}`,
		`{generate: false, prefix: "L 2", alphabet: "AB€"}`)
	code, _, errs := runCLI(t, "", "config", "check", cfg)
	require.Equal(t, 1, code)
	p := "edgeagent config check: " + cfg + ": "
	assert.Equal(t, p+"line.sscc.low_water: must not be negative; got -5\n"+
		p+"line.sscc.ranges[1]: 900 to 2000 must come after line.sscc.ranges[0] (1 to 1000): list the ranges in ascending order, without overlaps\n"+
		p+"line.sscc.ranges[2].to: must fit in the 9 digits a serial reference has after the 7-digit company prefix (at most 999999999); got 10000000000\n"+
		p+`line.serials.alphabet: '€' at position 3 is not in GS1 character set 82`+"\n"+
		p+"line.serials.prefix: applies to serials the line generates: set line.serials.generate: true, or leave the prefix out\n", errs)

	code, _, errs = runCLI(t, "", "run", "--config", cfg)
	require.Equal(t, 1, code)
	assert.Equal(t, 5, strings.Count(errs, "edgeagent run: "+cfg+": "), errs)
	assert.NoDirExists(t, filepath.Join(dir, "data"), "run stops before it makes the data directory")
}

// config check compares the ranges with what the line's database says it
// has used, as run does when it starts, and beside a running agent.
func TestConfigCheckComparesTheRangesWithTheDatabase(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700)
	const serials = `{generate: true, length: 10, prefix: "L2"}`
	cfgPath := rangesConfig(t, dir, `{company_prefix: "9506000", extension: 1, ranges: [{from: 1001, to: 2000}]}`, serials)
	code, out, _ := runCLI(t, "", "config", "check", cfgPath)
	require.Equal(t, 0, code)
	assert.Equal(t, cfgPath+": ok\n", out, "no database yet: nothing to compare")

	cfg, err := config.Load(cfgPath)
	require.NoError(t, err)
	ctx := context.Background()
	a, err := agent.Start(ctx, agentConfig(cfg, zpl.Builtin()), zerolog.Nop())
	require.NoError(t, err)
	_, err = a.Line.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: "09506000134352", ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	st, _ := a.Line.Stations.Get("case-1")
	for i := 0; i < 2; i++ {
		v, err := st.Handle(ctx, stations.Scan{Source: "t", Raw: []byte(stations.CmdNew), Plain: stations.CmdNew})
		require.NoError(t, err)
		require.Equal(t, "opened", v.Code, v.Message)
		_, err = st.Handle(ctx, stations.Scan{Source: "t", Raw: []byte(stations.CmdCancel), Plain: stations.CmdCancel})
		require.NoError(t, err)
	}

	// Beside the running agent, read-only.
	moved := rangesConfig(t, dir, `{company_prefix: "9506000", extension: 1, ranges: [{from: 5001, to: 6000}]}`, serials)
	want := "edgeagent config check: " + moved + ": line.sscc.ranges: this line has allocated 2 SSCCs with serial references 1001 to 1002, outside its ranges (5001 to 6000): " +
		"keep the range they came from in the list (a range that is used up is skipped), so that no other line is given them\n"
	code, _, errs := runCLI(t, "", "config", "check", moved)
	require.Equal(t, 1, code)
	assert.Equal(t, want, errs)
	require.NoError(t, a.Stop(ctx))

	code, _, errs = runCLI(t, "", "config", "check", moved)
	require.Equal(t, 1, code)
	assert.Equal(t, want, errs)
	code, _, errs = runCLI(t, "", "run", "--config", moved)
	require.Equal(t, 1, code)
	assert.Contains(t, errs, "line.sscc.ranges: this line has allocated 2 SSCCs with serial references 1001 to 1002, outside its ranges (5001 to 6000)", "run refuses the same")

	rangesConfig(t, dir, `{company_prefix: "9506000", extension: 1, ranges: [{from: 1001, to: 2000}, {from: 5001, to: 6000}]}`, serials)
	code, out, errs = runCLI(t, "", "config", "check", moved)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, moved+": ok\n", out)
}
