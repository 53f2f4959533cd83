package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// limiter is a token bucket per client address: rate tokens a second, up
// to burst.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes a token for the client, or says how long to wait.
func (l *limiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[client]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[client] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limited applies the API's rate limit to /v1/, /api/v1/ and /epcis/. Logins are
// limited by their failures (users.Limiter), per name and per address.
func (s *Server) limited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var l *limiter
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(r.URL.Path, epcisPrefix):
			l = s.apiLimit
		}
		if l != nil {
			if ok, wait := l.allow(clientOf(r), time.Now()); !ok {
				secs := int(wait/time.Second) + 1
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				if strings.HasPrefix(r.URL.Path, v2Prefix+"/") { // in the dialect's shape
					refuse(w, v2.Refuse(http.StatusTooManyRequests, "Too many requests: slow down (see Retry-After)"))
					return
				}
				if strings.HasPrefix(r.URL.Path, epcisPrefix) {
					writeProblem(w, http.StatusTooManyRequests, problemHTTP, "too many requests: slow down (see Retry-After)")
					return
				}
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests: slow down (see Retry-After)"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// streamCap bounds the live streams open at once (dashboards and station
// screens): each costs a goroutine and a connection (the dashboard's
// fragments are rendered once for all the tabs that follow a page).
type streamCap struct {
	mu  sync.Mutex
	n   int
	max int
}

func (c *streamCap) open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= c.max {
		return false
	}
	c.n++
	return true
}

func (c *streamCap) close() {
	c.mu.Lock()
	c.n--
	c.mu.Unlock()
}
