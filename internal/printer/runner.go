package printer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/clock"
	"github.com/edgeagent/edgeagent/internal/label"
)

// State is the runner's state, for the dashboard.
type State string

// States.
const (
	StateOffline  State = "offline"  // not connected; reconnecting
	StateReady    State = "ready"    // connected, and no label waiting
	StatePrinting State = "printing" // working through the queue
	StatePaused   State = "paused"   // a fault stops printing; resumes when it clears
	// StateError: cannot print until someone acts (not in ZPL mode,
	// status answers that are not a Zebra's, the ledger failing); retrying.
	StateError State = "error"
)

// Event is something the dashboard shows.
type Event struct {
	Printer string
	At      time.Time
	State   State
	Faults  []string
	Label   *label.Label // for label outcomes
	Outcome Outcome      // for label outcomes
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
	BackoffMin     time.Duration // retries: reconnecting, a ledger that fails (default 100ms)
	BackoffMax     time.Duration // (default 10s)
	// IdleProbe is how often the runner checks the printer while no label
	// waits (default 10s), so that its state is current before the first
	// label and between jobs. The first check comes as soon as the queue
	// is found empty.
	IdleProbe time.Duration
	// StopTimeout is how long, once Run's ctx has ended, a label already
	// on its way may take to be confirmed by the printer, and then again
	// to be recorded (default 10s).
	StopTimeout time.Duration
	OnEvent     func(Event) // called from the runner goroutine; must not block
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
	def(&c.StopTimeout, 10*time.Second)
	def(&c.IdleProbe, 10*time.Second)
	return c
}

// Snapshot is the runner's state now. The ledger knows how many labels
// wait.
type Snapshot struct {
	Name    string
	URL     string
	State   State
	Faults  []string
	Printed int64 // labels confirmed since the runner started
	Unknown int64 // labels whose outcome could not be confirmed
	LastErr string
	// Checked is set once the printer has been asked (or found silent)
	// since start: State is then what the printer said, not the starting
	// guess "offline". Readiness waits for it.
	Checked bool
}

// Printer owns the one connection to a printer (port 9100 serves one host
// at a time) and prints the labels its ledger queues for it, oldest first.
type Printer struct {
	cfg    Config
	ledger Ledger
	log    zerolog.Logger

	conn     *Conn
	odometer bool  // the printer keeps an odometer
	odoLast  int64 // its value after the last confirmed label
	odoKnown bool  // odoLast is current for this connection

	mu   sync.Mutex
	snap Snapshot
}

// New creates a runner that takes its labels from ledger; Run drives it.
func New(cfg Config, ledger Ledger, log zerolog.Logger) (*Printer, error) {
	cfg = cfg.withDefaults()
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = cfg.URL
	}
	p := &Printer{cfg: cfg, ledger: ledger, log: log}
	p.snap = Snapshot{Name: cfg.Name, URL: cfg.URL, State: StateOffline}
	return p, nil
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
	was := p.snap.State
	changed := was != st || fmt.Sprint(p.snap.Faults) != fmt.Sprint(faults)
	p.snap.State, p.snap.Faults, p.snap.Checked = st, faults, true
	if reason != "" {
		p.snap.LastErr = reason
	}
	p.mu.Unlock()
	if changed {
		// Going from ready to printing and back is the printer working:
		// logged at debug, so that a day's log holds the faults, not
		// every label.
		ev := p.log.Info()
		switch {
		case st == StatePaused || st == StateError:
			ev = p.log.Warn()
		case working(was) && working(st) && len(faults) == 0:
			ev = p.log.Debug()
		}
		ev = ev.Str("state", string(st)).Str("was", string(was))
		if len(faults) > 0 {
			ev = ev.Strs("faults", faults)
		}
		if reason != "" {
			ev = ev.Str("reason", reason)
		}
		ev.Msg("printer state")
		p.emit(Event{State: st, Faults: faults, Reason: reason})
	}
}

// working is a state of a printer doing its job.
func working(st State) bool { return st == StateReady || st == StatePrinting }

func (p *Printer) emit(e Event) {
	if p.cfg.OnEvent == nil {
		return
	}
	e.Printer, e.At = p.cfg.Name, time.Now()
	p.cfg.OnEvent(e)
}

// idleAfter is how long Next may wait before the runner takes the queue
// for empty and checks the printer.
const idleAfter = 100 * time.Millisecond

// errStopped ends the wait for a label in flight when the stop allowance
// has run out.
var errStopped = errors.New("the agent stopped before the printer confirmed the label")

// Run prints the ledger's labels until ctx ends, and then closes the
// connection. For each label it:
//
//  1. takes the oldest from Ledger.Next, checking the printer while none
//     is queued (see next);
//  2. connects if need be, checks that the printer speaks ZPL, and checks
//     its health (~HQES, and ~HS on a printer without an odometer),
//     waiting while it is faulted;
//  3. has the ledger record it as printing;
//  4. sends it, and waits for the printer to confirm it;
//  5. has the ledger record it as printed, or as unknown when the
//     connection was lost on the way. When the printer is healthy and
//     another label waits, that label is recorded as printing in the same
//     commit (Ledger.Handover) and goes on at step 4.
//
// Whatever stops a label before step 3 (no connection, a printer not in
// ZPL mode or whose status answers are not a Zebra's, a failing ledger)
// leaves it queued: the runner tries again with capped, jittered backoff
// and goes on by itself once the cause has cleared. Recording an outcome is retried until the ledger takes it.
//
// When ctx ends, the runner takes no new label, but one it has recorded
// as printing is still sent, confirmed and recorded, for up to
// Config.StopTimeout. Run then returns nil, or the error that kept the
// outcome of that last label from being recorded.
func (p *Printer) Run(ctx context.Context) error {
	defer p.disconnect()
	retry := clock.Backoff{Min: p.cfg.BackoffMin, Max: p.cfg.BackoffMax}
	for {
		l, err := p.next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.setState(StateError, nil, "take the next label from the ledger: "+err.Error())
			_ = retry.Wait(ctx)
			continue
		}
		sent, err := p.print(ctx, l)
		switch {
		case sent && ctx.Err() != nil:
			return err
		case sent:
			retry.Reset()
		case ctx.Err() != nil:
			return nil // the label stays queued
		case err != nil:
			p.log.Debug().Err(err).Stringer("label", l.Ref).Msg("label not sent; trying again")
			_ = retry.Wait(ctx)
		default:
			retry.Reset() // voided: on to the next
		}
	}
}

// next takes the next label from the ledger. While none comes, the
// runner checks the printer (idleAfter after the wait began, and then
// every IdleProbe) and reports what it found, so that the dashboard shows
// a printer that is ready, paused, offline or in error before its first
// label and between jobs. Ledger.Next waits on its own goroutine
// meanwhile: a label queued during a check is taken as soon as the check
// is done, and one queued between checks at once.
func (p *Printer) next(ctx context.Context) (label.Label, error) {
	type result struct {
		l   label.Label
		err error
	}
	got := make(chan result, 1)
	go func() {
		l, err := p.ledger.Next(ctx, p.cfg.Name)
		got <- result{l, err}
	}()
	probe := time.NewTimer(idleAfter)
	defer probe.Stop()
	for {
		select {
		case r := <-got:
			return r.l, r.err
		case <-probe.C:
			select {
			case r := <-got: // a label came with the timer: it goes first
				return r.l, r.err
			default:
			}
			p.probe(ctx)
			probe.Reset(p.cfg.IdleProbe)
		}
	}
}

// probe checks the printer while no label waits: ready, paused with the
// faults it reports, or (as check sets them) offline or error.
func (p *Printer) probe(ctx context.Context) {
	faults, err := p.check(ctx)
	switch {
	case err != nil || ctx.Err() != nil:
	case len(faults) > 0:
		p.setState(StatePaused, faults, "")
	default:
		p.setState(StateReady, nil, "")
	}
}

// inFlight returns the context for work on a label that is on its way
// (recorded as printing, perhaps sent): it does not end with ctx, so that
// a stop does not cut a label off half way, but StopTimeout after ctx
// ends it is cancelled with errStopped as its cause.
func (p *Printer) inFlight(ctx context.Context) (context.Context, context.CancelFunc) {
	ictx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.cfg.StopTimeout, func() { cancel(errStopped) })
		context.AfterFunc(ictx, func() { t.Stop() })
	})
	return ictx, func() { stop(); cancel(context.Canceled) }
}

// print takes one label through the printer, and then each label the
// ledger hands over after it (see handover). sent reports whether the
// ledger recorded the first as printing: if not, it is still queued (err
// says why, or is nil for a label voided in the meantime). The outcome of
// every label sent has been recorded unless err says otherwise, which
// happens only after a stop.
func (p *Printer) print(ctx context.Context, l label.Label) (sent bool, err error) {
	odoBefore, err := p.waitReady(ctx)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ictx, cancel := p.inFlight(ctx)
	defer cancel()
	if err := p.ledger.Printing(ictx, p.cfg.Name, l.Ref); err != nil {
		if errors.Is(err, ErrNotQueued) {
			p.skipped(l)
			return false, nil
		}
		err = fmt.Errorf("record %s as printing: %w", l.Ref, err)
		if ctx.Err() == nil {
			p.setState(StateError, nil, err.Error())
		}
		return false, err
	}
	for {
		p.setState(StatePrinting, nil, "")
		if reason, ok := p.transmit(ctx, ictx, l, odoBefore); !ok {
			return true, p.unknown(ctx, l, lost(ictx, reason))
		}
		next, ok, err := p.handover(ctx, l)
		if !ok {
			return true, err
		}
		// next is recorded as printing, and the printer was ready for it
		// a moment ago: its odometer is the one just read.
		l, odoBefore = next, p.odoLast
	}
}

func (p *Printer) skipped(l label.Label) {
	p.log.Info().Stringer("label", l.Ref).Str("subject", l.Subject).Msg("label no longer queued; skipped")
}

// transmit sends a label recorded as printing and waits for the printer to
// confirm it. When it cannot (ok false), the connection is closed and
// reason says why.
func (p *Printer) transmit(ctx, ictx context.Context, l label.Label, odoBefore int64) (reason string, ok bool) {
	if err := p.conn.Send(ictx, l.Data); err != nil {
		p.disconnect()
		return "connection lost while sending: " + err.Error(), false
	}
	if !p.conn.Transport().Bidirectional() {
		return "", true
	}
	if err := p.confirm(ictx, odoBefore); err != nil {
		p.disconnect()
		reason := err.Error()
		if errors.Is(err, ErrNotStatus) {
			// The printer may well have printed it, but cannot say so;
			// until it answers properly, nothing more is sent
			// (waitReady holds the next label).
			if ctx.Err() == nil {
				p.setState(StateError, nil, reason)
			}
			reason = "the printer could not confirm the label: " + reason
		}
		return reason, false
	}
	return "", true
}

// handover records done, which the printer has confirmed, as printed.
// When the runner is not stopping and the printer is ready for more
// (healthy, its odometer current), the ledger takes the printer's next
// label as printing in the same commit, and it is returned (ok): its bytes
// leave next, and a run of labels costs one commit a label. Otherwise, or
// when no label is queued, done is recorded alone and ok is false; err is
// then what kept done from being recorded, which happens only after a
// stop.
//
// The printer's health is asked before anything is committed: a fault
// found then leaves the next label queued, for waitReady to hold.
func (p *Printer) handover(ctx context.Context, done label.Label) (label.Label, bool, error) {
	p.confirmed(done)
	ready := ctx.Err() == nil && p.readyForNext(ctx)
	var next label.Label
	taken := false
	err := p.record(ctx, done, OutcomePrinted, func(rctx context.Context) error {
		if !ready || ctx.Err() != nil {
			// A stop takes no new label, even when it comes while an
			// attempt that would have is retried.
			taken = false
			return p.ledger.Printed(rctx, p.cfg.Name, done.Ref)
		}
		var err error
		next, taken, err = p.ledger.Handover(rctx, p.cfg.Name, done.Ref)
		return err
	})
	if err != nil || !taken {
		return label.Label{}, false, err
	}
	return next, true, nil
}

// readyForNext reports whether the printer can take another label at
// once. A printer that is faulted, has lost its connection or must have
// its odometer read again is not: the next label then goes the long way
// round (Next, waitReady), which waits and reports as need be.
func (p *Printer) readyForNext(ctx context.Context) bool {
	faults, err := p.check(ctx)
	if err != nil || len(faults) > 0 {
		return false
	}
	return !p.odometer || p.odoKnown
}

// lost is the reason a label in flight is unknown: the stop, when its
// allowance ran out, or what went wrong.
func lost(ictx context.Context, reason string) string {
	if errors.Is(context.Cause(ictx), errStopped) {
		return errStopped.Error()
	}
	return reason
}

// confirmed counts, logs and reports a label the printer confirmed; the
// ledger records it next.
func (p *Printer) confirmed(l label.Label) {
	p.mu.Lock()
	p.snap.Printed++
	p.mu.Unlock()
	p.log.Debug().Stringer("label", l.Ref).Str("subject", l.Subject).Msg("label printed")
	p.emit(Event{State: StatePrinting, Label: &l, Outcome: OutcomePrinted})
}

func (p *Printer) unknown(ctx context.Context, l label.Label, reason string) error {
	p.mu.Lock()
	p.snap.Unknown++
	p.mu.Unlock()
	p.log.Warn().Stringer("label", l.Ref).Str("subject", l.Subject).Str("reason", reason).Msg("label outcome unknown: a person must confirm or decommission it")
	p.emit(Event{State: StatePrinting, Label: &l, Outcome: OutcomeUnknown, Reason: reason})
	return p.record(ctx, l, OutcomeUnknown, func(rctx context.Context) error {
		return p.ledger.Unknown(rctx, p.cfg.Name, l.Ref, reason)
	})
}

// record has the ledger record a label's outcome, retrying with backoff
// until it succeeds: what the printer did is not given up because the
// disk was full for a while. Once ctx has ended it keeps trying for
// StopTimeout.
func (p *Printer) record(ctx context.Context, l label.Label, out Outcome, rec func(context.Context) error) error {
	rctx, cancel := p.inFlight(ctx)
	defer cancel()
	retry := clock.Backoff{Min: p.cfg.BackoffMin, Max: p.cfg.BackoffMax}
	for failures := 0; ; failures++ {
		err := rec(rctx)
		if err == nil {
			if failures > 0 {
				p.log.Info().Stringer("label", l.Ref).Str("outcome", string(out)).Int("failures", failures).Msg("outcome recorded")
				p.setState(StatePrinting, nil, "")
			}
			return nil
		}
		err = fmt.Errorf("record %s as %s: %w", l.Ref, out, err)
		p.log.Error().Err(err).Msg("ledger failed; trying again")
		if ctx.Err() == nil {
			p.setState(StateError, nil, err.Error())
		}
		if retry.Wait(rctx) != nil {
			return err
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

// connect opens the connection if there is none and checks that the
// printer speaks ZPL. It tries once: Run paces the retries.
func (p *Printer) connect(ctx context.Context) error {
	if p.conn != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, p.cfg.Options.withDefaults().DialTimeout)
	t, err := Open(dctx, p.cfg.URL, p.cfg.Options)
	cancel()
	if err == nil {
		c := NewConn(t, p.cfg.StatusTimeout)
		if err = p.checkPrinter(ctx, c); err == nil {
			p.conn = c
			return nil
		}
		c.Close()
	}
	if ctx.Err() == nil {
		p.setState(failedState(err), nil, err.Error())
	}
	return err
}

// failedState is the state for a printer that cannot take a label
// because of err: error when someone must act (it is not in ZPL mode, or
// it answers status requests with something that is not a Zebra status),
// offline when the connection failed or the printer was silent.
func failedState(err error) State {
	if errors.Is(err, ErrNotZPL) || errors.Is(err, ErrNotStatus) {
		return StateError
	}
	return StateOffline
}

func (p *Printer) checkPrinter(ctx context.Context, c *Conn) error {
	if !c.Transport().Bidirectional() {
		return nil
	}
	if err := c.CheckZPL(ctx); err != nil {
		return err
	}
	n, ok, err := c.Odometer(ctx)
	p.odometer = ok
	if ok {
		p.sawOdometer(n)
	}
	return err
}

// sawOdometer tells a ledger that keeps odometers (OdometerLedger) the
// value just read from the printer.
func (p *Printer) sawOdometer(n int64) {
	if o, ok := p.ledger.(OdometerLedger); ok {
		o.Odometer(p.cfg.Name, n)
	}
}

// check connects if need be and asks the printer's health. It returns
// the faults the printer reports; an error means the printer cannot take
// a label now, and the state (offline or error) says why.
func (p *Printer) check(ctx context.Context) ([]string, error) {
	for {
		reused := p.conn != nil
		if err := p.connect(ctx); err != nil {
			return nil, err
		}
		if !p.conn.Transport().Bidirectional() {
			return nil, nil
		}
		faults, err := p.health(ctx)
		if err == nil {
			return faults, nil
		}
		p.disconnect()
		if ctx.Err() != nil {
			return nil, err
		}
		if reused {
			// The printer may have closed a connection that sat idle,
			// or a late answer to an earlier request garbled this one:
			// a new connection is tried at once.
			continue
		}
		p.setState(failedState(err), nil, err.Error())
		return nil, err
	}
}

// health asks ~HQES for the printer's faults. A printer without an
// odometer is also asked ~HS, which is how its labels are confirmed: one
// that answers ~HS with something that is not a Zebra status would have
// every label sent and then left unknown, so none is sent until it
// answers properly. A silent ~HS is not such an answer: printers are
// silent while faulted, and ~HQES says whether they are.
func (p *Printer) health(ctx context.Context) ([]string, error) {
	ext, err := p.conn.ExtendedStatus(ctx)
	if err != nil {
		return nil, err
	}
	if faults := ext.Faults(); len(faults) > 0 {
		return faults, nil
	}
	if !p.odometer {
		if _, err := p.conn.HostStatus(ctx); err != nil && !errors.Is(err, ErrNoAnswer) {
			return nil, err
		}
	}
	return nil, nil
}

// waitReady checks the printer (connecting if need be), waiting while it
// is faulted. It returns the odometer before the next label. An error
// means the printer cannot take a label now. The state turns to printing
// only once the ledger has recorded the label, so that a failing ledger
// does not make it flap.
func (p *Printer) waitReady(ctx context.Context) (int64, error) {
	for {
		faults, err := p.check(ctx)
		if err != nil {
			return 0, err
		}
		if len(faults) > 0 {
			p.setState(StatePaused, faults, "")
			if err := clock.Sleep(ctx, p.cfg.FaultPoll); err != nil {
				return 0, err
			}
			continue
		}
		if !p.odometer {
			return 0, nil
		}
		if p.odoKnown {
			return p.odoLast, nil
		}
		n, _, err := p.conn.Odometer(ctx)
		if err != nil {
			p.disconnect()
			if ctx.Err() == nil {
				p.setState(failedState(err), nil, err.Error())
			}
			return 0, err
		}
		p.sawOdometer(n)
		return n, nil
	}
}

// confirmErr is the error of a status request that failed while a label
// was being confirmed: an answer that is not a Zebra status as it is, and
// anything else as the lost connection it most likely is.
func confirmErr(err error) error {
	if errors.Is(err, ErrNotStatus) {
		return err
	}
	return fmt.Errorf("connection lost before the printer confirmed the label: %w", err)
}

// confirm waits until the printer has printed the label just sent: the
// odometer moved, or (without one) ~HS shows nothing left to print on two
// polls in a row. Faults pause the wait; a lost connection, or an answer
// that is not a Zebra status, ends it.
func (p *Printer) confirm(ctx context.Context, odoBefore int64) error {
	wait := time.Millisecond
	idle := 0
	last := time.Now()
	for polls := 1; ; polls++ {
		if p.odometer {
			n, _, err := p.conn.Odometer(ctx)
			if err != nil {
				return confirmErr(err)
			}
			p.sawOdometer(n)
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
				return confirmErr(err)
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
			return confirmErr(err)
		}
		if faults := ext.Faults(); len(faults) > 0 {
			p.setState(StatePaused, faults, "")
			last = time.Now()
			if err := clock.Sleep(ctx, p.cfg.FaultPoll); err != nil {
				return err
			}
			continue
		}
		p.setState(StatePrinting, nil, "")
		if time.Since(last) > p.cfg.ConfirmTimeout {
			return fmt.Errorf("the printer did not confirm the label within %s", p.cfg.ConfirmTimeout)
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, p.cfg.PollInterval)
	}
}
