package printer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Label is one label to print: a single ^XA…^XZ format with ^PQ1, carrying
// one serial.
type Label struct {
	ID     string // the ledger's identifier for this physical label
	Serial string
	Data   []byte
}

// Recorder keeps the ledger. Printing must have committed durably when it
// returns: the runner sends the label only after that.
type Recorder interface {
	Printing(ctx context.Context, printer string, l Label) error
	Printed(ctx context.Context, printer string, l Label) error
	Unknown(ctx context.Context, printer string, l Label, reason string) error
}

// State is the runner's state, for the dashboard.
type State string

// States.
const (
	StateOffline  State = "offline"  // not connected; reconnecting
	StateReady    State = "ready"    // connected and idle
	StatePrinting State = "printing" // working through a job
	StatePaused   State = "paused"   // a fault stops printing; resumes when it clears
	StateError    State = "error"    // cannot print until someone acts (e.g. not in ZPL mode)
)

// Event is something the dashboard shows.
type Event struct {
	Printer string
	At      time.Time
	State   State
	Faults  []string
	Label   *Label  // for label outcomes
	Outcome Outcome // for label outcomes
	Reason  string
}

// Config sets up a runner.
type Config struct {
	Name           string
	URL            string
	Options        Options
	StatusTimeout  time.Duration // one status request (default 2s)
	PollInterval   time.Duration // longest wait between confirmation polls (default 50ms)
	FaultPoll      time.Duration // status polls while paused (default 500ms)
	ConfirmTimeout time.Duration // a label that makes no progress without a fault (default 2m)
	BackoffMin     time.Duration // reconnect backoff (default 100ms)
	BackoffMax     time.Duration // (default 10s)
	QueueSize      int           // jobs waiting (default 64)
	OnEvent        func(Event)   // called from the runner goroutine; must not block
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StatusTimeout, 2*time.Second)
	def(&c.PollInterval, 50*time.Millisecond)
	def(&c.FaultPoll, 500*time.Millisecond)
	def(&c.ConfirmTimeout, 2*time.Minute)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 10*time.Second)
	if c.QueueSize <= 0 {
		c.QueueSize = 64
	}
	return c
}

// JobResult counts what became of a job's labels.
type JobResult struct {
	Printed int
	Unknown int
	Err     error // the job stopped early: labels after the failure were not sent
}

// Job is a submitted job.
type Job struct {
	ID     string
	Labels []Label
	done   chan struct{}
	result JobResult
}

// Wait returns the job's result when it is finished.
func (j *Job) Wait(ctx context.Context) (JobResult, error) {
	select {
	case <-j.done:
		return j.result, nil
	case <-ctx.Done():
		return JobResult{}, ctx.Err()
	}
}

// Snapshot is the runner's state now.
type Snapshot struct {
	Name    string
	URL     string
	State   State
	Faults  []string
	Printed int64
	Unknown int64
	Queued  int
	LastErr string
}

// Printer owns the one connection to a printer and prints jobs in order.
type Printer struct {
	cfg  Config
	rec  Recorder
	log  zerolog.Logger
	jobs chan *Job

	conn     *Conn
	odometer bool  // the printer keeps an odometer
	odoLast  int64 // its value after the last confirmed label
	odoKnown bool  // odoLast is current for this connection
	backoff  time.Duration

	mu   sync.Mutex
	snap Snapshot
}

// New creates a runner; Run drives it.
func New(cfg Config, rec Recorder, log zerolog.Logger) (*Printer, error) {
	cfg = cfg.withDefaults()
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = cfg.URL
	}
	p := &Printer{cfg: cfg, rec: rec, log: log, jobs: make(chan *Job, cfg.QueueSize)}
	p.snap = Snapshot{Name: cfg.Name, URL: cfg.URL, State: StateOffline}
	return p, nil
}

// ErrQueueFull is returned when the printer has too many jobs waiting.
var ErrQueueFull = errors.New("printer job queue is full")

// Submit queues a job.
func (p *Printer) Submit(id string, labels []Label) (*Job, error) {
	j := &Job{ID: id, Labels: labels, done: make(chan struct{})}
	select {
	case p.jobs <- j:
		p.mu.Lock()
		p.snap.Queued++
		p.mu.Unlock()
		return j, nil
	default:
		return nil, ErrQueueFull
	}
}

// Snapshot returns the current state.
func (p *Printer) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.snap
	s.Faults = append([]string(nil), s.Faults...)
	return s
}

func (p *Printer) setState(st State, faults []string, reason string) {
	p.mu.Lock()
	changed := p.snap.State != st || fmt.Sprint(p.snap.Faults) != fmt.Sprint(faults)
	p.snap.State, p.snap.Faults = st, faults
	if reason != "" {
		p.snap.LastErr = reason
	}
	p.mu.Unlock()
	if changed {
		ev := p.log.Info()
		if st == StatePaused || st == StateError {
			ev = p.log.Warn()
		}
		ev.Str("state", string(st)).Strs("faults", faults).Str("reason", reason).Msg("printer state")
		p.emit(Event{State: st, Faults: faults, Reason: reason})
	}
}

func (p *Printer) emit(e Event) {
	if p.cfg.OnEvent == nil {
		return
	}
	e.Printer, e.At = p.cfg.Name, time.Now()
	p.cfg.OnEvent(e)
}

// Run prints jobs until ctx ends; it then closes the connection.
func (p *Printer) Run(ctx context.Context) error {
	defer p.disconnect()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-p.jobs:
			p.mu.Lock()
			p.snap.Queued--
			p.mu.Unlock()
			j.result = p.runJob(ctx, j)
			close(j.done)
			if ctx.Err() == nil && p.snap.State != StateError {
				p.setState(StateReady, nil, "")
			}
		}
	}
}

func (p *Printer) disconnect() {
	p.odoKnown = false
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// connect opens the connection, retrying with capped jittered backoff, and
// checks the printer speaks ZPL.
func (p *Printer) connect(ctx context.Context) error {
	for p.conn == nil {
		dctx, cancel := context.WithTimeout(ctx, p.cfg.Options.withDefaults().DialTimeout)
		t, err := Open(dctx, p.cfg.URL, p.cfg.Options)
		cancel()
		if err == nil {
			c := NewConn(t, p.cfg.StatusTimeout)
			if err = p.checkPrinter(ctx, c); err == nil {
				p.conn, p.backoff = c, 0
				p.setState(StatePrinting, nil, "")
				return nil
			}
			c.Close()
			if errors.Is(err, ErrNotZPL) {
				p.setState(StateError, nil, err.Error())
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.setState(StateOffline, nil, err.Error())
		if err := p.sleepBackoff(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (p *Printer) checkPrinter(ctx context.Context, c *Conn) error {
	if !c.Transport().Bidirectional() {
		return nil
	}
	if err := c.CheckZPL(ctx); err != nil {
		return err
	}
	_, ok, err := c.Odometer(ctx)
	p.odometer = ok
	return err
}

func (p *Printer) sleepBackoff(ctx context.Context) error {
	if p.backoff == 0 {
		p.backoff = p.cfg.BackoffMin
	} else {
		p.backoff = min(p.backoff*2, p.cfg.BackoffMax)
	}
	d := p.backoff/2 + rand.N(p.backoff/2+1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (p *Printer) runJob(ctx context.Context, j *Job) JobResult {
	var res JobResult
	p.log.Info().Str("job", j.ID).Int("labels", len(j.Labels)).Msg("job started")
	for i := range j.Labels {
		l := &j.Labels[i]
		out, err := p.printLabel(ctx, l)
		switch out {
		case OutcomePrinted:
			res.Printed++
		case OutcomeUnknown:
			res.Unknown++
		}
		if err != nil {
			res.Err = err
			p.log.Error().Err(err).Str("job", j.ID).Int("label", i).Msg("job stopped")
			break
		}
	}
	p.log.Info().Str("job", j.ID).Int("printed", res.Printed).Int("unknown", res.Unknown).Msg("job finished")
	return res
}

// printLabel sends one label and waits for the printer to confirm it. The
// outcome is "" when the label was not sent (err says why).
func (p *Printer) printLabel(ctx context.Context, l *Label) (Outcome, error) {
	if err := p.connect(ctx); err != nil {
		return "", err
	}
	odoBefore, err := p.waitReady(ctx)
	if err != nil {
		return "", err
	}
	if err := p.rec.Printing(ctx, p.cfg.Name, *l); err != nil {
		return "", fmt.Errorf("record label %s as printing: %w", l.ID, err)
	}
	if err := p.conn.Send(ctx, l.Data); err != nil {
		p.disconnect()
		return p.unknown(ctx, l, "connection lost while sending: "+err.Error())
	}
	if !p.conn.Transport().Bidirectional() {
		return p.printed(ctx, l)
	}
	if err := p.confirm(ctx, odoBefore); err != nil {
		if ctx.Err() != nil {
			return p.unknown(context.WithoutCancel(ctx), l, "stopped before the printer confirmed the label")
		}
		p.disconnect()
		return p.unknown(ctx, l, err.Error())
	}
	return p.printed(ctx, l)
}

func (p *Printer) printed(ctx context.Context, l *Label) (Outcome, error) {
	p.mu.Lock()
	p.snap.Printed++
	p.mu.Unlock()
	p.emit(Event{State: StatePrinting, Label: l, Outcome: OutcomePrinted})
	if err := p.rec.Printed(ctx, p.cfg.Name, *l); err != nil {
		return OutcomePrinted, fmt.Errorf("record label %s as printed: %w", l.ID, err)
	}
	return OutcomePrinted, nil
}

func (p *Printer) unknown(ctx context.Context, l *Label, reason string) (Outcome, error) {
	p.mu.Lock()
	p.snap.Unknown++
	p.mu.Unlock()
	p.log.Warn().Str("label", l.ID).Str("serial", l.Serial).Str("reason", reason).Msg("label outcome unknown: a person must confirm or decommission it")
	p.emit(Event{State: StatePrinting, Label: l, Outcome: OutcomeUnknown, Reason: reason})
	if err := p.rec.Unknown(ctx, p.cfg.Name, *l, reason); err != nil {
		return OutcomeUnknown, fmt.Errorf("record label %s as unknown: %w", l.ID, err)
	}
	return OutcomeUnknown, nil
}

// waitReady checks health (~HQES) and waits while the printer is faulted,
// reconnecting as needed. It returns the odometer before the next label.
func (p *Printer) waitReady(ctx context.Context) (int64, error) {
	for {
		if err := p.connect(ctx); err != nil {
			return 0, err
		}
		if !p.conn.Transport().Bidirectional() {
			return 0, nil
		}
		ext, err := p.conn.ExtendedStatus(ctx)
		if err != nil {
			p.disconnect()
			continue
		}
		if faults := ext.Faults(); len(faults) > 0 {
			p.setState(StatePaused, faults, "")
			if err := sleep(ctx, p.cfg.FaultPoll); err != nil {
				return 0, err
			}
			continue
		}
		p.setState(StatePrinting, nil, "")
		if !p.odometer {
			return 0, nil
		}
		if p.odoKnown {
			return p.odoLast, nil
		}
		n, _, err := p.conn.Odometer(ctx)
		if err != nil {
			p.disconnect()
			continue
		}
		return n, nil
	}
}

// confirm waits until the printer has printed the label just sent: the
// odometer moved, or (without one) ~HS shows nothing left to print on two
// polls in a row. Faults pause the wait; a lost connection ends it.
func (p *Printer) confirm(ctx context.Context, odoBefore int64) error {
	wait := time.Millisecond
	idle := 0
	last := time.Now()
	for polls := 1; ; polls++ {
		if p.odometer {
			n, _, err := p.conn.Odometer(ctx)
			if err != nil {
				return fmt.Errorf("connection lost before the printer confirmed the label: %w", err)
			}
			if n > odoBefore {
				p.odoLast, p.odoKnown = n, true
				return nil
			}
			if polls < 4 {
				// The label is being printed: ask again at once (a round
				// trip is a pause in itself) before looking for faults.
				continue
			}
		} else {
			hs, err := p.conn.HostStatus(ctx)
			switch {
			case errors.Is(err, ErrNoAnswer):
				// Silent ~HS: faulted, most likely; ~HQES says.
			case err != nil:
				return fmt.Errorf("connection lost before the printer confirmed the label: %w", err)
			case hs.Idle() && len(hs.Faults()) == 0:
				if idle++; idle >= 2 {
					return nil
				}
			default:
				idle = 0
			}
		}
		ext, err := p.conn.ExtendedStatus(ctx)
		if err != nil {
			return fmt.Errorf("connection lost before the printer confirmed the label: %w", err)
		}
		if faults := ext.Faults(); len(faults) > 0 {
			p.setState(StatePaused, faults, "")
			last = time.Now()
			if err := sleep(ctx, p.cfg.FaultPoll); err != nil {
				return err
			}
			continue
		}
		p.setState(StatePrinting, nil, "")
		if time.Since(last) > p.cfg.ConfirmTimeout {
			return fmt.Errorf("the printer did not confirm the label within %s", p.cfg.ConfirmTimeout)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, p.cfg.PollInterval)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
