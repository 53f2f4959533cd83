package agent

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/store"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// jobLabels is the size of the benchmarked job.
const jobLabels = 10000

// anchorCommits is how many one-row commits the anchor times, after the
// job, on the same store.
const anchorCommits = 2000

// BenchmarkJob10k is what a label costs the agent: a label order of
// 10,000 pack labels, queued in the ledger as a release queues them, is
// printed by the agent's own printer runners on printer emulators over TCP,
// with every state move committed to a real SQLite file on the agent's
// store settings (WAL, synchronous=FULL, the checkpointer, the default
// group commit). The clock runs from the runners' start until the ledger
// has committed the last label printed. As its anchor, the same store then
// times one-row durable commits one after the other, so that commits/label
// says how many commits' worth of time one label took.
//
// printers-1 is one printer doing the whole job; printers-4 splits it over
// four printers at once, where moves of different printers may share a
// commit.
func BenchmarkJob10k(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("printers-%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				benchJob(b, n)
				b.StartTimer()
			}
		})
	}
}

func benchJob(b *testing.B, printers int) {
	ctx := context.Background()
	def := config.Default().Store
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(b.TempDir(), "data", "edgeagent.db"),
		MaxBatch: def.GroupCommitMaxBatch, MaxDelay: def.GroupCommitMaxDelay}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := Config{LineName: "bench", Templates: zpl.Builtin(),
		Products: []Product{{GTIN: gtin, Market: "EU", Batches: map[string]string{"AB12": "261231"}}},
		Serials:  ledger.SerialConfig{Generate: true, Length: 12}}
	var sims []*printersim.Sim
	for i := range printers {
		sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Buffer: 64}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		defer sim.Close()
		sims = append(sims, sim)
		cfg.Printers = append(cfg.Printers, PrinterConfig{Tag: fmt.Sprintf("p%d", i+1), URL: sim.URL()})
	}
	line, err := NewLine(ctx, db, cfg, func() {}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := RegisterProducts(ctx, line, cfg.Products); err != nil {
		b.Fatal(err)
	}
	for i, pc := range cfg.Printers {
		qty := jobLabels / printers
		lo := v2.LabelOrder{OrderID: fmt.Sprintf("LO-%d", i+1), ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12",
			Quantity: &qty, DestinationTag: pc.Tag, TemplateTag: "pack", Execute: true}
		if err := line.Orders.CreateLabelOrder(ctx, "bench", lo); err != nil {
			b.Fatal(err)
		}
	}
	if err := line.Orders.Continue(ctx); err != nil {
		b.Fatal(err)
	}
	if c, err := line.Ledger.LabelCounts(ctx); err != nil || c[ledger.LabelQueued] != jobLabels {
		b.Fatalf("queued: %v %v", c, err)
	}
	var runners []*printer.Printer
	odo := line.Ledger.TrackOdometers()
	for _, pc := range cfg.Printers {
		p, err := newPrinter(pc, cfg, line.Ledger, odo, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		runners = append(runners, p)
	}

	b.StartTimer()
	start := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, printers)
	for _, p := range runners {
		go func() { p.Run(runCtx); done <- struct{}{} }()
	}
	// The order completes in the transaction that records its last label
	// printed: the ledger's word, not the runners'. A poll is one indexed
	// row read every 2 ms.
	for {
		var open int
		if err := db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM label_orders WHERE status != 'completed'`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatal("the job did not finish")
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	for range runners {
		<-done
	}
	commit := anchor(b, db)

	c, err := line.Ledger.LabelCounts(ctx)
	if err != nil || c[ledger.LabelPrinted] != jobLabels || c[ledger.LabelUnknown] != 0 {
		b.Fatalf("ledger: %v %v", c, err)
	}
	seen := map[string]bool{}
	for i, sim := range sims {
		got := sim.Printed()
		if len(got) != jobLabels/printers {
			b.Fatalf("printer %d printed %d labels, want %d", i+1, len(got), jobLabels/printers)
		}
		for _, l := range got {
			if seen[string(l.ZPL)] {
				b.Fatalf("a label printed twice: %q", l.ZPL)
			}
			seen[string(l.ZPL)] = true
		}
	}
	perLabel := elapsed / jobLabels
	b.ReportMetric(float64(perLabel.Nanoseconds())/1e3, "µs/label")
	b.ReportMetric(jobLabels/elapsed.Seconds(), "labels/s")
	b.ReportMetric(float64(commit.Nanoseconds())/1e3, "commit-µs")
	b.ReportMetric(float64(perLabel)/float64(commit), "commits/label")
}

// anchor is the mean time of one durable one-row commit on db, each
// waited for before the next.
func anchor(b *testing.B, db *store.DB) time.Duration {
	ctx := context.Background()
	start := time.Now()
	for i := range anchorCommits {
		if err := db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('bench-anchor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, i)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / anchorCommits
}
