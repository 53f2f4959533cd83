package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

// These tests pace retries, so they run in a synctest bubble on virtual
// time: the emulator is reached over in-memory pipes instead of TCP.

// pipeNet is a listener for the emulator and a dialer for the runner,
// joined by net.Pipe. It counts the label formats the runner sends.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	sent   atomic.Int64 // label formats written by the runner
	refuse func() error // when set and it fails, the dial fails
	dials  []time.Time  // when the runner dialled
	mu     sync.Mutex
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe:9100" }

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error   { n.once.Do(func() { close(n.closed) }); return nil }
func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (n *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, time.Now())
	refuse := n.refuse
	n.mu.Unlock()
	if refuse != nil {
		if err := refuse(); err != nil {
			return nil, err
		}
	}
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return countingConn{client, &n.sent}, nil
	case <-n.closed:
		return nil, errors.New("connection refused")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *pipeNet) dialTimes() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Time(nil), n.dials...)
}

type countingConn struct {
	net.Conn
	sent *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.sent.Add(int64(bytes.Count(p, []byte("^XA"))))
	return c.Conn.Write(p)
}

// flakyLedger is a Queue whose Printing and Printed fail the first times
// they are called, as a ledger on a full disk does, and which notes when
// each was called.
type flakyLedger struct {
	*Queue
	failPrinting, failPrinted int
	onPrinting                func() // called on each Printing, before it answers

	mu                    sync.Mutex
	printingAt, printedAt []time.Time
	unknownCalls          int
}

var errDiskFull = errors.New("database or disk is full")

func (l *flakyLedger) Printing(ctx context.Context, p string, r label.Ref) error {
	if l.onPrinting != nil {
		l.onPrinting()
	}
	l.mu.Lock()
	l.printingAt = append(l.printingAt, time.Now())
	fail := len(l.printingAt) <= l.failPrinting
	l.mu.Unlock()
	if fail {
		return errDiskFull
	}
	return l.Queue.Printing(ctx, p, r)
}

func (l *flakyLedger) Printed(ctx context.Context, p string, r label.Ref) error {
	l.mu.Lock()
	l.printedAt = append(l.printedAt, time.Now())
	fail := len(l.printedAt) <= l.failPrinted
	l.mu.Unlock()
	if fail {
		return errDiskFull
	}
	return l.Queue.Printed(ctx, p, r)
}

// Handover is one commit of both moves: each call is an attempt at
// Printed, and at Printing when a label waits, and it fails while either
// would.
func (l *flakyLedger) Handover(ctx context.Context, p string, done label.Ref) (label.Label, bool, error) {
	taking := l.Queued() > 0
	if taking && l.onPrinting != nil {
		l.onPrinting()
	}
	l.mu.Lock()
	fail := false
	if taking {
		l.printingAt = append(l.printingAt, time.Now())
		fail = len(l.printingAt) <= l.failPrinting
	}
	l.printedAt = append(l.printedAt, time.Now())
	fail = fail || len(l.printedAt) <= l.failPrinted
	l.mu.Unlock()
	if fail {
		return label.Label{}, false, errDiskFull
	}
	return l.Queue.Handover(ctx, p, done)
}

func (l *flakyLedger) Unknown(ctx context.Context, p string, r label.Ref, reason string) error {
	l.mu.Lock()
	l.unknownCalls++
	l.mu.Unlock()
	return l.Queue.Unknown(ctx, p, r, reason)
}

func (l *flakyLedger) times(which *[]time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), (*which)...)
}

const (
	testBackoffMin = 100 * time.Millisecond
	testBackoffMax = time.Second
)

// bubble is a runner and an emulator in a synctest bubble.
type bubble struct {
	t      *testing.T
	net    *pipeNet
	sim    *printersim.Sim
	p      *Printer
	cancel context.CancelFunc
	done   chan error
}

func newBubble(t *testing.T) *bubble {
	return &bubble{t: t, net: newPipeNet(), done: make(chan error, 1)}
}

// start starts the emulator and a runner on ledger; stop stops them, and
// must be called before the bubble ends.
func (b *bubble) start(simCfg printersim.Config, ledger Ledger, tune ...func(*Config)) {
	t := b.t
	simCfg.Listener = b.net
	sim, err := printersim.Start(simCfg, zerolog.Nop())
	require.NoError(t, err)
	b.sim = sim
	cfg := Config{Name: "p1", URL: "tcp://" + b.net.Addr().String(), Options: Options{dial: b.net.dial},
		BackoffMin: testBackoffMin, BackoffMax: testBackoffMax, FaultPoll: 50 * time.Millisecond}
	for _, f := range tune {
		f(&cfg)
	}
	b.p, err = New(cfg, ledger, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() { b.done <- b.p.Run(ctx) }()
}

// stop stops the runner and the emulator and returns what Run returned.
func (b *bubble) stop() error {
	b.cancel()
	err := <-b.done
	b.sim.Close()
	return err
}

// wait waits, on virtual time, until each label has an outcome.
func (b *bubble) wait(q *Queue, lbls []label.Label) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	require.NoError(b.t, q.Wait(ctx, testRefs(lbls)...))
}

// assertBackoff checks that the gaps between attempts follow capped
// exponential backoff with jitter: each in the upper half of its step.
func assertBackoff(t *testing.T, attempts []time.Time) {
	t.Helper()
	step := testBackoffMin
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].Sub(attempts[i-1])
		assert.GreaterOrEqual(t, gap, step/2, "gap %d", i)
		assert.LessOrEqual(t, gap, step, "gap %d", i)
		step = min(step*2, testBackoffMax)
	}
}

func history(q *Queue) []string {
	var out []string
	for _, r := range q.History() {
		out = append(out, fmt.Sprintf("%d %s", r.Ref.ID, r.Outcome))
	}
	return out
}

func printedSubjects(sim *printersim.Sim) []string {
	var out []string
	for _, l := range sim.Printed() {
		if i := bytes.Index(l.ZPL, []byte("^FD")); i >= 0 {
			out = append(out, string(l.ZPL[i+3:i+10]))
		}
	}
	return out
}

func TestOfflinePrinterIsRetriedWithCappedBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lbls := testLabels(2)
		q := NewQueue()
		for _, l := range lbls {
			require.NoError(t, q.Add(l))
		}
		var refused atomic.Int32
		b := newBubble(t)
		b.net.refuse = func() error {
			if refused.Add(1) <= 8 {
				return errors.New("connect to printer pipe:9100: connection refused")
			}
			return nil
		}
		b.start(printersim.Config{}, q)

		time.Sleep(2 * time.Second)
		synctest.Wait()
		s := b.p.Snapshot()
		assert.Equal(t, StateOffline, s.State)
		assert.Contains(t, s.LastErr, "connection refused")
		assert.Equal(t, 2, q.Queued(), "the labels stay queued while the printer is away")
		assert.Empty(t, q.History())

		b.wait(q, lbls)
		dials := b.net.dialTimes()
		assert.Len(t, dials, 9, "eight refusals, then a connection that stays")
		assertBackoff(t, dials)
		assert.Equal(t, []string{"SN00001", "SN00002"}, printedSubjects(b.sim))
		assert.Equal(t, []string{"1 printing", "1 printed", "2 printing", "2 printed"}, history(q))
		require.NoError(t, b.stop())
	})
}

func TestPrintingFailureIsRetriedAndNothingIsSentUntilRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lbls := testLabels(2)
		l := &flakyLedger{Queue: NewQueue(), failPrinting: 5}
		for _, lb := range lbls {
			require.NoError(t, l.Add(lb))
		}
		b := newBubble(t)
		var sentAtPrinting []int64
		l.onPrinting = func() { sentAtPrinting = append(sentAtPrinting, b.net.sent.Load()) }
		b.start(printersim.Config{}, l)

		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		s := b.p.Snapshot()
		assert.Equal(t, StateError, s.State)
		assert.Contains(t, s.LastErr, "record pack label 1 as printing: database or disk is full")

		b.wait(l.Queue, lbls)
		assert.Equal(t, []int64{0, 0, 0, 0, 0, 0, 1}, sentAtPrinting,
			"no label is sent until the ledger has recorded it as printing")
		attempts := l.times(&l.printingAt)
		require.Len(t, attempts, 7)
		assertBackoff(t, attempts[:6])
		assert.Equal(t, []string{"SN00001", "SN00002"}, printedSubjects(b.sim), "each label printed once")
		assert.Equal(t, []string{"1 printing", "1 printed", "2 printing", "2 printed"}, history(l.Queue))
		require.NoError(t, b.stop())
	})
}

func TestPrintedFailureIsRetriedUntilRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lbls := testLabels(2)
		l := &flakyLedger{Queue: NewQueue(), failPrinted: 6}
		for _, lb := range lbls {
			require.NoError(t, l.Add(lb))
		}
		b := newBubble(t)
		b.start(printersim.Config{}, l)
		b.wait(l.Queue, lbls)

		for _, lb := range lbls {
			out, _ := l.Outcome(lb.Ref)
			assert.Equal(t, OutcomePrinted, out, "%s: the printer confirmed it", lb.Ref)
		}
		assert.Zero(t, l.unknownCalls, "a confirmed label is never recorded unknown")
		assert.Zero(t, b.p.Snapshot().Unknown)
		attempts := l.times(&l.printedAt)
		require.Len(t, attempts, 8, "six failures, then the first label, then the second")
		assertBackoff(t, attempts[:7])
		assert.Equal(t, []string{"SN00001", "SN00002"}, printedSubjects(b.sim), "and nothing was printed twice")
		assert.Equal(t, []string{"1 printing", "1 printed", "2 printing", "2 printed"}, history(l.Queue))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, StateReady, b.p.Snapshot().State, "the error clears once the ledger takes the outcome")
		require.NoError(t, b.stop())
	})
}

func TestStopWhilePrintedFailsGivesUpAfterStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lbls := testLabels(1)
		l := &flakyLedger{Queue: NewQueue(), failPrinted: 1 << 30}
		require.NoError(t, l.Add(lbls[0]))
		b := newBubble(t)
		b.start(printersim.Config{}, l, func(c *Config) { c.StopTimeout = 3 * time.Second })
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Len(t, b.sim.Printed(), 1)

		start := time.Now()
		err := b.stop()
		assert.ErrorIs(t, err, errDiskFull, "Run says which outcome it could not record")
		assert.Equal(t, 3*time.Second, time.Since(start), "it kept trying for StopTimeout, and no longer")
		out, _ := l.Outcome(lbls[0].Ref)
		assert.Equal(t, OutcomePrinting, out)
		assert.Zero(t, l.unknownCalls, "not even a stop turns a confirmed label unknown")
	})
}

func TestVoidedLabelIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lbls := testLabels(3)
		q := NewQueue()
		for _, l := range lbls {
			require.NoError(t, q.Add(l))
		}
		b := newBubble(t)
		b.start(printersim.Config{Faults: []printersim.Fault{{Kind: printersim.MediaOut}}}, q)

		// The runner holds label 1 while the printer is out of media,
		// and a person voids it.
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, StatePaused, b.p.Snapshot().State)
		require.NoError(t, q.Void(lbls[0].Ref))
		b.sim.SetFault(printersim.MediaOut, false)

		b.wait(q, lbls[1:])
		assert.Equal(t, int64(2), b.net.sent.Load(), "the voided label was never sent")
		assert.Equal(t, []string{"SN00002", "SN00003"}, printedSubjects(b.sim))
		assert.Equal(t, []string{"2 printing", "2 printed", "3 printing", "3 printed"}, history(q))
		assert.Zero(t, b.p.Snapshot().Unknown)
		require.NoError(t, b.stop())
	})
}
