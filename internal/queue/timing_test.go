package queue

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/store"
)

// The tests here run the dispatcher in a synctest bubble: its waits are
// virtual, so minutes of backoff cost nothing and are asserted exactly.
// The database is real; its work takes no virtual time.

// attempts is a sender that fails each item with a script and notes when
// each attempt came, in virtual time.
type attempts struct {
	mu     sync.Mutex
	at     map[string][]time.Time
	script func(key string, n int) *Failure // n: the attempt, from 1; nil delivers
}

func (a *attempts) Send(_ context.Context, _ string, items []Pending) []Outcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at == nil {
		a.at = map[string][]time.Time{}
	}
	out := make([]Outcome, len(items))
	for i, p := range items {
		a.at[p.Key] = append(a.at[p.Key], time.Now())
		if f := a.script(p.Key, len(a.at[p.Key])); f != nil {
			out[i].Failure = f
		} else {
			out[i].Delivered = true
		}
	}
	return out
}

// gaps returns the waits between a key's attempts.
func (a *attempts) gaps(key string) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(a.at[key]); i++ {
		out = append(out, a.at[key][i].Sub(a.at[key][i-1]))
	}
	return out
}

// drained waits, in virtual time, until nothing is pending.
func drained(t *testing.T, db *store.DB) {
	t.Helper()
	for {
		s, err := ReadStats(context.Background(), db)
		require.NoError(t, err)
		if s.Pending == 0 {
			return
		}
		time.Sleep(time.Second)
	}
}

// The server's Retry-After is honoured to the millisecond, and capped.
func TestRetryAfterHonouredAndCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openDB(t, store.Config{})
		enqueue(t, db, Item{Kind: "commission", Stream: "s1", Key: "A"}, Item{Kind: "commission", Stream: "s2", Key: "B"})
		a := &attempts{script: func(key string, n int) *Failure {
			switch {
			case key == "A" && n == 1:
				return &Failure{Class: Temporary, RetryAfter: 30 * time.Second, Message: "HTTP 429"}
			case key == "B" && n == 1:
				return &Failure{Class: Temporary, RetryAfter: time.Hour, Message: "HTTP 503"}
			}
			return nil
		}}
		_, stop := run(t, db, a, Config{Poll: time.Second, BaseBackoff: 500 * time.Millisecond, MaxBackoff: 5 * time.Minute})
		defer stop()
		drained(t, db)
		assert.Equal(t, []time.Duration{30 * time.Second}, a.gaps("A"), "sent again when the server said")
		assert.Equal(t, []time.Duration{10 * time.Minute}, a.gaps("B"), "an hour's advice is capped at MaxRetryAfter (10m)")
	})
}

// Temporary failures back off exponentially with jitter, up to the cap,
// and never give up.
func TestBackoffCappedWithoutSleeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openDB(t, store.Config{})
		enqueue(t, db, Item{Kind: "commission", Stream: "s", Key: "A"})
		const failures = 10
		a := &attempts{script: func(_ string, n int) *Failure {
			if n <= failures {
				return &Failure{Class: Temporary, Message: "HTTP 503"}
			}
			return nil
		}}
		_, stop := run(t, db, a, Config{Poll: time.Second, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second})
		defer stop()
		drained(t, db)
		gaps := a.gaps("A")
		require.Len(t, gaps, failures, "every failure is retried")
		for n, g := range gaps {
			ceil := min(8*time.Second, time.Second<<n)
			assert.LessOrEqual(t, g, ceil, "attempt %d waits at most %s", n+1, ceil)
		}
		recs, err := List(context.Background(), db, StateDelivered, 0, false)
		require.NoError(t, err)
		assert.Equal(t, failures, recs[0].Attempts)
	})
}

// A refused token pauses the whole sync for AuthPause, other streams too,
// and spends no attempt.
func TestAuthPauseWithoutSleeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openDB(t, store.Config{})
		start := time.Now()
		enqueue(t, db, Item{Kind: "commission", Stream: "u", Key: "token"})
		a := &attempts{script: func(key string, n int) *Failure {
			if key == "token" && n == 1 {
				return &Failure{Class: Auth, Message: "HTTP 401"}
			}
			return nil
		}}
		d, stop := run(t, db, a, Config{Poll: time.Second, AuthPause: 30 * time.Second})
		defer stop()
		time.Sleep(time.Second)
		enqueue(t, db, Item{Kind: "commission", Stream: "v", Key: "other"})
		d.Notify()
		drained(t, db)
		a.mu.Lock()
		defer a.mu.Unlock()
		assert.Equal(t, []time.Duration{0, 30 * time.Second}, []time.Duration{a.at["token"][0].Sub(start), a.at["token"][1].Sub(start)})
		assert.Equal(t, 30*time.Second, a.at["other"][0].Sub(start), "another stream waits out the pause too")
		recs, err := List(context.Background(), db, StateDelivered, 0, false)
		require.NoError(t, err)
		for _, r := range recs {
			assert.Zero(t, r.Attempts, r.Key)
		}
	})
}
