package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.bug.st/serial"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

func openPTY(t *testing.T) (*os.File, string) { return testutil.PTY(t) }

// slowPrinter is a printer on the master side of a pty with a small receive
// buffer that it drains slowly. It sends XOFF once a little is waiting and
// XON when the buffer is almost empty, and loses bytes that arrive while it
// is full, as a real printer does.
//
// XOFF leaves room for 3840 more bytes: 330ms of the agent writing on at
// 115200 baud. A UART fills at line rate, but this printer sees bytes only
// when its goroutine reads the pty; on a loaded machine that can lag by
// tens of milliseconds, and with less room the printer, not the agent,
// would lose bytes (a burst of 512 unread bytes at once was seen with 768).
type slowPrinter struct {
	m      *os.File
	mu     sync.Mutex
	buf    []byte
	got    []byte
	lost   int
	xoffs  int
	paused bool
	peak   int // the most the buffer held
	done   chan struct{}
}

const (
	slowCapacity  = 4096
	slowXOFFAbove = 256
	slowXONBelow  = 64
)

func newSlowPrinter(m *os.File) *slowPrinter {
	p := &slowPrinter{m: m, done: make(chan struct{})}
	go p.receive()
	go p.drain()
	return p
}

func (p *slowPrinter) receive() {
	b := make([]byte, 512)
	for {
		n, err := p.m.Read(b)
		p.mu.Lock()
		for _, c := range b[:n] {
			if len(p.buf) >= slowCapacity {
				p.lost++
				continue
			}
			p.buf = append(p.buf, c)
		}
		p.peak = max(p.peak, len(p.buf))
		p.flow()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (p *slowPrinter) drain() {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		n := min(6, len(p.buf))
		p.got = append(p.got, p.buf[:n]...)
		p.buf = p.buf[n:]
		p.flow()
		p.mu.Unlock()
	}
}

// flow sends XOFF and XON; p.mu is held.
func (p *slowPrinter) flow() {
	switch {
	case !p.paused && len(p.buf) > slowXOFFAbove:
		p.paused = true
		p.xoffs++
		p.m.Write([]byte{xoff})
	case p.paused && len(p.buf) < slowXONBelow:
		p.paused = false
		p.m.Write([]byte{xon})
	}
}

func (p *slowPrinter) received() (got []byte, lost, xoffs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(append([]byte(nil), p.got...), p.buf...), p.lost, p.xoffs
}

func payload() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 8<<10; i++ {
		fmt.Fprintf(&b, "^XA^FO20,20^A0N,40^FDSN%06d^FS^PQ1^XZ\n", i)
	}
	return b.Bytes()
}

func TestSerialXonXoffLosesNothing(t *testing.T) {
	m, path := openPTY(t)
	pr := newSlowPrinter(m)
	defer close(pr.done)
	tr, err := Open(context.Background(), "serial://"+path+"?baud=115200&handshake=xonxoff", Options{})
	require.NoError(t, err)
	defer tr.Close()
	data := payload()
	n, err := tr.Write(context.Background(), data)
	require.NoError(t, err)
	require.Equal(t, len(data), n)
	require.Eventually(t, func() bool { got, lost, _ := pr.received(); return len(got)+lost >= len(data) }, 20*time.Second, 10*time.Millisecond)
	got, lost, xoffs := pr.received()
	pr.mu.Lock()
	peak := pr.peak
	pr.mu.Unlock()
	assert.Zero(t, lost, "no byte lost (the printer's buffer peaked at %d of %d bytes)", peak, slowCapacity)
	assert.Equal(t, data, got)
	assert.Greater(t, xoffs, 3, "the printer had to hold the agent back")

	// Replies come through with the flow-control bytes taken out.
	_, err = m.Write([]byte{xoff, '"', xon, 'z', 'p', xoff, 'l', '"', xon})
	require.NoError(t, err)
	c := NewConn(tr, time.Second)
	v, err := c.r.quoted(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "zpl", v)
}

// Without flow control the same printer loses data: the test above could
// fail.
func TestSerialWithoutHandshakeLosesBytes(t *testing.T) {
	m, path := openPTY(t)
	pr := newSlowPrinter(m)
	defer close(pr.done)
	tr, err := Open(context.Background(), "serial://"+path+"?baud=115200&handshake=none", Options{})
	require.NoError(t, err)
	defer tr.Close()
	_, err = tr.Write(context.Background(), payload())
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, lost, _ := pr.received(); return lost > 0 }, 10*time.Second, 10*time.Millisecond)
}

func TestSerialDTRWaitsForDSR(t *testing.T) {
	m, path := openPTY(t)
	pr := newSlowPrinter(m)
	defer close(pr.done)
	u, _ := url.Parse("serial://" + path + "?handshake=dtr")
	tr, err := openSerial(u, Options{}.withDefaults())
	require.NoError(t, err)
	defer tr.Close()
	st := tr.(*serialTransport)
	var mu sync.Mutex
	ready := false
	st.dsr = func() (bool, error) { mu.Lock(); defer mu.Unlock(); return ready, nil }
	done := make(chan error, 1)
	go func() { _, err := tr.Write(context.Background(), []byte("^XA^XZ")); done <- err }()
	time.Sleep(50 * time.Millisecond)
	got, _, _ := pr.received()
	assert.Empty(t, got, "nothing sent while DSR is low")
	mu.Lock()
	ready = true
	mu.Unlock()
	require.NoError(t, <-done)
	require.Eventually(t, func() bool { got, _, _ := pr.received(); return string(got) == "^XA^XZ" }, 2*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	mu.Lock()
	ready = false
	mu.Unlock()
	_, err = tr.Write(ctx, []byte("x"))
	require.ErrorContains(t, err, "printer held DSR low")
}

func TestSerialURL(t *testing.T) {
	for raw, want := range map[string]string{
		"serial:///dev/ttyUSB0?baud=9601":        "baud \"9601\" must be one of",
		"serial:///dev/ttyUSB0?parity=maybe":     "parity \"maybe\"",
		"serial:///dev/ttyUSB0?handshake=rtscts": "handshake \"rtscts\" must be xonxoff, dtr or none",
		"serial:///dev/ttyUSB0?speed=9600":       "unknown parameter \"speed\"",
		"serial://?baud=9600":                    "no device",
		"serial:///dev/ttyUSB0?databits=5":       "databits \"5\"",
		"serial:///dev/ttyUSB0?stopbits=3":       "stopbits \"3\"",
	} {
		assert.ErrorContains(t, CheckURL(raw), want, raw)
	}
	require.NoError(t, CheckURL("serial:///dev/ttyUSB0?baud=9600&databits=8&parity=none&stopbits=1&handshake=xonxoff"))
	_, err := Open(context.Background(), "serial:///dev/nonexistent-tty", Options{})
	require.ErrorContains(t, err, "open serial port /dev/nonexistent-tty")
}

// eintrPort is a serial port whose system calls are interrupted by signals
// now and then, as they are on a loaded machine: every other drain, the
// first write and the first read fail with EINTR.
type eintrPort struct {
	serial.Port // methods the transport does not use panic

	mu       sync.Mutex
	written  []byte
	writes   int
	drains   int
	reads    int
	replies  chan []byte
	closedCh chan struct{}
}

func (p *eintrPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes++
	if p.writes == 1 {
		// Half the chunk went out before the signal arrived.
		n := len(b) / 2
		p.written = append(p.written, b[:n]...)
		return n, syscall.EINTR
	}
	p.written = append(p.written, b...)
	return len(b), nil
}

func (p *eintrPort) Drain() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drains++
	if p.drains%2 == 1 {
		return fmt.Errorf("drain: %w", syscall.EINTR)
	}
	return nil
}

func (p *eintrPort) Read(b []byte) (int, error) {
	p.mu.Lock()
	p.reads++
	first := p.reads == 1
	p.mu.Unlock()
	if first {
		return 0, syscall.EINTR
	}
	select {
	case r := <-p.replies:
		return copy(b, r), nil
	case <-p.closedCh:
		return 0, errors.New("port closed")
	}
}

func (p *eintrPort) Close() error { close(p.closedCh); return nil }

func TestSerialRetriesInterruptedSystemCalls(t *testing.T) {
	port := &eintrPort{replies: make(chan []byte, 1), closedCh: make(chan struct{})}
	cfg := serialConfig{path: "/dev/fake", mode: serial.Mode{BaudRate: 115200, DataBits: 8}, handshake: handshakeXonXoff}
	tr := newSerialTransport(port, cfg, Options{}.withDefaults())
	defer tr.Close()

	data := payload()[:500]
	n, err := tr.Write(context.Background(), data)
	require.NoError(t, err, "EINTR from write or drain is not a failure")
	assert.Equal(t, len(data), n)
	port.mu.Lock()
	assert.Equal(t, data, port.written, "every byte written once, in order")
	assert.Greater(t, port.drains, 2, "interrupted drains were asked again")
	port.mu.Unlock()

	// The read loop outlived its interrupted read.
	port.replies <- []byte(`"zpl"`)
	c := NewConn(tr, time.Second)
	v, err := c.r.quoted(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "zpl", v)
}
