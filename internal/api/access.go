package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/users"
)

// Who may use which route lives in one table, routeAccess: every route the
// server registers must have a rule (the server refuses to start without
// one), and a test enumerates the routes against it. docs/security.md shows
// the same table.
//
// A request is someone:
//   - a person logged in to the dashboard (a session cookie, kept in the
//     database; changes need the session's CSRF token), with their role;
//   - the line PC itself, with the service token (http.token) as Bearer:
//     the command line beside the agent, as admin;
//   - a paired station screen (a device cookie), for its own station only;
//   - an ERP or MES client with a V2 token, for the V2 API only.

// Kinds of caller.
const (
	kindUser    = "user"
	kindService = "service"
	kindDevice  = "device"
)

// identity is who a request comes from.
type identity struct {
	kind    string
	name    string // the person, or "local" for the service token
	role    users.Role
	station string // a device's station
	csrf    string // a session's CSRF token
	token   string // the session's token (for logout)
}

// actor is how the audit log names the caller.
func (id identity) actor() string {
	switch id.kind {
	case kindUser:
		return "user:" + id.name
	case kindDevice:
		return "station:" + id.station
	}
	return "api:" + id.name
}

// access is a route's rule.
type access struct {
	public  bool       // anyone (health, login, static files)
	v2      bool       // the V2 API: its own tokens and channel keys
	metrics bool       // this machine, or the scrape token
	min     users.Role // the least role of a person (or the service token)
	device  bool       // a paired screen of the route's {name} station may use it too
	signed  bool       // a person must sign (password, meaning, reason)
	// person: the service token too must carry a person's signature
	// (signature.user), who must hold the route's role.
	person bool
}

var (
	open       = access{public: true}
	viewer     = access{min: users.Operator}
	stationUse = access{min: users.Operator, device: true}
	supervisor = access{min: users.Supervisor}
	signedAct  = access{min: users.Supervisor, signed: true}
	admin      = access{min: users.Admin}
)

// routeAccess is the role matrix: every route and who may use it.
var routeAccess = map[string]access{
	"GET /healthz": open, "GET /readyz": open, "GET /api/openapi.yaml": open, "GET /static/": open,
	"GET /login": open, "POST /login": open, "POST /logout": open,
	"GET /metrics": {metrics: true},

	"POST /v1/manufacturer/v2/api/label_orders/":          {v2: true},
	"POST /v1/manufacturer/v2/api/label_orders":           {v2: true},
	"POST /v1/manufacturer/v2/api/packaging_order":        {v2: true},
	"GET /v1/manufacturer/v2/api/packaging_order/open":    {v2: true},
	"GET /v1/manufacturer/v2/api/packaging_order/details": {v2: true},
	"POST /v1/manufacturer/v2/api/serials/decommission":   {v2: true},
	"POST /v1/manufacturer/v2/api/serials/commission":     {v2: true},
	"POST /v1/manufacturer/v2/api/aggregate/container":    {v2: true},
	"DELETE /v1/manufacturer/v2/api/aggregate/container":  {v2: true},

	"GET /": viewer, "GET /orders": viewer, "GET /printers": viewer, "GET /stations": viewer, "GET /queue": viewer,
	"GET /audit": viewer, "GET /ui/live": viewer, "GET /templates": viewer, "GET /templates/{file}": viewer,
	"GET /labels/{file}": viewer, "GET /orders/{id}/label.png": viewer, "GET /orders/{id}/reconciliation": viewer,
	"GET /station/{name}": stationUse,
	"GET /users":          admin,

	"GET /api/v1/stations":                        viewer,
	"GET /api/v1/stations/{name}":                 stationUse,
	"GET /api/v1/stations/{name}/events":          stationUse,
	"GET /api/v1/stations/{name}/ship-orders":     viewer,
	"POST /api/v1/stations/{name}/scan":           stationUse,
	"POST /api/v1/stations/{name}/sign-on":        stationUse,
	"POST /api/v1/stations/{name}/sign-off":       stationUse,
	"POST /api/v1/stations/{name}/order":          supervisor,
	"POST /api/v1/stations/{name}/command":        supervisor,
	"POST /api/v1/stations/{name}/pair":           supervisor,
	"GET /api/v1/containers":                      viewer,
	"GET /api/v1/labels/unknown":                  viewer,
	"POST /api/v1/label-orders/{id}/resume":       supervisor,
	"GET /api/v1/queue/{id}":                      viewer,
	"POST /api/v1/queue/{id}/retry":               supervisor,
	"POST /api/v1/queue/{id}/park":                supervisor,
	"POST /api/v1/printers/{tag}/test":            supervisor,
	"POST /api/v1/products/{gtin}/serials":        supervisor,
	"POST /api/v1/labels/{id}/reprint":            signedAct,
	"POST /api/v1/labels/{id}/resolve":            signedAct,
	"POST /api/v1/containers/{sscc}/disaggregate": signedAct,
	"POST /api/v1/containers/remove":              signedAct,
	"GET /api/v1/devices":                         supervisor,
	"POST /api/v1/devices/{id}/revoke":            supervisor,
	"GET /api/v1/users":                           admin,
	"POST /api/v1/users":                          {min: users.Admin, signed: true},
	"POST /api/v1/users/{name}/password":          {min: users.Admin, signed: true},
	"POST /api/v1/users/{name}/role":              {min: users.Admin, signed: true},
	"POST /api/v1/users/{name}/disable":           {min: users.Admin, signed: true},
	"POST /api/v1/users/{name}/enable":            {min: users.Admin, signed: true},
	"POST /api/v1/users/{name}/badge":             admin,
	"POST /api/v1/users/{name}/pin":               admin,

	// A label order is closed with a supervisor's signature; its
	// reconciliation shows serials, so it needs a person too.
	"POST /api/v1/label-orders/{id}/close":         {min: users.Supervisor, signed: true, person: true},
	"GET /api/v1/label-orders/{id}/reconciliation": viewer,

	// The EPCIS journal names every serial the line commissioned, packed
	// and shipped: as the other reads of serials, a person or the service
	// token.
	"GET /epcis/events":           viewer,
	"GET /epcis/events/{eventID}": viewer,
}

type idKey struct{}

// guard wraps a route's handler with its rule.
func (s *Server) guard(route string, h http.Handler) http.Handler {
	rule, ok := routeAccess[route]
	if !ok {
		panic("api: route " + route + " has no rule in routeAccess")
	}
	if rule.public || rule.v2 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule.metrics {
			if !s.metricsAllowed(r) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "metrics are served to this machine, or with the scrape token (http.metrics_token)"})
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		id, err := s.identify(r)
		if err != nil {
			s.refuseAccess(w, r, http.StatusUnauthorized, err.Error())
			return
		}
		switch {
		case id.kind == kindDevice:
			if !rule.device || r.PathValue("name") != id.station {
				s.refuseAccess(w, r, http.StatusForbidden, "this screen is paired with station "+id.station+" and shows that station only")
				return
			}
		case !id.role.AtLeast(rule.min):
			s.refuseAccess(w, r, http.StatusForbidden, fmt.Sprintf("this needs the %s role; %s is %s", rule.min, id.name, id.role))
			return
		}
		if id.kind == kindUser && r.Method != http.MethodGet && r.Method != http.MethodHead &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(id.csrf)) != 1 {
			s.refuseAccess(w, r, http.StatusForbidden, "the request lacks this session's CSRF token: reload the page")
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), idKey{}, id), writerKey{}, w)
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// refuseAccess answers a refused request: a page asks for a login, an API
// call gets JSON, an EPCIS query the binding's problem.
func (s *Server) refuseAccess(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, epcisPrefix) {
		writeProblem(w, status, problemSecurity, msg)
		return
	}
	if status == http.StatusUnauthorized && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

var errNoCredentials = errors.New("log in, or give the service token as Authorization: Bearer")

// identify finds who a request comes from.
func (s *Server) identify(r *http.Request) (identity, error) {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		tok := strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))
		if s.cfg.ServiceToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.ServiceToken)) == 1 {
			return identity{kind: kindService, name: "local", role: users.Admin}, nil
		}
		if _, ok := s.tokenName(tok); ok {
			return identity{}, errors.New("a V2 client token reaches the V2 API only")
		}
		return identity{}, errors.New("that token is not valid")
	}
	if c, err := r.Cookie(sessionCookie); err == nil && s.cfg.People != nil {
		sess, err := s.cfg.People.Sessions.Lookup(r.Context(), c.Value)
		if err == nil {
			return identity{kind: kindUser, name: sess.User, role: sess.Role, csrf: sess.CSRF, token: c.Value}, nil
		}
	}
	if c, err := r.Cookie(deviceCookie); err == nil && s.cfg.People != nil {
		d, err := s.cfg.People.Devices.Lookup(r.Context(), c.Value)
		if err == nil {
			return identity{kind: kindDevice, name: fmt.Sprintf("screen %d", d.ID), station: d.Station, role: ""}, nil
		}
	}
	return identity{}, errNoCredentials
}

// identityOf is the caller of a guarded route.
func identityOf(r *http.Request) (identity, bool) {
	id, ok := r.Context().Value(idKey{}).(identity)
	return id, ok
}

// who returns the actor the audit log names for a guarded route's caller.
func (s *Server) who(r *http.Request) (string, bool) {
	id, ok := identityOf(r)
	if !ok {
		return "", false
	}
	return id.actor(), true
}

// metricsAllowed: /metrics is for this machine's Prometheus (or a
// federation through it), or anyone with the scrape token.
func (s *Server) metricsAllowed(r *http.Request) bool {
	if s.cfg.MetricsToken != "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))), []byte(s.cfg.MetricsToken)) == 1 {
			return true
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// signature is what a signed act carries in its body.
type signature struct {
	// User is who signs when the request comes with the service token
	// (the command line beside the agent); a signed-in person signs as
	// themselves and leaves it out.
	User     string `json:"user,omitempty"`
	Password string `json:"password"`
	Meaning  string `json:"meaning"`
}

// signer checks the electronic signature a signed act needs and returns
// the actor to record: a person signs as themselves, with their password
// again, a meaning and the act's reason (21 CFR 11.50, 11.200). The line
// PC's service token acts without one (the command line beside the agent;
// its acts are recorded as api:local).
func (s *Server) signer(r *http.Request, sig *signature, reason string) (string, error) {
	id, _ := identityOf(r)
	name := id.name
	if id.kind == kindService {
		rule := routeAccess[r.Pattern]
		if sig == nil || sig.User == "" {
			if rule.person {
				return "", &accessError{status: http.StatusBadRequest, msg: "signature: this act needs a person's electronic signature: signature.user, their password, its meaning (approved, reviewed, performed, verified) and a reason"}
			}
			return id.actor(), nil
		}
		name = sig.User
	} else if sig != nil && sig.User != "" && sig.User != id.name {
		return "", &accessError{status: http.StatusForbidden, msg: "signature: you sign as yourself; signature.user is for the command line"}
	}
	if sig == nil || sig.Password == "" {
		return "", &accessError{status: http.StatusBadRequest, msg: "signature: this act needs your electronic signature: your password, its meaning (approved, reviewed, performed, verified) and a reason"}
	}
	signed, err := s.cfg.People.Users.Sign(r.Context(), name, sig.Password, sig.Meaning, reason)
	if err != nil {
		return "", signError(err)
	}
	if min := routeAccess[r.Pattern].min; id.kind == kindService && !signed.Role.AtLeast(min) {
		return "", &accessError{status: http.StatusForbidden, msg: fmt.Sprintf("signature: %s is %s; this act needs %s's signature", signed.Name, withArticle(string(signed.Role)), withArticle(string(min)))}
	}
	return audit.Signed("user:"+signed.Name, signed.Meaning), nil
}

// withArticle puts "a" or "an" before a role.
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}

// accessError is a refusal with its status.
type accessError struct {
	status int
	msg    string
}

func (e *accessError) Error() string { return e.msg }

func signError(err error) error {
	var in *users.InputError
	var locked *users.LockedError
	switch {
	case errors.As(err, &in):
		return &accessError{status: http.StatusBadRequest, msg: "signature: " + in.Error()}
	case errors.As(err, &locked):
		return &accessError{status: http.StatusTooManyRequests, msg: "signature: " + locked.Error()}
	case errors.Is(err, users.ErrBadCredentials):
		return &accessError{status: http.StatusUnauthorized, msg: "signature: the password is not right"}
	}
	return err
}
