package api

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every route that changes or reveals the line's work refuses a missing or
// wrong token. The routes come from the server itself, so a new one cannot
// slip through.
func TestEveryRouteNeedsAToken(t *testing.T) {
	s, _ := withWork(t)
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/openapi.yaml": true,
		"GET /login": true, "POST /login": true, "POST /logout": true, "GET /static/": true, "GET /ui/live": true,
		"GET /templates": true, "GET /templates/{file}": true, "GET /station/{name}": true, "GET /": true}
	for _, p := range []string{"orders", "printers", "stations", "queue", "audit"} {
		public["GET /"+p] = true // pages show, their actions need a session
	}
	fill := regexp.MustCompile(`\{[^}]+\}`)
	checked := 0
	for _, route := range s.Routes() {
		if public[route] {
			continue
		}
		method, path, _ := strings.Cut(route, " ")
		path = fill.ReplaceAllStringFunc(path, func(p string) string {
			return map[string]string{"{name}": "case-1", "{id}": "1", "{sscc}": "095060001343521236", "{tag}": "p1", "{gtin}": "09506000134352"}[p]
		})
		for _, tok := range []string{"", "wrong-token-0123456789"} {
			req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(`{}`))
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("x-access-token", tok)
			}
			req.Header.Set("x-channel-key", "ch")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Contains(t, []int{401, 403}, resp.StatusCode, "%s with token %q answered %d", route, tok, resp.StatusCode)
		}
		checked++
	}
	assert.Greater(t, checked, 20, "routes checked")
}

func TestBodiesAreBounded(t *testing.T) {
	s, _ := withWork(t)
	big := strings.Repeat("x", 9<<20)
	code, _ := call(t, s, "POST", "/v1/manufacturer/v2/api/label_orders/", `{"order_id":"`+big+`"}`, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/api/v1/containers/remove", strings.NewReader(`{"reason":"`+strings.Repeat("x", 100<<10)+`"}`))
	req.Header.Set("Authorization", "Bearer "+serviceToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestRateLimits(t *testing.T) {
	s, _ := withWork(t)
	limited := 0
	for i := 0; i < 600; i++ {
		resp, err := http.Get("http://" + s.Addr() + "/api/v1/stations")
		require.NoError(t, err)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
	}
	assert.Greater(t, limited, 0, "a client sending faster than 200/s is slowed down")
	// Logins: only failures count, per name and per address.
	for i := 0; i < 8; i++ {
		login(t, s, "oli", operatorPW)
	}
	se := &session{t: t, base: "http://" + s.Addr(), c: http.DefaultClient}
	refused := 0
	for i := 0; i < 8; i++ {
		code, _ := se.form("/login", url.Values{"user": {"ana"}, "password": {"guess"}})
		if code == http.StatusTooManyRequests {
			refused++
		}
	}
	assert.Equal(t, 3, refused, "5 failures lock the name")
	code, _ := se.form("/login", url.Values{"user": {"ana"}, "password": {supervisorPW}})
	assert.Equal(t, http.StatusTooManyRequests, code, "locked, even with the right password")
}

// Previews are drawn once, and live streams are capped: anonymous load
// cannot take the cores or the memory the stations need.
func TestPreviewsAreCachedAndStreamsCapped(t *testing.T) {
	s, _ := withWork(t)
	s.streams.max = 2
	se := login(t, s, "oli", operatorPW)
	base := "http://" + s.Addr()
	var first string
	for i := 0; i < 20; i++ {
		code, b := se.get("/templates/pack.png")
		require.Equal(t, 200, code)
		if first == "" {
			first = b
		}
		require.Equal(t, first, b)
	}
	assert.Len(t, s.previews.pngs, 1, "drawn once")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var open []*http.Response
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/ui/live?page=overview", nil)
		resp, err := se.c.Do(req)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		open = append(open, resp)
	}
	resp, err := se.c.Get(base + "/ui/live?page=overview")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	for _, r := range open {
		r.Body.Close()
	}
}
