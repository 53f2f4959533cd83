package printer_test

import (
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

func idleProbe(d time.Duration) func(*printer.Config) {
	return func(c *printer.Config) { c.IdleProbe = d }
}

// waitState waits until the runner's state is st with the faults given.
func waitState(t *testing.T, r *running, st printer.State, faults ...string) {
	t.Helper()
	if !assert.Eventually(t, func() bool {
		s := r.Snapshot()
		return s.State == st && assert.ObjectsAreEqual(append([]string(nil), faults...), s.Faults)
	}, 5*time.Second, 5*time.Millisecond) {
		s := r.Snapshot()
		t.Fatalf("want state %s%v; it is %s%v (%s)", st, faults, s.State, s.Faults, s.LastErr)
	}
}

// An idle runner checks its printer at start and then on an interval: the
// dashboard shows the printer ready, or paused with its faults, before any
// label is printed.
func TestIdleRunnerChecksThePrinterBeforeAnyLabel(t *testing.T) {
	sim := startSim(t, printersim.Config{})
	q, ev := printer.NewQueue(), &events{}
	r := startRunner(t, sim.URL(), q, ev, idleProbe(50*time.Millisecond))

	waitState(t, r, printer.StateReady)
	sim.SetFault(printersim.HeadOpen, true)
	waitState(t, r, printer.StatePaused, "head open")
	sim.SetFault(printersim.HeadOpen, false)
	waitState(t, r, printer.StateReady)
	assert.Equal(t, []string{"ready[]", "paused[head open]", "ready[]"}, ev.states())
	assert.Empty(t, sim.Printed())
	assert.Equal(t, 1, sim.Connections(), "the checks share the runner's one connection")

	lbls := labels(2)
	for _, l := range lbls {
		require.NoError(t, q.Add(l))
	}
	waitAll(t, q, lbls)
	assertEachOnce(t, q, lbls)
	assert.Equal(t, subjects(lbls), printedSerials(sim))
}

// A label queued between two checks is printed at once, not at the next
// check.
func TestIdleChecksDoNotHoldUpALabel(t *testing.T) {
	sim := startSim(t, printersim.Config{})
	q := printer.NewQueue()
	r := startRunner(t, sim.URL(), q, &events{}, idleProbe(time.Hour))
	waitState(t, r, printer.StateReady)

	lbls := labels(1)
	start := time.Now()
	require.NoError(t, q.Add(lbls[0]))
	waitAll(t, q, lbls)
	assert.Less(t, time.Since(start), 5*time.Second)
	assertEachOnce(t, q, lbls)
}

// A printer that is away when the agent starts is shown offline with the
// reason, and ready once it is back, without a label to print.
func TestIdleRunnerReportsAnOfflinePrinterAndItsReturn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there for now

	r := startRunner(t, "tcp://"+addr, printer.NewQueue(), &events{}, idleProbe(50*time.Millisecond))
	require.Eventually(t, func() bool { return r.Snapshot().LastErr != "" }, 5*time.Second, 5*time.Millisecond)
	s := r.Snapshot()
	assert.Equal(t, printer.StateOffline, s.State)
	assert.Contains(t, s.LastErr, "connect to printer "+addr)

	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	sim, err := printersim.Start(printersim.Config{Listener: ln}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { sim.Close() })
	waitState(t, r, printer.StateReady)
}
