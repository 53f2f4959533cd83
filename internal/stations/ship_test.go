package stations

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/shipments"
)

func TestShipStationCollectsAndRequestsLabels(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"),
		StationConfig{Name: "ship", Mode: ModeShip, Printer: "p1", IntegrationID: 5},
		StationConfig{Name: "ship2", Mode: ModeShip, IntegrationID: 5},
		StationConfig{Name: "loose", Mode: ModeShip})
	defer db.Close()
	ctx := context.Background()
	st, _ := l.Station("ship")
	scan := handler(t, st)
	ships := l.stations.shipments
	news, stop := st.Subscribe()
	defer stop()

	v := scan(command("ORD-1"))
	require.Equal(t, "collected", v.Code, v.Message)
	assert.Equal(t, 1, v.Collected)
	assert.Equal(t, ModeShip, v.Mode)
	assert.Equal(t, "duplicate", scan(command("ORD-1")).Code)
	assert.Equal(t, "not_order", scan(packScan(t, "S1", "AB12")).Code, "a pack label is no order number")
	assert.Equal(t, "not_order", scan(command("")).Code)
	assert.Equal(t, "not_order", scan(command(strings.Repeat("9", 256))).Code)
	assert.Equal(t, "not_order", scan(command("ORD\x07")).Code)
	other, _ := l.Station("ship2")
	v, err := other.Handle(ctx, command("ORD-1"))
	require.NoError(t, err)
	assert.Equal(t, "already_shipped", v.Code, "collected at another station")
	loose, _ := l.Station("loose")
	v, err = loose.Handle(ctx, command("ORD-9"))
	require.NoError(t, err)
	assert.Equal(t, "no_integration", v.Code)

	// UNDO and CANCEL work on the collected orders.
	scan(command("ORD-2"))
	v = scan(command(CmdUndo))
	assert.Equal(t, "undone", v.Code)
	assert.Contains(t, v.Message, "ORD-2")
	assert.Equal(t, 1, v.Collected)
	v = scan(command(CmdCancel))
	assert.Equal(t, "cancelled", v.Code)
	assert.Equal(t, 0, v.Collected)
	for _, c := range []string{CmdCancel, CmdUndo, CmdClose} {
		assert.Equal(t, "no_orders", scan(command(c)).Code, c)
	}

	// CLOSE requests their labels: one outbox item per order.
	scan(command("ORD-1"))
	scan(command("ORD-2"))
	v = scan(command(CmdClose))
	require.Equal(t, "requested", v.Code, v.Message)
	assert.Equal(t, "Labels requested for 2 orders", v.Message)
	assert.Equal(t, 0, v.Collected)
	recs, err := queue.List(ctx, db, "", 0, false)
	require.NoError(t, err)
	n := 0
	for _, r := range recs {
		if r.Kind == "ship_label" {
			n++
			assert.Equal(t, "shipping/ship", r.Stream)
		}
	}
	assert.Equal(t, 2, n)
	os, err := ships.Orders(ctx, "ship")
	require.NoError(t, err)
	require.Len(t, os, 2)
	for _, o := range os {
		assert.Equal(t, shipments.Requested, o.State)
	}

	// The label comes back: the station hears of it, and it prints.
	for len(news) > 0 {
		<-news
	}
	require.NoError(t, ships.ShipLabelled(ctx, os[1].ID, []byte("^XA^FDORD-1^FS^XZ")))
	select {
	case nv := <-news:
		assert.Equal(t, Verdict{Station: "ship", At: nv.At, OK: true, Code: "ship_label", Headline: "Shipping label printing", Message: "Label for order ORD-1 printing", Mode: ModeShip}, nv)
	case <-time.After(5 * time.Second):
		t.Fatal("the station was not told")
	}
	printAll(t, l)
	os, err = ships.Orders(ctx, "ship")
	require.NoError(t, err)
	assert.Equal(t, shipments.Printed, os[1].State)
	ok, refused := st.Verdicts()
	assert.Equal(t, [2]uint64{7, 8}, [2]uint64{ok, refused}, "news is no verdict of a scan")
	state, err := st.State(ctx, 100)
	require.NoError(t, err)
	for _, r := range state.Recent {
		assert.NotEqual(t, "ship_label", r.Code, "news is not stored as a scan")
	}
}

func TestShipStationRequestsByItselfWhenFull(t *testing.T) {
	l, db := openLine(t, filepath.Join(t.TempDir(), "data", "l.db"), StationConfig{Name: "ship", Mode: ModeShip, IntegrationID: 5})
	defer db.Close()
	st, _ := l.Station("ship")
	scan := handler(t, st)
	for i := 1; i < shipments.MaxOrders; i++ {
		require.Equal(t, "collected", scan(command(fmt.Sprintf("ORD-%d", i))).Code)
	}
	v := scan(command("ORD-LAST"))
	assert.Equal(t, "requested", v.Code, "the request is full")
	assert.Equal(t, fmt.Sprintf("Labels requested for %d orders", shipments.MaxOrders), v.Message)
	assert.Equal(t, 0, v.Collected)
	v = scan(command(CmdCase))
	assert.Equal(t, "mode", v.Code, "nothing waits: the station may switch")
}
