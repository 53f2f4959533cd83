package clock

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSleepEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		go func() { time.Sleep(time.Second); cancel() }()
		err := Sleep(ctx, time.Hour)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, time.Second, time.Since(start))
		require.NoError(t, Sleep(context.Background(), time.Minute))
		require.Equal(t, time.Second+time.Minute, time.Since(start))
	})
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	steps := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for _, s := range steps {
		d := b.Next()
		step := s * time.Millisecond
		require.GreaterOrEqual(t, d, step/2)
		require.LessOrEqual(t, d, step)
	}
	b.Reset()
	require.LessOrEqual(t, b.Next(), 100*time.Millisecond)
	var zero Backoff
	require.Zero(t, zero.Next())
}
