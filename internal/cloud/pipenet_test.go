package cloud_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
)

// pipeNet is an in-process network of net.Pipe connections, for tests in a
// testing/synctest bubble: with no sockets, every wait is on the bubble's
// channels and timers, so time is virtual and waits cost nothing. It is
// the listener the server is handed and the dialer of the client.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (n *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves h on a pipe network until the test ends and returns a
// client that reaches it at any URL.
func servePipe(t *testing.T, h http.Handler) *http.Client {
	n := newPipeNet()
	srv := &http.Server{Handler: h}
	go srv.Serve(n)
	tr := &http.Transport{DialContext: n.DialContext}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &http.Client{Transport: tr}
}
