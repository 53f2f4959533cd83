package users

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBadges(t *testing.T) {
	l := newLine(t)
	l.add(t, "jon", Operator)
	badge, err := l.users.SetBadge(ctx, "user:maria", "jon")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^BADGE:[2-9A-HJ-NP-Z]{16}$`), badge)
	require.NotContains(t, l.dump(t), badge[len(BadgePrefix):])
	u, err := l.users.Get(ctx, "jon")
	require.NoError(t, err)
	require.True(t, u.Badge)

	// As a scanner sends it: any case, a line end after it.
	u, err = l.users.SignOn(ctx, "Case-1", " "+strings.ToLower(badge)+"\r\n")
	require.NoError(t, err)
	require.Equal(t, "jon", u.Name)
	su, err := l.users.SignedOn(ctx, "Case-1")
	require.NoError(t, err)
	require.Equal(t, StationUser{Station: "Case-1", User: "jon", Role: Operator, Since: l.clock.Now(), LastActivity: l.clock.Now()}, su)

	// A new badge replaces the old one.
	badge2, err := l.users.SetBadge(ctx, "user:maria", "jon")
	require.NoError(t, err)
	require.NotEqual(t, badge, badge2)
	_, err = l.users.SignOn(ctx, "Case-1", badge)
	require.ErrorIs(t, err, ErrBadSignOn)
	_, err = l.users.SignOn(ctx, "Case-1", badge2)
	require.NoError(t, err)
	_, err = l.users.SetBadge(ctx, "user:maria", "nobody")
	require.ErrorIs(t, err, ErrNoUser)

	log := l.auditLog(t)
	require.Contains(t, log, "user:maria user.badge jon →new badge issued ()")
	require.Contains(t, log, "user:jon station.sign_on Case-1 →jon (by badge)")
}

func TestPINs(t *testing.T) {
	for _, ok := range []string{"480213", "120934871265", "135790"} {
		require.NoError(t, CheckPIN(ok), ok)
	}
	for _, bad := range []string{"12345", "1234567890123", "12a456", "111111", "123456", "987654", "890123", "", " 480213"} {
		require.ErrorIs(t, CheckPIN(bad), ErrInvalid, bad)
	}

	l := newLine(t)
	l.add(t, "jon", Operator)
	l.add(t, "anna", Operator)
	l.add(t, "eve", Supervisor)
	require.NoError(t, l.users.SetPIN(ctx, "user:maria", "jon", "480213"))
	require.NoError(t, l.users.SetPIN(ctx, "user:maria", "anna", "771290"))
	require.ErrorIs(t, l.users.SetPIN(ctx, "user:maria", "anna", "111111"), ErrInvalid)
	require.NotContains(t, l.dump(t), "480213")

	u, err := l.users.SignOn(ctx, "Case-1", "480213\n")
	require.NoError(t, err)
	require.Equal(t, "jon", u.Name)
	u, err = l.users.SignOn(ctx, "Case-1", "771290")
	require.NoError(t, err)
	require.Equal(t, "anna", u.Name, "the next one takes the station over")
	require.Contains(t, l.auditLog(t), "user:anna station.sign_on Case-1 jon→anna (by PIN)")
	_, err = l.users.SignOn(ctx, "Case-1", "000123")
	require.ErrorIs(t, err, ErrBadSignOn)

	// Eve chooses Jon's PIN: she may not have it, and it stops being Jon's,
	// since Eve now knows it.
	require.ErrorIs(t, l.users.SetPIN(ctx, "user:eve", "eve", "480213"), ErrPINTaken)
	_, err = l.users.SignOn(ctx, "Case-1", "480213")
	require.ErrorIs(t, err, ErrBadSignOn)
	jon, err := l.users.Get(ctx, "jon")
	require.NoError(t, err)
	require.False(t, jon.PIN)
	require.Contains(t, l.auditLog(t), "user:eve user.pin jon →removed (chosen for eve, who may not have it either: give jon a new PIN)")

	// Setting one's own PIN again is no clash; "" removes a PIN.
	require.NoError(t, l.users.SetPIN(ctx, "user:anna", "anna", "771290"))
	require.NoError(t, l.users.SetPIN(ctx, "user:anna", "anna", ""))
	_, err = l.users.SignOn(ctx, "Case-1", "771290")
	require.ErrorIs(t, err, ErrBadSignOn)
	require.ErrorIs(t, l.users.SetPIN(ctx, "cli:root", "nobody", "480213"), ErrNoUser)

	// Neither a badge nor a PIN: a person's mistake, not counted.
	for _, junk := range []string{"", "hello", "(01)09506000134352", "BADGE:", "12345"} {
		_, err = l.users.SignOn(ctx, "Case-1", junk)
		require.ErrorIs(t, err, ErrInvalid, "%q", junk)
		require.EqualError(t, err, "sign-on: scan your badge or type your PIN")
	}
	_, err = l.users.SignOn(ctx, "", "480213")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestStationSignOnIdleAndSignOff(t *testing.T) {
	l := newLine(t)
	l.add(t, "jon", Operator)
	require.NoError(t, l.users.SetPIN(ctx, "cli:root", "jon", "480213"))
	_, err := l.users.SignedOn(ctx, "Case-1")
	require.ErrorIs(t, err, ErrNotSignedOn)
	_, err = l.users.SignOn(ctx, "Case-1", "480213")
	require.NoError(t, err)
	since := l.clock.Now()

	// Asking who is signed on keeps no one signed on; acting there does.
	l.clock.Advance(14 * time.Minute)
	su, err := l.users.SignedOn(ctx, "Case-1")
	require.NoError(t, err)
	require.Equal(t, since, su.LastActivity)
	su, err = l.users.Touch(ctx, "Case-1")
	require.NoError(t, err)
	require.Equal(t, l.clock.Now(), su.LastActivity)
	require.Equal(t, since, su.Since)
	l.clock.Advance(14 * time.Minute)
	_, err = l.users.Touch(ctx, "Case-1")
	require.NoError(t, err)
	l.clock.Advance(15 * time.Minute)
	_, err = l.users.SignedOn(ctx, "Case-1")
	require.ErrorIs(t, err, ErrNotSignedOn, "15 minutes without activity sign the operator off")
	_, err = l.users.Touch(ctx, "Case-1")
	require.ErrorIs(t, err, ErrNotSignedOn)

	_, err = l.users.SignOn(ctx, "Case-1", "480213")
	require.NoError(t, err)
	_, err = l.users.SignOn(ctx, "Pallet-1", "480213")
	require.NoError(t, err, "signed on at two stations")
	require.NoError(t, l.users.SignOff(ctx, "Case-1"))
	require.NoError(t, l.users.SignOff(ctx, "Case-1"), "signing off twice")
	_, err = l.users.SignedOn(ctx, "Case-1")
	require.ErrorIs(t, err, ErrNotSignedOn)
	_, err = l.users.SignedOn(ctx, "Pallet-1")
	require.NoError(t, err)
	require.Contains(t, l.auditLog(t), "user:jon station.sign_off Case-1 jon→ ()")

	// The idle time is configurable.
	l.cfg.StationIdle = time.Minute
	l.users = New(l.db, l.cfg, l.users.log)
	l.clock.Advance(time.Minute)
	_, err = l.users.SignedOn(ctx, "Pallet-1")
	require.ErrorIs(t, err, ErrNotSignedOn)
}

func TestWrongPINsLockTheStationForPINs(t *testing.T) {
	l := newLine(t)
	l.add(t, "jon", Operator)
	require.NoError(t, l.users.SetPIN(ctx, "cli:root", "jon", "480213"))
	badge, err := l.users.SetBadge(ctx, "cli:root", "jon")
	require.NoError(t, err)
	for range 10 {
		_, err := l.users.SignOn(ctx, "Case-1", "BADGE:AAAAAAAAAAAAAAAA")
		require.ErrorIs(t, err, ErrBadSignOn, "wrong badges are refused, not counted")
	}
	for i := range 5 {
		_, err := l.users.SignOn(ctx, "Case-1", "00012"+string(rune('0'+i)))
		require.ErrorIs(t, err, ErrBadSignOn)
	}
	_, err = l.users.SignOn(ctx, "Case-1", "480213")
	require.ErrorIs(t, err, ErrLocked, "the right PIN too, while locked")
	require.EqualError(t, err, "too many failed attempts: try again in 15 minutes")
	_, err = l.users.SignOn(ctx, "Case-1", badge)
	require.NoError(t, err, "a badge still signs on: the line goes on")
	_, err = l.users.SignOn(ctx, "Case-2", "480213")
	require.NoError(t, err, "another station is not locked")
	require.Contains(t, l.auditLog(t), "edgeagent login.locked station Case-1 →locked until 2026-03-02T08:15:00Z (5 failed attempts within 15m0s)")

	l.clock.Advance(15 * time.Minute)
	_, err = l.users.SignOn(ctx, "Case-1", "480213")
	require.NoError(t, err)
}

// Attempts made all at once are counted while they run: no more than the
// limit get to the password check before the lock.
func TestSimultaneousAttemptsCannotPassTheLimit(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for range 40 {
		wg.Go(func() {
			_, err := l.users.Authenticate(ctx, "maria", "a guess at her password")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBadCredentials):
				outcomes["checked"]++
			case errors.Is(err, ErrLocked):
				outcomes["refused"]++
			default:
				outcomes[err.Error()]++
			}
		})
	}
	wg.Wait()
	require.Equal(t, map[string]int{"checked": 5, "refused": 35}, outcomes)
	_, err := l.users.Authenticate(ctx, "maria", pw("maria"))
	require.ErrorIs(t, err, ErrLocked)
}

func TestSign(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	l.add(t, "jon", Operator)
	require.NoError(t, l.users.Disable(ctx, "cli:root", "jon"))

	s, err := l.users.Sign(ctx, "Maria", pw("maria"), " Approved ", " label smudged ")
	require.NoError(t, err)
	require.Equal(t, Signature{Name: "maria", Role: Supervisor, Meaning: MeaningApproved, Reason: "label smudged", At: l.clock.Now()}, s)
	require.Equal(t, "approved by maria (supervisor) at 2026-03-02T08:00:00Z: label smudged", s.String())

	_, err = l.users.Sign(ctx, "maria", pw("maria"), "approved", "  ")
	require.EqualError(t, err, "reason: say why (required with a signature)")
	_, err = l.users.Sign(ctx, "maria", pw("maria"), "approved", "two\nlines")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = l.users.Sign(ctx, "maria", pw("maria"), "liked", "because")
	require.EqualError(t, err, `meaning: "liked" is not a meaning of a signature: give approved, reviewed, performed, verified`)
	_, err = l.users.Sign(ctx, "jon", pw("jon"), "performed", "rework")
	require.ErrorIs(t, err, ErrBadCredentials, "a disabled person cannot sign")

	// Wrong passwords count as for a login: the fifth locks the name.
	for range 4 {
		_, err = l.users.Sign(ctx, "maria", "not my password", "approved", "label smudged")
		require.ErrorIs(t, err, ErrBadCredentials)
	}
	_, err = l.users.Sign(ctx, "maria", "not my password", "approved", "label smudged")
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = l.users.Sign(ctx, "maria", pw("maria"), "approved", "label smudged")
	require.ErrorIs(t, err, ErrLocked)
	_, err = l.users.Authenticate(ctx, "maria", pw("maria"))
	require.ErrorIs(t, err, ErrLocked, "the same limit as the login")
	require.Contains(t, l.auditLog(t), "edgeagent login.locked user maria →locked until 2026-03-02T08:15:00Z (5 failed attempts within 15m0s)")
}

func TestLoginFailuresLockNameAndAddress(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	l.add(t, "jon", Operator)

	// Four failures, a success: the name's count starts again.
	for range 4 {
		_, err := l.users.AuthenticateFrom(ctx, "maria", "wrong password", "10.0.0.7")
		require.ErrorIs(t, err, ErrBadCredentials)
	}
	_, err := l.users.AuthenticateFrom(ctx, "maria", pw("maria"), "10.0.0.8")
	require.NoError(t, err)
	for range 4 {
		_, err := l.users.AuthenticateFrom(ctx, "maria", "wrong password", "10.0.0.8")
		require.ErrorIs(t, err, ErrBadCredentials)
	}
	_, err = l.users.AuthenticateFrom(ctx, "maria", pw("maria"), "10.0.0.9")
	require.NoError(t, err, "four failures since the success")

	// The address's count went on: one more failure from there locks it,
	// for every name, while other addresses are let in.
	_, err = l.users.AuthenticateFrom(ctx, "nobody", "wrong password", "10.0.0.7")
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = l.users.AuthenticateFrom(ctx, "jon", pw("jon"), "10.0.0.7")
	require.ErrorIs(t, err, ErrLocked)
	var le *LockedError
	require.True(t, errors.As(err, &le))
	require.Equal(t, "address 10.0.0.7", le.Key)
	require.Equal(t, l.clock.Now().Add(15*time.Minute), le.Until)
	_, err = l.users.AuthenticateFrom(ctx, "jon", pw("jon"), "10.0.0.9")
	require.NoError(t, err)

	// Failures older than the window are forgotten.
	for range 4 {
		_, err := l.users.Authenticate(ctx, "jon", "wrong password")
		require.ErrorIs(t, err, ErrBadCredentials)
	}
	l.clock.Advance(16 * time.Minute)
	_, err = l.users.Authenticate(ctx, "jon", "wrong password")
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = l.users.AuthenticateFrom(ctx, "jon", pw("jon"), "10.0.0.7")
	require.NoError(t, err, "the address's lock is over too")
}

// Many failed attempts at once are all counted, once each.
func TestLimiterCountsConcurrentFailures(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	lim := NewLimiter(Config{MaxFailures: 50, Now: clk.Now})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var locks []Lock
	for i := range 50 {
		wg.Go(func() {
			got := lim.Fail("maria", "10.0.0."+string(rune('0'+i%10)))
			mu.Lock()
			locks = append(locks, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, []Lock{{Key: "user maria", Until: clk.Now().Add(15 * time.Minute)}}, locks)
	require.ErrorIs(t, lim.Check("MARIA", ""), ErrLocked)
	require.NoError(t, lim.Check("", "10.0.0.1"))
	require.NoError(t, lim.Check("", ""))
}
