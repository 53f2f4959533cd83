package cloudsync

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/facts"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// TestCloudsimChild runs the emulator in a process of its own for the drain
// benchmark, so that the agent's memory is measured alone. It does nothing
// unless started by BenchmarkDrain1M.
func TestCloudsimChild(t *testing.T) {
	if os.Getenv("EDGEAGENT_CLOUDSIM_CHILD") == "" {
		return
	}
	sim, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("LISTEN", sim.URL())
	select {}
}

// peakRSS is the process's high-water resident set size, in MiB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkDrain1M delivers 1,000,000 queued serial commissions to the
// emulator on loopback: the time it takes and the agent's peak memory.
func BenchmarkDrain1M(b *testing.B) {
	const n = 1000000
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		db, err := store.Open(ctx, store.Config{Path: filepath.Join(b.TempDir(), "data", "q.db"), MaxBatch: 512, MaxDelay: time.Millisecond}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		ob := queue.New(db)
		for start := 0; start < n; start += 5000 {
			err := db.Write(ctx, func(tx *sql.Tx) error {
				items := make([]queue.Item, 0, 5000)
				for i := start; i < min(start+5000, n); i++ {
					items = append(items, facts.CommissionItem(fmt.Sprintf("PO-%d", i%8), facts.SerialFact{ProductCode: gtin, Batch: "AB12", ExpiryDate: "261231", Serial: fmt.Sprintf("D%09d", i)}))
				}
				_, err := ob.EnqueueMany(tx, items)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCloudsimChild$")
		cmd.Env = append(os.Environ(), "EDGEAGENT_CLOUDSIM_CHILD=1")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var url string
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				url = u
				break
			}
		}
		c, err := cloud.New(cloud.Config{BaseURL: url, ChannelKey: "demo-channel", Token: "demo-static-token"})
		if err != nil {
			b.Fatal(err)
		}
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // measure the drain's peak alone
		d := queue.NewDispatcher(db, &Sender{Client: c}, queue.Config{Workers: 4, DefaultBatch: 1000, Poll: 5 * time.Millisecond}, zerolog.Nop())
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		b.StartTimer()
		begin := time.Now()
		go func() { d.Run(runCtx); close(done) }()
		for {
			st, err := queue.ReadStats(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			if st.Parked > 0 {
				b.Fatalf("%d parked", st.Parked)
			}
			if st.Pending == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(begin)
		b.StopTimer()
		stop()
		<-done
		cmd.Process.Kill()
		cmd.Wait()
		db.Close()
		b.ReportMetric(elapsed.Seconds(), "s/1M-serials")
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
		b.StartTimer()
	}
}
