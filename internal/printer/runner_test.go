package printer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// These tests drive the runner against the emulator on a real TCP socket.

var labelTemplate = func() *zpl.Template {
	t, err := zpl.Compile("t.zpl", []byte("^FX tag: t\n^FX keys: serial\n^XA^PW400^LL200^FO20,20^A0N,40^FD{{serial}}^FS^PQ1^XZ"))
	if err != nil {
		panic(err)
	}
	return t
}()

// labels returns n pack labels, IDs 1…n, serials SN00001…
func labels(n int) []label.Label {
	out := make([]label.Label, n)
	for i := range out {
		sn := fmt.Sprintf("SN%05d", i+1)
		data, err := labelTemplate.Render(nil, zpl.Data{"serial": sn})
		if err != nil {
			panic(err)
		}
		out[i] = label.Label{Ref: label.Ref{Kind: label.Pack, ID: int64(i + 1)}, Subject: sn, Data: data}
	}
	return out
}

func refs(lbls []label.Label) []label.Ref {
	var out []label.Ref
	for _, l := range lbls {
		out = append(out, l.Ref)
	}
	return out
}

func subjects(lbls []label.Label) []string {
	var out []string
	for _, l := range lbls {
		out = append(out, l.Subject)
	}
	return out
}

func queue(t *testing.T, lbls []label.Label) *printer.Queue {
	t.Helper()
	q := printer.NewQueue()
	for _, l := range lbls {
		require.NoError(t, q.Add(l))
	}
	return q
}

// waitAll waits until every label has an outcome.
func waitAll(t *testing.T, q *printer.Queue, lbls []label.Label) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, q.Wait(ctx, refs(lbls)...))
}

// outcomes counts the labels' outcomes.
func outcomes(q *printer.Queue, lbls []label.Label) map[printer.Outcome]int {
	n := map[printer.Outcome]int{}
	for _, l := range lbls {
		o, _ := q.Outcome(l.Ref)
		n[o]++
	}
	return n
}

var fdRE = regexp.MustCompile(`\^FD([^^]*)\^FS`)

// printedSerials reads the serials back from what the emulator printed.
func printedSerials(sim *printersim.Sim) []string {
	var out []string
	for _, l := range sim.Printed() {
		if m := fdRE.FindSubmatch(l.ZPL); m != nil {
			out = append(out, string(m[1]))
		}
	}
	return out
}

// startSim starts the emulator on a listener the test opened.
func startSim(t *testing.T, cfg printersim.Config) *printersim.Sim {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Listener = ln
	sim, err := printersim.Start(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	require.NoError(t, err)
	t.Cleanup(func() { sim.Close() })
	return sim
}

type events struct {
	mu  sync.Mutex
	all []printer.Event
}

func (e *events) add(ev printer.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) states() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Label == nil {
			out = append(out, string(ev.State)+fmt.Sprint(ev.Faults))
		}
	}
	return out
}

// running is a runner on its goroutine.
type running struct {
	*printer.Printer
	cancel context.CancelFunc
	done   chan error
}

// stop cancels Run's context and returns what Run returned.
func (r *running) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %s of the stop", within)
		return nil
	}
}

func startRunner(t *testing.T, url string, l printer.Ledger, ev *events, tune ...func(*printer.Config)) *running {
	t.Helper()
	cfg := printer.Config{Name: "p1", URL: url, FaultPoll: 20 * time.Millisecond, BackoffMin: 10 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond, StatusTimeout: 300 * time.Millisecond, OnEvent: ev.add}
	for _, f := range tune {
		f(&cfg)
	}
	p, err := printer.New(cfg, l, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Printer: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// assertEachOnce checks that the ledger heard of each label as printing and
// then printed, and of nothing else.
func assertEachOnce(t *testing.T, q *printer.Queue, lbls []label.Label) {
	t.Helper()
	var want []string
	for _, l := range lbls {
		want = append(want, l.Ref.String()+" printing", l.Ref.String()+" printed")
	}
	var got []string
	for _, r := range q.History() {
		got = append(got, r.Ref.String()+" "+string(r.Outcome))
	}
	assert.Equal(t, want, got)
}

func TestMediaOutPausesAndResumes(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 200, Faults: []printersim.Fault{{Kind: printersim.MediaOut, After: 7, For: 300 * time.Millisecond}}})
	lbls := labels(20)
	q, ev := queue(t, lbls), &events{}
	r := startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim), "every serial printed exactly once, in order")
	assertEachOnce(t, q, lbls)
	assert.Equal(t, int64(20), r.Snapshot().Printed)
	assert.Contains(t, ev.states(), "paused[media out]", "the dashboard hears of the fault")
	st := ev.states()
	i := indexOf(st, "paused[media out]")
	assert.Contains(t, st[i+1:], "printing[]", "and of the resumption")
	assert.Equal(t, int64(20), sim.Odometer())
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestDropMidLabelIsUnknownAndNotResent(t *testing.T) {
	sim := startSim(t, printersim.Config{Faults: []printersim.Fault{{Kind: printersim.Drop, After: 5}}})
	lbls := labels(12)
	q, ev := queue(t, lbls), &events{}
	r := startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls)
	assert.Equal(t, map[printer.Outcome]int{printer.OutcomePrinted: 11, printer.OutcomeUnknown: 1}, outcomes(q, lbls))
	out, reason := q.Outcome(lbls[5].Ref)
	assert.Equal(t, printer.OutcomeUnknown, out, "the label on the wire when the connection dropped")
	assert.Contains(t, reason, "connection lost", "with the real reason")
	want := append(subjects(lbls[:5]), subjects(lbls[6:])...)
	assert.Equal(t, want, printedSerials(sim), "the rest printed once; SN00006 not sent again")
	assert.GreaterOrEqual(t, sim.Connections(), 2, "the runner reconnected")
	s := r.Snapshot()
	assert.Equal(t, int64(11), s.Printed)
	assert.Equal(t, int64(1), s.Unknown)
}

func TestNotZPLModeWaitsAndResumesByItself(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 100})
	lbls := labels(8)
	q, ev := queue(t, lbls[:3]), &events{}
	r := startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls[:3])

	// Someone switches the printer to line mode on its menu, and it
	// restarts.
	sim.SetLanguage("line_print")
	sim.Disconnect()
	for _, l := range lbls[3:] {
		require.NoError(t, q.Add(l))
	}
	require.Eventually(t, func() bool { return r.Snapshot().State == printer.StateError }, 10*time.Second, 5*time.Millisecond)
	assert.Contains(t, r.Snapshot().LastErr, `device.languages is "line_print"`, "the dashboard says what to fix")
	time.Sleep(300 * time.Millisecond) // several retries
	assert.Len(t, sim.Printed(), 3, "nothing is sent to a printer that is not in ZPL mode")
	assert.Equal(t, 5, q.Queued(), "the labels stay queued")
	assert.Greater(t, sim.Connections(), 3, "the runner keeps trying")

	// Back to ZPL: the runner goes on by itself.
	sim.SetLanguage("zpl")
	waitAll(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim), "every label printed once, in order")
	assertEachOnce(t, q, lbls)
	assert.Zero(t, r.Snapshot().Unknown)
	assert.Contains(t, ev.states(), "error[]")
}

func TestWithoutOdometerAndAfterRefusedConnections(t *testing.T) {
	sim := startSim(t, printersim.Config{NoOdometer: true, Faults: []printersim.Fault{{Kind: printersim.Refuse, For: 150 * time.Millisecond}}})
	lbls := labels(5)
	q, ev := queue(t, lbls), &events{}
	startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls)
	assertEachOnce(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim))
	assert.GreaterOrEqual(t, sim.Connections(), 2, "refused connections were retried")
	assert.NotContains(t, strings.Join(ev.states(), " "), "error")
}

func TestHeadOpenWhileLabelWaitsInBuffer(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 20, Faults: []printersim.Fault{{Kind: printersim.HeadOpen, After: 2, For: 200 * time.Millisecond}}})
	lbls := labels(4)
	q, ev := queue(t, lbls), &events{}
	startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls)
	assertEachOnce(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim))
	assert.Contains(t, ev.states(), "paused[head open]")
}

func TestIdleRunnerIsReadyAndPrintsWhatIsAdded(t *testing.T) {
	sim := startSim(t, printersim.Config{})
	lbls := labels(3)
	q, ev := queue(t, lbls[:1]), &events{}
	r := startRunner(t, sim.URL(), q, ev)
	waitAll(t, q, lbls[:1])
	require.Eventually(t, func() bool { return r.Snapshot().State == printer.StateReady }, 5*time.Second, 5*time.Millisecond,
		"with nothing queued the printer is ready")
	for _, l := range lbls[1:] {
		require.NoError(t, q.Add(l))
	}
	waitAll(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim))
}

func TestFileTransportWritesOneFilePerLabel(t *testing.T) {
	dir := t.TempDir()
	lbls := labels(3)
	q := queue(t, lbls)
	startRunner(t, "file://"+dir, q, &events{})
	waitAll(t, q, lbls)
	assertEachOnce(t, q, lbls)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	info, err := entries[0].Info()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

// waitOutcome waits until the ledger has recorded out for r.
func waitOutcome(t *testing.T, q *printer.Queue, r label.Ref, out printer.Outcome) {
	t.Helper()
	require.Eventually(t, func() bool { o, _ := q.Outcome(r); return o == out }, 10*time.Second, time.Millisecond)
}

func TestCleanStopConfirmsTheLabelInFlight(t *testing.T) {
	// Half a second a label: the stop comes while the first one prints.
	sim := startSim(t, printersim.Config{Speed: 2})
	lbls := labels(3)
	q := queue(t, lbls)
	r := startRunner(t, sim.URL(), q, &events{})
	waitOutcome(t, q, lbls[0].Ref, printer.OutcomePrinting)
	require.Empty(t, sim.Printed(), "the stop must come while the label is being printed")

	require.NoError(t, r.stop(t, 5*time.Second))
	out, reason := q.Outcome(lbls[0].Ref)
	assert.Equal(t, printer.OutcomePrinted, out, "the label in flight is confirmed: %s", reason)
	assert.Equal(t, []string{"SN00001"}, printedSerials(sim))
	assert.Equal(t, 2, q.Queued(), "no new label is taken after the stop")
	assert.Zero(t, r.Snapshot().Unknown)
	assert.Equal(t, int64(1), r.Snapshot().Printed)
}

func TestStopTimeoutLeavesTheLabelUnknown(t *testing.T) {
	// Half a second a label, and a stop allowed 100ms.
	sim := startSim(t, printersim.Config{Speed: 2})
	lbls := labels(2)
	q := queue(t, lbls)
	r := startRunner(t, sim.URL(), q, &events{}, func(c *printer.Config) { c.StopTimeout = 100 * time.Millisecond })
	waitOutcome(t, q, lbls[0].Ref, printer.OutcomePrinting)

	start := time.Now()
	require.NoError(t, r.stop(t, 5*time.Second))
	assert.Less(t, time.Since(start), time.Second, "the stop is bounded by StopTimeout")
	out, reason := q.Outcome(lbls[0].Ref)
	assert.Equal(t, printer.OutcomeUnknown, out)
	assert.Equal(t, "the agent stopped before the printer confirmed the label", reason)
	assert.Equal(t, 1, q.Queued(), "the next label stays queued")
}

// syncBuffer is a log sink the runner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// At info level the log holds the faults and what ends them, not the
// printer going from ready to printing and back for every label.
func TestStateLogHoldsFaultsNotEveryLabel(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 200, Faults: []printersim.Fault{{Kind: printersim.MediaOut, After: 7, For: 200 * time.Millisecond}}})
	lbls := labels(20)
	q := queue(t, lbls)
	var logs syncBuffer
	p, err := printer.New(printer.Config{Name: "p1", URL: sim.URL(), FaultPoll: 20 * time.Millisecond, BackoffMin: 10 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond, StatusTimeout: 300 * time.Millisecond}, q, zerolog.New(&logs).Level(zerolog.InfoLevel))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitAll(t, q, lbls)
	cancel()
	<-done

	var states []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e struct {
			Message, State, Was string
			Faults              []string
		}
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		if e.Message == "printer state" {
			states = append(states, e.Was+"→"+e.State+fmt.Sprint(e.Faults))
		}
	}
	assert.Contains(t, states, "printing→paused[media out]", "the fault is logged")
	assert.Contains(t, states, "paused→printing[]", "and its end")
	assert.NotContains(t, states, "ready→printing[]", "not each label")
	assert.NotContains(t, states, "printing→ready[]")
	assert.LessOrEqual(t, len(states), 4, "a connection, a fault and its end: %v", states)
}
