// Package printersim is a Zebra printer emulator on a real TCP socket. It
// splits the stream into ^XA…^XZ label formats, prints them at a set speed
// from a bounded receive buffer, keeps an odometer, answers ~HS, ~HQES, ~HI
// and SGD getvar as a Zebra does (no ~HS answer while media or ribbon is
// out or the head is open), stores what it printed, and runs scripted
// faults. Tests, the demo and line engineers without a printer use it.
package printersim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Config sets up the emulator.
type Config struct {
	Listen     string       // address to listen on, e.g. 127.0.0.1:9100 (":0" picks a port)
	Listener   net.Listener // when set, the emulator serves it instead of listening on Listen; Close closes it
	DPMM       int          // 6, 8, 12 or 24 (default 8)
	Speed      float64      // labels per second; 0 prints as fast as it can
	Buffer     int          // label formats the receive buffer holds (default 16)
	Faults     []Fault
	OutDir     string // when set, each label's ZPL is stored there (and a PNG with PNG)
	PNG        bool
	Language   string // device.languages (default "zpl")
	NoOdometer bool   // answer "?" for odometer.total_label_count
	Model      string // ~HI model (default "ZT411-203dpi")
}

// Label is one printed label.
type Label struct {
	Seq int
	ZPL []byte
	At  time.Time
}

// Sim is a running emulator.
type Sim struct {
	cfg   Config
	log   zerolog.Logger
	ln    net.Listener
	start time.Time

	mu        sync.Mutex
	cond      *sync.Cond
	queue     [][]byte
	printing  bool
	printed   []Label
	odometer  int64
	received  int // formats received, over all connections
	partial   bool
	active    map[FaultKind]bool
	fired     map[int]bool
	conn      net.Conn
	closed    bool
	wg        sync.WaitGroup
	connCount int
}

// Start listens and serves until Close.
func Start(cfg Config, log zerolog.Logger) (*Sim, error) {
	if cfg.DPMM == 0 {
		cfg.DPMM = 8
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 16
	}
	if cfg.Language == "" {
		cfg.Language = "zpl"
	}
	if cfg.Model == "" {
		cfg.Model = fmt.Sprintf("ZT411-%ddpi", map[int]int{6: 152, 8: 203, 12: 300, 24: 600}[cfg.DPMM])
	}
	if cfg.Speed < 0 {
		return nil, fmt.Errorf("speed %g: must be 0 (unlimited) or more", cfg.Speed)
	}
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o700); err != nil {
			return nil, err
		}
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, err
		}
	}
	s := &Sim{cfg: cfg, log: log, ln: ln, start: time.Now(), active: map[FaultKind]bool{}, fired: map[int]bool{}}
	s.cond = sync.NewCond(&s.mu)
	s.applyFaults()
	s.wg.Add(2)
	go s.acceptLoop()
	go s.engine()
	return s, nil
}

// Addr is the address the emulator listens on.
func (s *Sim) Addr() string { return s.ln.Addr().String() }

// URL is the printer URL for the emulator.
func (s *Sim) URL() string { return "tcp://" + s.Addr() }

// Close stops the emulator.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Printed returns the labels printed so far.
func (s *Sim) Printed() []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Label(nil), s.printed...)
}

// Odometer is the number of labels printed since start.
func (s *Sim) Odometer() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.odometer
}

// Connections counts the connections accepted so far.
func (s *Sim) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connCount
}

// SetFault turns a fault on or off by hand.
func (s *Sim) SetFault(kind FaultKind, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active[kind] = on
	s.cond.Broadcast()
}

// SetLanguage changes device.languages, as the printer's menu does: a
// value without "zpl" takes the printer out of ZPL mode.
func (s *Sim) SetLanguage(lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Language = lang
}

// Disconnect closes the current connection, if any, as a printer that is
// restarted or unplugged from the network does. The next one is accepted.
func (s *Sim) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
	}
}

// ActiveFaults lists the faults in effect.
func (s *Sim) ActiveFaults() []FaultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FaultKind
	for _, k := range []FaultKind{MediaOut, RibbonOut, HeadOpen, Pause, Refuse} {
		if s.active[k] {
			out = append(out, k)
		}
	}
	return out
}

// WaitPrinted waits until n labels are printed.
func (s *Sim) WaitPrinted(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.printed) < n {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d of %d labels printed: %w", len(s.printed), n, err)
		}
		s.cond.Wait()
	}
	return nil
}

// applyFaults starts the scripted faults that are due; s.mu is held.
func (s *Sim) applyFaults() {
	for i, f := range s.cfg.Faults {
		if s.fired[i] || f.Kind == Drop {
			continue
		}
		if f.Kind != Refuse && len(s.printed) < f.After {
			continue
		}
		s.fired[i] = true
		s.active[f.Kind] = true
		s.log.Info().Str("fault", string(f.Kind)).Int("after", len(s.printed)).Str("for", f.For.String()).Msg("fault on")
		if f.For > 0 {
			kind := f.Kind
			time.AfterFunc(f.For, func() {
				s.SetFault(kind, false)
				s.log.Info().Str("fault", string(kind)).Msg("fault cleared")
			})
		}
	}
	s.cond.Broadcast()
}

// stopped reports the fault that stops printing, if any; s.mu is held.
func (s *Sim) stopped() bool {
	return s.active[MediaOut] || s.active[RibbonOut] || s.active[HeadOpen] || s.active[Pause]
}

// engine prints the queued formats, one at a time, at the set speed.
func (s *Sim) engine() {
	defer s.wg.Done()
	var interval time.Duration
	if s.cfg.Speed > 0 {
		interval = time.Duration(float64(time.Second) / s.cfg.Speed)
	}
	for {
		s.mu.Lock()
		for !s.closed && (len(s.queue) == 0 || s.stopped()) {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.printing = true
		s.mu.Unlock()
		if interval > 0 {
			time.Sleep(interval)
		}
		s.mu.Lock()
		if s.stopped() {
			// A fault during the label: it stays in the buffer and
			// prints when the fault clears.
			s.printing = false
			s.mu.Unlock()
			continue
		}
		format := s.queue[0]
		s.queue = s.queue[1:]
		s.odometer++
		lbl := Label{Seq: int(s.odometer), ZPL: format, At: time.Now()}
		s.printed = append(s.printed, lbl)
		s.printing = false
		s.applyFaults()
		s.cond.Broadcast()
		s.mu.Unlock()
		s.store(lbl)
	}
}

func (s *Sim) store(l Label) {
	if s.cfg.OutDir == "" {
		return
	}
	base := filepath.Join(s.cfg.OutDir, fmt.Sprintf("label-%06d", l.Seq))
	if err := writeFile(base+".zpl", l.ZPL); err != nil {
		s.log.Error().Err(err).Msg("store label")
	}
	if !s.cfg.PNG {
		return
	}
	img, _, err := zpl.Preview(l.ZPL, zpl.PreviewOptions{DPMM: s.cfg.DPMM})
	if err != nil {
		s.log.Warn().Err(err).Int("seq", l.Seq).Msg("label preview")
		return
	}
	var buf bytes.Buffer
	err = zpl.EncodePNG(&buf, img)
	if err == nil {
		err = writeFile(base+".png", buf.Bytes())
	}
	if err != nil {
		s.log.Error().Err(err).Msg("store label preview")
	}
}

// writeFile writes through a temporary name, so that a reader never sees
// half a file.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (s *Sim) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.connCount++
		refuse := s.active[Refuse]
		if s.closed || refuse {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		// Port 9100 serves one host at a time: the next connection
		// waits until this one ends.
		s.conn = conn
		s.mu.Unlock()
		s.serve(conn)
		s.mu.Lock()
		s.conn = nil
		s.partial = false
		s.mu.Unlock()
	}
}

// serve reads one connection: immediate ~ commands, SGD lines and label
// formats, which go to the receive buffer.
func (s *Sim) serve(conn net.Conn) {
	defer conn.Close()
	p := parser{sim: s, conn: conn}
	buf := make([]byte, 32<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if perr := p.feed(buf[:n]); perr != nil {
				if !errors.Is(perr, errDropped) {
					s.log.Debug().Err(perr).Msg("connection ended")
				}
				return
			}
		}
		if err != nil {
			return
		}
	}
}

var errDropped = errors.New("connection dropped by a scripted fault")

type parser struct {
	sim      *Sim
	conn     net.Conn
	pending  []byte
	inFormat bool
	format   []byte
	dropArm  bool
}

func (p *parser) reply(b []byte) error {
	_ = p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := p.conn.Write(b)
	return err
}

// feed consumes bytes; incomplete commands wait for more.
func (p *parser) feed(b []byte) error {
	p.pending = append(p.pending, b...)
	i := 0
	d := p.pending
	for i < len(d) {
		rest := d[i:]
		switch {
		case rest[0] == '~':
			if len(rest) < 5 && bytes.HasPrefix([]byte("~HQES"), rest) || len(rest) < 3 {
				goto wait
			}
			switch {
			case bytes.HasPrefix(rest, []byte("~HQES")):
				if err := p.reply(p.sim.hqes()); err != nil {
					return err
				}
				i += 5
				continue
			case bytes.HasPrefix(rest, []byte("~HS")):
				if r := p.sim.hs(p.inFormat); r != nil {
					if err := p.reply(r); err != nil {
						return err
					}
				}
				i += 3
				continue
			case bytes.HasPrefix(rest, []byte("~HI")):
				if err := p.reply(p.sim.hi()); err != nil {
					return err
				}
				i += 3
				continue
			case bytes.HasPrefix(rest, []byte("~JA")):
				p.sim.cancelAll()
				i += 3
				continue
			}
		case !p.inFormat && rest[0] == '!':
			nl := bytes.IndexByte(rest, '\n')
			if nl < 0 {
				if len(rest) > 4096 {
					return errors.New("SGD line too long")
				}
				goto wait
			}
			if r := p.sim.sgd(string(rest[:nl])); r != nil {
				if err := p.reply(r); err != nil {
					return err
				}
			}
			i += nl + 1
			continue
		case !p.inFormat && rest[0] == '^':
			if len(rest) < 3 {
				goto wait
			}
			if bytes.HasPrefix(rest, []byte("^XA")) {
				p.inFormat = true
				p.format = append(p.format[:0], "^XA"...)
				p.dropArm = p.sim.startFormat()
				i += 3
				continue
			}
		case p.inFormat && rest[0] == '^':
			if len(rest) < 3 {
				goto wait
			}
			if bytes.HasPrefix(rest, []byte("^XZ")) {
				p.format = append(p.format, "^XZ"...)
				p.inFormat = false
				i += 3
				p.sim.enqueue(append([]byte(nil), p.format...))
				continue
			}
		}
		if p.inFormat {
			p.format = append(p.format, rest[0])
			if p.dropArm && len(p.format) > 12 {
				p.sim.log.Info().Msg("dropping the connection in the middle of a label")
				return errDropped
			}
		}
		i++
	}
wait:
	p.pending = append(p.pending[:0], d[i:]...)
	return nil
}

// startFormat counts a received format and says whether a drop fault fires
// on it.
func (s *Sim) startFormat() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	s.partial = true
	for i, f := range s.cfg.Faults {
		if f.Kind == Drop && !s.fired[i] && s.received == f.After+1 {
			s.fired[i] = true
			s.received-- // the partial format is lost
			return true
		}
	}
	return false
}

// enqueue puts a format in the receive buffer, waiting while it is full.
func (s *Sim) enqueue(format []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = false
	for len(s.queue) >= s.cfg.Buffer && !s.closed {
		s.cond.Wait()
	}
	s.queue = append(s.queue, format)
	s.cond.Broadcast()
}

func (s *Sim) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = nil
	s.cond.Broadcast()
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hs answers ~HS, or nil (silence) while media or ribbon is out or the head
// is open, as a Zebra does.
func (s *Sim) hs(inFormat bool) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[MediaOut] || s.active[RibbonOut] || s.active[HeadOpen] {
		return nil
	}
	remaining := 0
	if s.printing || len(s.queue) > 0 {
		remaining = 1
	}
	full := len(s.queue) >= s.cfg.Buffer
	return fmt.Appendf(nil, "\x02030,%d,%d,0240,%03d,%d,0,%d,000,0,0,0\x03\r\n\x02001,0,%d,%d,1,2,6,0,%08d,1,000\x03\r\n\x021234,0\x03\r\n",
		flag(s.active[MediaOut]), flag(s.active[Pause]), len(s.queue), flag(full), flag(inFormat || s.partial),
		flag(s.active[HeadOpen]), flag(s.active[RibbonOut]), remaining)
}

func (s *Sim) hqes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs uint32
	for k, bit := range map[FaultKind]uint32{MediaOut: 0x1, RibbonOut: 0x2, HeadOpen: 0x4, Pause: 0x10000} {
		if s.active[k] {
			errs |= bit
		}
	}
	return fmt.Appendf(nil, "\x02\r\n\r\n  PRINTER STATUS\r\n    ERRORS:         %d 00000000 %08X\r\n    WARNINGS:       0 00000000 00000000\r\n\x03\r\n",
		flag(errs != 0), errs)
}

func (s *Sim) hi() []byte {
	return fmt.Appendf(nil, "\x02%s,V92.21.39Z,%d,8192KB\x03\r\n", s.cfg.Model, s.cfg.DPMM)
}

// sgd answers "! U1 getvar" lines; setvar is accepted silently.
func (s *Sim) sgd(line string) []byte {
	f := strings.Fields(strings.TrimSpace(line))
	if len(f) < 4 || f[0] != "!" || !strings.EqualFold(f[1], "U1") {
		return nil
	}
	name := strings.Trim(f[3], `"`)
	switch strings.ToLower(f[2]) {
	case "getvar":
		return []byte(`"` + s.getvar(name) + `"`)
	case "setvar":
		if name == "device.languages" && len(f) > 4 {
			s.mu.Lock()
			s.cfg.Language = strings.Trim(f[4], `"`)
			s.mu.Unlock()
		}
	}
	return nil
}

func (s *Sim) getvar(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case "device.languages":
		return s.cfg.Language
	case "odometer.total_label_count":
		if s.cfg.NoOdometer {
			return "?"
		}
		return strconv.FormatInt(s.odometer, 10)
	case "device.product_name":
		return s.cfg.Model
	case "device.unique_id":
		return "SIM" + strings.ReplaceAll(s.ln.Addr().String(), ":", "")
	case "appl.name":
		return "V92.21.39Z"
	}
	return "?"
}
