package printer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.bug.st/serial"

	"github.com/edgeagent/edgeagent/internal/clock"
)

const (
	xon  = 0x11
	xoff = 0x13

	// serialChunk bounds how much is written between flow-control checks: a
	// printer sends XOFF with room for a little more, not for a whole label.
	serialChunk = 32
)

type handshake int

const (
	handshakeXonXoff handshake = iota
	handshakeDTR
	handshakeNone
)

type serialConfig struct {
	path      string
	mode      serial.Mode
	handshake handshake
}

var standardBauds = map[int]bool{1200: true, 2400: true, 4800: true, 9600: true, 19200: true, 38400: true, 57600: true, 115200: true}

func parseSerialURL(u *url.URL) (serialConfig, error) {
	c := serialConfig{path: u.Path, mode: serial.Mode{BaudRate: 9600, DataBits: 8}}
	if c.path == "" {
		return c, fmt.Errorf("serial URL %q: no device; write serial:///dev/ttyUSB0?baud=9600", u.Redacted())
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "baud", "databits", "parity", "stopbits", "handshake":
		default:
			return c, fmt.Errorf("serial URL: unknown parameter %q (baud, databits, parity, stopbits, handshake)", k)
		}
	}
	if v := q.Get("baud"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !standardBauds[n] {
			return c, fmt.Errorf("serial URL: baud %q must be one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200", v)
		}
		c.mode.BaudRate = n
	}
	if v := q.Get("databits"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 7 || n > 8 {
			return c, fmt.Errorf("serial URL: databits %q must be 7 or 8", v)
		}
		c.mode.DataBits = n
	}
	switch v := q.Get("parity"); v {
	case "", "none":
		c.mode.Parity = serial.NoParity
	case "odd":
		c.mode.Parity = serial.OddParity
	case "even":
		c.mode.Parity = serial.EvenParity
	default:
		return c, fmt.Errorf("serial URL: parity %q must be none, odd or even", v)
	}
	switch v := q.Get("stopbits"); v {
	case "", "1":
		c.mode.StopBits = serial.OneStopBit
	case "2":
		c.mode.StopBits = serial.TwoStopBits
	default:
		return c, fmt.Errorf("serial URL: stopbits %q must be 1 or 2", v)
	}
	switch v := q.Get("handshake"); v {
	case "", "xonxoff":
		c.handshake = handshakeXonXoff
	case "dtr":
		c.handshake = handshakeDTR
	case "none":
		c.handshake = handshakeNone
	default:
		return c, fmt.Errorf("serial URL: handshake %q must be xonxoff, dtr or none", v)
	}
	return c, nil
}

// serialTransport talks to a printer on an RS-232 or USB-serial port. The
// driver opens the port raw, without flow control, so the transport honours
// the printer's XON/XOFF itself (or its DSR line in DTR mode): otherwise
// bytes are lost when the printer's buffer fills.
type serialTransport struct {
	port serial.Port
	cfg  serialConfig
	opt  Options
	dsr  func() (bool, error) // DTR handshake: may we send?

	lineFree time.Time // when the last chunk has left the wire

	mu      sync.Mutex
	cond    *sync.Cond
	data    []byte
	paused  bool
	readErr error
	closed  bool
	done    chan struct{}
}

func openSerial(u *url.URL, opt Options) (Transport, error) {
	cfg, err := parseSerialURL(u)
	if err != nil {
		return nil, err
	}
	port, err := serial.Open(cfg.path, &cfg.mode)
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", cfg.path, err)
	}
	if err := port.SetReadTimeout(50 * time.Millisecond); err != nil {
		port.Close()
		return nil, fmt.Errorf("serial port %s: %w", cfg.path, err)
	}
	t := newSerialTransport(port, cfg, opt)
	t.dsr = func() (bool, error) {
		bits, err := port.GetModemStatusBits()
		if err != nil {
			return false, err
		}
		return bits.DSR, nil
	}
	return t, nil
}

func newSerialTransport(port serial.Port, cfg serialConfig, opt Options) *serialTransport {
	t := &serialTransport{port: port, cfg: cfg, opt: opt, done: make(chan struct{})}
	t.cond = sync.NewCond(&t.mu)
	go t.readLoop()
	return t
}

// readLoop takes every byte the printer sends: flow-control bytes change
// the pause state, the rest are replies for Read.
func (t *serialTransport) readLoop() {
	defer close(t.done)
	buf := make([]byte, 256)
	for {
		n, err := t.port.Read(buf)
		if errors.Is(err, syscall.EINTR) {
			// A signal cut the read short: nothing was lost, read again.
			err = nil
		}
		t.mu.Lock()
		for _, c := range buf[:n] {
			switch {
			case t.cfg.handshake == handshakeXonXoff && c == xoff:
				t.paused = true
			case t.cfg.handshake == handshakeXonXoff && c == xon:
				t.paused = false
			default:
				if len(t.data) < 1<<16 {
					t.data = append(t.data, c)
				}
			}
		}
		if err != nil || t.closed {
			if t.readErr == nil {
				t.readErr = err
				if err == nil {
					t.readErr = errors.New("serial port closed")
				}
			}
			t.cond.Broadcast()
			t.mu.Unlock()
			return
		}
		if n > 0 {
			t.cond.Broadcast()
		}
		t.mu.Unlock()
	}
}

// wait blocks until ready() holds (with t.mu held) or ctx ends.
func (t *serialTransport) wait(ctx context.Context, ready func() bool) error {
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer stop()
	for !ready() {
		if t.closed {
			return errors.New("serial port closed")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.cond.Wait()
	}
	return nil
}

func (t *serialTransport) Read(ctx context.Context, p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.wait(ctx, func() bool { return len(t.data) > 0 || t.readErr != nil })
	if len(t.data) > 0 {
		n := copy(p, t.data)
		t.data = t.data[n:]
		return n, nil
	}
	if err == nil {
		err = t.readErr
	}
	return 0, err
}

// Write sends p in small chunks, each only when the printer allows it.
func (t *serialTransport) Write(ctx context.Context, p []byte) (int, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline(ctx, t.opt.WriteTimeout))
	defer cancel()
	written := 0
	for written < len(p) {
		// At most one chunk on the line: bytes already sent cannot be held
		// back by an XOFF, so a chunk waits for the last one's air time.
		if t.cfg.handshake != handshakeNone {
			if err := clock.Sleep(ctx, time.Until(t.lineFree)); err != nil {
				return written, err
			}
		}
		if err := t.mayWrite(ctx); err != nil {
			return written, err
		}
		end := min(written+serialChunk, len(p))
		n, err := t.port.Write(p[written:end])
		written += max(n, 0)
		if errors.Is(err, syscall.EINTR) {
			// A signal interrupted the write; what it wrote is counted,
			// the rest goes on the next turn.
			err = nil
		}
		if err != nil {
			return written, fmt.Errorf("serial write: %w", err)
		}
		if t.cfg.handshake != handshakeNone {
			if err := t.drain(ctx); err != nil {
				return written, err
			}
			t.lineFree = time.Now().Add(t.airTime(n))
		}
	}
	return written, nil
}

// drain waits until the bytes written have left the port (tcdrain). The
// ioctl sleeps interruptibly in the kernel, so a signal (the Go runtime
// sends them to preempt goroutines, more often under load) makes it fail
// with EINTR; it is then simply asked again.
func (t *serialTransport) drain(ctx context.Context) error {
	for {
		err := t.port.Drain()
		if !errors.Is(err, syscall.EINTR) {
			if err != nil {
				return fmt.Errorf("serial drain: %w", err)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// airTime is how long n bytes take on the wire at the port's settings.
func (t *serialTransport) airTime(n int) time.Duration {
	bits := 1 + t.cfg.mode.DataBits + 1
	if t.cfg.mode.Parity != serial.NoParity {
		bits++
	}
	if t.cfg.mode.StopBits == serial.TwoStopBits {
		bits++
	}
	return time.Duration(n*bits) * time.Second / time.Duration(t.cfg.mode.BaudRate)
}

func (t *serialTransport) mayWrite(ctx context.Context) error {
	switch t.cfg.handshake {
	case handshakeXonXoff:
		t.mu.Lock()
		defer t.mu.Unlock()
		if err := t.wait(ctx, func() bool { return !t.paused }); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("printer held XOFF until the write timed out: %w", err)
			}
			return err
		}
	case handshakeDTR:
		for {
			ok, err := t.dsr()
			if errors.Is(err, syscall.EINTR) {
				ok, err = false, nil // ask again after the pause
			}
			if err != nil {
				return fmt.Errorf("serial DSR: %w", err)
			}
			if ok {
				return nil
			}
			if err := clock.Sleep(ctx, 10*time.Millisecond); err != nil {
				return fmt.Errorf("printer held DSR low until the write timed out: %w", err)
			}
		}
	}
	return nil
}

func (t *serialTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.cond.Broadcast()
	t.mu.Unlock()
	err := t.port.Close()
	<-t.done
	return err
}

func (t *serialTransport) Bidirectional() bool { return true }

func (t *serialTransport) String() string {
	return "serial://" + t.cfg.path + "?baud=" + strconv.Itoa(t.cfg.mode.BaudRate) + "&handshake=" +
		strings.ToLower([]string{"xonxoff", "dtr", "none"}[t.cfg.handshake])
}
