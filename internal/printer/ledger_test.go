package printer

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
)

func TestQueueNextWaitsUntilALabelIsAdded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue()
		got := make(chan label.Label, 1)
		go func() {
			l, err := q.Next(context.Background(), "p1")
			assert.NoError(t, err)
			got <- l
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case l := <-got:
			t.Fatalf("Next returned %v from an empty queue", l.Ref)
		default:
		}

		lbls := testLabels(1)
		require.NoError(t, q.Add(lbls[0]))
		synctest.Wait()
		select {
		case l := <-got:
			assert.Equal(t, lbls[0], l)
		default:
			t.Fatal("Next did not return the label added")
		}

		// An empty queue's Next ends with its context.
		q2 := NewQueue()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := q2.Next(ctx, "p1")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestQueueKeepsTheLedgerContract(t *testing.T) {
	ctx := context.Background()
	q := NewQueue()
	lbls := testLabels(3)
	for _, l := range lbls {
		require.NoError(t, q.Add(l))
	}
	require.ErrorContains(t, q.Add(lbls[0]), "already in the queue")

	// The label stays queued until Printing records it.
	l, err := q.Next(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, lbls[0].Ref, l.Ref)
	l, _ = q.Next(ctx, "p1")
	assert.Equal(t, lbls[0].Ref, l.Ref, "Next again: still the oldest")
	require.ErrorContains(t, q.Printed(ctx, "p1", lbls[0].Ref), "it is still waiting, not printing")

	require.NoError(t, q.Printing(ctx, "p1", lbls[0].Ref))
	assert.Equal(t, 2, q.Queued())
	l, _ = q.Next(ctx, "p1")
	assert.Equal(t, lbls[1].Ref, l.Ref)
	require.ErrorIs(t, q.Printing(ctx, "p1", lbls[0].Ref), ErrNotQueued, "a label is printing once")

	require.NoError(t, q.Printed(ctx, "p1", lbls[0].Ref))
	require.NoError(t, q.Printed(ctx, "p1", lbls[0].Ref), "a repeat after a failure is success")
	require.ErrorContains(t, q.Unknown(ctx, "p1", lbls[0].Ref, "x"), "it is printed, not printing")

	require.NoError(t, q.Printing(ctx, "p1", lbls[1].Ref))
	require.NoError(t, q.Unknown(ctx, "p1", lbls[1].Ref, "connection lost"))
	out, reason := q.Outcome(lbls[1].Ref)
	assert.Equal(t, OutcomeUnknown, out)
	assert.Equal(t, "connection lost", reason)
	out, _ = q.Outcome(lbls[2].Ref)
	assert.Equal(t, Outcome(""), out, "still waiting")

	assert.Equal(t, []Record{
		{Printer: "p1", Ref: lbls[0].Ref, Outcome: OutcomePrinting},
		{Printer: "p1", Ref: lbls[0].Ref, Outcome: OutcomePrinted},
		{Printer: "p1", Ref: lbls[1].Ref, Outcome: OutcomePrinting},
		{Printer: "p1", Ref: lbls[1].Ref, Outcome: OutcomeUnknown, Reason: "connection lost"},
	}, q.History())
}

func TestQueueVoid(t *testing.T) {
	ctx := context.Background()
	q := NewQueue()
	lbls := testLabels(2)
	for _, l := range lbls {
		require.NoError(t, q.Add(l))
	}
	l, _ := q.Next(ctx, "p1")
	require.NoError(t, q.Void(l.Ref), "voided while a runner holds it")
	require.ErrorIs(t, q.Printing(ctx, "p1", l.Ref), ErrNotQueued, "the runner is told, and sends nothing")
	require.ErrorIs(t, q.Void(l.Ref), ErrNotQueued)
	l, _ = q.Next(ctx, "p1")
	assert.Equal(t, lbls[1].Ref, l.Ref, "the next one comes")
	require.ErrorIs(t, q.Wait(ctx, lbls[0].Ref), ErrNotQueued, "a voided label has no outcome to wait for")
	require.NoError(t, q.Printing(ctx, "p1", lbls[1].Ref))
	require.ErrorIs(t, q.Void(lbls[1].Ref), ErrNotQueued, "too late once printing")
}

func TestQueueHandover(t *testing.T) {
	ctx := context.Background()
	q := NewQueue()
	lbls := testLabels(4)
	for _, l := range lbls {
		require.NoError(t, q.Add(l))
	}
	_, _, err := q.Handover(ctx, "p1", lbls[0].Ref)
	require.ErrorContains(t, err, "it is still waiting, not printing", "only a label printing is handed over")
	require.NoError(t, q.Printing(ctx, "p1", lbls[0].Ref))
	require.NoError(t, q.Void(lbls[1].Ref))

	next, ok, err := q.Handover(ctx, "p1", lbls[0].Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, lbls[2], next, "the oldest label still waiting")
	again, ok, err := q.Handover(ctx, "p1", lbls[0].Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, lbls[2], again, "a repeat takes the same label")
	assert.Equal(t, 1, q.Queued())

	next, ok, err = q.Handover(ctx, "p1", lbls[2].Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, lbls[3], next)
	_, ok, err = q.Handover(ctx, "p1", lbls[3].Ref)
	require.NoError(t, err)
	assert.False(t, ok, "nothing left: the last label is recorded alone")
	assert.Equal(t, []Record{
		{Printer: "p1", Ref: lbls[0].Ref, Outcome: OutcomePrinting},
		{Printer: "p1", Ref: lbls[0].Ref, Outcome: OutcomePrinted},
		{Printer: "p1", Ref: lbls[2].Ref, Outcome: OutcomePrinting},
		{Printer: "p1", Ref: lbls[2].Ref, Outcome: OutcomePrinted},
		{Printer: "p1", Ref: lbls[3].Ref, Outcome: OutcomePrinting},
		{Printer: "p1", Ref: lbls[3].Ref, Outcome: OutcomePrinted},
	}, q.History())
}

func TestQueueWaitForOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		q := NewQueue()
		lbls := testLabels(2)
		for _, l := range lbls {
			require.NoError(t, q.Add(l))
		}
		done := make(chan error, 1)
		go func() { done <- q.Wait(ctx, testRefs(lbls)...) }()
		require.NoError(t, q.Printing(ctx, "p1", lbls[1].Ref))
		require.NoError(t, q.Printed(ctx, "p1", lbls[1].Ref))
		synctest.Wait()
		assert.Empty(t, done, "one label still waits")
		require.NoError(t, q.Printing(ctx, "p1", lbls[0].Ref))
		require.NoError(t, q.Unknown(ctx, "p1", lbls[0].Ref, "lost"))
		synctest.Wait()
		require.Len(t, done, 1)
		require.NoError(t, <-done)

		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		require.NoError(t, q.Add(testLabel(3)))
		err := q.Wait(tctx, lbls[0].Ref, testLabel(3).Ref)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "1 of 2 labels have an outcome")
		assert.ErrorIs(t, q.Wait(ctx, label.Ref{Kind: label.Test, ID: 9}), ErrNotQueued, "never added")
	})
}

func testLabels(n int) []label.Label {
	out := make([]label.Label, n)
	for i := range out {
		sn := fmt.Sprintf("SN%05d", i+1)
		out[i] = label.Label{Ref: label.Ref{Kind: label.Pack, ID: int64(i + 1)}, Subject: sn,
			Data: []byte("^XA^FO20,20^A0N,40^FD" + sn + "^FS^PQ1^XZ")}
	}
	return out
}

func testRefs(lbls []label.Label) []label.Ref {
	var out []label.Ref
	for _, l := range lbls {
		out = append(out, l.Ref)
	}
	return out
}

func testLabel(id int64) label.Label {
	return label.Label{Ref: label.Ref{Kind: label.SSCC, ID: id}, Subject: "x", Data: []byte("^XA^XZ")}
}
