package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/users"
)

// Every route the server answers has a rule in routeAccess, and each rule
// holds: anonymous callers and V2 client tokens are refused wherever a
// person is needed, and each role reaches exactly the routes its rule
// allows. The routes come from the server itself, so a new one cannot slip
// through.
func TestEveryRouteAgainstTheRoleMatrix(t *testing.T) {
	s, _ := withWork(t)
	people := map[users.Role]*session{
		users.Operator:   login(t, s, "oli", operatorPW),
		users.Supervisor: login(t, s, "ana", supervisorPW),
		users.Admin:      login(t, s, "adam", adminPW),
	}
	fill := regexp.MustCompile(`\{[^}]+\}`)
	checked := 0
	for _, route := range s.Routes() {
		rule, ok := routeAccess[route]
		require.True(t, ok, "%s has no rule", route)
		if rule.public || rule.v2 || rule.metrics {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		path = fill.ReplaceAllStringFunc(path, func(p string) string {
			return map[string]string{"{name}": "case-1", "{id}": "1", "{sscc}": "095060001343521236", "{tag}": "p1",
				"{gtin}": "09506000134352", "{file}": "pack.png", "{eventID}": "ni%3A%2F%2F%2Fsha-256%3B00%3Fver%3DCBV2.0"}[p]
		})
		if strings.HasSuffix(path, "/users/case-1/disable") || strings.HasSuffix(path, "/users/case-1/password") {
			path = strings.Replace(path, "case-1", "nobody", 1)
		}
		// Nobody, and a V2 client token, are refused.
		for _, hdr := range []map[string]string{{}, {"Authorization": "Bearer erp-token-0123456789"}, {"Authorization": "Bearer wrong-token-0123456789"}} {
			req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(`{}`))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if method == "GET" && !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/epcis/") {
				assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s without a person: to the login", route)
				assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login?next="), route)
			} else {
				assert.Contains(t, []int{401, 403}, resp.StatusCode, "%s with %v answered %d", route, hdr, resp.StatusCode)
			}
		}
		// Each role: allowed or refused as the rule says.
		for role, se := range people {
			var code int
			if method == "GET" {
				if strings.HasPrefix(path, "/api/v1/stations/") && strings.HasSuffix(path, "/events") || strings.HasPrefix(path, "/ui/live") {
					continue // streams: checked by their refusals above
				}
				code, _ = se.get(path)
			} else {
				code, _ = se.post(path, `{}`, se.csrf)
			}
			if role.AtLeast(rule.min) {
				assert.NotContains(t, []int{401, 403}, code, "%s as %s", route, role)
			} else {
				assert.Equal(t, http.StatusForbidden, code, "%s as %s needs %s", route, role, rule.min)
			}
		}
		checked++
	}
	assert.Greater(t, checked, 35, "routes checked")
}

// The attacks found trying the dashboard as an attacker would, each
// before (in words) and after (as an assertion).
func TestLoginAndSessionAttacks(t *testing.T) {
	s, _ := withWork(t)
	base := "http://" + s.Addr()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(origin string, v url.Values) *http.Response {
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := noFollow.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	// Open redirect: next=/\evil.com went to evil.com.
	for _, next := range []string{`/\evil.com`, "//evil.com", "https://evil.com", "/\t/evil.com", "javascript:alert(1)"} {
		resp := post(base, url.Values{"user": {"oli"}, "password": {operatorPW}, "next": {next}})
		require.Equal(t, 303, resp.StatusCode, next)
		assert.Equal(t, "/", resp.Header.Get("Location"), "next %q stays on this site", next)
	}
	// Login CSRF: a form posted from another site was accepted.
	assert.Equal(t, 403, post("https://evil.example", url.Values{"user": {"oli"}, "password": {operatorPW}}).StatusCode)
	assert.Equal(t, 403, post("", url.Values{"user": {"oli"}, "password": {operatorPW}}).StatusCode, "no Origin or Referer")
	// A token typed into the name field was logged and shown as the actor.
	resp := post(base, url.Values{"user": {"service-token-0123456789abcdef"}, "password": {"x"}})
	assert.Equal(t, 400, resp.StatusCode)
	// Logout without the CSRF field left the session valid.
	se := login(t, s, "ana", supervisorPW)
	code, _ := se.get("/orders")
	require.Equal(t, 200, code)
	code, _ = se.form("/logout", url.Values{})
	require.Equal(t, 303, code)
	code, _ = se.get("/orders")
	assert.Equal(t, 303, code, "the session ended on the server")
	// ERP tokens ran supervisor actions (CMD:CANCEL through /api/v1).
	req, _ := http.NewRequest("POST", base+"/api/v1/stations/case-1/command", strings.NewReader(`{"command":"CMD:CANCEL"}`))
	req.Header.Set("Authorization", "Bearer erp-token-0123456789")
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, 401, r2.StatusCode)
	// An operator cannot act as a supervisor.
	op := login(t, s, "oli", operatorPW)
	code, body := op.post("/api/v1/stations/case-1/command", `{"command":"CMD:CANCEL"}`, op.csrf)
	assert.Equal(t, 403, code)
	assert.Contains(t, body, "needs the supervisor role")
}

// Reprint, resolve, disaggregate and remove need the person's electronic
// signature: their password again, a meaning and a reason.
func TestSignedActsNeedASignature(t *testing.T) {
	s, _ := withWork(t)
	se := login(t, s, "ana", supervisorPW)
	code, body := se.post("/api/v1/labels/1/reprint", `{"reason":"torn"}`, se.csrf)
	assert.Equal(t, 400, code)
	assert.Contains(t, body, "needs your electronic signature")
	code, body = se.post("/api/v1/labels/1/reprint", `{"reason":"torn","signature":{"password":"wrong password!","meaning":"approved"}}`, se.csrf)
	assert.Equal(t, 401, code, body)
	code, body = se.post("/api/v1/labels/1/reprint", `{"reason":"torn","signature":{"password":"`+supervisorPW+`","meaning":"liked"}}`, se.csrf)
	assert.Equal(t, 400, code, body)
	code, body = se.post("/api/v1/labels/1/reprint", `{"reason":"torn","signature":{"password":"`+supervisorPW+`","meaning":"approved"}}`, se.csrf)
	assert.Equal(t, 409, code, "signed: the ledger answers (the label is printed, not unknown): %s", body)
}

func TestMetricsOnlyForThisMachineOrTheScrapeToken(t *testing.T) {
	s, _ := withWork(t)
	r, _ := http.NewRequest("GET", "/metrics", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	assert.True(t, s.metricsAllowed(r))
	r.RemoteAddr = "[::1]:5000"
	assert.True(t, s.metricsAllowed(r))
	r.RemoteAddr = "192.0.2.7:5000"
	assert.False(t, s.metricsAllowed(r), "another machine without the scrape token")
	s.cfg.MetricsToken = "scrape-token-0123456789"
	r.Header.Set("Authorization", "Bearer scrape-token-0123456789")
	assert.True(t, s.metricsAllowed(r))
	r.Header.Set("Authorization", "Bearer "+serviceToken)
	assert.False(t, s.metricsAllowed(r))
}

// An admin adds a person, gives them a badge and disables them from the
// dashboard; each change is signed and in the audit log.
func TestAdminManagesPeopleOnTheDashboard(t *testing.T) {
	s, _ := withWork(t)
	se := login(t, s, "adam", adminPW)
	code, page := se.get("/users")
	require.Equal(t, 200, code)
	assert.Contains(t, page, "ana")
	sig := `"signature":{"password":"` + adminPW + `","meaning":"approved"}`
	code, body := se.post("/api/v1/users", `{"name":"nia","role":"operator","password":"first password 1","reason":"new on shift B",`+sig+`}`, se.csrf)
	require.Equal(t, 200, code, body)
	code, body = se.post("/api/v1/users/nia/badge", `{}`, se.csrf)
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, `"badge":"BADGE:`)
	assert.Contains(t, body, `"png":"`)
	code, body = se.post("/api/v1/users/nia/disable", `{"reason":"left"}`, se.csrf)
	assert.Equal(t, 400, code, "unsigned: %s", body)
	code, body = se.post("/api/v1/users/nia/disable", `{"reason":"left",`+sig+`}`, se.csrf)
	require.Equal(t, 200, code, body)
	_, audit := se.get("/audit?user=user:adam")
	assert.Contains(t, audit, "approved", "the signature's meaning is in the entry")
	op := login(t, s, "oli", operatorPW)
	code, _ = op.get("/users")
	assert.Equal(t, 403, code, "people are the admins' business")
}
