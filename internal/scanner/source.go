package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeagent/edgeagent/internal/clock"
	"github.com/rs/zerolog"
)

// Options are shared by all sources.
type Options struct {
	Log zerolog.Logger
	// Layout is the keyboard layout of a wedge scanner (evdev): us, de, fr
	// or uk. Default us.
	Layout string
	// Retry is the pause between attempts to reopen a device or
	// reconnect (default 1s).
	Retry time.Duration
	// Stdin is read by the stdin source (default os.Stdin).
	Stdin io.Reader
	// Wedge marks the stdin source's reads as typed by a keyboard wedge (a
	// scanner typing into a terminal): separators may have been lost, so
	// Decode refuses a read that could be split into AIs two ways. evdev
	// reads always are.
	Wedge bool

	hid       hidBackend                                       // tests replace the HID POS backend
	evdevOpen func(string) (io.ReadCloser, error)              // the input device
	listen    func(network, addr string) (net.Listener, error) // and the tcp-listen socket
}

func (o Options) retry() time.Duration {
	if o.Retry <= 0 {
		return time.Second
	}
	return o.Retry
}

// CheckURL validates a scanner URL as Open does, without opening
// anything: Open only reads the URL, and a source touches its device or
// port when it runs.
func CheckURL(raw string) error {
	_, err := Open(raw, Options{})
	return err
}

// Open returns the source a URL names:
//
//	serial:///dev/ttyACM0?baud=115200&suffix=cr
//	tcp://10.0.0.7:2001?suffix=crlf
//	tcp-listen://:2001                               (this machine only)
//	tcp-listen://0.0.0.0:2001?allow=10.0.7.0/24      (readers on the network)
//	hidpos://05e0:1200?serial=S123&format=zebra
//	evdev:///dev/input/by-id/usb-Scanner-event-kbd?layout=de&gs=|
//	stdin                                            (one read a line)
//	stdin?gs=|
//
// Every URL takes the framing parameters suffix, gap, maxlen and gs (a
// character the scanner sends in place of GS); a parameter a source does
// not take is an error.
func Open(raw string, opt Options) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("scanner URL %q: %w", raw, err)
	}
	f, err := ParseFraming(u.Query())
	if err != nil {
		return nil, fmt.Errorf("scanner URL %q: %w", raw, err)
	}
	if (u.Scheme == "" && u.Path == "stdin") || (u.Scheme == "stdin" && u.Opaque == "" && u.Host == "" && u.Path == "") {
		if err := checkParams(u, "stdin"); err != nil {
			return nil, err
		}
		if !u.Query().Has("suffix") {
			f.Suffix = "\n"
		}
		r := opt.Stdin
		if r == nil {
			r = os.Stdin
		}
		return &streamSource{name: "stdin", framing: f, opt: opt, wedge: opt.Wedge, once: true,
			open: func(context.Context) (byteReader, error) { return newPipeReader(r), nil }}, nil
	}
	switch u.Scheme {
	case "serial":
		return newSerialSource(u, f, opt)
	case "tcp":
		return newTCPSource(u, f, opt)
	case "tcp-listen":
		return newListenSource(u, f, opt)
	case "hidpos":
		return newHIDSource(u, f, opt)
	case "evdev":
		return newEvdevSource(u, f, opt)
	default:
		return nil, fmt.Errorf("scanner URL %q: scheme must be serial, tcp, tcp-listen, hidpos, evdev or stdin", raw)
	}
}

// byteReader reads a device: (0, nil) after timeout means nothing arrived.
type byteReader interface {
	read(p []byte, timeout time.Duration) (int, error)
	Close() error
}

// dropLogEvery is how often a source logs the reads it drops: a scanner
// that sends nothing but unusable reads must not fill the journal. Every
// drop is counted all the same.
const dropLogEvery = time.Minute

// drops counts the reads a source drops and logs them, at most once per
// dropLogEvery; the next line says how many went unlogged meanwhile.
type drops struct {
	n      atomic.Uint64
	mu     sync.Mutex
	logged time.Time
	quiet  int
}

// Dropped is the number of reads dropped.
func (d *drops) Dropped() uint64 { return d.n.Load() }

// report counts one dropped read of n bytes; log names the source.
func (d *drops) report(log zerolog.Logger, f Framing, reason DropReason, n int) {
	d.n.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if !d.logged.IsZero() && now.Sub(d.logged) < dropLogEvery {
		d.quiet++
		return
	}
	ev := log.Warn().Str("reason", string(reason)).Int("bytes", n)
	if d.quiet > 0 {
		ev = ev.Int("unlogged_drops", d.quiet)
	}
	switch reason {
	case DropTooLong:
		ev.Msgf("read dropped: longer than maxlen (%d bytes); the next read is taken as usual", f.MaxLen)
	default:
		ev.Msgf("read dropped: its end (suffix %s) did not come within the gap (%s); check the scanner's suffix setting", suffixName(f.Suffix), f.Gap)
	}
	d.logged, d.quiet = now, 0
}

// framer returns a framer for one connection of a source, reporting its
// drops.
func (d *drops) framer(log zerolog.Logger, f Framing) *Framer {
	fr := NewFramer(f)
	fr.OnDrop = func(reason DropReason, n int) { d.report(log, fr.f, reason, n) }
	return fr
}

// status keeps a source's state for State.
type status struct{ v atomic.Value }

func (s *status) set(st SourceState) { s.v.Store(st) }

// State is what the source is doing.
func (s *status) State() SourceState {
	if st, ok := s.v.Load().(SourceState); ok {
		return st
	}
	return SourceStarting
}

// streamSource frames a byte stream from a device it reopens when it goes
// away.
type streamSource struct {
	name    string
	framing Framing
	open    func(ctx context.Context) (byteReader, error)
	opt     Options
	wedge   bool
	once    bool // do not reopen (stdin)
	drops
	status
}

func (s *streamSource) String() string { return s.name }

func (s *streamSource) Run(ctx context.Context, out chan<- Scan) error {
	log := s.opt.Log.With().Str("scanner", s.name).Logger()
	down := false
	for ctx.Err() == nil {
		r, err := s.open(ctx)
		if err != nil {
			s.set(SourceUnavailable)
			if !down {
				log.Warn().Err(err).Msg("scanner unavailable; retrying")
				down = true
			}
			if clock.Sleep(ctx, s.opt.retry()) != nil {
				break
			}
			continue
		}
		s.set(SourceOpen)
		if down {
			log.Info().Msg("scanner back")
			down = false
		}
		err = frameLoop(ctx, r, s.drops.framer(log, s.framing), s.name, s.wedge, out)
		r.Close()
		s.set(SourceUnavailable)
		if ctx.Err() != nil || s.once {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return nil
		}
		log.Warn().Err(err).Msg("scanner disconnected; waiting for it to come back")
		down = true
	}
	return nil
}

// frameLoop reads until an error, emitting each complete read.
func frameLoop(ctx context.Context, r byteReader, fr *Framer, name string, wedge bool, out chan<- Scan) error {
	buf := make([]byte, 4096)
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	for {
		n, err := r.read(buf, fr.Gap())
		now := time.Now()
		var reads [][]byte
		if n > 0 {
			reads = fr.Write(buf[:n], now)
		} else {
			reads = fr.Flush(now)
		}
		for _, raw := range reads {
			select {
			case out <- NewScan(raw, name, now, wedge):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			if err == io.EOF {
				for _, raw := range fr.Flush(now.Add(fr.Gap())) {
					select {
					case out <- NewScan(raw, name, now, wedge):
					case <-ctx.Done():
					}
				}
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// pipeReader reads an io.Reader in a goroutine so that reads can time out.
type pipeReader struct {
	ch   chan []byte
	err  error
	done chan struct{}
	r    io.Reader
	left []byte
}

func newPipeReader(r io.Reader) *pipeReader {
	p := &pipeReader{ch: make(chan []byte, 16), done: make(chan struct{}), r: r}
	go func() {
		defer close(p.ch)
		for {
			b := make([]byte, 4096)
			n, err := r.Read(b)
			if n > 0 {
				select {
				case p.ch <- b[:n]:
				case <-p.done:
					return
				}
			}
			if err != nil {
				p.err = err
				return
			}
		}
	}()
	return p
}

func (p *pipeReader) read(b []byte, timeout time.Duration) (int, error) {
	if len(p.left) == 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case chunk, ok := <-p.ch:
			if !ok {
				if p.err == nil {
					return 0, io.EOF
				}
				return 0, p.err
			}
			p.left = chunk
		case <-t.C:
			return 0, nil
		case <-p.done:
			return 0, io.EOF
		}
	}
	n := copy(b, p.left)
	p.left = p.left[n:]
	return n, nil
}

func (p *pipeReader) Close() error {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	return nil
}

// Feed is the station page's input box: a wedge scanner types into the
// page, which posts each read here.
type Feed struct {
	name    string
	framing Framing
	ch      chan Scan
}

// NewFeed returns a source fed by Push; gs is the GS substitute the page's
// scanner types (0 for none).
func NewFeed(name string, gs byte) *Feed {
	return &Feed{name: name, framing: Framing{Suffix: "\r", GSSubstitute: gs}.withDefaults(), ch: make(chan Scan, 64)}
}

func (f *Feed) String() string { return f.name }

// Dropped is always 0: a read too long for the page is refused to the page
// by Push.
func (f *Feed) Dropped() uint64 { return 0 }

// State is open: the page's box takes reads whenever the page is shown.
func (f *Feed) State() SourceState { return SourceOpen }

// Push hands a read to the source; it fails when the station is not
// reading or is overwhelmed.
func (f *Feed) Push(raw string) error {
	fr := NewFramer(f.framing)
	reads := fr.Write([]byte(raw+"\r"), time.Now())
	if len(reads) != 1 {
		return fmt.Errorf("a read is one line of at most %d characters", f.framing.MaxLen)
	}
	select {
	case f.ch <- NewScan(reads[0], f.name, time.Now(), true):
		return nil
	default:
		return errors.New("station busy: scan again")
	}
}

func (f *Feed) Run(ctx context.Context, out chan<- Scan) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-f.ch:
			select {
			case out <- s:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
