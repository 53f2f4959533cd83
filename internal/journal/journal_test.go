package journal_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

const (
	gtin  = "09506000134352"
	site  = "9506000000008" // a GLN with its check digit
	sscc1 = "095060000000000015"
	sscc2 = "095060000000000022"
)

func open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "j.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// clock steps a millisecond a call, so that each event has its own time.
func clock() func() time.Time {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	return func() time.Time { at = at.Add(time.Millisecond); return at }
}

func write(t *testing.T, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	require.NoError(t, db.Write(context.Background(), fn))
}

func TestJournalWritesEachFactsEventAndQueriesThem(t *testing.T) {
	db := open(t)
	ob := queue.New(db)
	j, err := journal.New(ob, journal.Config{Site: site, ReadPointExtension: "LINE1", Capture: true, Now: clock()})
	require.NoError(t, err)
	ctx := context.Background()

	write(t, db, func(tx *sql.Tx) error {
		for _, s := range []string{"S1", "S2", "S3"} {
			if err := j.Commission(tx, "ORDER-1", gtin, s, "LOT7", "271200"); err != nil {
				return err
			}
		}
		if err := j.Pack(tx, sscc1, []journal.Pack{{gtin, "S1"}, {gtin, "S2"}}, nil); err != nil {
			return err
		}
		if err := j.Pack(tx, sscc2, nil, []string{sscc1}); err != nil {
			return err
		}
		if err := j.Unpack(tx, sscc1, []journal.Pack{{gtin, "S2"}}, nil); err != nil {
			return err
		}
		if err := j.Decommission(tx, "ORDER-1", "destroy", gtin, "S2"); err != nil {
			return err
		}
		return j.Ship(tx, "DESADV-9", []string{sscc2})
	})

	all, err := journal.Query(ctx, db.Reader(), journal.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 8)
	var types []string
	for _, e := range all {
		ev, err := epcis.DecodeEvent(e.Event)
		require.NoError(t, err)
		b := ev.Common()
		types = append(types, ev.Type()+" "+b.Action+" "+b.BizStep)
		// The eventID is the canonical hash of the event as journalled:
		// anyone recomputes it from the stored JSON.
		id, err := epcis.EventHash(e.Event, epcis.DefaultNamespaces)
		require.NoError(t, err)
		require.Equal(t, b.EventID, id)
		require.Equal(t, "https://id.gs1.org/414/9506000000008/254/LINE1", b.ReadPoint.ID)
	}
	require.Equal(t, []string{
		"ObjectEvent ADD commissioning", "ObjectEvent ADD commissioning", "ObjectEvent ADD commissioning",
		"AggregationEvent ADD packing", "AggregationEvent ADD packing", "AggregationEvent DELETE unpacking",
		"ObjectEvent DELETE destroying", "ObjectEvent OBSERVE shipping",
	}, types)

	first, err := epcis.DecodeEvent(all[0].Event)
	require.NoError(t, err)
	il := first.(*epcis.ObjectEvent).ILMD
	require.Equal(t, "LOT7", il.LotNumber)
	require.Equal(t, "2027-12-31", il.ItemExpirationDate, "day 00 is the month's last day")

	// Every event is in the outbox for the repository, in journal order.
	items, err := queue.List(ctx, db, "", 100, true)
	require.NoError(t, err)
	require.Len(t, items, 8)
	slices.Reverse(items) // newest first
	for i, it := range items {
		require.Equal(t, facts.KindEPCIS, it.Kind)
		require.JSONEq(t, string(all[i].Event), string(it.Payload))
	}

	// By EPC: S2 was commissioned, packed, unpacked and destroyed.
	s2, err := epcis.IDs{}.SGTIN(gtin, "S2")
	require.NoError(t, err)
	got, err := journal.Query(ctx, db.Reader(), journal.Filter{EPC: s2})
	require.NoError(t, err)
	require.Len(t, got, 4)

	// By business step, in either form; by type; by time.
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{BizStep: "https://ref.gs1.org/cbv/BizStep-packing"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{EventType: epcis.TypeAggregationEvent})
	require.NoError(t, err)
	require.Len(t, got, 3)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{From: t0.Add(2 * time.Millisecond), To: t0.Add(4 * time.Millisecond)})
	require.NoError(t, err)
	require.Len(t, got, 2)

	// An order's events: every event of an EPC it commissioned (the
	// case holding S1 and S2, the unpacking and the destruction of S2; not
	// the pallet, which holds the case and no pack of the order).
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{Order: "ORDER-1"})
	require.NoError(t, err)
	require.Len(t, got, 6)

	// Paging.
	page, err := journal.Query(ctx, db.Reader(), journal.Filter{Limit: 3})
	require.NoError(t, err)
	require.Len(t, page, 3)
	rest, err := journal.Query(ctx, db.Reader(), journal.Filter{After: page[2].Seq})
	require.NoError(t, err)
	require.Len(t, rest, 5)

	counts, err := journal.Counts(ctx, db.Reader())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"ObjectEvent commissioning": 3, "AggregationEvent packing": 2, "AggregationEvent unpacking": 1,
		"ObjectEvent destroying": 1, "ObjectEvent shipping": 1}, counts)
}

// An event is found by its eventID; a time bound between two milliseconds
// takes the events as they happened (they are kept to the millisecond).
func TestJournalQueryByEventIDAndBetweenMilliseconds(t *testing.T) {
	db := open(t)
	j, err := journal.New(queue.New(db), journal.Config{Now: clock()})
	require.NoError(t, err)
	ctx := context.Background()
	write(t, db, func(tx *sql.Tx) error {
		for _, s := range []string{"S1", "S2", "S3"} {
			if err := j.Commission(tx, "", gtin, s, "", ""); err != nil {
				return err
			}
		}
		return nil
	})
	all, err := journal.Query(ctx, db.Reader(), journal.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	second, err := epcis.DecodeEvent(all[1].Event)
	require.NoError(t, err)
	got, err := journal.Query(ctx, db.Reader(), journal.Filter{EventID: second.Common().EventID})
	require.NoError(t, err)
	require.Equal(t, []journal.Entry{all[1]}, got)
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{EventID: "ni:///sha-256;00?ver=CBV2.0"})
	require.NoError(t, err)
	require.Empty(t, got)

	// The events are at 10:00:00.001, .002 and .003 (CET).
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	half := 500 * time.Microsecond
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{From: t0.Add(time.Millisecond + half)})
	require.NoError(t, err)
	require.Len(t, got, 2, "GE 1.5 ms: not the event at 1 ms")
	got, err = journal.Query(ctx, db.Reader(), journal.Filter{To: t0.Add(2*time.Millisecond + half)})
	require.NoError(t, err)
	require.Len(t, got, 2, "LT 2.5 ms: the event at 2 ms too")
}

func TestJournalIsWrittenWithItsFactOrNotAtAll(t *testing.T) {
	db := open(t)
	j, err := journal.New(queue.New(db), journal.Config{Now: clock()})
	require.NoError(t, err)
	boom := errors.New("the fact failed")
	err = db.Write(context.Background(), func(tx *sql.Tx) error {
		if err := j.Commission(tx, "", gtin, "S1", "", ""); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	all, err := journal.Query(context.Background(), db.Reader(), journal.Filter{})
	require.NoError(t, err)
	require.Empty(t, all, "an event of a fact rolled back is rolled back with it")

	// Without a capture URL nothing is queued.
	write(t, db, func(tx *sql.Tx) error { return j.Commission(tx, "", gtin, "S1", "", "") })
	items, err := queue.List(context.Background(), db, "", 100, false)
	require.NoError(t, err)
	require.Empty(t, items)

	// The journal is a record.
	err = db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM epcis_events`)
		return err
	})
	require.ErrorContains(t, err, "never deleted")
}

func TestJournalSkipsAFactWithoutAValidEPCAndSaysSo(t *testing.T) {
	db := open(t)
	j, err := journal.New(queue.New(db), journal.Config{Now: clock()})
	require.NoError(t, err)
	write(t, db, func(tx *sql.Tx) error { return j.Commission(tx, "", "09506000134353", "S1", "", "") })
	require.EqualValues(t, 1, j.Skipped())
	all, err := journal.Query(context.Background(), db.Reader(), journal.Filter{})
	require.NoError(t, err)
	require.Empty(t, all)
}

func TestJournalConfigErrorsNameTheSetting(t *testing.T) {
	_, err := journal.New(nil, journal.Config{Site: "9506000000009"})
	require.EqualError(t, err, "epcis.site: GLN 9506000000009: incorrect check digit")
	_, err = journal.New(nil, journal.Config{ReadPointExtension: "L1"})
	require.ErrorContains(t, err, "epcis.read_point")
	_, err = journal.New(nil, journal.Config{IDs: epcis.IDs{Syntax: epcis.URN}})
	require.ErrorContains(t, err, "epcis.company_prefix_length")
	j, err := journal.New(nil, journal.Config{Site: site, IDs: epcis.IDs{Syntax: epcis.URN, CompanyPrefixLength: 7}})
	require.NoError(t, err)
	require.NotNil(t, j)
}

func TestNilJournalWritesNothing(t *testing.T) {
	var j *journal.Journal
	require.NoError(t, j.Commission(nil, "", gtin, "S1", "", ""))
	require.NoError(t, j.Pack(nil, sscc1, nil, nil))
	require.NoError(t, j.Unpack(nil, sscc1, nil, nil))
	require.NoError(t, j.Decommission(nil, "", "destroy", gtin, "S1"))
	require.NoError(t, j.Ship(nil, "", []string{sscc1}))
	require.Zero(t, j.Skipped())
}
