package audit_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
)

// ids lists the entries' ids in order.
func ids(es []audit.Entry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// queryLog writes six entries at known times:
//
//	#1 10:00:00Z     user:Ana  label.resolve  SN1
//	#2 10:00:00.5Z   user:Bob  label.resolve  SN2
//	#3 10:00:01Z     user:Ana  queue.park     outbox/1
//	#4 10:30:00Z     user:Ana  label.resolve  SN1
//	#5 11:00:00Z     cli:root  queue.retry    outbox/1
//	#6 11:00:00.25Z  user:Bob  label.reprint  SN2
func queryLog(t *testing.T) *sql.DB {
	t.Helper()
	db := openDB(t)
	base := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, e := range []struct {
		at                     time.Duration
		actor, action, subject string
	}{
		{0, "user:Ana", "label.resolve", "SN1"},
		{500 * time.Millisecond, "user:Bob", "label.resolve", "SN2"},
		{time.Second, "user:Ana", "queue.park", "outbox/1"},
		{30 * time.Minute, "user:Ana", "label.resolve", "SN1"},
		{time.Hour, "cli:root", "queue.retry", "outbox/1"},
		{time.Hour + 250*time.Millisecond, "user:Bob", "label.reprint", "SN2"},
	} {
		restore := audit.SetClock(func() time.Time { return base.Add(e.at) })
		require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
			return audit.Write(tx, e.actor, e.action, e.subject, "", "", "")
		}))
		restore()
	}
	return db.Reader()
}

func TestQueryFilters(t *testing.T) {
	db := queryLog(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	for _, c := range []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"everything, newest first", audit.Filter{}, []int64{6, 5, 4, 3, 2, 1}},
		{"user", audit.Filter{User: "user:Ana"}, []int64{4, 3, 1}},
		{"action", audit.Filter{Action: "label.resolve"}, []int64{4, 2, 1}},
		{"subject", audit.Filter{Subject: "outbox/1"}, []int64{5, 3}},
		{"user and action", audit.Filter{User: "user:Ana", Action: "label.resolve"}, []int64{4, 1}},
		{"from, inclusive", audit.Filter{From: at("2025-03-04T10:00:01Z")}, []int64{6, 5, 4, 3}},
		{"to, exclusive", audit.Filter{To: at("2025-03-04T10:00:01Z")}, []int64{2, 1}},
		// 10:00:00Z is before 10:00:00.5Z although its text sorts after it.
		{"within a second", audit.Filter{From: at("2025-03-04T10:00:00.5Z")}, []int64{6, 5, 4, 3, 2}},
		{"within a second, to", audit.Filter{To: at("2025-03-04T11:00:00.25Z")}, []int64{5, 4, 3, 2, 1}},
		{"a time zone other than UTC", audit.Filter{From: at("2025-03-04T13:00:00+02:00")}, []int64{6, 5}},
		{"from and to", audit.Filter{From: at("2025-03-04T10:00:00.000000001Z"), To: at("2025-03-04T11:00:00Z")}, []int64{4, 3, 2}},
		{"before", audit.Filter{Before: 4}, []int64{3, 2, 1}},
		{"before and user", audit.Filter{User: "user:Bob", Before: 6}, []int64{2}},
		{"no match", audit.Filter{User: "user:Eve"}, []int64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, next, err := audit.Query(context.Background(), db, c.f)
			require.NoError(t, err)
			require.Equal(t, c.want, ids(es))
			require.Zero(t, next, "one page holds them all")
		})
	}
	es, _, err := audit.Query(context.Background(), db, audit.Filter{Before: 2})
	require.NoError(t, err)
	require.Equal(t, "2025-03-04T10:00:00Z", es[0].At)
	require.Equal(t, es[0].Sum(), es[0].Hash, "entries come with their hashes")
}

// TestQueryPages: following next visits every entry once, newest first.
func TestQueryPages(t *testing.T) {
	db := queryLog(t)
	var seen []int64
	var pages int
	f := audit.Filter{Limit: 4}
	for {
		es, next, err := audit.Query(context.Background(), db, f)
		require.NoError(t, err)
		seen = append(seen, ids(es)...)
		pages++
		if next == 0 {
			break
		}
		require.Equal(t, es[len(es)-1].ID, next)
		f.Before = next
	}
	require.Equal(t, []int64{6, 5, 4, 3, 2, 1}, seen)
	require.Equal(t, 2, pages)

	es, next, err := audit.Query(context.Background(), db, audit.Filter{User: "user:Ana", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []int64{4, 3}, ids(es))
	require.Equal(t, int64(3), next)
	es, next, err = audit.Query(context.Background(), db, audit.Filter{User: "user:Ana", Limit: 2, Before: next})
	require.NoError(t, err)
	require.Equal(t, []int64{1}, ids(es))
	require.Zero(t, next)

	// Exactly a page full: no next page.
	es, next, err = audit.Query(context.Background(), db, audit.Filter{Limit: 6})
	require.NoError(t, err)
	require.Len(t, es, 6)
	require.Zero(t, next)
}

// TestQueryUsesIndexes: each filter is served by its index of migration
// 0007; user, action and subject in id order, without sorting (a time
// range is sorted, only the entries within it).
func TestQueryUsesIndexes(t *testing.T) {
	db := queryLog(t)
	from := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		f     audit.Filter
		index string
	}{
		{audit.Filter{User: "user:Ana", Before: 9}, "audit_log_actor"},
		{audit.Filter{Action: "label.resolve"}, "audit_log_action"},
		{audit.Filter{Subject: "SN1", Before: 9}, "audit_log_subject"},
		{audit.Filter{From: from, To: from.Add(time.Hour)}, "audit_log_time"},
	} {
		plan, err := audit.Plan(db, c.f)
		require.NoError(t, err)
		require.Contains(t, plan, "INDEX "+c.index, "%+v", c.f)
		if c.index != "audit_log_time" {
			require.NotContains(t, plan, "TEMP B-TREE", "%+v: entries come in id order from the index", c.f)
		}
	}
	plan, err := audit.Plan(db, audit.Filter{Before: 9})
	require.NoError(t, err)
	require.Contains(t, plan, "USING INTEGER PRIMARY KEY")
}
