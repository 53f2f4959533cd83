package queue

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

// holdBack answers Temporary for the key until released, and delivers the
// rest.
func holdBack(key string, released *atomic.Bool) func(string, []Pending) []Outcome {
	return func(_ string, items []Pending) []Outcome {
		out := make([]Outcome, len(items))
		for i, p := range items {
			if p.Key == key && !released.Load() {
				out[i].Failure = &Failure{Class: Temporary, Message: "HTTP 503"}
			} else {
				out[i].Delivered = true
			}
		}
		return out
	}
}

// A batch ends before its first item still waiting for a dependency; the
// rest follows once the dependency is delivered.
func TestBatchCutBeforeAWaitingItem(t *testing.T) {
	db := openDB(t, store.Config{})
	enqueue(t, db,
		Item{Kind: "commission", Stream: "c", Key: "C1", BatchKey: "b"},
		Item{Kind: "commission", Stream: "c2", Key: "C2", BatchKey: "b"},
		Item{Kind: "decommission", Stream: "d", Key: "D1", BatchKey: "r", DependsOn: []Ref{{"commission", "C1"}}},
		Item{Kind: "decommission", Stream: "d", Key: "D2", BatchKey: "r", DependsOn: []Ref{{"commission", "C2"}}},
		Item{Kind: "decommission", Stream: "d", Key: "D3", BatchKey: "r"},
	)
	var released atomic.Bool
	f := &fakeSender{answer: holdBack("C2", &released)}
	_, stop := run(t, db, f, Config{})
	defer stop()
	waitState(t, db, 3) // C2 and what waits for it
	time.Sleep(20 * time.Millisecond)
	released.Store(true)
	waitState(t, db, 0)
	var d [][]string
	for _, c := range f.requests() {
		if c[0][0] == 'D' {
			d = append(d, c)
		}
	}
	assert.Equal(t, [][]string{{"D1"}, {"D2", "D3"}}, d)
}

// Another stream's item waiting within a batch's range of ids holds back
// nothing of the batch.
func TestWaitingNeighbourDoesNotCutABatch(t *testing.T) {
	db := openDB(t, store.Config{})
	enqueue(t, db,
		Item{Kind: "commission", Stream: "z", Key: "Z", BatchKey: "b"},
		Item{Kind: "commission", Stream: "x", Key: "X1", BatchKey: "b"},
		Item{Kind: "aggregate", Stream: "y", Key: "Y1", DependsOn: []Ref{{"commission", "Z"}}},
		Item{Kind: "commission", Stream: "x", Key: "X2", BatchKey: "b"},
	)
	var released atomic.Bool
	f := &fakeSender{answer: holdBack("Z", &released)}
	_, stop := run(t, db, f, Config{})
	defer stop()
	waitState(t, db, 2) // Z and Y1
	released.Store(true)
	waitState(t, db, 0)
	var x [][]string
	for _, c := range f.requests() {
		if c[0][0] == 'X' {
			x = append(x, c)
		}
	}
	require.Equal(t, [][]string{{"X1", "X2"}}, x)
}
