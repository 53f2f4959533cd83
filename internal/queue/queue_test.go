package queue

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

func openDB(t testing.TB, cfg store.Config) *store.DB {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "data", "q.db")
	}
	db, err := store.Open(context.Background(), cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// fakeSender records requests and answers with a script.
type fakeSender struct {
	mu     sync.Mutex
	calls  [][]string // keys per request
	kinds  []string
	answer func(kind string, items []Pending) []Outcome
}

func (f *fakeSender) Send(_ context.Context, kind string, items []Pending) []Outcome {
	f.mu.Lock()
	var keys []string
	for _, p := range items {
		keys = append(keys, p.Key)
	}
	f.calls = append(f.calls, keys)
	f.kinds = append(f.kinds, kind)
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(kind, items)
	}
	out := make([]Outcome, len(items))
	for i := range out {
		out[i].Delivered = true
	}
	return out
}

func (f *fakeSender) requests() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}

func run(t testing.TB, db *store.DB, s Sender, cfg Config) (*Dispatcher, func()) {
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
		cfg.MaxBackoff = 5 * time.Millisecond
	}
	d := NewDispatcher(db, s, cfg, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return d, func() { cancel(); <-done }
}

func waitState(t testing.TB, db *store.DB, pending int) {
	t.Helper()
	require.Eventually(t, func() bool {
		s, err := ReadStats(context.Background(), db)
		return err == nil && s.Pending == pending
	}, 10*time.Second, 5*time.Millisecond)
}

func enqueue(t testing.TB, db *store.DB, items ...Item) {
	t.Helper()
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		for _, it := range items {
			if it.Payload == nil {
				it.Payload = []byte(`{"k":"` + it.Key + `"}`)
			}
			if _, err := New(db).Enqueue(tx, it); err != nil {
				return err
			}
		}
		return nil
	}))
}

func TestFIFOBatchingAndDependencies(t *testing.T) {
	db := openDB(t, store.Config{})
	enqueue(t, db,
		Item{Kind: "commission", Stream: "po-1", Key: "A", BatchKey: "B1"},
		Item{Kind: "commission", Stream: "po-1", Key: "B", BatchKey: "B1"},
		Item{Kind: "commission", Stream: "po-1", Key: "C", BatchKey: "B2"},
		Item{Kind: "aggregate", Stream: "po-1", Key: "SSCC1", DependsOn: []Ref{{"commission", "A"}, {"commission", "B"}}},
		Item{Kind: "commission", Stream: "po-1", Key: "D", BatchKey: "B2"},
		Item{Kind: "commission", Stream: "po-2", Key: "X", BatchKey: "B1"},
	)
	f := &fakeSender{}
	_, stop := run(t, db, f, Config{MaxBatch: map[string]int{"commission": 2}})
	defer stop()
	waitState(t, db, 0)
	calls := f.requests()
	var po1 [][]string
	for _, c := range calls {
		if c[0] != "X" {
			po1 = append(po1, c)
		}
	}
	assert.Equal(t, [][]string{{"A", "B"}, {"C"}, {"SSCC1"}, {"D"}}, po1, "FIFO in the stream, batches of one batch key")
	assert.Contains(t, calls, []string{"X"})
}

func TestRetryParkAuthAndAlreadyDone(t *testing.T) {
	db := openDB(t, store.Config{})
	enqueue(t, db,
		Item{Kind: "commission", Stream: "s", Key: "flaky"},
		Item{Kind: "commission", Stream: "s", Key: "refused"},
		Item{Kind: "aggregate", Stream: "t", Key: "needs-refused", DependsOn: []Ref{{"commission", "refused"}}},
		Item{Kind: "commission", Stream: "u", Key: "token"},
	)
	var mu sync.Mutex
	tries := map[string]int{}
	f := &fakeSender{answer: func(kind string, items []Pending) []Outcome {
		mu.Lock()
		defer mu.Unlock()
		out := make([]Outcome, len(items))
		for i, p := range items {
			tries[p.Key]++
			switch {
			case p.Key == "flaky" && tries[p.Key] < 3:
				out[i].Failure = &Failure{Class: Temporary, Message: "HTTP 503"}
			case p.Key == "refused":
				out[i].Failure = &Failure{Class: Permanent, Message: "HTTP 400 ValidationError: batch"}
			case p.Key == "token" && tries[p.Key] == 1:
				out[i].Failure = &Failure{Class: Auth, Message: "HTTP 401"}
			default:
				out[i].Delivered = true
			}
		}
		return out
	}}
	_, stop := run(t, db, f, Config{MaxBatch: map[string]int{"commission": 1}, AuthPause: 50 * time.Millisecond})
	defer stop()
	require.Eventually(t, func() bool {
		s, _ := ReadStats(context.Background(), db)
		return s.Pending == 1 && s.Parked == 1 && s.Delivered == 2
	}, 5*time.Second, 5*time.Millisecond)
	recs, err := List(context.Background(), db, StateParked, 0, false)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "refused", recs[0].Key)
	assert.Equal(t, "HTTP 400 ValidationError: batch", recs[0].LastError)
	parkedID := recs[0].ID
	pending, _ := List(context.Background(), db, StatePending, 0, false)
	assert.Equal(t, "needs-refused", pending[0].Key, "a parked item blocks only what depends on it")
	all, _ := List(context.Background(), db, StateDelivered, 0, false)
	for _, r := range all {
		if r.Key == "flaky" {
			assert.Equal(t, 2, r.Attempts, "two failed attempts before delivery")
		}
		if r.Key == "token" {
			assert.Equal(t, 0, r.Attempts, "a refused token spends no attempt")
		}
	}

	// A person retries the parked item; now the cloud takes it.
	f.mu.Lock()
	f.answer = nil
	f.mu.Unlock()
	require.NoError(t, Retry(context.Background(), db, parkedID, "supervisor", "batch registered"))
	waitState(t, db, 0)
	var n int
	require.NoError(t, db.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'queue.retry' AND actor = 'supervisor' AND reason = 'batch registered'`).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestBackoff(t *testing.T) {
	d := NewDispatcher(nil, nil, Config{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: 30 * time.Second}, zerolog.Nop())
	for i := 0; i < 200; i++ {
		assert.LessOrEqual(t, d.backoff(0, 0), 100*time.Millisecond)
		assert.LessOrEqual(t, d.backoff(20, 0), time.Second, "capped")
		assert.GreaterOrEqual(t, d.backoff(0, 5*time.Second), 5*time.Second, "Retry-After honoured")
		assert.Equal(t, 30*time.Second, d.backoff(0, time.Hour), "Retry-After capped")
	}
}

func TestEnqueueRules(t *testing.T) {
	db := openDB(t, store.Config{})
	ctx := context.Background()
	id, err := New(db).EnqueueNow(ctx, Item{Kind: "commission", Stream: "s", Key: "A", Payload: []byte(`{"a":1}`)})
	require.NoError(t, err)
	again, err := New(db).EnqueueNow(ctx, Item{Kind: "commission", Stream: "s", Key: "A", Payload: []byte(`{"a":1}`)})
	require.NoError(t, err)
	assert.Equal(t, id, again, "the same fact twice is one item")
	_, err = New(db).EnqueueNow(ctx, Item{Kind: "commission", Stream: "s", Key: "A", Payload: []byte(`{"a":2}`)})
	require.ErrorIs(t, err, ErrConflict)
	_, err = New(db).EnqueueNow(ctx, Item{Kind: "commission", Key: "B"})
	require.ErrorContains(t, err, "needs a kind, a stream and a key")

	// The item is stored only if the caller's transaction commits.
	err = db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := New(db).Enqueue(tx, Item{Kind: "commission", Stream: "s", Key: "rolled-back", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		return fmt.Errorf("the state change failed")
	})
	require.Error(t, err)
	recs, _ := List(ctx, db, "", 0, false)
	require.Len(t, recs, 1)

	require.ErrorContains(t, Park(ctx, db, id, "sup", ""), "needs a reason")
	require.NoError(t, Park(ctx, db, id, "sup", "wrong product"))
	require.ErrorIs(t, Park(ctx, db, 999, "sup", "x"), ErrNotFound)
	var buf bytes.Buffer
	n, err := Export(ctx, db, &buf)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Contains(t, buf.String(), `"state":"parked"`)
	assert.Contains(t, buf.String(), `"last_error":"parked by sup: wrong product"`)
	assert.Contains(t, buf.String(), `"payload":{"a":1}`)
}

func TestDiskFull(t *testing.T) {
	db := openDB(t, store.Config{MaxPageCount: 80})
	ctx := context.Background()
	big := []byte(`"` + strings.Repeat("x", 2000) + `"`)
	var acked []string
	var err error
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("K%d", i)
		if _, err = New(db).EnqueueNow(ctx, Item{Kind: "commission", Stream: "s", Key: key, Payload: big}); err != nil {
			break
		}
		acked = append(acked, key)
	}
	require.ErrorIs(t, err, ErrDiskFull, "a clear refusal")
	recs, err := List(ctx, db, "", 0, false)
	require.NoError(t, err)
	assert.Len(t, recs, len(acked), "everything acknowledged is stored; nothing else")

	// Deliver (and purge) to make room: service resumes.
	f := &fakeSender{}
	_, stop := run(t, db, f, Config{Retention: time.Nanosecond, PurgeEvery: 10 * time.Millisecond})
	defer stop()
	waitState(t, db, 0)
	require.Eventually(t, func() bool {
		_, err := New(db).EnqueueNow(ctx, Item{Kind: "commission", Stream: "s", Key: "after", Payload: big})
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "normal service once space returns")
}

// Two services behind one dispatcher answer apart: a repository down while
// the cloud answers is reported as the repository, steadily, and the cloud
// as reachable.
func TestReachabilityIsPerService(t *testing.T) {
	db := openDB(t, store.Config{})
	var down atomic.Bool
	down.Store(true)
	s := &fakeSender{answer: func(kind string, items []Pending) []Outcome {
		out := make([]Outcome, len(items))
		for i := range out {
			if kind == "event" && down.Load() {
				out[i].Failure = &Failure{Class: Temporary, Message: "repository: 503"}
			} else {
				out[i].Delivered = true
			}
		}
		return out
	}}
	d, stop := run(t, db, s, Config{Service: func(kind string) string {
		if kind == "event" {
			return "repo"
		}
		return ""
	}})
	defer stop()
	enqueue(t, db, Item{Kind: "event", Stream: "events", Key: "e1"})
	for i := 0; i < 20; i++ {
		enqueue(t, db, Item{Kind: "commission", Stream: "s", Key: fmt.Sprintf("c%d", i)})
	}
	require.Eventually(t, func() bool {
		st, err := d.Stats(context.Background())
		return err == nil && st.Pending == 1 && !st.Services["repo"].FailingSince.IsZero()
	}, 10*time.Second, 5*time.Millisecond)
	st, err := d.Stats(context.Background())
	require.NoError(t, err)
	assert.True(t, st.FailingSince.IsZero(), "the cloud answers")
	assert.Equal(t, "repository: 503", st.Services["repo"].LastFailure)
	down.Store(false)
	waitState(t, db, 0)
	require.Eventually(t, func() bool {
		st, err := d.Stats(context.Background())
		return err == nil && len(st.Services) == 0
	}, 10*time.Second, 5*time.Millisecond)
}

// While the service gives only temporary failures, the dispatcher says
// since when and why; its first answer clears that.
func TestReachabilityIsReported(t *testing.T) {
	db := openDB(t, store.Config{})
	var down atomic.Bool
	down.Store(true)
	s := &fakeSender{answer: func(_ string, items []Pending) []Outcome {
		out := make([]Outcome, len(items))
		for i := range out {
			if down.Load() {
				out[i].Failure = &Failure{Class: Temporary, Message: "dial tcp: connection refused"}
			} else {
				out[i].Delivered = true
			}
		}
		return out
	}}
	d, stop := run(t, db, s, Config{})
	defer stop()
	enqueue(t, db, Item{Kind: "commission", Stream: "s", Key: "a"})
	require.Eventually(t, func() bool {
		st, err := d.Stats(context.Background())
		return err == nil && !st.FailingSince.IsZero() && st.LastFailure == "dial tcp: connection refused"
	}, 10*time.Second, 5*time.Millisecond)
	down.Store(false)
	waitState(t, db, 0)
	require.Eventually(t, func() bool {
		st, err := d.Stats(context.Background())
		return err == nil && st.FailingSince.IsZero() && st.LastFailure == "" && !st.LastSuccess.IsZero()
	}, 10*time.Second, 5*time.Millisecond)
}

// TestStatsAndListsReadIndexes: the stats and the queue page's lists read
// a few rows at the front of an index whatever the outbox holds: no scan
// of the outbox, no sort of every item in a state.
func TestStatsAndListsReadIndexes(t *testing.T) {
	db := openDB(t, store.Config{})
	plan := func(q string) string {
		rows, err := db.Reader().Query(`EXPLAIN QUERY PLAN ` + q)
		require.NoError(t, err)
		defer rows.Close()
		var steps []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			steps = append(steps, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(steps, "; ")
	}
	for q, index := range map[string]string{
		statsQuery:                           "outbox_pending",
		listQuery(StatePending, 50, "ASC"):   "outbox_pending",
		listQuery(StateParked, 100, "DESC"):  "outbox_parked",
		listQuery(StatePending, 100, "DESC"): "outbox_pending",
	} {
		p := plan(q)
		assert.Contains(t, p, "INDEX "+index, q)
		assert.NotContains(t, p, "TEMP B-TREE", q)
		assert.NotContains(t, p, "SCAN counters", q)
	}
}
