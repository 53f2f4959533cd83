package stations

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/queue"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

func preprinted(t *testing.T, ref uint64) string {
	t.Helper()
	s, err := gs1.SSCC(0, "4012345", ref)
	require.NoError(t, err)
	return s
}

func TestPackScansAreCheckedAgainstTheOrderAndTheLedger(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "case"}, StationConfig{Name: "pal", Mode: ModePallet})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 2)
	// One label whose outcome is unknown, one still queued.
	two := 2
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-2", ProductCode: testGTIN, ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &two, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	lb, err := l.ledger.Next(ctx, "p1")
	require.NoError(t, err)
	require.NoError(t, l.ledger.Printing(ctx, "p1", lb.Ref))
	require.NoError(t, l.ledger.Unknown(ctx, "p1", lb.Ref, "no answer"))
	unknown := lb.Subject
	lb, err = l.ledger.Next(ctx, "p1")
	require.NoError(t, err)
	queued := lb.Subject

	cs, _ := l.Station("case")
	scan := handler(t, cs)
	assert.Equal(t, "opened", scan(ssccScan(t, preprinted(t, 1))).Code, "a preprinted case label opens a case")
	s := serials[0]
	for _, tc := range []struct{ scan, code string }{
		{"(01)09506000134369(17)261231(10)AB12(21)" + s, "wrong_product"},
		{"(01)" + testGTIN + "(17)261231(21)" + s, "wrong_batch"},
		{"(01)" + testGTIN + "(10)AB12(21)" + s, "wrong_expiry"},
		{"(01)" + testGTIN + "(17)270101(10)AB12(21)" + s, "wrong_expiry"},
		{"(01)" + testGTIN + "(17)261231(10)AB12(21)" + unknown, "not_printed"},
		{"(01)" + testGTIN + "(17)261231(10)AB12(21)" + queued, "not_printed"},
	} {
		v := scan(gs1Scan(t, tc.scan))
		assert.Equal(t, tc.code, v.Code, "%s: %s", tc.scan, v.Message)
	}
	v := scan(gs1Scan(t, "(01)"+testGTIN+"(17)261231(10)AB12(21)"+unknown))
	assert.Contains(t, v.Message, "a supervisor must resolve it first")
	assert.Equal(t, 0, v.Count, "refused packs are not added")
	assert.Equal(t, "wrong_level", scan(ssccScan(t, preprinted(t, 2))).Code, "a second case label where packs go")
	v = scan(packScan(t, s, "AB12"))
	require.Equal(t, "added", v.Code)
	assert.Equal(t, 1, v.Count)
	assert.Equal(t, "case", v.Level)

	pal, _ := l.Station("pal")
	assert.Equal(t, "wrong_level", handler(t, pal)(packScan(t, serials[1], "AB12")).Code, "a pack where cases go")
	assert.Equal(t, "wrong_level", handler(t, pal)(ssccScan(t, preprinted(t, 1))).Code, "a case label to open a pallet")
}

func TestPalletsTakeOnlyClosedCasesOfTheirOrder(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"),
		StationConfig{Name: "c1"}, StationConfig{Name: "c2"}, StationConfig{Name: "p1", Mode: ModePallet}, StationConfig{Name: "p2", Mode: ModePallet})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 4)
	c1, c2, p1, p2 := handlerOf(t, l, "c1"), handlerOf(t, l, "c2"), handlerOf(t, l, "p1"), handlerOf(t, l, "p2")
	closedCase := func(scan func(Scan) Verdict, serial string) string {
		v := scan(command(CmdNew))
		require.Equal(t, "opened", v.Code, v.Message)
		require.Equal(t, "added", scan(packScan(t, serial, "AB12")).Code)
		require.Equal(t, "closed", scan(ssccScan(t, v.Container)).Code, "scanning the open case's label closes it")
		return v.Container
	}
	a, b := closedCase(c1, serials[0]), closedCase(c1, serials[1])
	open := c2(command(CmdNew)).Container
	assert.Equal(t, "open_elsewhere", c1(ssccScan(t, open)).Code)

	pallet := preprinted(t, 10)
	require.Equal(t, "opened", p1(ssccScan(t, pallet)).Code, "a preprinted pallet label")
	v := p1(ssccScan(t, a))
	require.Equal(t, "added", v.Code, v.Message)
	assert.Equal(t, "pallet", v.Level)
	assert.Equal(t, 1, v.Count)
	for _, tc := range []struct {
		sscc, code string
	}{
		{a, "duplicate"},
		{open, "not_closed"},
		{preprinted(t, 11), "unknown_container"},
	} {
		v := p1(ssccScan(t, tc.sscc))
		assert.Equal(t, tc.code, v.Code, v.Message)
	}
	// A cancelled case does not go on a pallet.
	require.Equal(t, "cancelled", c2(command(CmdCancel)).Code)
	assert.Equal(t, "not_closed", p1(ssccScan(t, open)).Code)
	assert.Contains(t, p1(ssccScan(t, open)).Message, "cancelled")
	assert.Equal(t, "cancelled", c1(ssccScan(t, open)).Code, "its label is not used again")

	// Another pallet: a case on the first one is refused; so is a pallet.
	require.Equal(t, "opened", p2(command(CmdNew)).Code)
	v = p2(ssccScan(t, a))
	assert.Equal(t, "in_container", v.Code)
	assert.Contains(t, v.Message, "pallet "+pallet)
	assert.Equal(t, "wrong_level", p2(ssccScan(t, pallet)).Code)

	// A case of another packaging order.
	_, err := l.orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-2", ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	c1st, _ := l.Station("c1")
	require.NoError(t, c1st.SetOrder(ctx, "ana", "PO-2"))
	other := closedCase(c1, serials[2])
	assert.Equal(t, "wrong_order", p1(ssccScan(t, other)).Code)

	// The pallet closes with its cases; UNDO takes the last case off.
	require.Equal(t, "added", p1(ssccScan(t, b)).Code)
	v = p1(command(CmdUndo))
	assert.Equal(t, "undone", v.Code)
	assert.Contains(t, v.Message, "case "+b)
	require.Equal(t, "added", p1(ssccScan(t, b)).Code)
	v = p1(ssccScan(t, pallet))
	require.Equal(t, "closed", v.Code)
	assert.Equal(t, "Pallet "+pallet+" closed with 2 cases", v.Message)
	assert.Equal(t, "cancelled", p2(command(CmdCancel)).Code)
	assert.Equal(t, "already_closed", p2(ssccScan(t, pallet)).Code)

	// REMOVE takes a case off the closed pallet: a disaggregation.
	assert.Equal(t, "remove_next", p2(command(CmdRemove)).Code)
	v = p2(ssccScan(t, b))
	assert.Equal(t, "removed", v.Code)
	assert.Contains(t, v.Message, "taken out of "+pallet)
	assert.Equal(t, "remove_next", p2(command(CmdRemove)).Code)
	assert.Equal(t, "not_in_container", p2(ssccScan(t, b)).Code)
	recs, err := queue.List(ctx, db, "", 0, true)
	require.NoError(t, err)
	var dis []v2.Aggregation
	for _, r := range recs {
		if r.Kind == "disaggregate" {
			var a v2.Aggregation
			require.NoError(t, json.Unmarshal(r.Payload, &a))
			dis = append(dis, a)
		}
	}
	require.Len(t, dis, 1)
	assert.Equal(t, v2.Aggregation{Parent: pallet, ChildContainers: []string{b}}, dis[0])
}

func handlerOf(t *testing.T, l *testLine, name string) func(Scan) Verdict {
	st, ok := l.Station(name)
	require.True(t, ok, name)
	return handler(t, st)
}

func TestADisaggregatedCaseIsFilledAgain(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "c1"})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 2)
	c1 := handlerOf(t, l, "c1")
	sscc := c1(command(CmdNew)).Container
	c1(packScan(t, serials[0], "AB12"))
	require.Equal(t, "closed", c1(command(CmdClose)).Code)
	// An empty case is not closed, nor undone: it is cancelled.
	require.Equal(t, "opened", c1(command(CmdNew)).Code)
	assert.Equal(t, "empty", c1(command(CmdClose)).Code)
	assert.Equal(t, "empty", c1(command(CmdUndo)).Code)
	require.Equal(t, "cancelled", c1(command(CmdCancel)).Code)
	require.NoError(t, l.containers.Disaggregate(ctx, "ana", sscc, "rework"))
	v := c1(ssccScan(t, sscc))
	require.Equal(t, "opened", v.Code, v.Message)
	assert.Equal(t, "added", c1(packScan(t, serials[1], "AB12")).Code)
	assert.Equal(t, "closed", c1(ssccScan(t, sscc)).Code)
	list, err := l.containers.List(ctx, "closed")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{testGTIN + "/" + serials[1]}, list[0].Packs)
	recs, err := queue.List(ctx, db, "", 0, false)
	require.NoError(t, err)
	var keys []string
	for _, r := range recs {
		if r.Kind == "aggregate" {
			keys = append(keys, r.Key)
		}
	}
	assert.ElementsMatch(t, []string{sscc, sscc + "#2"}, keys, "the second filling is aggregated under its own key")
	for _, c := range []string{CmdUndo, CmdClose, CmdCancel} {
		assert.Equal(t, "no_container", c1(command(c)).Code, c)
	}
}

func TestDecommissionStation(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"),
		StationConfig{Name: "dec", Mode: ModeDecommission, Reason: "destroy", SendToMarket: true}, StationConfig{Name: "case"})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 3)
	one := 1
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-2", ProductCode: testGTIN, ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &one, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	lb, err := l.ledger.Next(ctx, "p1")
	require.NoError(t, err)
	dec := handlerOf(t, l, "dec")

	v := dec(packScan(t, serials[0], "AB12"))
	require.Equal(t, "decommissioned", v.Code, v.Message)
	assert.Equal(t, "Pack "+serials[0]+" decommissioned: destroy", v.Message)
	assert.Equal(t, "destroy", v.Reason)
	assert.Equal(t, "is_decommissioned", dec(packScan(t, serials[0], "AB12")).Code)
	assert.Equal(t, "unknown_serial", dec(packScan(t, "NOSUCH", "AB12")).Code)
	assert.Equal(t, "not_printed", dec(packScan(t, lb.Subject, "AB12")).Code, "a queued label's serial")
	assert.Equal(t, "not_gs1", dec(command("hello")).Code)
	assert.Equal(t, "not_pack", dec(ssccScan(t, preprinted(t, 1))).Code)

	cs := handlerOf(t, l, "case")
	cs(command(CmdNew))
	require.Equal(t, "added", cs(packScan(t, serials[1], "AB12")).Code)
	assert.Equal(t, "in_container", dec(packScan(t, serials[1], "AB12")).Code)

	// The reason switches by command.
	v = dec(command("CMD:EXPORT"))
	require.Equal(t, "export", v.Reason)
	require.Equal(t, "decommissioned", dec(packScan(t, serials[2], "AB12")).Code)

	recs, err := queue.List(ctx, db, "", 0, true)
	require.NoError(t, err)
	reasons := map[string]string{}
	for _, r := range recs {
		if r.Kind == "decommission" {
			var f struct {
				Serial       string `json:"serial"`
				Reason       string `json:"reason"`
				SendToMarket bool   `json:"send_to_market"`
			}
			require.NoError(t, json.Unmarshal(r.Payload, &f))
			assert.True(t, f.SendToMarket)
			reasons[f.Serial] = f.Reason
		}
	}
	assert.Equal(t, map[string]string{serials[0]: "destroy", serials[2]: "export"}, reasons)
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		s, err := ledger.SerialOf(tx, testGTIN, serials[1])
		assert.Equal(t, ledger.SerialPrinted, s.State, "the packed pack is untouched")
		in, _ := containers.HolderOfPack(tx, testGTIN, serials[1])
		assert.NotEmpty(t, in)
		return err
	}))
}
