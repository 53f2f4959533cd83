package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/users"
)

// People are the line's users, their dashboard sessions and the paired
// station screens.
type People struct {
	Users    *users.Users
	Sessions *users.Sessions
	Devices  *users.Devices
}

const (
	sessionCookie = "edgeagent_session"
	deviceCookie  = "edgeagent_screen"
	// A paired screen keeps its credential until a supervisor revokes it.
	deviceCookieAge = 10 * 365 * 24 * time.Hour
)

// safeNext is where a login may send the browser: a path on this site
// only ("/orders"), never another host ("//evil", "/\\evil", "https://…").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}

// sameOrigin refuses a form posted from another site (login CSRF): the
// browser's Origin (or, without one, its Referer) must be this host.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
}

// login shows the login page, or checks a name and password and opens a
// session kept in the database. Only failures count against the limit, per
// name and per address.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.FormValue("next"))
	if r.Method == http.MethodGet {
		s.page(w, r, "login", "Log in", map[string]any{"Next": next})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name := strings.TrimSpace(r.PostFormValue("user"))
	password := r.PostFormValue("password")
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		s.page(w, r, "login", "Log in", map[string]any{"Next": next, "Error": msg})
	}
	switch {
	case !sameOrigin(r):
		fail(http.StatusForbidden, "This form was sent from another site: open the login page on this line PC and try again.")
		return
	case s.cfg.People == nil:
		fail(http.StatusServiceUnavailable, "Logins are not available on this server.")
		return
	case users.CheckName(name) != nil:
		// Never logged or shown: it may be a password or token typed in the wrong field.
		fail(http.StatusBadRequest, "Give your user name (not a password or token) and your password.")
		return
	}
	u, err := s.cfg.People.Users.AuthenticateFrom(r.Context(), name, password, r.RemoteAddr)
	var locked *users.LockedError
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", "900")
		fail(http.StatusTooManyRequests, locked.Error())
		return
	case err != nil:
		s.log.Warn().Str("remote", r.RemoteAddr).Msg("dashboard login refused")
		fail(http.StatusUnauthorized, "That name and password do not match.")
		return
	}
	tok, _, err := s.cfg.People.Sessions.Create(r.Context(), u, r.RemoteAddr)
	if err != nil {
		s.log.Error().Err(err).Msg("cannot store a session")
		fail(http.StatusServiceUnavailable, "The line PC could not store the login: try again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil})
	s.log.Info().Str("user", u.Name).Msg("dashboard login")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server, whatever the form carried: a
// logout is never worth refusing.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && s.cfg.People != nil {
		if err := s.cfg.People.Sessions.Revoke(r.Context(), c.Value); err != nil && !errors.Is(err, users.ErrNoSession) {
			s.log.Warn().Err(err).Msg("logout")
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
