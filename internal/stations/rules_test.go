package stations

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/queue"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// printAll is a fake printer: it prints every label queued for p1 and
// returns the pack serials it printed, in order.
func printAll(t *testing.T, l *testLine) []string {
	t.Helper()
	ctx := context.Background()
	var serials []string
	for {
		queued, err := l.ledger.Queued(ctx)
		require.NoError(t, err)
		if queued["p1"] == 0 {
			return serials
		}
		lb, err := l.ledger.Next(ctx, "p1")
		require.NoError(t, err)
		require.NoError(t, l.ledger.Printing(ctx, "p1", lb.Ref))
		require.NoError(t, l.ledger.Printed(ctx, "p1", lb.Ref))
		if lb.Kind == "pack" {
			serials = append(serials, lb.Subject)
		}
	}
}

func packScan(t *testing.T, serial, batch string) Scan {
	m, err := gs1.Parse([]byte(fmt.Sprintf("(01)%s(17)261231(10)%s(21)%s", testGTIN, batch, serial)))
	require.NoError(t, err)
	return Scan{Source: "test", Raw: []byte("]d2" + m.ElementString()), GS1: m}
}

func ssccScan(t *testing.T, sscc string) Scan {
	m, err := gs1.Parse([]byte("(00)" + sscc))
	require.NoError(t, err)
	return Scan{Source: "test", Raw: []byte("]C1" + m.ElementString()), GS1: m}
}

func TestCasesAndPalletsFollowTheRules(t *testing.T) {
	ctx := context.Background()
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"),
		StationConfig{Name: "case", Printer: "p1", CaseCapacity: 3}, StationConfig{Name: "pallet", Mode: ModePallet, PalletCapacity: 2},
		StationConfig{Name: "dec", Mode: ModeDecommission, Reason: "sample"})
	defer db.Close()
	q := 8
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-1", ProductCode: testGTIN, ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	serials := printAll(t, l)
	require.Len(t, serials, 8)
	cs, _ := l.Station("case")
	pal, _ := l.Station("pallet")
	dec, _ := l.Station("dec")
	scan := func(st *Station, sc Scan) Verdict {
		t.Helper()
		v, err := st.Handle(ctx, sc)
		require.NoError(t, err)
		return v
	}
	assert.Equal(t, "no_container", scan(cs, packScan(t, serials[0], "AB12")).Code)
	v := scan(cs, command(CmdNew))
	require.Equal(t, "opened", v.Code, v.Message)
	case1 := v.Container
	assert.Len(t, printAll(t, l), 0, "the SSCC label was queued in the ledger and printed")
	assert.Equal(t, "added", scan(cs, packScan(t, serials[0], "AB12")).Code)
	assert.Equal(t, "duplicate", scan(cs, packScan(t, serials[0], "AB12")).Code)
	assert.Equal(t, "wrong_batch", scan(cs, packScan(t, serials[1], "ZZ99")).Code)
	assert.Equal(t, "unknown_serial", scan(cs, packScan(t, "NOSUCH", "AB12")).Code)
	assert.Equal(t, "in_container", scan(dec, packScan(t, serials[0], "AB12")).Code, "a packed pack is not decommissioned")
	assert.Equal(t, "decommissioned", scan(dec, packScan(t, serials[7], "AB12")).Code)
	assert.Equal(t, "is_decommissioned", scan(cs, packScan(t, serials[7], "AB12")).Code)
	assert.Equal(t, "added", scan(cs, packScan(t, serials[1], "AB12")).Code)
	assert.Equal(t, "undone", scan(cs, command(CmdUndo)).Code)
	assert.Equal(t, "added", scan(cs, packScan(t, serials[1], "AB12")).Code)
	assert.Equal(t, "added", scan(cs, packScan(t, serials[2], "AB12")).Code)
	v = scan(cs, packScan(t, serials[3], "AB12"))
	assert.Equal(t, "full", v.Code, v.Message)
	v = scan(cs, ssccScan(t, case1))
	require.Equal(t, "closed", v.Code, v.Message)
	assert.Equal(t, 3, v.Count)
	assert.Equal(t, "already_closed", scan(cs, ssccScan(t, case1)).Code)

	// A second case, then both onto a pallet.
	v = scan(cs, command(CmdNew))
	case2 := v.Container
	assert.Equal(t, "added", scan(cs, packScan(t, serials[3], "AB12")).Code)
	assert.Equal(t, "in_container", scan(cs, packScan(t, serials[0], "AB12")).Code)
	require.Equal(t, "opened", scan(pal, command(CmdNew)).Code)
	assert.Equal(t, "not_closed", scan(pal, ssccScan(t, case2)).Code, "an open case does not go on a pallet")
	require.Equal(t, "closed", scan(cs, command(CmdClose)).Code)
	assert.Equal(t, "added", scan(pal, ssccScan(t, case1)).Code)
	assert.Equal(t, "added", scan(pal, ssccScan(t, case2)).Code)
	assert.Equal(t, "closed", scan(pal, command(CmdClose)).Code)

	// Rework: a pack out of a closed case is reported.
	assert.Equal(t, "remove_next", scan(cs, command(CmdRemove)).Code)
	assert.Equal(t, "removed", scan(cs, packScan(t, serials[3], "AB12")).Code)
	recs, err := queue.List(ctx, db, "", 0, false)
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[r.Kind]++
	}
	assert.Equal(t, map[string]int{"packaging_order": 1, "commission": 8, "aggregate": 3, "decommission": 1, "disaggregate": 1}, kinds)
	s, err := l.ledger.UnknownLabels(ctx)
	require.NoError(t, err)
	assert.Empty(t, s)
}
