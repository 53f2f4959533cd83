package scanner

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errTooManyFiles is the accept error of a process out of descriptors.
var errTooManyFiles = &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}

// flakyListener fails its first accepts, then works.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
	calls []time.Time // when Accept was called
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, errTooManyFiles
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// A listener that cannot accept for a while (out of file descriptors)
// keeps trying; the reader that connects meanwhile is served.
func TestListenSourceSurvivesAcceptErrors(t *testing.T) {
	logs := &logSink{}
	var fl *flakyListener
	listen := func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		fl = &flakyListener{Listener: ln, fails: 5}
		return fl, err
	}
	src, err := Open("tcp-listen://127.0.0.1:0", Options{Log: zerolog.New(logs), listen: listen})
	require.NoError(t, err)
	got := collect(t, src, 2, func() {
		a, err := src.(*listenSource).Addr(t.Context())
		if err != nil {
			return
		}
		c, err := net.Dial("tcp", a)
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(packRead + "\r]C0CMD:CLOSE\r"))
		time.Sleep(50 * time.Millisecond)
	})
	assert.Equal(t, []string{packHRI, "plain: CMD:CLOSE"}, hris(got))
	assert.Equal(t, 1, logs.count("cannot accept reader connections"), "logged once, not once per attempt")
	assert.Contains(t, logs.find("cannot accept reader connections"), "too many open files")
	assert.Equal(t, 1, logs.count("accepting reader connections again"))
	fl.mu.Lock()
	defer fl.mu.Unlock()
	require.GreaterOrEqual(t, len(fl.calls), 6)
	for i := 1; i <= 5; i++ {
		assert.GreaterOrEqual(t, fl.calls[i].Sub(fl.calls[i-1]), acceptRetryMin<<(i-1), "attempt %d waits", i)
	}
}

// fakeListener fails its first accepts, then blocks until it is closed.
type fakeListener struct {
	fails  int
	calls  []time.Time
	closed chan struct{}
	once   sync.Once
}

func (l *fakeListener) Accept() (net.Conn, error) {
	l.calls = append(l.calls, time.Now())
	if l.fails > 0 {
		l.fails--
		return nil, errTooManyFiles
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2001} }

// The waits between failed accepts start at 5ms and double up to 1s, as
// net/http's do; closing the listener ends the source.
func TestListenSourceAcceptBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := &fakeListener{fails: 10, closed: make(chan struct{})}
		src, err := Open("tcp-listen://127.0.0.1:2001", Options{Log: zerolog.Nop(),
			listen: func(string, string) (net.Listener, error) { return fl, nil }})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- src.Run(t.Context(), make(chan Scan)) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Len(t, fl.calls, 11, "still accepting after ten errors")
		var waits []time.Duration
		for i := 1; i < len(fl.calls); i++ {
			waits = append(waits, fl.calls[i].Sub(fl.calls[i-1]))
		}
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second}, waits)
		select {
		case err := <-done:
			t.Fatalf("source stopped: %v", err)
		default:
		}
		fl.Close()
		assert.ErrorContains(t, <-done, "no longer accepting readers")
	})
}

// Ending the context ends the source even while it waits between accept
// errors.
func TestListenSourceStopsDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fl := &fakeListener{fails: 1000, closed: make(chan struct{})}
		src, err := Open("tcp-listen://127.0.0.1:2001", Options{Log: zerolog.Nop(),
			listen: func(string, string) (net.Listener, error) { return fl, nil }})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx, make(chan Scan)) }()
		time.Sleep(3 * time.Second)
		cancel()
		assert.NoError(t, <-done)
	})
}

// Without a host the source listens on this machine only; readers on other
// machines need the address named, 0.0.0.0 for all.
func TestListenSourceBindsLoopbackUnlessTold(t *testing.T) {
	for url, want := range map[string]string{
		"tcp-listen://:2001":           "127.0.0.1:2001",
		"tcp-listen://0.0.0.0:2001":    "0.0.0.0:2001",
		"tcp-listen://10.0.0.7:2001":   "10.0.0.7:2001",
		"tcp-listen://[::]:2001":       "[::]:2001",
		"tcp-listen://:2001?suffix=lf": "127.0.0.1:2001",
	} {
		var bound string
		listen := func(_, addr string) (net.Listener, error) {
			bound = addr
			return &fakeListener{closed: make(chan struct{})}, nil
		}
		src, err := Open(url, Options{Log: zerolog.Nop(), listen: listen})
		require.NoError(t, err, url)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx, make(chan Scan)) }()
		_, err = src.(*listenSource).Addr(ctx)
		require.NoError(t, err)
		cancel()
		require.NoError(t, <-done)
		assert.Equal(t, want, bound, url)
		assert.Equal(t, "tcp-listen://"+want, src.String())
	}

	// On a real socket.
	src, err := Open("tcp-listen://:0", Options{Log: zerolog.Nop()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go src.Run(ctx, make(chan Scan))
	a, err := src.(*listenSource).Addr(ctx)
	require.NoError(t, err)
	host, _, _ := net.SplitHostPort(a)
	assert.Equal(t, "127.0.0.1", host)
}

// allow= lets in only the listed addresses and networks; a refused peer is
// closed at once and logged once, however often it tries.
func TestListenSourceAllow(t *testing.T) {
	logs := &logSink{}
	src, err := Open("tcp-listen://127.0.0.1:0?allow=127.0.0.2,10.0.0.0/8", Options{Log: zerolog.New(logs)})
	require.NoError(t, err)
	dial := func(a, from string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		return d.Dial("tcp", a)
	}
	refusedClosed := 0
	got := collect(t, src, 1, func() {
		a, err := src.(*listenSource).Addr(t.Context())
		if err != nil {
			return
		}
		for i := 0; i < 3; i++ {
			c, err := dial(a, "127.0.0.1")
			if err != nil {
				return
			}
			c.Write([]byte("]C0INTRUDER\r"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			// Closed by the source: EOF, or a reset as the scan was
			// never read; a timeout would be a connection left open.
			var ne net.Error
			if _, err := c.Read(make([]byte, 1)); err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				refusedClosed++
			}
			c.Close()
		}
		c, err := dial(a, "127.0.0.2")
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("]C0CMD:CLOSE\r"))
		time.Sleep(50 * time.Millisecond)
	})
	assert.Equal(t, []string{"plain: CMD:CLOSE"}, hris(got), "only the allowed reader's scan")
	assert.Equal(t, 3, refusedClosed, "a refused peer is closed")
	assert.Equal(t, 1, logs.count("connection refused"), "logged once per address")
	assert.Contains(t, logs.find("connection refused"), `"peer":"127.0.0.1"`)

	for q, want := range map[string]string{
		"allow=":              `allow "": give IP addresses or networks`,
		"allow=10.0.0.7,":     `allow "10.0.0.7,": give IP addresses or networks`,
		"allow=10.0.0.x":      `"10.0.0.x" is not an IP address`,
		"allow=10.0.0.0/33":   `"10.0.0.0/33" is not a network`,
		"allowed=10.0.0.7":    `unknown parameter "allowed"; it takes allow, suffix, gap, maxlen, gs`,
		"suffix=lf&baud=9600": `unknown parameter "baud"`,
	} {
		_, err := Open("tcp-listen://:2001?"+q, Options{})
		assert.ErrorContains(t, err, want, q)
	}
	_, err = Open("tcp://10.0.0.7:2001?allow=10.0.0.8", Options{})
	assert.ErrorContains(t, err, `tcp URL "tcp://10.0.0.7:2001?allow=10.0.0.8": unknown parameter "allow"`)
}

func TestListenAllowList(t *testing.T) {
	s, err := Open("tcp-listen://:2001?allow=10.0.0.7,192.168.1.0/24&allow=fd00::/8,::ffff:10.0.0.9", Options{})
	require.NoError(t, err)
	ls := s.(*listenSource)
	for addr, want := range map[string]bool{
		"10.0.0.7": true, "10.0.0.8": false, "192.168.1.77": true, "192.168.2.1": false,
		"fd00::1": true, "fe80::1": false, "10.0.0.9": true, "127.0.0.1": false,
	} {
		assert.Equal(t, want, ls.allowed(mustAddr(t, addr)), addr)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	require.NoError(t, err)
	return a
}
