package cloudsync

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/facts"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

const gtin = "09506000134352"

// workload is the deterministic list of facts a line produces: per stream
// (a packaging order), cases of six packs commissioned then aggregated,
// every third case a sample taken and decommissioned, and a pallet of the
// cases at the end.
func workload(streams, cases int) []queue.Item {
	var items []queue.Item
	ref := uint64(1)
	for s := 0; s < streams; s++ {
		stream := fmt.Sprintf("PO-%d", s)
		var palletChildren []string
		for c := 0; c < cases; c++ {
			var children []cloud.TradeItem
			for p := 0; p < 6; p++ {
				sn := fmt.Sprintf("S%dC%03dP%d", s, c, p)
				items = append(items, facts.CommissionItem(stream, facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: sn}))
				children = append(children, cloud.TradeItem{ProductCode: gtin, ProductCodeSchema: "GTIN", SerialNumber: sn, Batch: "AB12", ExpiryDate: "261231"})
			}
			sscc, _ := gs1.SSCC(0, "9506000", ref)
			ref++
			items = append(items, facts.AggregateItem(stream, cloud.Aggregation{Parent: sscc, ChildTradeItems: children}))
			palletChildren = append(palletChildren, sscc)
			if c%3 == 0 {
				sn := fmt.Sprintf("S%dC%03dX", s, c)
				f := facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: sn}
				items = append(items, facts.CommissionItem(stream, f))
				f.Reason, f.MarketID = "sample", "EU"
				items = append(items, facts.DecommissionItem(stream, f))
			}
		}
		pallet, _ := gs1.SSCC(1, "9506000", ref)
		ref++
		items = append(items, facts.AggregateItem(stream, cloud.Aggregation{Parent: pallet, ChildContainers: palletChildren}))
	}
	return items
}

const (
	crashStreams = 4
	crashCases   = 100
)

// TestCrashChild is the agent in the crash test: it produces the workload
// (noting each fact once committed) and dispatches it. It does nothing
// unless started by TestCrashRecovery.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("EDGEAGENT_CRASH_CHILD")
	if dir == "" {
		return
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "q.db"), MaxBatch: 64, MaxDelay: time.Millisecond}, zerolog.Nop())
	require.NoError(t, err)
	c, err := cloud.New(cloud.Config{BaseURL: os.Getenv("EDGEAGENT_CRASH_CLOUD"), ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 2 * time.Second})
	require.NoError(t, err)
	d := queue.NewDispatcher(db, &Sender{Client: c}, queue.Config{Workers: 4, DefaultBatch: 20, BaseBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond, Poll: 5 * time.Millisecond}, zerolog.Nop())
	go d.Run(ctx)

	ackPath := filepath.Join(dir, "acked")
	acked := map[string]bool{}
	if f, err := os.Open(ackPath); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			acked[sc.Text()] = true
		}
		f.Close()
	}
	ack, err := os.OpenFile(ackPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	ob := queue.New(db)
	for _, it := range workload(crashStreams, crashCases) {
		id := it.Kind + " " + it.Key
		if acked[id] {
			continue
		}
		_, err := ob.EnqueueNow(ctx, it)
		require.NoError(t, err)
		d.Notify()
		// Acknowledged only after COMMIT returned.
		_, err = ack.WriteString(id + "\n")
		require.NoError(t, err)
		require.NoError(t, ack.Sync())
	}
	last, since := -1, time.Now()
	for {
		s, err := queue.ReadStats(ctx, db)
		require.NoError(t, err)
		if s.Parked > 0 {
			recs, _ := queue.List(ctx, db, queue.StateParked, 5, false)
			t.Fatalf("parked items: %+v", recs)
		}
		if s.Pending == 0 {
			fmt.Println("DRAINED")
			return
		}
		if s.Pending != last {
			last, since = s.Pending, time.Now()
		} else if time.Since(since) > 20*time.Second {
			t.Fatalf("%d items stuck pending for 20 s:\n%s", s.Pending, stuck(t, db))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCrashRecovery SIGKILLs the agent at random points while it enqueues
// and delivers against an emulator that fails 30% of requests (5xx, 429,
// resets after applying), restarts it each time, and checks that every
// acknowledged fact reached the cloud exactly once in effect and in causal
// order.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	f, err := cloudsim.ParseFaults("error=*:0.1,throttle=*:0.1,reset=*:0.1,retry-after=0s")
	require.NoError(t, err)
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudsim.DefaultSeed(), Faults: f, Log: zerolog.Nop()})
	require.NoError(t, err)
	defer sim.Close()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "EDGEAGENT_CRASH_CHILD="+dir, "EDGEAGENT_CRASH_CLOUD="+sim.URL())
		return cmd
	}
	kills, midway := 0, 0
	total := len(workload(crashStreams, crashCases))
	for kills < 50 {
		cmd := start()
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(20+rand.IntN(150)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		kills++
		data, _ := os.ReadFile(filepath.Join(dir, "acked"))
		if n := strings.Count(string(data), "\n"); n > 0 && n < total {
			midway++ // killed while producing
		}
	}
	t.Logf("%d of %d kills hit the agent while it was still producing", midway, kills)
	require.GreaterOrEqual(t, midway, 40, "the kills must land in the middle of the work")
	cmd := start()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "DRAINED")

	// Every acknowledged fact is in the emulator's state.
	data, err := os.ReadFile(filepath.Join(dir, "acked"))
	require.NoError(t, err)
	acked := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		acked[l] = true
	}
	items := workload(crashStreams, crashCases)
	require.Len(t, acked, len(items), "the last run acknowledged the whole workload")
	decommissioned := map[string]bool{}
	for _, it := range items {
		if it.Kind == facts.KindDecommission {
			decommissioned[strings.TrimPrefix(it.Key, gtin+"/")] = true
		}
	}
	index := map[string]int{} // serial or SSCC → position in the workload
	for i, it := range items {
		k := it.Key
		if strings.HasPrefix(k, gtin+"/") {
			k = strings.TrimPrefix(k, gtin+"/")
		}
		if _, seen := index[k]; !seen || it.Kind == facts.KindDecommission {
			index[it.Kind+" "+k] = i
		}
	}
	for _, it := range items {
		switch it.Kind {
		case facts.KindCommission:
			sn := strings.TrimPrefix(it.Key, gtin+"/")
			st, _ := sim.SerialStatus(gtin, sn)
			want := "Commissioned"
			if decommissioned[sn] {
				want = "Decommissioned"
			}
			require.Equal(t, want, st, sn)
		}
	}
	state := sim.Snapshot()
	require.Equal(t, crashStreams*(crashCases+1), state.Containers)
	require.Equal(t, crashStreams*crashCases*6, state.Aggregated)

	// Exactly once in effect: each fact was applied by one successful request;
	// causal order: within a stream, applied requests follow the workload.
	applied := map[string]int{}
	last := map[string]int{}
	for _, r := range sim.Received() {
		if r.Status != 200 || (r.Endpoint != "commission" && r.Endpoint != "decommission" && r.Endpoint != "aggregate") {
			continue
		}
		for _, k := range factsIn(r) {
			applied[k]++
			pos, ok := index[k]
			require.True(t, ok, k)
			stream := items[pos].Stream
			require.GreaterOrEqual(t, pos, last[stream], "causal order in %s: %s", stream, k)
			last[stream] = pos
		}
	}
	for k, n := range applied {
		require.Equal(t, 1, n, "%s applied once", k)
	}
	require.Len(t, applied, len(items))
	t.Logf("%d kills; %d facts; emulator saw %v", kills, len(items), state.Requests)
}

// factsIn lists the facts a request applied, as "kind key".
func factsIn(r cloudsim.Request) []string {
	var out []string
	switch r.Endpoint {
	case "commission", "decommission":
		var body struct{ Serials []string }
		_ = jsonUnmarshal(r.Body, &body)
		for _, s := range body.Serials {
			out = append(out, r.Endpoint+" "+s)
		}
	case "aggregate":
		var a cloud.Aggregation
		_ = jsonUnmarshal(r.Body, &a)
		out = append(out, "aggregate "+a.Parent)
	}
	return out
}

// stuck describes the first pending items, with what each waits for.
func stuck(t *testing.T, db *store.DB) string {
	rows, err := db.Reader().Query(`SELECT o.id, o.kind, o.stream, o.key, o.attempts, o.next_at, o.last_error,
			IFNULL((SELECT group_concat(p.id || ' ' || p.kind || ' ' || p.key || ' ' || p.state, '; ')
				FROM outbox_deps d JOIN outbox p ON p.id = d.depends_on WHERE d.item = o.id), '')
		FROM outbox o WHERE o.state = 'pending' ORDER BY o.id LIMIT 10`)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, attempts, next int64
		var kind, stream, key, lastErr, deps string
		require.NoError(t, rows.Scan(&id, &kind, &stream, &key, &attempts, &next, &lastErr, &deps))
		fmt.Fprintf(&b, "#%d %s %s %s attempts=%d next_at=%d last_error=%q waits for [%s]\n", id, kind, stream, key, attempts, next, lastErr, deps)
	}
	return b.String()
}
