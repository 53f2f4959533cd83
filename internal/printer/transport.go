package printer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Transport carries bytes to a printer and its replies back. Write writes
// all of p or fails; Read returns what arrived, waiting at most until ctx is
// done. Every method may be called from one goroutine at a time, except
// Close, which also interrupts a pending Read or Write.
type Transport interface {
	Write(ctx context.Context, p []byte) (int, error)
	Read(ctx context.Context, p []byte) (int, error)
	Close() error
	// Bidirectional reports whether the printer can answer status
	// requests over this transport.
	Bidirectional() bool
	// String is the URL with any secret removed, for logs.
	String() string
}

// Options tune transports.
type Options struct {
	DialTimeout  time.Duration // TCP connect (default 5s)
	WriteTimeout time.Duration // a write that makes no progress (default 30s)
	KeepAlive    time.Duration // TCP keepalive period (default 15s)
	usb          usbBackend    // tests replace the USB backend
	// dial, when set, replaces the TCP dialer: tests connect the runner to
	// an emulator over an in-memory pipe.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	return o
}

// Open connects to the printer a URL names:
//
//	tcp://host:9100
//	usb://0a5f:0166?serial=XXQLJ123456
//	serial:///dev/ttyUSB0?baud=9600&databits=8&parity=none&stopbits=1&handshake=xonxoff
//	file:///var/spool/edgeagent/labels
func Open(ctx context.Context, rawURL string, opt Options) (Transport, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	switch u.Scheme {
	case "tcp":
		return openTCP(ctx, u, opt)
	case "usb":
		return openUSB(ctx, u, opt)
	case "serial":
		return openSerial(u, opt)
	case "file":
		return openFile(u)
	default:
		return nil, fmt.Errorf("printer URL %q: scheme must be tcp, usb, serial or file", rawURL)
	}
}

// parseURL parses a printer URL. An address written without a scheme
// (10.0.0.5:9100, or a bare host name), which url.Parse rejects or reads
// as a scheme of its own, is refused with the tcp:// URL meant.
func parseURL(rawURL string) (*url.URL, error) {
	if tcp, ok := schemeless(rawURL); ok {
		return nil, fmt.Errorf("printer URL %q has no scheme: for a network printer write %s", rawURL, tcp)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("printer URL %q: %w", rawURL, err)
	}
	return u, nil
}

// schemeless returns the tcp:// URL for an address given without a
// scheme: host:port with a numeric port, or a host alone (port 9100).
func schemeless(raw string) (string, bool) {
	if raw == "" || strings.Contains(raw, "://") || strings.ContainsAny(raw, "/?#@ ") {
		return "", false
	}
	if host, port, err := net.SplitHostPort(raw); err == nil {
		if _, err := strconv.Atoi(port); err != nil || host == "" {
			return "", false
		}
		switch host {
		case "tcp", "usb", "serial", "file": // a URL missing its slashes: the scheme error says enough
			return "", false
		}
		return "tcp://" + raw, true
	}
	if strings.Contains(raw, ":") { // usb:…, serial:… or an IPv6 address
		return "", false
	}
	return "tcp://" + raw + ":9100", true
}

// CheckURL validates a printer URL without connecting.
func CheckURL(rawURL string) error {
	u, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "tcp":
		_, err = tcpAddr(u)
	case "usb":
		_, err = parseUSBURL(u)
	case "serial":
		_, err = parseSerialURL(u)
	case "file":
		if u.Path == "" {
			err = fmt.Errorf("file URL %q: give a directory, file:///var/spool/labels", rawURL)
		}
	default:
		err = fmt.Errorf("printer URL %q: scheme must be tcp, usb, serial or file", rawURL)
	}
	return err
}

func tcpAddr(u *url.URL) (string, error) {
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", fmt.Errorf("tcp URL %q: no host; write tcp://host:9100", u.Redacted())
	}
	if port == "" {
		port = "9100"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("tcp URL %q: port %q must be 1-65535", u.Redacted(), port)
	}
	return net.JoinHostPort(host, port), nil
}

// tcpTransport is a TCP connection, usually to port 9100.
type tcpTransport struct {
	conn    net.Conn
	name    string
	opt     Options
	closing atomic.Bool
}

func openTCP(ctx context.Context, u *url.URL, opt Options) (Transport, error) {
	addr, err := tcpAddr(u)
	if err != nil {
		return nil, err
	}
	dial := opt.dial
	if dial == nil {
		d := net.Dialer{Timeout: opt.DialTimeout, KeepAlive: opt.KeepAlive}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to printer %s: %w", addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &tcpTransport{conn: conn, name: "tcp://" + addr, opt: opt}, nil
}

// deadline is ctx's deadline, or now+def when it has none.
func deadline(ctx context.Context, def time.Duration) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	if def <= 0 {
		return time.Time{}
	}
	return time.Now().Add(def)
}

// ioCtx runs op with the connection's deadline set from ctx, and cuts it
// short when ctx is cancelled.
func ioCtx(ctx context.Context, set func(time.Time) error, dl time.Time, op func() (int, error)) (int, error) {
	if err := set(dl); err != nil {
		return 0, err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = set(time.Unix(1, 0))
		close(fired)
	})
	n, err := op()
	if !stop() {
		// The cancel has started: let it finish, so that it cannot cut
		// short the next operation's deadline.
		<-fired
		if ctx.Err() != nil && err != nil {
			return n, ctx.Err()
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return n, err
}

func (t *tcpTransport) Write(ctx context.Context, p []byte) (int, error) {
	return ioCtx(ctx, t.conn.SetWriteDeadline, deadline(ctx, t.opt.WriteTimeout), func() (int, error) { return t.conn.Write(p) })
}

func (t *tcpTransport) Read(ctx context.Context, p []byte) (int, error) {
	return ioCtx(ctx, t.conn.SetReadDeadline, deadline(ctx, 0), func() (int, error) { return t.conn.Read(p) })
}

func (t *tcpTransport) Close() error {
	if t.closing.Swap(true) {
		return nil
	}
	return t.conn.Close()
}

func (t *tcpTransport) Bidirectional() bool { return true }
func (t *tcpTransport) String() string      { return t.name }

// fileTransport writes each label format to its own file, for dry runs.
type fileTransport struct {
	dir  string
	mu   sync.Mutex
	n    int
	part []byte
}

func openFile(u *url.URL) (Transport, error) {
	dir := u.Path
	if dir == "" {
		return nil, fmt.Errorf("file URL %q: give a directory, file:///var/spool/labels", u.Redacted())
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("label directory: %w", err)
	}
	return &fileTransport{dir: dir}, nil
}

// Write splits the stream into ^XA…^XZ formats and writes each to
// label-<time>-<n>.zpl, mode 0600.
func (t *fileTransport) Write(_ context.Context, p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		s := strings.Index(string(t.part), "^XA")
		if s < 0 {
			t.part = t.part[:0]
			return len(p), nil
		}
		e := strings.Index(string(t.part[s:]), "^XZ")
		if e < 0 {
			t.part = t.part[s:]
			return len(p), nil
		}
		t.n++
		name := filepath.Join(t.dir, fmt.Sprintf("label-%s-%06d.zpl", time.Now().UTC().Format("20060102T150405.000000000"), t.n))
		if err := os.WriteFile(name, t.part[s:s+e+3], 0o600); err != nil {
			return 0, err
		}
		t.part = t.part[s+e+3:]
	}
}

func (t *fileTransport) Read(ctx context.Context, _ []byte) (int, error) {
	return 0, errors.New("a file printer has no status")
}

func (t *fileTransport) Close() error        { return nil }
func (t *fileTransport) Bidirectional() bool { return false }
func (t *fileTransport) String() string      { return "file://" + t.dir }
