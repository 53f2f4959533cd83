// Package clock is the agent's one way to wait: a sleep that ends with its
// context, and capped, jittered backoff. Code that waits takes its time
// from here (or from time directly), so tests run it inside a
// testing/synctest bubble, where time is virtual and waits cost nothing.
package clock

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first; it returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is capped exponential backoff with jitter: each wait is drawn
// from the upper half of the current step, and the step doubles up to Max.
// The zero value waits nothing; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	step     time.Duration
}

// Next returns the next wait and doubles the step.
func (b *Backoff) Next() time.Duration {
	if b.step == 0 {
		b.step = b.Min
	} else {
		b.step = min(b.step*2, b.Max)
	}
	if b.step <= 0 {
		return 0
	}
	return b.step/2 + rand.N(b.step/2+1)
}

// Wait sleeps for the next wait (see Sleep).
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Reset starts again from Min.
func (b *Backoff) Reset() { b.step = 0 }
