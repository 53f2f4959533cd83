package containers

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

const (
	testGTIN = "09506000134352"
	prefix   = "9506000"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "c.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func openContainers(t *testing.T, db *store.DB, cfg SSCCConfig) (*Containers, *ledger.Ledger) {
	t.Helper()
	l, err := ledger.New(db, ledger.Config{})
	require.NoError(t, err)
	c, err := New(l, cfg)
	require.NoError(t, err)
	return c, l
}

func sscc(t *testing.T, ref uint64) string {
	t.Helper()
	s, err := gs1.SSCC(3, prefix, ref)
	require.NoError(t, err)
	return s
}

func write(t *testing.T, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	require.NoError(t, db.Write(context.Background(), fn))
}

func load(t *testing.T, db *store.DB, s string) *Container {
	t.Helper()
	var k *Container
	write(t, db, func(tx *sql.Tx) error {
		var err error
		k, err = Load(tx, s)
		return err
	})
	return k
}

// outbox lists the queued items by kind, oldest first.
func outbox(t *testing.T, db *store.DB) map[string][]queue.Record {
	t.Helper()
	recs, err := queue.ListOldest(context.Background(), db, "", 0)
	require.NoError(t, err)
	full, err := queue.List(context.Background(), db, "", 0, true)
	require.NoError(t, err)
	payload := map[int64]json.RawMessage{}
	for _, r := range full {
		payload[r.ID] = r.Payload
	}
	out := map[string][]queue.Record{}
	for _, r := range recs {
		r.Payload = payload[r.ID]
		out[r.Kind] = append(out[r.Kind], r)
	}
	return out
}

func aggregation(t *testing.T, r queue.Record) v2.Aggregation {
	t.Helper()
	var a v2.Aggregation
	require.NoError(t, json.Unmarshal(r.Payload, &a))
	return a
}

func lastAudit(t *testing.T, db *store.DB) (action, subject, old, new, reason string) {
	t.Helper()
	require.NoError(t, db.Reader().QueryRow(`SELECT action, subject, old_value, new_value, reason FROM audit_log ORDER BY id DESC LIMIT 1`).
		Scan(&action, &subject, &old, &new, &reason))
	return
}

// openCase opens a case holding the packs given (serials of testGTIN).
func openCase(t *testing.T, db *store.DB, s string, serials ...string) {
	t.Helper()
	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, s, Case, "s1", "PO-1", Scanned, 1); err != nil {
			return err
		}
		for _, sn := range serials {
			if err := AddPack(tx, s, testGTIN, sn, "AB12", "261231"); err != nil {
				return err
			}
		}
		return nil
	})
}

// closeIt closes a container and returns how many items it held.
func closeIt(t *testing.T, c *Containers, db *store.DB, s string) (int, error) {
	t.Helper()
	var n int
	err := db.Write(context.Background(), func(tx *sql.Tx) error {
		k, err := Load(tx, s)
		if err != nil {
			return err
		}
		n, err = c.Close(tx, k, 2)
		return err
	})
	return n, err
}

func TestAllocateNeverRepeatsAndSkipsScannedSSCCs(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	require.True(t, c.CanAllocate())
	alloc := func(c *Containers) string {
		var s string
		write(t, db, func(tx *sql.Tx) error {
			var err error
			s, _, err = c.Allocate(tx)
			return err
		})
		return s
	}
	first := alloc(c)
	assert.Equal(t, sscc(t, 1), first)
	assert.True(t, gs1.ValidCheckDigit(first))
	// A preprinted label took the next number; a cancelled container keeps its own.
	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, first, Case, "s1", "", Allocated, 1); err != nil {
			return err
		}
		if err := Cancel(tx, "s1", first, 2); err != nil {
			return err
		}
		return Create(tx, sscc(t, 2), Case, "s1", "", Scanned, 1)
	})
	assert.Equal(t, sscc(t, 3), alloc(c), "the SSCC of a scanned label is skipped")
	// After a restart, the counter goes on.
	c2, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	assert.Equal(t, sscc(t, 4), alloc(c2))

	none, _ := openContainers(t, db, SSCCConfig{})
	assert.False(t, none.CanAllocate())
	require.ErrorIs(t, db.Write(context.Background(), func(tx *sql.Tx) error { _, _, err := none.Allocate(tx); return err }), ErrNoPrefix)
	_, err := New(none.ledger, SSCCConfig{CompanyPrefix: "95x"})
	require.ErrorContains(t, err, "sscc: ")

	// A 12-digit prefix leaves 4 digits: the counter runs out at 9999.
	long, _ := openContainers(t, db, SSCCConfig{CompanyPrefix: "950600013435"})
	alloc(long)
	write(t, db, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE sscc_counters SET next = 10000 WHERE prefix = '950600013435'`)
		return err
	})
	err = db.Write(context.Background(), func(tx *sql.Tx) error { _, _, err := long.Allocate(tx); return err })
	require.ErrorContains(t, err, "used up")
}

func TestCloseQueuesTheAggregation(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{})
	empty, full := sscc(t, 1), sscc(t, 2)
	openCase(t, db, empty)
	_, err := closeIt(t, c, db, empty)
	require.ErrorIs(t, err, ErrEmpty)
	assert.Equal(t, Open, load(t, db, empty).State, "an empty case stays open")

	openCase(t, db, full, "S1", "S2")
	n, err := closeIt(t, c, db, full)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	k := load(t, db, full)
	assert.Equal(t, Closed, k.State)
	assert.Equal(t, 1, k.Gen)
	_, err = closeIt(t, c, db, full)
	var se *StateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, Closed, se.State)
	assert.Contains(t, se.Error(), "cannot be closed")

	// A pallet of the case: its aggregation names the case.
	pallet := sscc(t, 3)
	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, pallet, Pallet, "s2", "PO-1", Allocated, 1); err != nil {
			return err
		}
		return AddCase(tx, pallet, full)
	})
	n, err = closeIt(t, c, db, pallet)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	agg := outbox(t, db)[facts.KindAggregate]
	require.Len(t, agg, 2)
	assert.Equal(t, full, agg[0].Key)
	a := aggregation(t, agg[0])
	assert.Equal(t, full, a.Parent)
	require.Len(t, a.ChildTradeItems, 2)
	assert.Equal(t, v2.TradeItem{ProductCode: testGTIN, ProductCodeSchema: "GTIN", SerialNumber: "S1", Batch: "AB12", ExpiryDate: "261231"}, a.ChildTradeItems[0])
	assert.Equal(t, []string{full}, aggregation(t, agg[1]).ChildContainers)

	write(t, db, func(tx *sql.Tx) error {
		in, err := HolderOfCase(tx, full)
		assert.Equal(t, pallet, in)
		if err != nil {
			return err
		}
		in, err = HolderOfPack(tx, testGTIN, "S1")
		assert.Equal(t, full, in)
		if err != nil {
			return err
		}
		in, err = HolderOfPack(tx, testGTIN, "S9")
		assert.Equal(t, "", in)
		return err
	})
	assert.Equal(t, "case", Case.Word())
	assert.Equal(t, "Pallet", Pallet.Title())
}

func TestCancelAndUndo(t *testing.T) {
	db := openDB(t)
	openCase(t, db, sscc(t, 1), "S1", "S2")
	var what string
	write(t, db, func(tx *sql.Tx) error {
		var err error
		what, err = Undo(tx, "ana", sscc(t, 1))
		return err
	})
	assert.Equal(t, "pack S2", what, "the last item comes out")
	action, subject, old, _, _ := lastAudit(t, db)
	assert.Equal(t, []string{"container.undo", sscc(t, 1), "pack S2"}, []string{action, subject, old})

	pallet := sscc(t, 2)
	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, pallet, Pallet, "s2", "", Scanned, 1); err != nil {
			return err
		}
		return AddCase(tx, pallet, sscc(t, 1))
	})
	write(t, db, func(tx *sql.Tx) error {
		var err error
		what, err = Undo(tx, "ana", pallet)
		return err
	})
	assert.Equal(t, "case "+sscc(t, 1), what)
	err := db.Write(context.Background(), func(tx *sql.Tx) error { _, err := Undo(tx, "ana", pallet); return err })
	require.ErrorIs(t, err, ErrEmpty)

	write(t, db, func(tx *sql.Tx) error { return Cancel(tx, "ana", sscc(t, 1), 5) })
	k := load(t, db, sscc(t, 1))
	assert.Equal(t, Cancelled, k.State)
	write(t, db, func(tx *sql.Tx) error {
		n, err := Count(tx, sscc(t, 1))
		assert.Equal(t, 0, n, "a cancelled case is emptied")
		return err
	})
	action, _, old, newV, _ := lastAudit(t, db)
	assert.Equal(t, []string{"container.cancel", "open", "cancelled"}, []string{action, old, newV})
	stats, err := queue.ReadStats(context.Background(), db)
	require.NoError(t, err)
	assert.Equal(t, 0, stats.Pending, "an open container never reached the cloud")
}

func TestTakeReportsOnlyWhatLeavesAClosedContainer(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{})
	ctx := context.Background()
	open, closed := sscc(t, 1), sscc(t, 2)
	openCase(t, db, open, "S1")
	openCase(t, db, closed, "S2", "S3")
	_, err := closeIt(t, c, db, closed)
	require.NoError(t, err)

	in, err := c.Remove(ctx, "ana", Item{GTIN: testGTIN, Serial: "S1"}, "damaged")
	require.NoError(t, err)
	assert.Equal(t, open, in)
	assert.Empty(t, outbox(t, db)[facts.KindDisaggregate], "an open case's loss is not reported")
	in, err = c.Remove(ctx, "ana", Item{GTIN: testGTIN, Serial: "S2"}, "damaged")
	require.NoError(t, err)
	assert.Equal(t, closed, in)
	dis := outbox(t, db)[facts.KindDisaggregate]
	require.Len(t, dis, 1)
	a := aggregation(t, dis[0])
	assert.Equal(t, closed, a.Parent)
	require.Len(t, a.ChildTradeItems, 1)
	assert.Equal(t, "S2", a.ChildTradeItems[0].SerialNumber)
	assert.Equal(t, "AB12", a.ChildTradeItems[0].Batch)
	action, subject, old, _, reason := lastAudit(t, db)
	assert.Equal(t, []string{"container.remove", closed, testGTIN + "/S2", "damaged"}, []string{action, subject, old, reason})

	_, err = c.Remove(ctx, "ana", Item{GTIN: testGTIN, Serial: "S2"}, "again")
	require.ErrorIs(t, err, ErrNotInContainer)
	_, err = c.Remove(ctx, "ana", Item{GTIN: testGTIN, Serial: "S3"}, "")
	require.ErrorIs(t, err, ErrReasonRequired)

	// A case off a closed pallet.
	pallet := sscc(t, 3)
	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, pallet, Pallet, "s2", "", Scanned, 1); err != nil {
			return err
		}
		return AddCase(tx, pallet, closed)
	})
	_, err = closeIt(t, c, db, pallet)
	require.NoError(t, err)
	in, err = c.Remove(ctx, "ana", Item{Case: closed}, "wrong pallet")
	require.NoError(t, err)
	assert.Equal(t, pallet, in)
	dis = outbox(t, db)[facts.KindDisaggregate]
	require.Len(t, dis, 2)
	assert.Equal(t, []string{closed}, aggregation(t, dis[1]).ChildContainers)
	assert.NotEqual(t, dis[0].Key, dis[1].Key, "each removal is its own fact")
}

func TestDisaggregate(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{})
	ctx := context.Background()
	open, closed, pallet := sscc(t, 1), sscc(t, 2), sscc(t, 3)
	openCase(t, db, open, "S1")
	openCase(t, db, closed, "S2", "S3")
	_, err := closeIt(t, c, db, closed)
	require.NoError(t, err)

	require.ErrorIs(t, c.Disaggregate(ctx, "ana", closed, ""), ErrReasonRequired)
	require.ErrorIs(t, c.Disaggregate(ctx, "ana", sscc(t, 9), "rework"), ErrNotFound)
	var se *StateError
	require.ErrorAs(t, c.Disaggregate(ctx, "ana", open, "rework"), &se)
	assert.Equal(t, Open, se.State)

	write(t, db, func(tx *sql.Tx) error {
		if err := Create(tx, pallet, Pallet, "s2", "", Scanned, 1); err != nil {
			return err
		}
		return AddCase(tx, pallet, closed)
	})
	var ope *OnPalletError
	require.ErrorAs(t, c.Disaggregate(ctx, "ana", closed, "rework"), &ope)
	assert.Equal(t, OnPalletError{Case: closed, Pallet: pallet}, *ope)
	assert.Contains(t, ope.Error(), "take it off first")
	assert.Empty(t, outbox(t, db)[facts.KindDisaggregate], "refusals queue nothing")

	write(t, db, func(tx *sql.Tx) error { _, err := Undo(tx, "ana", pallet); return err })
	require.NoError(t, c.Disaggregate(ctx, "ana", closed, "rework"))
	k := load(t, db, closed)
	assert.Equal(t, Disaggregated, k.State)
	dis := outbox(t, db)[facts.KindDisaggregate]
	require.Len(t, dis, 1)
	assert.Len(t, aggregation(t, dis[0]).ChildTradeItems, 2, "the cloud is told to take every item out")
	action, _, old, newV, reason := lastAudit(t, db)
	assert.Equal(t, []string{"container.disaggregate", "closed", "disaggregated", "rework"}, []string{action, old, newV, reason})

	// Filled and closed again: the next generation is aggregated anew.
	write(t, db, func(tx *sql.Tx) error {
		if err := Reopen(tx, closed, "s1", "PO-1", 3); err != nil {
			return err
		}
		return AddPack(tx, closed, testGTIN, "S2", "AB12", "261231")
	})
	var rse *StateError
	require.ErrorAs(t, db.Write(ctx, func(tx *sql.Tx) error { return Reopen(tx, closed, "s1", "PO-1", 3) }), &rse, "only a disaggregated container reopens")
	assert.Equal(t, Open, rse.State, rse.Error())
	_, err = closeIt(t, c, db, closed)
	require.NoError(t, err)
	assert.Equal(t, 2, load(t, db, closed).Gen)
	agg := outbox(t, db)[facts.KindAggregate]
	require.Len(t, agg, 2)
	assert.Equal(t, facts.AggregateKey(closed, 2), agg[1].Key)
}

func TestParseItem(t *testing.T) {
	it, err := ParseItem(testGTIN + "/S1")
	require.NoError(t, err)
	assert.Equal(t, Item{GTIN: testGTIN, Serial: "S1"}, it)
	assert.Equal(t, testGTIN+"/S1", it.String())
	s := sscc(t, 7)
	it, err = ParseItem(s)
	require.NoError(t, err)
	assert.Equal(t, Item{Case: s}, it)
	assert.Equal(t, s, it.String())
	for _, bad := range []string{"", "/S1", testGTIN + "/", "395060000000000018", "hello"} {
		_, err := ParseItem(bad)
		var ie *ItemError
		require.ErrorAs(t, err, &ie, bad)
		assert.Contains(t, ie.Error(), "give an SSCC")
	}
}

func TestListAndCounts(t *testing.T) {
	db := openDB(t)
	c, _ := openContainers(t, db, SSCCConfig{})
	ctx := context.Background()
	a, b, p, x := sscc(t, 1), sscc(t, 2), sscc(t, 3), sscc(t, 4)
	openCase(t, db, a, "S1", "S2")
	openCase(t, db, b)
	openCase(t, db, x)
	_, err := closeIt(t, c, db, a)
	require.NoError(t, err)
	write(t, db, func(tx *sql.Tx) error {
		if err := Cancel(tx, "ana", x, 3); err != nil {
			return err
		}
		if err := Create(tx, p, Pallet, "s2", "PO-1", Allocated, 1); err != nil {
			return err
		}
		return AddCase(tx, p, a)
	})
	all, err := c.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, all, 4)
	assert.Equal(t, Tree{SSCC: a, Level: Case, State: Closed, Station: "s1", Order: "PO-1", Parent: p, Packs: []string{testGTIN + "/S1", testGTIN + "/S2"}}, all[0])
	assert.Equal(t, Tree{SSCC: p, Level: Pallet, State: Open, Station: "s2", Order: "PO-1", Children: []string{a}}, all[2])
	open, err := c.List(ctx, "open")
	require.NoError(t, err)
	var ssccs []string
	for _, t := range open {
		ssccs = append(ssccs, t.SSCC)
	}
	assert.Equal(t, []string{b, p}, ssccs)
	none, err := c.List(ctx, "disaggregated")
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = c.List(ctx, "shipped")
	var sfe *StateFilterError
	require.ErrorAs(t, err, &sfe)
	assert.Equal(t, "shipped", sfe.State)
	assert.Contains(t, sfe.Error(), "must be open, closed")

	counts, err := c.Counts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[Level]map[State]int{Case: {Closed: 1, Open: 1, Cancelled: 1}, Pallet: {Open: 1}}, counts)
}

func TestSSCCLabelFollowsItsPrinting(t *testing.T) {
	db := openDB(t)
	c, l := openContainers(t, db, SSCCConfig{CompanyPrefix: prefix, Extension: 3})
	ctx := context.Background()
	var s string
	write(t, db, func(tx *sql.Tx) error {
		var err error
		if s, _, err = c.Allocate(tx); err != nil {
			return err
		}
		if err := Create(tx, s, Case, "s1", "", Allocated, 1); err != nil {
			return err
		}
		return c.QueueLabel(tx, "station:s1", s, "p1")
	})
	action, subject, _, newV, _ := lastAudit(t, db)
	assert.Equal(t, []string{"container.label", s, "p1"}, []string{action, subject, newV})
	labelState := func() string {
		var st string
		require.NoError(t, db.Reader().QueryRow(`SELECT label_state FROM containers WHERE sscc = ?`, s).Scan(&st))
		return st
	}
	assert.Equal(t, "", labelState())
	// A fake printer pulling from the ledger.
	lb, err := l.Next(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, s, lb.Subject)
	assert.Contains(t, string(lb.Data), s, "the label carries its SSCC")
	require.NoError(t, l.Printing(ctx, "p1", lb.Ref))
	assert.Equal(t, "printing", labelState())
	require.NoError(t, l.Printed(ctx, "p1", lb.Ref))
	assert.Equal(t, "printed", labelState())

	write(t, db, func(tx *sql.Tx) error { return c.QueueLabel(tx, "station:s1", s, "p1") })
	lb, err = l.Next(ctx, "p1")
	require.NoError(t, err)
	require.NoError(t, l.Printing(ctx, "p1", lb.Ref))
	require.NoError(t, l.Unknown(ctx, "p1", lb.Ref, "no answer"))
	assert.Equal(t, "unknown", labelState(), "the reprint's outcome is the container's")
}
