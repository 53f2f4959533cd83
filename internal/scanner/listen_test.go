package scanner

import (
	"context"
	"net"
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
