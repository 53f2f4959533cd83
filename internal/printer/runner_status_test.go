package printer_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer"
)

// garbledPrinter is a Zebra without an odometer, on a real TCP socket,
// whose ~HS answer can be garbage. It answers ~HQES, ~HI and getvar as a
// healthy printer does, prints each label format at once, and counts them.
type garbledPrinter struct {
	ln      net.Listener
	garbage []byte       // the ~HS answer while garbled
	garbled atomic.Bool  // ~HS answers garbage
	after   atomic.Int64 // when > 0, ~HS turns to garbage once this many formats came
	formats atomic.Int64 // label formats received
	asked   atomic.Int64 // ~HS requests
}

const goodHS = "\x02030,0,0,0240,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"

func startGarbled(t *testing.T, garbage []byte) *garbledPrinter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &garbledPrinter{ln: ln, garbage: garbage}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			g.serve(conn) // one host at a time, as port 9100
		}
	}()
	return g
}

func (g *garbledPrinter) url() string { return "tcp://" + g.ln.Addr().String() }

var requests = []string{"~HQES", "~HS", "~HI", "! U1 getvar", "^XA"}

func (g *garbledPrinter) serve(conn net.Conn) {
	defer conn.Close()
	var pending []byte
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		pending = append(pending, buf[:n]...)
	parse:
		for len(pending) > 0 {
			var reply string
			switch {
			case bytes.HasPrefix(pending, []byte("~HQES")):
				reply = "\x02\r\n  PRINTER STATUS\r\n    ERRORS:         0 00000000 00000000\r\n    WARNINGS:       0 00000000 00000000\r\n\x03\r\n"
				pending = pending[5:]
			case bytes.HasPrefix(pending, []byte("~HS")):
				g.asked.Add(1)
				reply = goodHS
				if g.garbled.Load() {
					reply = string(g.garbage)
				}
				pending = pending[3:]
			case bytes.HasPrefix(pending, []byte("~HI")):
				reply = "\x02ZT411-203dpi,V92.21.39Z,8,8192KB\x03\r\n"
				pending = pending[3:]
			case bytes.HasPrefix(pending, []byte("! U1 getvar")):
				nl := bytes.IndexByte(pending, '\n')
				if nl < 0 {
					break parse
				}
				reply = `"?"` // no odometer, nor anything else
				if bytes.Contains(pending[:nl], []byte("device.languages")) {
					reply = `"zpl"`
				}
				pending = pending[nl+1:]
			case bytes.HasPrefix(pending, []byte("^XA")):
				if n := g.formats.Add(1); n == g.after.Load() {
					g.garbled.Store(true)
				}
				pending = pending[3:]
			default:
				for _, r := range requests {
					if len(pending) < len(r) && strings.HasPrefix(r, string(pending)) {
						break parse // the rest of a request is on its way
					}
				}
				pending = pending[1:]
			}
			if reply != "" {
				if _, err := conn.Write([]byte(reply)); err != nil {
					return
				}
			}
		}
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// A printer that answers ~HS with garbage cannot confirm labels: the
// runner says so and sends none until it answers properly, and then goes
// on by itself.
func TestGarbageStatusHoldsLabelsUntilThePrinterAnswersProperly(t *testing.T) {
	for name, garbage := range map[string][]byte{
		"random bytes":             randomBytes(300),
		"frames that do not parse": []byte("\x02hello\x03\r\n\x02world\x03\r\n\x02!\x03\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			g := startGarbled(t, garbage)
			g.garbled.Store(true)
			lbls := labels(3)
			q, ev := queue(t, lbls), &events{}
			r := startRunner(t, g.url(), q, ev)

			require.Eventually(t, func() bool { return r.Snapshot().State == printer.StateError }, 5*time.Second, 5*time.Millisecond,
				"the runner reports the printer in error")
			assert.Contains(t, r.Snapshot().LastErr, "the printer's status answer is not a Zebra status: ~HS: ", "with a reason an operator understands")
			asked := g.asked.Load()
			time.Sleep(400 * time.Millisecond) // several retries
			assert.Greater(t, g.asked.Load(), asked, "the runner keeps checking")
			assert.Zero(t, g.formats.Load(), "nothing is sent to a printer that cannot confirm it")
			assert.Equal(t, 3, q.Queued(), "the labels stay queued")
			assert.Empty(t, q.History())
			assert.Equal(t, printer.StateError, r.Snapshot().State)

			g.garbled.Store(false)
			waitAll(t, q, lbls)
			assertEachOnce(t, q, lbls)
			assert.Equal(t, int64(3), g.formats.Load(), "each label sent once")
			assert.Zero(t, r.Snapshot().Unknown)
			st := ev.states()
			require.Contains(t, st, "error[]")
			assert.Contains(t, st[indexOf(st, "error[]"):], "printing[]", "the runner resumed by itself")
		})
	}
}

// When ~HS turns to garbage while a label is being confirmed, that label
// is unknown, and the rest wait.
func TestGarbageStatusWhileConfirmingLeavesThatLabelUnknownAndHoldsTheRest(t *testing.T) {
	g := startGarbled(t, randomBytes(300))
	g.after.Store(2) // garbage from the second label on
	lbls := labels(4)
	q, ev := queue(t, lbls), &events{}
	r := startRunner(t, g.url(), q, ev)

	waitOutcome(t, q, lbls[1].Ref, printer.OutcomeUnknown)
	_, reason := q.Outcome(lbls[1].Ref)
	assert.Contains(t, reason, "the printer could not confirm the label: the printer's status answer is not a Zebra status: ~HS: ")
	require.Eventually(t, func() bool { return r.Snapshot().State == printer.StateError }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(400 * time.Millisecond) // several retries
	assert.Equal(t, int64(2), g.formats.Load(), "nothing more is sent")
	assert.Equal(t, 2, q.Queued())

	g.garbled.Store(false)
	waitAll(t, q, lbls)
	assert.Equal(t, int64(4), g.formats.Load(), "the unknown label is not sent again")
	assert.Equal(t, map[printer.Outcome]int{printer.OutcomePrinted: 3, printer.OutcomeUnknown: 1}, outcomes(q, lbls))
}
