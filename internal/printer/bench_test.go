package printer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// BenchmarkRunnerOverhead10k is the printer runner's own overhead per
// label, without a ledger: a 10,000-label pack job rendered and printed on
// the emulator at unlimited speed over TCP (render, health check, send,
// confirm through the odometer), recorded in the in-memory Queue, which
// commits nothing. It is not what a label costs the agent: that is
// BenchmarkJob10k in internal/agent, with the real ledger on SQLite. The
// emulator must get each serial once.
func BenchmarkRunnerOverhead10k(b *testing.B) {
	const n = 10000
	pack, _ := zpl.Builtin().Get("pack")
	for b.Loop() {
		b.StopTimer()
		sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0", Buffer: 64}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		q := printer.NewQueue()
		p, err := printer.New(printer.Config{URL: sim.URL()}, q, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		b.StartTimer()
		start := time.Now()
		lbls := make([]label.Label, n)
		var buf []byte
		for i := range lbls {
			sn := fmt.Sprintf("SN%08d", i)
			buf, err = pack.Render(buf[:0], zpl.Data{"gtin": "09506000134352", "expiry": "261231", "batch": "B1", "serial": sn})
			if err != nil {
				b.Fatal(err)
			}
			lbls[i] = label.Label{Ref: label.Ref{Kind: label.Pack, ID: int64(i + 1)}, Subject: sn, Data: append([]byte(nil), buf...)}
			if err := q.Add(lbls[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := q.Wait(context.Background(), refs(lbls)...); err != nil {
			b.Fatal(err)
		}
		if s := p.Snapshot(); s.Printed != n || s.Unknown != 0 {
			b.Fatalf("%+v", s)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		got := sim.Printed()
		if len(got) != n {
			b.Fatalf("emulator printed %d labels, want %d", len(got), n)
		}
		for i, l := range got {
			if string(l.ZPL) != string(lbls[i].Data) {
				b.Fatalf("label %d: emulator got %q", i, l.ZPL)
			}
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/label")
		b.ReportMetric(n/elapsed.Seconds(), "labels/s")
		cancel()
		<-done
		sim.Close()
		b.StartTimer()
	}
}
