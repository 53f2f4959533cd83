package printer_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// ledger is an in-memory Recorder that checks the order of outcomes.
type ledger struct {
	t     *testing.T
	mu    sync.Mutex
	state map[string]printer.Outcome
	log   []string
}

func newLedger(t *testing.T) *ledger { return &ledger{t: t, state: map[string]printer.Outcome{}} }

func (l *ledger) set(lbl printer.Label, from []printer.Outcome, to printer.Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.state[lbl.Serial]
	ok := false
	for _, f := range from {
		ok = ok || cur == f
	}
	if !ok {
		l.t.Errorf("serial %s: %q -> %q is not allowed", lbl.Serial, cur, to)
	}
	l.state[lbl.Serial] = to
	l.log = append(l.log, lbl.Serial+" "+string(to))
	return nil
}

func (l *ledger) Printing(_ context.Context, _ string, lbl printer.Label) error {
	return l.set(lbl, []printer.Outcome{""}, printer.OutcomePrinting)
}
func (l *ledger) Printed(_ context.Context, _ string, lbl printer.Label) error {
	return l.set(lbl, []printer.Outcome{printer.OutcomePrinting}, printer.OutcomePrinted)
}
func (l *ledger) Unknown(_ context.Context, _ string, lbl printer.Label, _ string) error {
	return l.set(lbl, []printer.Outcome{printer.OutcomePrinting}, printer.OutcomeUnknown)
}

func (l *ledger) count(o printer.Outcome) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.state {
		if s == o {
			n++
		}
	}
	return n
}

var labelTemplate = func() *zpl.Template {
	t, err := zpl.Compile("t.zpl", []byte("^FX tag: t\n^FX keys: serial\n^XA^PW400^LL200^FO20,20^A0N,40^FD{{serial}}^FS^PQ1^XZ"))
	if err != nil {
		panic(err)
	}
	return t
}()

func labels(n int) []printer.Label {
	out := make([]printer.Label, n)
	for i := range out {
		sn := fmt.Sprintf("SN%05d", i+1)
		data, err := labelTemplate.Render(nil, zpl.Data{"serial": sn})
		if err != nil {
			panic(err)
		}
		out[i] = printer.Label{ID: fmt.Sprint(i + 1), Serial: sn, Data: data}
	}
	return out
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

func startSim(t *testing.T, cfg printersim.Config) *printersim.Sim {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
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

func startRunner(t *testing.T, url string, rec printer.Recorder, ev *events) *printer.Printer {
	t.Helper()
	p, err := printer.New(printer.Config{Name: "p1", URL: url, FaultPoll: 20 * time.Millisecond, BackoffMin: 10 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond, StatusTimeout: 300 * time.Millisecond, OnEvent: ev.add},
		rec, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func runJob(t *testing.T, p *printer.Printer, lbls []printer.Label) printer.JobResult {
	t.Helper()
	j, err := p.Submit("job-1", lbls)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := j.Wait(ctx)
	require.NoError(t, err)
	return res
}

func serialsOf(lbls []printer.Label) []string {
	var out []string
	for _, l := range lbls {
		out = append(out, l.Serial)
	}
	return out
}

func TestMediaOutPausesAndResumes(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 200, Faults: []printersim.Fault{{Kind: printersim.MediaOut, After: 7, For: 300 * time.Millisecond}}})
	rec, ev := newLedger(t), &events{}
	p := startRunner(t, sim.URL(), rec, ev)
	lbls := labels(20)
	res := runJob(t, p, lbls)
	require.NoError(t, res.Err)
	assert.Equal(t, 20, res.Printed)
	assert.Zero(t, res.Unknown)
	assert.Equal(t, serialsOf(lbls), printedSerials(sim), "every serial printed exactly once, in order")
	assert.Equal(t, 20, rec.count(printer.OutcomePrinted))
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
	rec, ev := newLedger(t), &events{}
	p := startRunner(t, sim.URL(), rec, ev)
	lbls := labels(12)
	res := runJob(t, p, lbls)
	require.NoError(t, res.Err)
	assert.Equal(t, 11, res.Printed)
	assert.Equal(t, 1, res.Unknown)
	rec.mu.Lock()
	assert.Equal(t, printer.OutcomeUnknown, rec.state["SN00006"], "the label on the wire when the connection dropped")
	rec.mu.Unlock()
	want := append(serialsOf(lbls[:5]), serialsOf(lbls[6:])...)
	assert.Equal(t, want, printedSerials(sim), "the rest printed once; SN00006 not sent again")
	assert.GreaterOrEqual(t, sim.Connections(), 2, "the runner reconnected")
}

func TestNotZPLModeIsAClearErrorAndPrintsNothing(t *testing.T) {
	sim := startSim(t, printersim.Config{Language: "line_print"})
	rec := newLedger(t)
	p := startRunner(t, sim.URL(), rec, &events{})
	res := runJob(t, p, labels(3))
	require.ErrorIs(t, res.Err, printer.ErrNotZPL)
	assert.Contains(t, res.Err.Error(), `device.languages is "line_print"`)
	assert.Zero(t, res.Printed)
	assert.Empty(t, rec.log, "no label was recorded as printing")
	assert.Empty(t, sim.Printed())
	assert.Equal(t, printer.StateError, p.Snapshot().State)
}

func TestWithoutOdometerAndAfterRefusedConnections(t *testing.T) {
	sim := startSim(t, printersim.Config{NoOdometer: true, Faults: []printersim.Fault{{Kind: printersim.Refuse, For: 150 * time.Millisecond}}})
	rec, ev := newLedger(t), &events{}
	p := startRunner(t, sim.URL(), rec, ev)
	lbls := labels(5)
	res := runJob(t, p, lbls)
	require.NoError(t, res.Err)
	assert.Equal(t, 5, res.Printed)
	assert.Equal(t, serialsOf(lbls), printedSerials(sim))
	assert.GreaterOrEqual(t, sim.Connections(), 2, "refused connections were retried")
	assert.NotContains(t, strings.Join(ev.states(), " "), "error")
}

func TestHeadOpenWhileLabelWaitsInBuffer(t *testing.T) {
	sim := startSim(t, printersim.Config{Speed: 20, Faults: []printersim.Fault{{Kind: printersim.HeadOpen, After: 2, For: 200 * time.Millisecond}}})
	rec, ev := newLedger(t), &events{}
	p := startRunner(t, sim.URL(), rec, ev)
	lbls := labels(4)
	res := runJob(t, p, lbls)
	require.NoError(t, res.Err)
	assert.Equal(t, 4, res.Printed)
	assert.Equal(t, serialsOf(lbls), printedSerials(sim))
	assert.Contains(t, ev.states(), "paused[head open]")
}

func TestFileTransportWritesOneFilePerLabel(t *testing.T) {
	dir := t.TempDir()
	rec := newLedger(t)
	p := startRunner(t, "file://"+dir, rec, &events{})
	res := runJob(t, p, labels(3))
	require.NoError(t, res.Err)
	assert.Equal(t, 3, res.Printed)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	info, err := entries[0].Info()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}
