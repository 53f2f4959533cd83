package cloudsync

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/facts"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// TestThreeDaysOffline queues three days of a 400 packs/min line (1,728,000
// commissions, one packaging order per eight-hour shift) while the cloud
// cannot be reached, then lets it come back and checks that everything is
// delivered, once.
func TestThreeDaysOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("three days of a line: skipped with -short; run it with -run '^TestThreeDaysOffline$'")
	}
	packs := 3 * 24 * 60 * 400
	if raceEnabled {
		packs /= 50 // make test runs the full volume without the race detector
	}
	const shifts = 9
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "data", "q.db"), MaxBatch: 512, MaxDelay: 2 * time.Millisecond}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()

	// The cloud runs throughout; the network to it is down until the line
	// has queued everything: every connection is refused, as by a host
	// with nothing listening.
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop()})
	require.NoError(t, err)
	defer sim.Close()
	var online atomic.Bool
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !online.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return dial(ctx, network, addr)
	}
	c, err := cloud.New(cloud.Config{BaseURL: sim.URL(), ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 5 * time.Second,
		HTTPClient: &http.Client{Transport: tr}})
	require.NoError(t, err)
	d := queue.NewDispatcher(db, &Sender{Client: c}, queue.Config{Workers: 4, DefaultBatch: 1000, BaseBackoff: 10 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond}, zerolog.Nop())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	// The line produces: eight producers, each enqueuing its packs in
	// transactions of 100, as the line commits them.
	begin := time.Now()
	ob := queue.New(db)
	var wg sync.WaitGroup
	const producers = 8
	for w := 0; w < producers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for start := w * 100; start < packs; start += producers * 100 {
				err := db.Write(ctx, func(tx *sql.Tx) error {
					var items []queue.Item
					for i := start; i < min(start+100, packs); i++ {
						shift := i * shifts / packs
						f := facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: fmt.Sprintf("OFF%09d", i)}
						items = append(items, facts.CommissionItem(fmt.Sprintf("PO-shift-%d", shift), f))
					}
					_, err := ob.EnqueueMany(tx, items)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	queued := time.Since(begin)
	st, err := queue.ReadStats(ctx, db)
	require.NoError(t, err)
	require.Equal(t, packs, st.Pending, "nothing delivered while the cloud is down, nothing lost")
	require.Zero(t, st.Parked)

	require.Zero(t, sim.Snapshot().Requests["commission"], "no request got through")

	// The cloud comes back.
	online.Store(true)
	begin = time.Now()
	require.Eventually(t, func() bool {
		st, err := queue.ReadStats(ctx, db)
		return err == nil && st.Pending == 0
	}, 10*time.Minute, 100*time.Millisecond)
	drained := time.Since(begin)
	st, _ = queue.ReadStats(ctx, db)
	require.Zero(t, st.Parked)
	require.Equal(t, packs, sim.Snapshot().Commissioned, "each pack commissioned once")
	t.Logf("%d packs queued offline in %s (%.0f/s); drained in %s (%.0f/s)", packs, queued.Round(time.Millisecond),
		float64(packs)/queued.Seconds(), drained.Round(time.Millisecond), float64(packs)/drained.Seconds())
}
