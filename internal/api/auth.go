package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sessions of people logged in to the dashboard. A session is opened by
// giving a configured token once (the login page); it carries a CSRF token
// that every action must send back (X-CSRF-Token or the csrf form field).
// Sessions live in memory: a restart asks people to log in again.

const (
	sessionCookie = "edgeagent_session"
	sessionTTL    = 12 * time.Hour
)

type session struct {
	user    string
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (ss *sessions) open(user string) (id string, s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	now := time.Now()
	for k, v := range ss.m {
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	id = randomHex(32)
	s = &session{user: user, csrf: randomHex(32), expires: now.Add(sessionTTL)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// sessionOf returns the request's dashboard session, if any.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value)
}

// who authenticates a request to /api/v1 and returns the actor the audit
// log names: "api:NAME" for a Bearer token, "user:NAME" for a dashboard
// session. A session's request that changes anything must carry its CSRF
// token.
func (s *Server) who(r *http.Request) (string, bool) {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		name, ok := s.tokenName(strings.TrimSpace(strings.TrimPrefix(a, "Bearer ")))
		return "api:" + name, ok
	}
	sess := s.sessionOf(r)
	if sess == nil {
		return "", false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get("X-CSRF-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
			return "", false
		}
	}
	return "user:" + sess.user, true
}

// login shows the login page, or checks a token and opens a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	if r.Method == http.MethodGet {
		s.page(w, r, "login", "Log in", map[string]any{"Next": next})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	user := strings.TrimSpace(r.PostFormValue("user"))
	tok := r.PostFormValue("token")
	_, ok := s.tokenName(tok)
	switch {
	case user == "" || len(user) > 64 || strings.ContainsAny(user, "\r\n\t"):
		w.WriteHeader(http.StatusBadRequest)
		s.page(w, r, "login", "Log in", map[string]any{"Next": next, "Error": "Give your name (1-64 characters): the audit log records it."})
		return
	case !ok:
		s.log.Warn().Str("user", user).Str("remote", r.RemoteAddr).Msg("dashboard login refused")
		w.WriteHeader(http.StatusUnauthorized)
		s.page(w, r, "login", "Log in", map[string]any{"Next": next, "User": user, "Error": "That token is not valid."})
		return
	}
	id, _ := s.sessions.open(user)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(sessionTTL.Seconds())})
	s.log.Info().Str("user", user).Msg("dashboard login")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess := s.sessions.get(c.Value); sess != nil && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) == 1 {
			s.sessions.drop(c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
