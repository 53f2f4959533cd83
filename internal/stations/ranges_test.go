package stations

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// A station allocates from the line's SSCC range, says when few are left,
// and refuses NEW with a short headline and a detail line once the range
// is used up, allocating nothing; a preprinted label still opens a case.
func TestNewStopsAtTheEndOfTheLinesRange(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "l.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	led, err := ledger.New(db, ledger.Config{Serials: ledger.SerialConfig{Generate: true, Length: 10}})
	require.NoError(t, err)
	cs, err := containers.New(led, containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 3, Ranges: []containers.Range{{From: 2001, To: 2003}}, LowWater: 2})
	require.NoError(t, err)
	reg := New(led, cs, shipments.New(led), Config{})
	require.NoError(t, led.AddProduct(ctx, testGTIN, "EU", map[string]string{"AB12": "261231"}))
	_, err = orders.New(led, orders.Config{Line: "line-1"}).CreatePackagingOrder(ctx, "erp",
		v2.PackagingOrder{OrderID: "PO-1", ProductCode: testGTIN, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	st, err := reg.Add(ctx, StationConfig{Name: "a"})
	require.NoError(t, err)

	scan := func(c string) Verdict {
		t.Helper()
		v, err := st.Handle(ctx, command(c))
		require.NoError(t, err)
		return v
	}
	v := scan(CmdNew)
	require.Equal(t, "opened", v.Code, v.Message)
	first, err := gs1.SSCC(3, "9506000", 2001)
	require.NoError(t, err)
	assert.Equal(t, first, v.Container, "the first reference of the range")
	assert.NotContains(t, v.Message, "left", "plenty left")
	scan(CmdCancel)
	v = scan(CmdNew)
	require.Equal(t, "opened", v.Code)
	assert.Contains(t, v.Message, "; only 1 SSCC left in this line's range: tell the supervisor", "below the low-water mark")
	scan(CmdCancel)
	v = scan(CmdNew)
	require.Equal(t, "opened", v.Code)
	assert.Contains(t, v.Message, "; that was the last SSCC of this line's range: tell the supervisor")
	last := v.Container
	scan(CmdCancel)

	v = scan(CmdNew)
	assert.False(t, v.OK)
	assert.Equal(t, "no_sscc_left", v.Code)
	assert.Equal(t, "No SSCC left", v.Headline)
	assert.Equal(t, "No SSCC left in this line's range: tell the supervisor (serial references 2001 to 2003 are used up; scan a preprinted label meanwhile)", v.Message)
	assert.Empty(t, v.Container, "nothing opened")
	list, err := cs.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, list, 3, "the refusal allocated nothing")
	assert.Equal(t, last, list[2].SSCC)

	v, err = st.Handle(ctx, gs1Scan(t, "(00)095060001343521236"))
	require.NoError(t, err)
	assert.Equal(t, "opened", v.Code, "a preprinted label still opens a case: %s", v.Message)
}
