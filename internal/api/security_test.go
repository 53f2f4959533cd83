package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "/api/v1 bodies are bounded to 64 KiB")
}

// The API's token bucket, in its own time: a burst, then the rate.
func TestLimiterBucket(t *testing.T) {
	l := newLimiter(200, 400)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 400; i++ {
		ok, _ := l.allow("a", t0)
		require.True(t, ok, "the burst: request %d", i)
	}
	ok, wait := l.allow("a", t0)
	assert.False(t, ok, "past the burst at once")
	assert.Equal(t, 5*time.Millisecond, wait, "one token comes every 1/200 s")
	ok, _ = l.allow("b", t0)
	assert.True(t, ok, "another client has its own bucket")
	ok, _ = l.allow("a", t0.Add(5*time.Millisecond))
	assert.True(t, ok, "a token later")
	ok, _ = l.allow("a", t0.Add(5*time.Millisecond))
	assert.False(t, ok)
}

func TestRateLimits(t *testing.T) {
	s, _ := withWork(t)
	// A slower bucket than the default 200/s, so that a loaded test
	// machine still sends faster than it refills.
	s.apiLimit = newLimiter(20, 40)
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
	assert.Greater(t, limited, 0, "a client sending faster than the rate is slowed down")
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

// A refused request is answered in its API's shape: the V2 dialect's under
// its prefix, {"error"} under /api/v1 (both as openapi.yaml documents them).
func TestRateLimitAnswersInTheShapeOfItsAPI(t *testing.T) {
	s, _ := withWork(t)
	s.apiLimit = newLimiter(0.001, 1) // one request, then none for a long while
	code, body := call(t, s, "GET", "/v1/manufacturer/v2/api/packaging_order/open", "", nil)
	require.Equal(t, http.StatusOK, code, body)
	code, body = call(t, s, "GET", "/v1/manufacturer/v2/api/packaging_order/open", "", nil)
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, false, body["success"])
	assert.Contains(t, body["message"], "Too many requests")
	code, body = call(t, s, "GET", "/api/v1/stations", "", map[string]string{"Authorization": "Bearer " + serviceToken})
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Contains(t, body["error"], "too many requests")
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
