package queue

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

// keysOf lists the items' keys.
func keysOf(items []Pending) []string {
	var out []string
	for _, p := range items {
		out = append(out, p.Key)
	}
	return out
}

// dbKeys reads one column of keys. It may be called from the
// dispatcher's goroutines: a failure is reported, not fatal.
func dbKeys(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.Reader().Query(q)
	if !assert.NoError(t, err) {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		assert.NoError(t, rows.Scan(&k))
		out = append(out, k)
	}
	assert.NoError(t, rows.Err())
	return out
}

// openCommissioned opens a database with the domain's table of the hook
// tests: a serial moves to commissioned when its commission is delivered.
// The primary key makes a second write of the same serial fail.
func openCommissioned(t *testing.T) *store.DB {
	t.Helper()
	db := openDB(t, store.Config{})
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE commissioned (key TEXT PRIMARY KEY)`)
		return err
	}))
	return db
}

// OnDelivered writes in the transaction that records the delivery: what it
// writes exists exactly when the items are delivered, and each delivered
// item is passed in one committed transaction only.
func TestOnDeliveredInTheSameTransaction(t *testing.T) {
	db := openCommissioned(t)
	enqueue(t, db,
		Item{Kind: "commission", Stream: "s", Key: "A", BatchKey: "b"},
		Item{Kind: "commission", Stream: "s", Key: "B", BatchKey: "b"},
		Item{Kind: "commission", Stream: "s", Key: "refused", BatchKey: "b"},
		Item{Kind: "commission", Stream: "s", Key: "C", BatchKey: "b"},
		Item{Kind: "commission", Stream: "t", Key: "flaky"},
	)

	var mu sync.Mutex
	var calls [][]string // the keys of each hook call
	sends := map[string]int{}
	failed := false
	hook := func(tx *sql.Tx, items []Pending) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, keysOf(items))
		for _, p := range items {
			if _, err := tx.Exec(`INSERT INTO commissioned (key) VALUES (?)`, p.Key); err != nil {
				return err
			}
		}
		if items[0].Key == "A" && !failed {
			failed = true
			return errors.New("the line's state could not be written")
		}
		return nil
	}
	var between struct {
		pending, commissioned []string
		lastError             string
	}
	f := &fakeSender{answer: func(kind string, items []Pending) []Outcome {
		mu.Lock()
		defer mu.Unlock()
		out := make([]Outcome, len(items))
		for i, p := range items {
			sends[p.Key]++
			switch {
			case p.Key == "refused":
				out[i].Failure = &Failure{Class: Permanent, Message: "refused"}
			case p.Key == "flaky" && sends[p.Key] == 1:
				out[i].Failure = &Failure{Class: Temporary, Message: "HTTP 503"}
			default:
				out[i].Delivered = true
			}
		}
		if items[0].Key == "A" && sends["A"] == 2 {
			// Sent again after the first outcome was rolled back: nothing
			// of it is left.
			between.pending = dbKeys(t, db, `SELECT key FROM outbox WHERE stream = 's' AND state = 'pending' ORDER BY id`)
			between.commissioned = dbKeys(t, db, `SELECT key FROM commissioned WHERE key != 'flaky'`)
			assert.NoError(t, db.Reader().QueryRow(`SELECT last_error FROM outbox WHERE key = 'A'`).Scan(&between.lastError))
		}
		return out
	}}
	_, stop := run(t, db, f, Config{OnDelivered: hook})
	defer stop()
	waitState(t, db, 0)
	stop()

	assert.Equal(t, []string{"A", "B", "refused", "C"}, between.pending, "the rolled-back outcome left every item pending, the refusal too")
	assert.Empty(t, between.commissioned, "and none of the hook's writes")
	assert.Equal(t, "record the outcome: after delivery: the line's state could not be written", between.lastError)

	assert.ElementsMatch(t, [][]string{{"A", "B", "C"}, {"A", "B", "C"}, {"flaky"}}, calls,
		"delivered items only, the refused one and the failed attempt never")
	assert.Equal(t, []string{"A", "B", "C", "flaky"}, dbKeys(t, db, `SELECT key FROM commissioned ORDER BY key`), "each once")
	assert.Equal(t, []string{"A", "B", "C", "flaky"}, dbKeys(t, db, `SELECT key FROM outbox WHERE state = 'delivered' ORDER BY key`))
	assert.Equal(t, []string{"refused"}, dbKeys(t, db, `SELECT key FROM outbox WHERE state = 'parked'`))
}

// Batches of several streams answered together are recorded in one
// transaction, each in a savepoint of its own: a hook that fails for one
// batch rolls back that batch alone, which goes again later, and the
// others are delivered by that transaction.
func TestOutcomesRecordedTogether(t *testing.T) {
	db := openCommissioned(t)
	enqueue(t, db,
		Item{Kind: "commission", Stream: "s1", Key: "A"},
		Item{Kind: "commission", Stream: "s2", Key: "B"},
		Item{Kind: "commission", Stream: "s3", Key: "bad"},
		Item{Kind: "commission", Stream: "s4", Key: "C"},
	)
	// The four requests are answered once all four have come.
	var arrived sync.WaitGroup
	arrived.Add(4)
	s := &fakeSender{answer: func(_ string, items []Pending) []Outcome {
		if items[0].Attempts == 0 {
			arrived.Done()
			arrived.Wait()
		}
		return []Outcome{{Delivered: true}}
	}}
	var mu sync.Mutex
	txOf := map[string]*sql.Tx{}
	badFailed := false
	hook := func(tx *sql.Tx, items []Pending) error {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range items {
			if _, err := tx.Exec(`INSERT INTO commissioned (key) VALUES (?)`, p.Key); err != nil {
				return err
			}
			if p.Key == "bad" && !badFailed {
				badFailed = true
				return errors.New("the line's state could not be written")
			}
			txOf[p.Key] = tx
		}
		return nil
	}
	d, stop := run(t, db, s, Config{Workers: 4, OnDelivered: hook, RecordWait: time.Minute})
	defer stop()
	waitState(t, db, 0)
	delivered, parked := d.Totals()
	assert.Equal(t, uint64(4), delivered)
	assert.Zero(t, parked)
	mu.Lock()
	assert.True(t, badFailed)
	assert.Same(t, txOf["A"], txOf["B"], "recorded in one transaction")
	assert.Same(t, txOf["A"], txOf["C"], "recorded in one transaction")
	assert.NotSame(t, txOf["A"], txOf["bad"], "the failed batch went again")
	mu.Unlock()
	assert.ElementsMatch(t, []string{"A", "B", "C", "bad"}, dbKeys(t, db, `SELECT key FROM commissioned`))
	assert.ElementsMatch(t, []string{"A", "B", "C", "bad"}, dbKeys(t, db, `SELECT key FROM outbox WHERE state = 'delivered'`))
}
