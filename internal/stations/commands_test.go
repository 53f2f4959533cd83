package stations

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// handler scans at a station and fails the test on an error.
func handler(t *testing.T, st *Station) func(sc Scan) Verdict {
	return func(sc Scan) Verdict {
		t.Helper()
		v, err := st.Handle(context.Background(), sc)
		require.NoError(t, err)
		return v
	}
}

func gs1Scan(t *testing.T, bracketed string) Scan {
	t.Helper()
	m, err := gs1.Parse([]byte(bracketed))
	require.NoError(t, err)
	return Scan{Source: "test", Raw: []byte(m.ElementString()), GS1: m}
}

// printLabels gives the line printed packs of a new label order.
func printLabels(t *testing.T, l *testLine, id string, n int) []string {
	t.Helper()
	require.NoError(t, l.orders.CreateLabelOrder(context.Background(), "erp", v2.LabelOrder{OrderID: id, ProductCode: testGTIN,
		ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: &n, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	return printAll(t, l)
}

func auditCount(t *testing.T, l *testLine, action string) int {
	t.Helper()
	var n int
	require.NoError(t, l.db.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = ?`, action).Scan(&n))
	return n
}

func TestModesSwitchByCommand(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a", IntegrationID: 5})
	defer db.Close()
	st, _ := l.Station("a")
	scan := handler(t, st)
	for _, tc := range []struct{ cmd, mode, reason, msg string }{
		{"CMD:PALLET", ModePallet, "", "Building pallets"},
		{"cmd:sample", ModeDecommission, "sample", "Decommission: sample"},
		{"CMD:FREE_SAMPLE", ModeDecommission, "free_sample", "Decommission: free sample"},
		{"CMD:SHIP\r\n", ModeShip, "", "Shipping: scan order numbers"},
		{"CMD:CASE", ModeCase, "", "Packing cases"},
	} {
		v := scan(command(tc.cmd))
		require.True(t, v.OK, "%s: %s", tc.cmd, v.Message)
		assert.Equal(t, "mode", v.Code)
		assert.Equal(t, tc.mode, v.Mode, tc.cmd)
		assert.Equal(t, tc.reason, v.Reason, tc.cmd)
		assert.Contains(t, v.Message, tc.msg)
	}
	v := scan(command("CMD:SHRED"))
	assert.Equal(t, "unknown_command", v.Code)
	assert.False(t, v.OK)

	// Commands that belong to other modes.
	scan(command("CMD:DESTROY"))
	assert.Equal(t, "wrong_mode", scan(command(CmdRemove)).Code)
	assert.Equal(t, "wrong_mode", scan(command(CmdNew)).Code)

	// No switch while a case is open or orders wait for labels.
	scan(command(CmdCase))
	v = scan(command(CmdNew))
	require.Equal(t, "opened", v.Code)
	v = scan(command(CmdPallet))
	assert.Equal(t, "container_open", v.Code)
	assert.Equal(t, ModeCase, v.Mode, "a refused switch keeps the mode")
	assert.Equal(t, "cancelled", scan(command(CmdCancel)).Code)
	scan(command(CmdShip))
	assert.Equal(t, "collected", scan(command("ORDER-1")).Code, "an order number that looks like no command")
	v = scan(command(CmdCase))
	assert.Equal(t, "orders_collected", v.Code)
	assert.Equal(t, ModeShip, v.Mode)
	assert.Equal(t, "cancelled", scan(command(CmdCancel)).Code)
	assert.Equal(t, ModeCase, scan(command(CmdCase)).Mode)

	// A supervisor's command from the dashboard is audited; the scanners' are not.
	before := auditCount(t, l, "station.command")
	v, err := st.Handle(context.Background(), Scan{Source: "dashboard", Plain: CmdPallet, Actor: "ana"})
	require.NoError(t, err)
	require.True(t, v.OK)
	assert.Equal(t, before+1, auditCount(t, l, "station.command"))
	v, err = st.Handle(context.Background(), Scan{Source: "dashboard", Plain: "CMD:SHRED", Actor: "ana"})
	require.NoError(t, err)
	assert.Equal(t, before+1, auditCount(t, l, "station.command"), "a refused command is not")

	ok, refused := st.Verdicts()
	assert.Equal(t, uint64(6), refused)
	assert.Equal(t, uint64(14), ok)
	state, err := st.State(context.Background(), 3)
	require.NoError(t, err)
	assert.Equal(t, ModePallet, state.Mode)
	require.Len(t, state.Recent, 3)
	assert.Equal(t, "unknown_command", state.Recent[0].Code, "newest first")
	assert.Equal(t, "mode", state.Recent[1].Code)
	assert.Equal(t, []string{"a"}, l.stations.Names())
	assert.Equal(t, "a", st.Name())
}

func TestUnusableScansAreRefusedAndRecorded(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	defer db.Close()
	st, _ := l.Station("a")
	scan := handler(t, st)
	v := scan(Scan{Source: "test", Raw: []byte("(01)0950\x1d\r"), Err: errors.New("bad check digit")})
	assert.Equal(t, "unreadable", v.Code)
	assert.Equal(t, "(01)0950<GS><0D>", v.Raw, "control characters are escaped for the record")
	v = scan(command("HELLO WORLD, THIS IS A VERY LONG PLAIN TEXT BARCODE"))
	assert.Equal(t, "not_gs1", v.Code)
	assert.Contains(t, v.Message, "…", "long reads are clipped")
	assert.Equal(t, "not_pack", scan(gs1Scan(t, "(01)"+testGTIN)).Code)
	state, err := st.State(context.Background(), 10)
	require.NoError(t, err)
	assert.Len(t, state.Recent, 3, "every scan is recorded with its verdict")
}

func TestSetOrder(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"}, StationConfig{Name: "b", Order: "PO-9"})
	defer db.Close()
	ctx := context.Background()
	st, _ := l.Station("a")
	scan := handler(t, st)
	_, err := l.orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-2", ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "AB12"})
	require.NoError(t, err)
	v := scan(command(CmdNew))
	assert.Equal(t, "no_order", v.Code)
	assert.Contains(t, v.Message, "Several packaging orders are open")
	b, _ := l.Station("b")
	v, err = b.Handle(ctx, command(CmdNew))
	require.NoError(t, err)
	assert.Equal(t, "no_order", v.Code)
	assert.Contains(t, v.Message, "PO-9 is not known")

	require.NoError(t, st.SetOrder(ctx, "ana", "PO-2"))
	v = scan(command(CmdNew))
	require.Equal(t, "opened", v.Code, v.Message)
	list, err := l.containers.List(ctx, "open")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "PO-2", list[0].Order, "the container is for the station's order")
	var busy *BusyError
	require.ErrorAs(t, st.SetOrder(ctx, "ana", "PO-1"), &busy)
	assert.Equal(t, BusyError{Station: "a", Container: v.Container}, *busy)
	assert.Contains(t, busy.Error(), "close or cancel it first")
	state, err := st.State(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "PO-2", state.Order)
	assert.Equal(t, v.Container, state.Container)
	assert.Equal(t, "case", state.Level)

	scan(command(CmdCancel))
	require.ErrorIs(t, st.SetOrder(ctx, "ana", "PO-9"), orders.ErrPackagingOrderNotFound)
	require.NoError(t, st.SetOrder(ctx, "ana", ""))
	state, err = st.State(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, state.Order)
	assert.Equal(t, 2, auditCount(t, l, "station.order"), "each change is audited, refusals are not")
}

func TestSubscribersSeeVerdicts(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a"})
	defer db.Close()
	st, _ := l.Station("a")
	ch, stop := st.Subscribe()
	v := handler(t, st)(command(CmdNew))
	select {
	case got := <-ch:
		assert.Equal(t, v, got, "the verdict published is the one answered")
	case <-time.After(5 * time.Second):
		t.Fatal("no verdict published")
	}
	stop()
	handler(t, st)(command(CmdCancel))
	select {
	case got := <-ch:
		t.Fatalf("verdict after stop: %+v", got)
	case <-time.After(20 * time.Millisecond):
	}
	// A slow subscriber misses verdicts and never blocks the station.
	slow, stop := st.Subscribe()
	defer stop()
	for i := 0; i < 70; i++ {
		handler(t, st)(command(CmdUndo))
	}
	assert.Len(t, slow, 64)
}

func TestReprintCommand(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "a", Printer: "p1"}, StationConfig{Name: "bare"})
	defer db.Close()
	ctx := context.Background()
	serials := printLabels(t, l, "LO-1", 1)
	st, _ := l.Station("a")
	scan := handler(t, st)
	assert.Equal(t, "no_container", scan(command(CmdReprint)).Code)
	v := scan(command(CmdNew))
	require.Equal(t, "opened", v.Code)
	assert.Contains(t, v.Message, "label printing")
	sscc := v.Container
	printAll(t, l)
	v = scan(command(CmdReprint))
	assert.Equal(t, "reprint", v.Code)
	assert.Contains(t, v.Message, sscc)
	queued, err := l.ledger.Queued(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, queued["p1"], "the open case's label is queued again")
	printAll(t, l)
	require.Equal(t, "added", scan(packScan(t, serials[0], "AB12")).Code)
	require.Equal(t, "closed", scan(command(CmdClose)).Code)
	v = scan(command(CmdReprint))
	assert.Equal(t, "reprint", v.Code, "the case closed last is reprinted")
	assert.Contains(t, v.Message, sscc)
	recent, err := l.ledger.RecentLabels(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, sscc, recent[0].Subject)
	assert.Equal(t, 3, auditCount(t, l, "container.label"))

	bare, _ := l.Station("bare")
	v, err = bare.Handle(ctx, command(CmdNew))
	require.NoError(t, err)
	assert.Contains(t, v.Message, "no printer: label it by hand")
	v, err = bare.Handle(ctx, command(CmdReprint))
	require.NoError(t, err)
	assert.Equal(t, "no_printer", v.Code)
	recs, err := queue.List(ctx, db, "", 0, false)
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[r.Kind]++
	}
	assert.Equal(t, map[string]int{"packaging_order": 1, "commission": 1, "aggregate": 1}, kinds)
}
