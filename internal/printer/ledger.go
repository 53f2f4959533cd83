package printer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/edgeagent/edgeagent/internal/label"
)

// Ledger is where a runner takes its labels from and records what became
// of them. The ledger drives printing: a label is queued there, durably,
// before any printer hears of it, and the runner pulls the next one only
// when it is ready for it. Nothing is lost when the printer is offline or
// the agent stops; the labels simply wait.
//
// The runner may call Printed, Unknown or Handover again for the same
// labels after one of them failed (the failure may have come after the
// commit); a ledger treats a repeat of what it already holds as success.
//
// A run of labels costs one commit a label, not two: once the printer has
// confirmed a label and is ready for more, Handover records that label
// printed and the next one printing together. The rule holds as with
// Printed and Printing apart: the next label's bytes leave only after its
// printing is committed, the confirmed label is recorded printed only after
// the printer confirmed it, and a stop or crash before that commit leaves
// the confirmed label printing (unknown, for a person, after a restart) and
// the next one queued.
type Ledger interface {
	// Next returns the oldest label queued for the printer, waiting until
	// there is one or ctx ends. The label stays queued until Printing
	// records it.
	Next(ctx context.Context, printer string) (label.Label, error)
	// Printing records, durably, that the label's bytes are about to
	// leave. The runner sends nothing unless it returned nil.
	// ErrNotQueued (wrapped) means the label is no longer waiting (a
	// person voided it): the runner moves on to Next.
	Printing(ctx context.Context, printer string, l label.Ref) error
	// Printed records the printer's confirmation.
	Printed(ctx context.Context, printer string, l label.Ref) error
	// Unknown records a label whose outcome could not be confirmed; it is
	// never re-sent automatically.
	Unknown(ctx context.Context, printer string, l label.Ref, reason string) error
	// Handover records, durably and in one transaction, done as printed
	// (as Printed does) and the printer's next label as printing (as
	// Printing does), and returns that label: the oldest queued, or one
	// an earlier Handover recorded as printing when its answer was lost,
	// so that a repeat takes the same label again. ok is false when no
	// label is queued; done alone is then recorded. An error means both
	// moves or neither were recorded, never one of them.
	Handover(ctx context.Context, printer string, done label.Ref) (next label.Label, ok bool, err error)
}

// OdometerLedger is a Ledger that also keeps the printer's odometer with
// its labels (a label order's reconciliation compares the odometer's
// travel with the labels printed). The runner tells it every value it
// reads from the printer (odometer.total_label_count), before it records
// the move that value belongs to: the value read last before Printing is
// the odometer before the label, the one read last before Printed is the
// odometer that confirmed it. It must not block.
type OdometerLedger interface {
	Ledger
	Odometer(printer string, count int64)
}

// ErrNotQueued is a label that is no longer waiting to be printed.
var ErrNotQueued = errors.New("label is no longer queued")

// Outcome is what became of a label.
type Outcome string

// Outcomes.
const (
	OutcomePrinting Outcome = "printing" // recorded before the bytes leave
	OutcomePrinted  Outcome = "printed"  // the printer confirmed it
	OutcomeUnknown  Outcome = "unknown"  // the connection was lost or the agent stopped mid-label; never re-sent automatically
)

// Record is one entry in a Queue's history.
type Record struct {
	Printer string
	Ref     label.Ref
	Outcome Outcome
	Reason  string // for OutcomeUnknown
}

// Queue is a Ledger in memory, for a one-shot print (edgeagent printer
// test) and for tests. Labels are printed in the order they were added;
// the queue keeps the outcome of each and the history of what was
// recorded. It checks the order of outcomes as a real ledger does: a
// label is printing before it is printed or unknown, and only once.
//
// A Queue does not address labels to a printer: every runner that pulls
// from it takes the oldest label. It is meant to feed one runner.
type Queue struct {
	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, on every change
	waiting []label.Label
	labels  map[label.Ref]*queued
	history []Record
	// printing holds the labels recorded as printing, for a Handover
	// repeated after a failure.
	printing map[label.Ref]label.Label
}

type queued struct {
	outcome Outcome // "" while waiting
	voided  bool
	reason  string
}

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{changed: make(chan struct{}), labels: map[label.Ref]*queued{}, printing: map[label.Ref]label.Label{}}
}

// changedLocked wakes everyone waiting for a change; q.mu is held.
func (q *Queue) changedLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Add queues a label after those already waiting. A label is added once:
// adding a Ref the queue already knows is an error.
func (q *Queue) Add(l label.Label) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.labels[l.Ref]; ok {
		return fmt.Errorf("%s is already in the queue", l.Ref)
	}
	q.labels[l.Ref] = &queued{}
	q.waiting = append(q.waiting, l)
	q.changedLocked()
	return nil
}

// Void takes a label that is still waiting out of the queue, as a person
// does with a label that is no longer wanted. A runner that already took
// it from Next is told ErrNotQueued when it records it as printing.
func (q *Queue) Void(r label.Ref) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.labels[r]
	if !ok || e.voided || e.outcome != "" {
		return fmt.Errorf("void %s: %w", r, ErrNotQueued)
	}
	e.voided = true
	q.remove(r)
	q.changedLocked()
	return nil
}

// remove takes r out of the waiting labels and returns it; q.mu is held.
func (q *Queue) remove(r label.Ref) label.Label {
	if len(q.waiting) > 0 && q.waiting[0].Ref == r {
		l := q.waiting[0]
		q.waiting[0] = label.Label{} // let the data go
		q.waiting = q.waiting[1:]    // the usual case, without a copy
		return l
	}
	for i, l := range q.waiting {
		if l.Ref == r {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return l
		}
	}
	return label.Label{}
}

// Queued is the number of labels waiting.
func (q *Queue) Queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

// Outcome returns what was recorded for a label, with the reason of an
// unknown one; it is "" while the label waits, and for a label voided or
// never added.
func (q *Queue) Outcome(r label.Ref) (Outcome, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.labels[r]; ok {
		return e.outcome, e.reason
	}
	return "", ""
}

// History returns every outcome recorded, in order.
func (q *Queue) History() []Record {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Record(nil), q.history...)
}

// Wait waits until each of the labels is printed or unknown, or ctx ends.
// A label voided or never added is an error: it will never have an
// outcome.
func (q *Queue) Wait(ctx context.Context, refs ...label.Ref) error {
	done := 0 // refs[:done] have an outcome, which does not change
	for {
		q.mu.Lock()
		for ; done < len(refs); done++ {
			r := refs[done]
			e, ok := q.labels[r]
			if !ok || e.voided {
				q.mu.Unlock()
				return fmt.Errorf("%s will have no outcome: %w", r, ErrNotQueued)
			}
			if e.outcome != OutcomePrinted && e.outcome != OutcomeUnknown {
				break
			}
		}
		changed := q.changed
		q.mu.Unlock()
		if done == len(refs) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d labels have an outcome: %w", done, len(refs), ctx.Err())
		}
	}
}

// Next returns the oldest waiting label, waiting for one to be added.
func (q *Queue) Next(ctx context.Context, _ string) (label.Label, error) {
	for {
		q.mu.Lock()
		if len(q.waiting) > 0 {
			l := q.waiting[0]
			q.mu.Unlock()
			return l, nil
		}
		changed := q.changed
		q.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return label.Label{}, ctx.Err()
		}
	}
}

// Handover records done as printed and takes the oldest waiting label as
// printing, as one change.
func (q *Queue) Handover(_ context.Context, printer string, done label.Ref) (label.Label, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.finishLocked(printer, done, OutcomePrinted, ""); err != nil {
		return label.Label{}, false, err
	}
	if l, ok := q.oldestPrinting(); ok {
		return l, true, nil // taken by the Handover this one repeats
	}
	if len(q.waiting) == 0 {
		return label.Label{}, false, nil
	}
	l := q.waiting[0]
	q.printing[l.Ref] = q.remove(l.Ref)
	q.setLocked(printer, l.Ref, q.labels[l.Ref], OutcomePrinting, "")
	return l, true, nil
}

// oldestPrinting is the label printing with the lowest ID; q.mu is held.
func (q *Queue) oldestPrinting() (label.Label, bool) {
	var out label.Label
	found := false
	for r, l := range q.printing {
		if !found || r.ID < out.Ref.ID {
			out, found = l, true
		}
	}
	return out, found
}

// Printing takes the label out of the waiting ones.
func (q *Queue) Printing(_ context.Context, printer string, r label.Ref) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.labels[r]
	if !ok || e.voided || e.outcome != "" {
		return fmt.Errorf("%s: %w", r, ErrNotQueued)
	}
	q.printing[r] = q.remove(r)
	q.setLocked(printer, r, e, OutcomePrinting, "")
	return nil
}

// Printed records the printer's confirmation of a label that is printing.
func (q *Queue) Printed(_ context.Context, printer string, r label.Ref) error {
	return q.finish(printer, r, OutcomePrinted, "")
}

// Unknown records a label that is printing as unknown.
func (q *Queue) Unknown(_ context.Context, printer string, r label.Ref, reason string) error {
	return q.finish(printer, r, OutcomeUnknown, reason)
}

func (q *Queue) finish(printer string, r label.Ref, out Outcome, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.finishLocked(printer, r, out, reason)
}

// finishLocked records the outcome of a label that is printing; q.mu is
// held.
func (q *Queue) finishLocked(printer string, r label.Ref, out Outcome, reason string) error {
	e, ok := q.labels[r]
	switch {
	case ok && e.outcome == out:
		return nil // a repeat after a failure that came too late
	case !ok || e.outcome != OutcomePrinting:
		state := "not queued"
		if ok && e.outcome == "" && !e.voided {
			state = "still waiting"
		} else if ok && e.outcome != "" {
			state = string(e.outcome)
		}
		return fmt.Errorf("record %s as %s: it is %s, not printing", r, out, state)
	}
	delete(q.printing, r)
	q.setLocked(printer, r, e, out, reason)
	return nil
}

// setLocked records an outcome; q.mu is held.
func (q *Queue) setLocked(printer string, r label.Ref, e *queued, out Outcome, reason string) {
	e.outcome, e.reason = out, reason
	q.history = append(q.history, Record{Printer: printer, Ref: r, Outcome: out, Reason: reason})
	q.changedLocked()
}
