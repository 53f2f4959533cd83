package printer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

// odoQueue is a ledger that keeps odometers (printer.OdometerLedger): it
// notes, for each label, the value the runner told it last before the
// label was recorded printing and before it was recorded printed, whether
// by Printing and Printed or by a Handover.
type odoQueue struct {
	*printer.Queue
	mu            sync.Mutex
	last          int64
	told          int
	before, after map[label.Ref]int64
}

func (q *odoQueue) Odometer(_ string, n int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last, q.told = n, q.told+1
}

func (q *odoQueue) Printing(ctx context.Context, p string, r label.Ref) error {
	q.mu.Lock()
	q.before[r] = q.last
	q.mu.Unlock()
	return q.Queue.Printing(ctx, p, r)
}

func (q *odoQueue) Printed(ctx context.Context, p string, r label.Ref) error {
	q.mu.Lock()
	q.after[r] = q.last
	q.mu.Unlock()
	return q.Queue.Printed(ctx, p, r)
}

// Handover records done printed and the next label printing together: the
// value told last is the one after done and before the next.
func (q *odoQueue) Handover(ctx context.Context, p string, done label.Ref) (label.Label, bool, error) {
	next, ok, err := q.Queue.Handover(ctx, p, done)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil {
		q.after[done] = q.last
		if ok {
			q.before[next.Ref] = q.last
		}
	}
	return next, ok, err
}

// The runner tells the ledger the odometer before each label leaves and
// the one that confirmed it, so that a label order's reconciliation can
// set the odometer's travel against the labels printed.
func TestRunnerTellsTheLedgerItsOdometer(t *testing.T) {
	sim := startSim(t, printersim.Config{})
	lbls := labels(4)
	q := &odoQueue{Queue: queue(t, lbls), before: map[label.Ref]int64{}, after: map[label.Ref]int64{}}
	startRunner(t, sim.URL(), q, &events{})
	waitAll(t, q.Queue, lbls)
	require.Equal(t, int64(4), sim.Odometer())
	// The queue shows a label printed inside Handover; odoQueue notes the
	// odometer when Handover returns, a moment later.
	require.Eventually(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.after) == len(lbls)
	}, 5*time.Second, time.Millisecond, "every label's confirming odometer noted")
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, l := range lbls {
		assert.Equal(t, int64(i), q.before[l.Ref], "%s: the odometer before it left", l.Ref)
		assert.Equal(t, int64(i+1), q.after[l.Ref], "%s: the odometer that confirmed it", l.Ref)
	}
}

func TestRunnerTellsNoOdometerOfAPrinterWithout(t *testing.T) {
	sim := startSim(t, printersim.Config{NoOdometer: true})
	lbls := labels(2)
	q := &odoQueue{Queue: queue(t, lbls), before: map[label.Ref]int64{}, after: map[label.Ref]int64{}}
	startRunner(t, sim.URL(), q, &events{})
	waitAll(t, q.Queue, lbls)
	q.mu.Lock()
	defer q.mu.Unlock()
	assert.Zero(t, q.told, "a printer that keeps no odometer has none to tell")
}
