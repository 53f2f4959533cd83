package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/edgeagent/edgeagent/internal/clock"
)

// serialReader is a serial port with read timeouts.
type serialReader struct {
	p    serial.Port
	path string
}

func (r serialReader) read(b []byte, timeout time.Duration) (int, error) {
	if err := r.p.SetReadTimeout(timeout); err != nil {
		return 0, err
	}
	n, err := r.p.Read(b)
	if n == 0 && err == nil {
		// A read that times out is (0, nil); on some drivers so is one
		// on a port whose device was unplugged. Check it is still there.
		if _, serr := os.Stat(r.path); serr != nil {
			return 0, fmt.Errorf("serial port gone: %w", serr)
		}
	}
	return n, err
}

func (r serialReader) Close() error { return r.p.Close() }

func newSerialSource(u *url.URL, f Framing, opt Options) (Source, error) {
	if u.Path == "" {
		return nil, fmt.Errorf("serial URL %q: no device; write serial:///dev/ttyACM0?baud=115200", u.Redacted())
	}
	mode := serial.Mode{BaudRate: 9600, DataBits: 8}
	if v := u.Query().Get("baud"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1200 || n > 921600 {
			return nil, fmt.Errorf("serial URL %q: baud %q must be 1200 to 921600", u.Redacted(), v)
		}
		mode.BaudRate = n
	}
	for k := range u.Query() {
		switch k {
		case "baud", "suffix", "gap", "maxlen", "gs":
		default:
			return nil, fmt.Errorf("serial URL %q: unknown parameter %q", u.Redacted(), k)
		}
	}
	path := u.Path
	return &streamSource{name: "serial://" + path, framing: f, opt: opt, open: func(context.Context) (byteReader, error) {
		p, err := serial.Open(path, &mode)
		if err != nil {
			return nil, err
		}
		return serialReader{p: p, path: path}, nil
	}}, nil
}

// connReader is a network connection with read deadlines.
type connReader struct{ c net.Conn }

func (r connReader) read(b []byte, timeout time.Duration) (int, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(timeout))
	n, err := r.c.Read(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return n, nil
	}
	return n, err
}

func (r connReader) Close() error { return r.c.Close() }

func hostPort(u *url.URL, what string) (string, error) {
	if u.Port() == "" {
		return "", fmt.Errorf("%s URL %q: give a port, e.g. %s://10.0.0.7:2001", what, u.Redacted(), what)
	}
	lowest := 1
	if what == "tcp-listen" {
		lowest = 0 // any free port
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < lowest || n > 65535 {
		return "", fmt.Errorf("%s URL %q: port must be 1-65535", what, u.Redacted())
	}
	return u.Host, nil
}

func newTCPSource(u *url.URL, f Framing, opt Options) (Source, error) {
	addr, err := hostPort(u, "tcp")
	if err != nil {
		return nil, err
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("tcp URL %q: give a host; to accept connections use tcp-listen://", u.Redacted())
	}
	return &streamSource{name: "tcp://" + addr, framing: f, opt: opt, open: func(ctx context.Context) (byteReader, error) {
		d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return connReader{c}, nil
	}}, nil
}

// listenSource accepts fixed-mount readers that connect to the agent;
// several may be connected at once, each with its own framing.
type listenSource struct {
	addr    string
	framing Framing
	opt     Options
	ln      net.Listener
	ready   chan struct{}
	drops
}

func newListenSource(u *url.URL, f Framing, opt Options) (Source, error) {
	addr, err := hostPort(u, "tcp-listen")
	if err != nil {
		return nil, err
	}
	return &listenSource{addr: addr, framing: f, opt: opt, ready: make(chan struct{})}, nil
}

func (s *listenSource) String() string { return "tcp-listen://" + s.addr }

// Addr waits until the source listens and returns its address.
func (s *listenSource) Addr(ctx context.Context) (string, error) {
	select {
	case <-s.ready:
		return s.ln.Addr().String(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Accept errors are waited out as net/http does: from 5ms, doubling, up to
// 1s between attempts. Running out of file descriptors, say, passes; a
// source that stopped accepting would leave its readers without verdicts
// until a restart.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

func (s *listenSource) Run(ctx context.Context, out chan<- Scan) error {
	listen := s.opt.listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("scanner %s: %w", s, err)
	}
	s.ln = ln
	close(s.ready)
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	log := s.opt.Log.With().Str("scanner", s.String()).Logger()
	var wg sync.WaitGroup
	defer wg.Wait()
	var retry time.Duration // the wait after the last accept error; 0: accepting
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("scanner %s: no longer accepting readers: %w", s, err)
			}
			if retry == 0 {
				log.Warn().Err(err).Msg("cannot accept reader connections; retrying")
				retry = acceptRetryMin
			} else {
				retry = min(2*retry, acceptRetryMax)
			}
			if clock.Sleep(ctx, retry) != nil {
				return nil
			}
			continue
		}
		if retry != 0 {
			log.Info().Msg("accepting reader connections again")
			retry = 0
		}
		name := "tcp-listen://" + s.addr + "#" + c.RemoteAddr().String()
		plog := log.With().Str("peer", c.RemoteAddr().String()).Logger()
		plog.Info().Msg("reader connected")
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := connReader{c}
			err := frameLoop(ctx, r, s.drops.framer(plog, s.framing), name, false, out)
			r.Close()
			if ctx.Err() == nil {
				plog.Info().AnErr("reason", err).Msg("reader disconnected")
			}
		}()
	}
}
