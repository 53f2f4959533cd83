package users

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// ErrNoSession: the token opens no login (unknown, ended, timed out, or its
// person is disabled). The person logs in again.
var ErrNoSession = errors.New("not logged in, or logged out after a time without use: log in again")

// Session is a person's login to the dashboard.
type Session struct {
	User     string
	Role     Role // the person's role now, not at login
	CSRF     string
	Addr     string // the client's address at login
	Created  time.Time
	LastSeen time.Time // to the minute
}

// Sessions keeps dashboard logins in the database, so they outlast a
// restart of the agent. Only the SHA-256 of each token is stored.
type Sessions struct {
	db  *store.DB
	cfg Config
}

// NewSessions returns the logins kept in db, ending after cfg.Idle without
// use or cfg.Absolute after they began.
func NewSessions(db *store.DB, cfg Config) *Sessions {
	return &Sessions{db: db, cfg: cfg.withDefaults()}
}

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create opens a login for user (whom Authenticate returned) from the
// client address addr. It returns the token for the browser's cookie (32
// random bytes, base64url) and the session with its CSRF token, which
// every change the browser asks for must carry. A person disabled since
// Authenticate is refused with ErrBadCredentials. Logins that have ended
// are cleared out here.
func (s *Sessions) Create(ctx context.Context, user User, addr string) (string, Session, error) {
	token := randomToken(32)
	now := s.cfg.Now()
	sess := Session{User: user.Name, Role: user.Role, CSRF: randomToken(32), Addr: addr,
		Created: now.UTC().Truncate(time.Millisecond), LastSeen: now.UTC().Truncate(time.Millisecond)}
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		stored, role, disabled, err := current(tx, user.Name)
		if errors.Is(err, ErrNoUser) || disabled {
			return ErrBadCredentials
		} else if err != nil {
			return err
		}
		sess.User, sess.Role = stored, role
		ms := now.UnixMilli()
		if _, err := tx.Exec(`DELETE FROM user_sessions WHERE last_seen <= ? OR created_at <= ?`,
			ms-s.cfg.Idle.Milliseconds(), ms-s.cfg.Absolute.Milliseconds()); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO user_sessions (token_hash, user_name, csrf, addr, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
			sha256hex(token), stored, sess.CSRF, addr, ms, ms); err != nil {
			return err
		}
		return audit.Write(tx, "user:"+stored, "user.login", stored, "", addr, "")
	})
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// Lookup returns the login that token opens, or ErrNoSession when there is
// none, it was idle for Config.Idle, it began Config.Absolute ago, or its
// person is disabled. A login in use is kept alive: its last-seen time is
// written when it is a minute old or more, so a busy dashboard costs a
// write a minute, not one per request.
func (s *Sessions) Lookup(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrNoSession
	}
	hash := sha256hex(token)
	var sess Session
	var created, seen int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT s.user_name, u.role, s.csrf, s.addr, s.created_at, s.last_seen
		FROM user_sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ? AND u.disabled = 0`, hash).
		Scan(&sess.User, &sess.Role, &sess.CSRF, &sess.Addr, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	} else if err != nil {
		return Session{}, err
	}
	sess.Created, sess.LastSeen = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC()
	now := s.cfg.Now()
	if now.Sub(sess.LastSeen) >= s.cfg.Idle || now.Sub(sess.Created) >= s.cfg.Absolute {
		return Session{}, ErrNoSession
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		err := s.db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE user_sessions SET last_seen = ? WHERE token_hash = ?`, now.UnixMilli(), hash)
			return err
		})
		if err != nil {
			return Session{}, err
		}
		sess.LastSeen = now.UTC().Truncate(time.Millisecond)
	}
	return sess, nil
}

// Revoke ends the login that token opens (logging out). An unknown token
// changes nothing.
func (s *Sessions) Revoke(ctx context.Context, token string) error {
	hash := sha256hex(token)
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRow(`DELETE FROM user_sessions WHERE token_hash = ? RETURNING user_name`, hash).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return audit.Write(tx, "user:"+name, "user.logout", name, "", "", "")
	})
}

// RevokeUser ends every login of the person named name, wherever they are
// logged in. Users.Disable and Users.SetPassword do this themselves.
func (s *Sessions) RevokeUser(ctx context.Context, name string) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		stored, _, _, err := current(tx, name)
		if err != nil {
			return err
		}
		res, err := tx.Exec(`DELETE FROM user_sessions WHERE user_name = ?`, stored)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return audit.Write(tx, "edgeagent", "user.logout", stored, "", "all logins ended", "")
		}
		return nil
	})
}
