package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

// BenchmarkAgentStart runs the real binary on a line with two printers and
// two stations (one with a scanner listening): time from exec to /readyz
// answering 200, which waits for both printers checked and the scanner
// listening, and resident memory after two idle seconds.
func BenchmarkAgentStart(b *testing.B) {
	dir := b.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	bin := filepath.Join(dir, "edgeagent")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(b, build.Run())
	var urls []string
	for i := 0; i < 2; i++ {
		sim, err := printersim.Start(printersim.Config{Listen: "127.0.0.1:0"}, zerolog.Nop())
		require.NoError(b, err)
		defer sim.Close()
		urls = append(urls, sim.URL())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	ln.Close()
	cfgPath := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(b, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`line:
  name: bench
  printers: [{tag: p1, url: "%s"}, {tag: p2, url: "%s"}]
  products: [{gtin: "09506000134352", market: EU, batches: [{batch: AB12, expiry: "261231"}], case_capacity: 12}]
  serials: {generate: true}
  sscc: {company_prefix: "9506000"}
  stations: [{name: case-1, printer: p2, scanners: ["tcp-listen://127.0.0.1:0"]}, {name: samples, mode: decommission, reason: sample}]
data_dir: %s
log: {level: warn, format: json}
http: {listen: "%s", token: a-long-enough-token}
`, urls[0], urls[1], filepath.Join(dir, "data"), addr)), 0o600))

	// Each start is one sample: 15 of them per run, the median and the
	// slowest reported, and the resident memory of the last after two idle
	// seconds.
	const starts = 15
	var readies []time.Duration
	var rss float64
	for i := 0; i < b.N; i++ {
		for j := 0; j < starts; j++ {
			start := time.Now()
			cmd := exec.Command(bin, "run", "--config", cfgPath)
			require.NoError(b, cmd.Start())
			for {
				resp, err := http.Get("http://" + addr + "/readyz")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				require.Less(b, time.Since(start), 10*time.Second, "not ready")
				time.Sleep(time.Millisecond)
			}
			readies = append(readies, time.Since(start))
			if j == starts-1 {
				time.Sleep(2 * time.Second)
				status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
				require.NoError(b, err)
				for _, l := range strings.Split(string(status), "\n") {
					if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
						kb, _ := strconv.ParseFloat(f[1], 64)
						rss = kb / 1024
					}
				}
			}
			require.NoError(b, cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(b, cmd.Wait())
		}
	}
	slices.Sort(readies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(readies[len(readies)/2]), "ms-to-ready")
	b.ReportMetric(ms(readies[len(readies)-1]), "max-ms-to-ready")
	b.ReportMetric(float64(len(readies)), "starts")
	b.ReportMetric(rss, "idle-RSS-MiB")
}
