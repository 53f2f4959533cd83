package users

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Limiter counts failed attempts (wrong password, badge or PIN; never
// successes) per person's name, per client address and per station. After
// Config.MaxFailures failures within Config.FailureWindow, that name,
// address or station is locked for Config.Lockout: every attempt there is
// refused, right or wrong, until the lock ends. A success clears the
// name's count, not the address's, so one right password cannot clear a
// stream of guesses from the same client.
//
// The counts live in memory: a restart of the agent clears them. An
// attacker who can restart the agent gains a few attempts per restart;
// locks are written to the audit log, so the restarts are visible.
type Limiter struct {
	max     int
	window  time.Duration
	lockout time.Duration
	now     func() time.Time

	mu sync.Mutex
	m  map[string]*attempts
}

type attempts struct {
	fails   []time.Time // within the window, oldest first
	until   time.Time   // locked until then
	pending int         // attempts begun and not yet ended
}

// Lock is a lock that a failure started: what is locked ("user maria",
// "address 10.0.0.7", "station Case-1") and until when.
type Lock struct {
	Key   string
	Until time.Time
}

// LockedError refuses an attempt while a lock lasts. errors.Is(err,
// ErrLocked) is true.
type LockedError struct {
	Key   string    // what is locked, as in Lock
	Until time.Time // when attempts are taken again
	now   time.Time
}

func (e *LockedError) Error() string {
	mins := int(math.Ceil(e.Until.Sub(e.now).Minutes()))
	if mins < 1 {
		mins = 1
	}
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("too many failed attempts: try again in %d %s", mins, unit)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// NewLimiter returns a limiter with cfg's limits (defaults where zero).
func NewLimiter(cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	return &Limiter{max: cfg.MaxFailures, window: cfg.FailureWindow, lockout: cfg.Lockout, now: cfg.Now, m: map[string]*attempts{}}
}

// The keys of the counts: a name in any case is one person.
func nameKey(name string) string {
	if name == "" {
		return ""
	}
	return "user " + strings.ToLower(name)
}

func addrKey(addr string) string {
	if addr == "" {
		return ""
	}
	return "address " + addr
}

func stationKey(station string) string {
	if station == "" {
		return ""
	}
	return "station " + station
}

func keysOf(name, addr, station string) []string {
	return []string{nameKey(name), addrKey(addr), stationKey(station)}
}

// Check refuses, with a *LockedError, an attempt for a locked name or from
// a locked address ("" skips either).
func (l *Limiter) Check(name, addr string) error { return l.check(nameKey(name), addrKey(addr)) }

// Fail counts a failed attempt for name from addr ("" skips either) and
// returns the locks it started.
func (l *Limiter) Fail(name, addr string) []Lock { return l.fail(nameKey(name), addrKey(addr)) }

// Succeed clears the failures counted for name.
func (l *Limiter) Succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.m[nameKey(name)]; a != nil {
		a.fails = nil
	}
}

// begin starts an attempt for keys ("" skipped), which end must finish. It
// counts the attempt while it runs: attempts made all at once cannot get
// past the limit before the first of them has failed. It refuses, with a
// *LockedError, an attempt for a locked key, and one for a key whose
// failures and attempts under way reach the limit already.
func (l *Limiter) begin(keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		a := l.m[k]
		switch {
		case k == "" || a == nil:
		case now.Before(a.until):
			return &LockedError{Key: k, Until: a.until, now: now}
		case len(recent(a.fails, now.Add(-l.window)))+a.pending >= l.max:
			return &LockedError{Key: k, Until: now.Add(time.Second), now: now}
		}
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		if l.m[k] == nil {
			l.m[k] = &attempts{}
		}
		l.m[k].pending++
	}
	return nil
}

// end finishes an attempt that begin started for keys: a failure is
// counted (and the locks it starts returned); a success clears the
// failures of the name key succeeded ("" for none).
func (l *Limiter) end(ok bool, succeeded string, keys ...string) []Lock {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if a := l.m[k]; k != "" && a != nil && a.pending > 0 {
			a.pending--
		}
	}
	if !ok {
		return l.failLocked(keys)
	}
	if a := l.m[succeeded]; succeeded != "" && a != nil {
		a.fails = nil
	}
	return nil
}

func (l *Limiter) check(keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if a := l.m[k]; k != "" && a != nil && now.Before(a.until) {
			return &LockedError{Key: k, Until: a.until, now: now}
		}
	}
	return nil
}

func (l *Limiter) fail(keys ...string) []Lock {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failLocked(keys)
}

// failLocked counts a failure for keys; l.mu is held.
func (l *Limiter) failLocked(keys []string) []Lock {
	now := l.now()
	if len(l.m) > 4096 {
		l.sweep(now) // many names or addresses: forget the ones with nothing recent
	}
	var locks []Lock
	for _, k := range keys {
		if k == "" {
			continue
		}
		a := l.m[k]
		if a == nil {
			a = &attempts{}
			l.m[k] = a
		}
		a.fails = append(recent(a.fails, now.Add(-l.window)), now)
		if len(a.fails) >= l.max {
			a.fails, a.until = nil, now.Add(l.lockout)
			locks = append(locks, Lock{Key: k, Until: a.until})
		}
	}
	return locks
}

// recent drops the failures before since.
func recent(fails []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(fails) && fails[i].Before(since) {
		i++
	}
	return fails[i:]
}

func (l *Limiter) sweep(now time.Time) {
	for k, a := range l.m {
		if a.pending == 0 && !now.Before(a.until) && len(recent(a.fails, now.Add(-l.window))) == 0 {
			delete(l.m, k)
		}
	}
}
