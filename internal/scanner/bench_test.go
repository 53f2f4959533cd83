package scanner

import (
	"context"
	"net"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkFrameDecode is framing plus GS1 decoding of a pack read: scans/s
// on one core.
func BenchmarkFrameDecode(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one core, as its row in the table says
	fr := NewFramer(Framing{Suffix: "\r"})
	in := []byte(packRead + "\r")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range fr.Write(in, now) {
			if d := Decode(NewScan(r, "bench", now, false)); d.Err != nil {
				b.Fatal(d.Err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
}

// BenchmarkScanLatency measures, over a loopback TCP reader, the time from
// the last byte of a read leaving the reader to its Scan being delivered.
func BenchmarkScanLatency(b *testing.B) {
	src, err := Open("tcp-listen://127.0.0.1:0", Options{Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Scan, 1)
	go src.Run(ctx, out)
	addr, _ := src.(*listenSource).Addr(ctx)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := []byte(packRead + "\r")
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		s := <-out
		if d := Decode(s); d.Err != nil {
			b.Fatal(d.Err)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
