package queue

import (
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

// Totals counts outcomes whose record committed: an outcome rolled back
// (here by the delivery hook, once) is not counted, and the batch sent
// again is counted once.
func TestTotalsCountCommittedOutcomes(t *testing.T) {
	db := openDB(t, store.Config{})
	enqueue(t, db,
		Item{Kind: "commission", Stream: "s", Key: "A", BatchKey: "b"},
		Item{Kind: "commission", Stream: "s", Key: "B", BatchKey: "b"},
		Item{Kind: "commission", Stream: "s", Key: "refused", BatchKey: "b"},
	)
	f := &fakeSender{answer: func(_ string, items []Pending) []Outcome {
		out := make([]Outcome, len(items))
		for i, p := range items {
			if p.Key == "refused" {
				out[i].Failure = &Failure{Class: Permanent, Message: "HTTP 400"}
			} else {
				out[i].Delivered = true
			}
		}
		return out
	}}
	var hooks atomic.Int32
	d, stop := run(t, db, f, Config{OnDelivered: func(*sql.Tx, []Pending) error {
		if hooks.Add(1) == 1 {
			return errors.New("the domain could not record it")
		}
		return nil
	}})
	defer stop()
	dl, pk := d.Totals()
	assert.Zero(t, dl+pk, "nothing before the first outcome")
	require.Eventually(t, func() bool { dl, pk = d.Totals(); return dl == 2 && pk == 1 }, 5*time.Second, time.Millisecond)
	assert.Len(t, f.requests(), 2, "the batch whose record was rolled back went again")
	assert.ElementsMatch(t, []string{"A", "B"}, dbKeys(t, db, `SELECT key FROM outbox WHERE state = 'delivered'`))
	assert.Equal(t, []string{"refused"}, dbKeys(t, db, `SELECT key FROM outbox WHERE state = 'parked'`))
	time.Sleep(20 * time.Millisecond) // nothing is left to count
	dl, pk = d.Totals()
	assert.Equal(t, [2]uint64{2, 1}, [2]uint64{dl, pk})
}
