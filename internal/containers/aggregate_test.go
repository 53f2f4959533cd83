package containers

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/ledger"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// printedSerials puts serials in the ledger as printed (batch AB12,
// expiry 261231), or in the state given.
func printedSerials(t *testing.T, c *Containers, state string, serials ...string) {
	write(t, c.db, func(tx *sql.Tx) error {
		for _, s := range serials {
			if _, err := tx.Exec(`INSERT INTO serials (gtin, serial, state, batch, expiry, updated_at) VALUES (?, ?, ?, 'AB12', '261231', 0)`, testGTIN, s, state); err != nil {
				return err
			}
		}
		return nil
	})
}

func items(serials ...string) []v2.TradeItem {
	var out []v2.TradeItem
	for _, s := range serials {
		out = append(out, v2.TradeItem{ProductCode: testGTIN, ProductCodeSchema: "GTIN", SerialNumber: s, Batch: "AB12", ExpiryDate: "261231"})
	}
	return out
}

func TestAggregateOverTheAPIFollowsAStationsRules(t *testing.T) {
	db := openDB(t)
	c, l := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	ctx := context.Background()
	require.NoError(t, l.AddProduct(ctx, testGTIN, "EU", map[string]string{"AB12": "261231"}))
	printedSerials(t, c, "printed", "S1", "S2", "S3", "S4")
	printedSerials(t, c, "allocated", "NOTYET")
	case1, case2, pallet := sscc(t, 1), sscc(t, 2), sscc(t, 3)

	require.NoError(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case1, ChildTradeItems: items("S1", "S2")}))
	k := load(t, db, case1)
	assert.Equal(t, Closed, k.State)
	assert.Equal(t, Case, k.Level)
	assert.Len(t, outbox(t, db)["aggregate"], 1)

	var ice *InContainerError
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("S3", "S2")}), &ice)
	assert.Equal(t, case1, ice.Container)
	assert.Nil(t, load(t, db, case2), "a refused aggregation stores nothing")
	var sse *ledger.SerialStateError
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("NOTYET")}), &sse)
	var nf *ledger.SerialNotFoundError
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("NOSUCH")}), &nf)
	wrong := items("S3")
	wrong[0].Batch = "ZZ"
	var lme *LabelMismatchError
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: wrong}), &lme)
	assert.Equal(t, "batch", lme.Field)
	var fe *v2.FieldError
	require.True(t, errors.As(c.Aggregate(ctx, "erp", v2.Aggregation{Parent: "123"}), &fe), "validation first")
	var se *StateError
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case1, ChildTradeItems: items("S3")}), &se, "already closed")

	require.NoError(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("S3", "S4")}))
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildContainers: []string{case1}}), &se, "a case holds packs only")
	require.ErrorIs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: pallet, ChildContainers: []string{sscc(t, 9)}}), ErrNotFound)
	require.NoError(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: pallet, ChildContainers: []string{case1, case2}}))
	require.ErrorAs(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: sscc(t, 4), ChildContainers: []string{case1}}), &ice)

	// Disaggregation takes named children out of a closed parent.
	var nie *NotInError
	require.ErrorAs(t, c.DisaggregateItems(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("S1")}), &nie)
	require.ErrorIs(t, c.DisaggregateItems(ctx, "erp", v2.Aggregation{Parent: sscc(t, 8), ChildTradeItems: items("S1")}), ErrNotFound)
	require.NoError(t, c.DisaggregateItems(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("S4")}))
	assert.Len(t, outbox(t, db)["disaggregate"], 1)
	write(t, db, func(tx *sql.Tx) error {
		in, err := HolderOfPack(tx, testGTIN, "S4")
		assert.Empty(t, in)
		return err
	})
	// An emptied case is filled again under its next generation.
	require.NoError(t, c.DisaggregateItems(ctx, "erp", v2.Aggregation{Parent: pallet, ChildContainers: []string{case2}}))
	require.NoError(t, c.Disaggregate(ctx, "supervisor", case2, "rework"))
	require.NoError(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case2, ChildTradeItems: items("S4")}))
	assert.Equal(t, 2, load(t, db, case2).Gen)
}

// Every change to containers' contents made away from a station moves
// Changes on, refused ones too (a station only counts again); reads do not.
func TestChangesCountChangesMadeAwayFromAStation(t *testing.T) {
	db := openDB(t)
	c, l := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	ctx := context.Background()
	require.NoError(t, l.AddProduct(ctx, testGTIN, "EU", map[string]string{"AB12": "261231"}))
	printedSerials(t, c, "printed", "S1", "S2", "S3")
	case1, case2 := sscc(t, 1), sscc(t, 2)
	last := c.Changes()
	moved := func(what string) {
		t.Helper()
		assert.Greater(t, c.Changes(), last, what)
		last = c.Changes()
	}

	require.NoError(t, c.Aggregate(ctx, "erp", v2.Aggregation{Parent: case1, ChildTradeItems: items("S1", "S2", "S3")}))
	moved("an aggregation")
	_, err := c.List(ctx, "")
	require.NoError(t, err)
	_, err = c.Counts(ctx)
	require.NoError(t, err)
	assert.Equal(t, last, c.Changes(), "reads change nothing")
	_, err = c.Remove(ctx, "ana", Item{GTIN: testGTIN, Serial: "S1"}, "damaged")
	require.NoError(t, err)
	moved("a supervisor's remove")
	require.NoError(t, c.DisaggregateItems(ctx, "erp", v2.Aggregation{Parent: case1, ChildTradeItems: items("S2")}))
	moved("a disaggregation of items")
	require.NoError(t, c.Disaggregate(ctx, "ana", case1, "rework"))
	moved("a disaggregation")
	require.Error(t, c.Disaggregate(ctx, "ana", case2, "rework"))
	moved("a refused disaggregation")
}
