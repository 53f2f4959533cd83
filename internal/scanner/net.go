package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
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
	if err := checkParams(u, "serial", "baud"); err != nil {
		return nil, err
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

// framingParams are the URL parameters every source takes.
var framingParams = []string{"suffix", "gap", "maxlen", "gs"}

// checkParams refuses a URL parameter the source does not take: a
// misspelt one (allowed= for allow=) must not be silently ignored.
func checkParams(u *url.URL, what string, own ...string) error {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(own, k) && !slices.Contains(framingParams, k) {
			return fmt.Errorf("%s URL %q: unknown parameter %q; it takes %s", what, u.Redacted(), k, strings.Join(slices.Concat(own, framingParams), ", "))
		}
	}
	return nil
}

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
	if err := checkParams(u, "tcp"); err != nil {
		return nil, err
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
	allow   []netip.Prefix // peers that may connect; nil: any
	ln      net.Listener
	ready   chan struct{}
	refused map[netip.Addr]bool // peers refused and logged, touched by Run only
	drops
	status
}

// maxRefusedLogged bounds the refused peers remembered for logging once
// each: a scan of the network must not grow memory without end.
const maxRefusedLogged = 1024

func newListenSource(u *url.URL, f Framing, opt Options) (Source, error) {
	addr, err := hostPort(u, "tcp-listen")
	if err != nil {
		return nil, err
	}
	if err := checkParams(u, "tcp-listen", "allow"); err != nil {
		return nil, err
	}
	if u.Hostname() == "" {
		// Readers on other machines are let in only by naming the
		// address to listen on (0.0.0.0 for all): by default, this
		// machine only.
		addr = net.JoinHostPort("127.0.0.1", u.Port())
	}
	s := &listenSource{addr: addr, framing: f, opt: opt, ready: make(chan struct{}), refused: map[netip.Addr]bool{}}
	if vs, ok := u.Query()["allow"]; ok {
		if s.allow, err = parseAllow(vs); err != nil {
			return nil, fmt.Errorf("tcp-listen URL %q: %w", u.Redacted(), err)
		}
	}
	return s, nil
}

// parseAllow reads allow= values: comma-separated IP addresses and
// networks (10.0.0.7, 10.0.0.0/24, fd00::/8).
func parseAllow(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, fmt.Errorf("allow %q: give IP addresses or networks separated by commas, e.g. allow=10.0.0.7,10.0.1.0/24", v)
			}
			if strings.Contains(part, "/") {
				p, err := netip.ParsePrefix(part)
				if err != nil {
					return nil, fmt.Errorf("allow %q: %q is not a network such as 10.0.1.0/24", v, part)
				}
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("allow %q: %q is not an IP address such as 10.0.0.7", v, part)
			}
			a = a.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

// allowed reports whether a peer may connect.
func (s *listenSource) allowed(a netip.Addr) bool {
	if s.allow == nil {
		return true
	}
	for _, p := range s.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the IP address of a connection's peer.
func peerAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().WithZone("")
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap().WithZone("")
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
		s.set(SourceUnavailable)
		return fmt.Errorf("scanner %s: %w", s, err)
	}
	s.ln = ln
	s.set(SourceListening)
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
		peer := peerAddr(c)
		if !s.allowed(peer) {
			c.Close()
			s.logRefused(log, peer)
			continue
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

// logRefused logs a refused peer the first time it tries.
func (s *listenSource) logRefused(log zerolog.Logger, peer netip.Addr) {
	if s.refused[peer] {
		return
	}
	switch {
	case len(s.refused) < maxRefusedLogged:
		s.refused[peer] = true
		log.Warn().Str("peer", peer.String()).Msg("connection refused: the address is not in the source's allow list; further attempts from it are not logged")
	case len(s.refused) == maxRefusedLogged:
		s.refused[netip.Addr{}] = true // logged once, below
		log.Warn().Msg("connections refused from many addresses; no further refused addresses are logged")
	}
}
