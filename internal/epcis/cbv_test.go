package epcis_test

import (
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/v2"
	"github.com/stretchr/testify/require"
)

// TestDecommissionTable: one CBV mapping for each reason the line accepts,
// standard terms only, and the table in the doc comment says the same.
func TestDecommissionTable(t *testing.T) {
	reasons := make([]string, 0, len(epcis.DecommissionReasons))
	for r, d := range epcis.DecommissionReasons {
		reasons = append(reasons, r)
		require.Equal(t, epcis.ActionDelete, d.Action, r)
		require.True(t, epcis.IsBizStep(d.BizStep), "%s: %q is no CBV 2.0 business step", r, d.BizStep)
		require.True(t, epcis.IsDisposition(d.Disposition), "%s: %q is no CBV 2.0 disposition", r, d.Disposition)
		got, err := epcis.DecommissionFor(r)
		require.NoError(t, err)
		require.Equal(t, d, got)
	}
	want := append([]string(nil), v2.Reasons...)
	sort.Strings(want)
	sort.Strings(reasons)
	require.Equal(t, want, reasons, "the reasons of internal/v2")

	src, err := os.ReadFile("cbv.go")
	require.NoError(t, err)
	rows := regexp.MustCompile(`(?m)^//\t(\w+)\s+(\w+)\s+(\w+)\s+\S`).FindAllStringSubmatch(string(src), -1)
	table := map[string]epcis.Decommissioning{}
	for _, r := range rows[1:] { // the first row is the heading
		table[r[1]] = epcis.Decommissioning{Action: epcis.ActionDelete, BizStep: r[2], Disposition: r[3]}
	}
	require.Equal(t, epcis.DecommissionReasons, table, "the table in the comment of DecommissionReasons")
}

func TestVocabulary(t *testing.T) {
	for _, s := range []string{"commissioning", "packing", "unpacking", "shipping", "decommissioning", "destroying", "sampling", "holding"} {
		require.True(t, epcis.IsBizStep(s), s)
	}
	for _, s := range []string{"active", "in_progress", "in_transit", "destroyed", "inactive", "non_sellable_other"} {
		require.True(t, epcis.IsDisposition(s), s)
	}
	require.False(t, epcis.IsBizStep("making"))
	require.False(t, epcis.IsDisposition("sample"))
}
