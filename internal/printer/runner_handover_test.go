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

// watchedLedger is a Queue that notes each call that records something,
// with how many labels the printer had printed when it came.
type watchedLedger struct {
	*printer.Queue
	sim *printersim.Sim

	mu    sync.Mutex
	calls []string
	seen  []int // len(sim.Printed()) at each call
}

func (l *watchedLedger) note(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
	l.seen = append(l.seen, len(l.sim.Printed()))
}

func (l *watchedLedger) Printing(ctx context.Context, p string, r label.Ref) error {
	l.note("printing " + r.String())
	return l.Queue.Printing(ctx, p, r)
}

func (l *watchedLedger) Printed(ctx context.Context, p string, r label.Ref) error {
	l.note("printed " + r.String())
	return l.Queue.Printed(ctx, p, r)
}

func (l *watchedLedger) Handover(ctx context.Context, p string, done label.Ref) (label.Label, bool, error) {
	l.note("handover " + done.String())
	return l.Queue.Handover(ctx, p, done)
}

// A run of labels is one ledger commit a label: the first is recorded
// printing on its own, and each confirmation takes the next label as
// printing with it. Each call comes after the printer printed the label
// it records printed and before the next label's bytes leave.
func TestARunOfLabelsIsOneCommitALabel(t *testing.T) {
	sim := startSim(t, printersim.Config{})
	lbls := labels(20)
	l := &watchedLedger{Queue: queue(t, lbls), sim: sim}
	startRunner(t, sim.URL(), l, &events{})
	waitAll(t, l.Queue, lbls)

	l.mu.Lock()
	defer l.mu.Unlock()
	want := []string{"printing " + lbls[0].Ref.String()}
	wantSeen := []int{0}
	for i, lb := range lbls {
		want = append(want, "handover "+lb.Ref.String())
		wantSeen = append(wantSeen, i+1)
	}
	assert.Equal(t, want, l.calls, "one commit a label; the last handover finds none queued")
	assert.Equal(t, wantSeen, l.seen, "label k is recorded printed once the printer printed it, and label k+1 is not sent before")
	assert.Equal(t, subjects(lbls), printedSerials(sim))
	assertEachOnce(t, l.Queue, lbls)
}

// A fault found once a label is confirmed does not hold up that label's
// record: it is recorded printed alone, and the next label stays queued,
// not printing, until the fault clears.
func TestAFaultAfterALabelRecordsItAndHoldsTheNext(t *testing.T) {
	sim := startSim(t, printersim.Config{Faults: []printersim.Fault{{Kind: printersim.MediaOut, After: 7}}})
	lbls := labels(10)
	q := queue(t, lbls)
	r := startRunner(t, sim.URL(), q, &events{})
	require.Eventually(t, func() bool { return r.Snapshot().State == printer.StatePaused }, 10*time.Second, time.Millisecond)
	time.Sleep(100 * time.Millisecond) // several fault polls
	out, _ := q.Outcome(lbls[6].Ref)
	assert.Equal(t, printer.OutcomePrinted, out, "the seventh label, confirmed before the fault, is recorded")
	out, _ = q.Outcome(lbls[7].Ref)
	assert.Equal(t, printer.Outcome(""), out, "the eighth waits, queued")
	assert.Equal(t, 3, q.Queued())
	assert.Len(t, sim.Printed(), 7)

	sim.SetFault(printersim.MediaOut, false)
	waitAll(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim))
	assertEachOnce(t, q, lbls)
}
