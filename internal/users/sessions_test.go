package users

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func login(t *testing.T, l *line, name string) (string, Session) {
	t.Helper()
	u, err := l.users.Authenticate(ctx, name, pw(name))
	require.NoError(t, err)
	token, sess, err := l.sessions.Create(ctx, u, "10.0.0.7")
	require.NoError(t, err)
	return token, sess
}

// lastSeen reads the stored last-seen time of the login token opens.
func lastSeen(t *testing.T, l *line, token string) time.Time {
	t.Helper()
	var ms int64
	require.NoError(t, l.db.Reader().QueryRow(`SELECT last_seen FROM user_sessions WHERE token_hash = ?`, sha256hex(token)).Scan(&ms))
	return time.UnixMilli(ms).UTC()
}

func TestSessionsKeepOnlyTheTokensHash(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	token, sess := login(t, l, "maria")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	csrf, err := base64.RawURLEncoding.DecodeString(sess.CSRF)
	require.NoError(t, err)
	require.Len(t, csrf, 32)
	require.NotEqual(t, token, sess.CSRF)
	require.NotContains(t, l.dump(t), token)
	require.Contains(t, l.dump(t), sha256hex(token))

	got, err := l.sessions.Lookup(ctx, token)
	require.NoError(t, err)
	require.Equal(t, sess, got)
	require.Equal(t, Session{User: "maria", Role: Supervisor, CSRF: sess.CSRF, Addr: "10.0.0.7", Created: l.clock.Now(), LastSeen: l.clock.Now()}, got)
	for _, bad := range []string{"", token + "x", sess.CSRF} {
		_, err = l.sessions.Lookup(ctx, bad)
		require.ErrorIs(t, err, ErrNoSession, "%q", bad)
	}
	require.Contains(t, l.auditLog(t), "user:maria user.login maria →10.0.0.7 ()")
}

func TestSessionsEndWhenIdleAndAfterTheirLifetime(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	token, _ := login(t, l, "maria")
	start := l.clock.Now()

	// Used within the minute: nothing is written.
	l.clock.Advance(50 * time.Second)
	_, err := l.sessions.Lookup(ctx, token)
	require.NoError(t, err)
	require.Equal(t, start, lastSeen(t, l, token))
	// A minute old: the last-seen time moves on.
	l.clock.Advance(20 * time.Second)
	s, err := l.sessions.Lookup(ctx, token)
	require.NoError(t, err)
	require.Equal(t, l.clock.Now(), lastSeen(t, l, token))
	require.Equal(t, l.clock.Now(), s.LastSeen)

	// Used every 29 minutes it lives; 30 minutes unused end it.
	for range 3 {
		l.clock.Advance(29 * time.Minute)
		_, err = l.sessions.Lookup(ctx, token)
		require.NoError(t, err)
	}
	l.clock.Advance(30 * time.Minute)
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)

	// However busy, a login ends 12 hours after it began.
	token, _ = login(t, l, "maria")
	start = l.clock.Now()
	for l.clock.Now().Sub(start) < 12*time.Hour-20*time.Minute {
		l.clock.Advance(20 * time.Minute)
		_, err = l.sessions.Lookup(ctx, token)
		require.NoError(t, err, "%s after login", l.clock.Now().Sub(start))
	}
	l.clock.Advance(20 * time.Minute)
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)

	// A new login clears out the ended ones.
	count := func(token string) (n int) {
		require.NoError(t, l.db.Reader().QueryRow(`SELECT COUNT(*) FROM user_sessions WHERE token_hash = ?`, sha256hex(token)).Scan(&n))
		return n
	}
	require.Equal(t, 1, count(token))
	fresh, _ := login(t, l, "maria")
	require.Equal(t, 0, count(token))
	require.Equal(t, 1, count(fresh))
}

func TestSessionsConfigurable(t *testing.T) {
	l := newLine(t)
	l.cfg.Idle, l.cfg.Absolute = 5*time.Minute, time.Hour
	l.sessions = NewSessions(l.db, l.cfg)
	l.add(t, "maria", Supervisor)
	token, _ := login(t, l, "maria")
	l.clock.Advance(4 * time.Minute)
	_, err := l.sessions.Lookup(ctx, token)
	require.NoError(t, err)
	l.clock.Advance(5 * time.Minute)
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)
}

func TestSessionsOutlastARestart(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	token, sess := login(t, l, "maria")
	require.NoError(t, l.db.Close())
	l.open(t)
	got, err := l.sessions.Lookup(ctx, token)
	require.NoError(t, err)
	require.Equal(t, sess, got)
}

func TestSessionsFollowTheRoleAndEndOnRevoke(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Admin)
	l.add(t, "jon", Supervisor)
	t1, _ := login(t, l, "jon")
	t2, _ := login(t, l, "jon")
	t3, _ := login(t, l, "maria")

	require.NoError(t, l.users.SetRole(ctx, "user:maria", "jon", Operator))
	s, err := l.sessions.Lookup(ctx, t1)
	require.NoError(t, err)
	require.Equal(t, Operator, s.Role, "the role now, not at login")

	require.NoError(t, l.sessions.Revoke(ctx, t1))
	require.NoError(t, l.sessions.Revoke(ctx, t1), "logging out twice")
	_, err = l.sessions.Lookup(ctx, t1)
	require.ErrorIs(t, err, ErrNoSession)
	_, err = l.sessions.Lookup(ctx, t2)
	require.NoError(t, err)

	require.NoError(t, l.sessions.RevokeUser(ctx, "JON"))
	_, err = l.sessions.Lookup(ctx, t2)
	require.ErrorIs(t, err, ErrNoSession)
	_, err = l.sessions.Lookup(ctx, t3)
	require.NoError(t, err, "someone else's login stays")
	require.ErrorIs(t, l.sessions.RevokeUser(ctx, "nobody"), ErrNoUser)
	log := l.auditLog(t)
	require.Contains(t, log, "user:jon user.logout jon → ()")
	require.Contains(t, log, "edgeagent user.logout jon →all logins ended ()")
}

func TestDevices(t *testing.T) {
	l := newLine(t)
	cred, dev, err := l.devices.Pair(ctx, "user:maria", "Case-1")
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(cred)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	require.Equal(t, Device{ID: 1, Station: "Case-1", PairedBy: "user:maria", PairedAt: l.clock.Now()}, dev)
	require.NotContains(t, l.dump(t), cred)
	cred2, _, err := l.devices.Pair(ctx, "user:maria", "Case-1")
	require.NoError(t, err)
	_, _, err = l.devices.Pair(ctx, "user:maria", "")
	require.ErrorIs(t, err, ErrInvalid)

	l.clock.Advance(time.Hour)
	got, err := l.devices.Lookup(ctx, cred)
	require.NoError(t, err)
	require.Equal(t, "Case-1", got.Station)
	require.Equal(t, l.clock.Now(), got.LastSeen)
	_, err = l.devices.Lookup(ctx, "not a credential")
	require.ErrorIs(t, err, ErrNoDevice)

	require.NoError(t, l.devices.Revoke(ctx, "user:anna", dev.ID))
	require.NoError(t, l.devices.Revoke(ctx, "user:anna", dev.ID), "revoking twice")
	_, err = l.devices.Lookup(ctx, cred)
	require.ErrorIs(t, err, ErrNoDevice)
	_, err = l.devices.Lookup(ctx, cred2)
	require.NoError(t, err, "the station's other screen works on")
	require.ErrorIs(t, l.devices.Revoke(ctx, "user:anna", 99), ErrNoDevice)

	all, err := l.devices.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.True(t, all[0].Revoked())
	require.Equal(t, "user:anna", all[0].RevokedBy)
	require.Equal(t, l.clock.Now(), all[0].LastSeen)
	require.False(t, all[1].Revoked())
	require.Equal(t, []string{
		"user:maria device.pair station Case-1 →screen 1 ()",
		"user:maria device.pair station Case-1 →screen 2 ()",
		"user:anna device.revoke station Case-1 screen 1→revoked ()",
	}, l.auditLog(t))
}
