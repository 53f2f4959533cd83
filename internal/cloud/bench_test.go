package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

// BenchmarkEmulatorCommission measures the requests per second the emulator
// sustains on loopback for commission calls of 1, 100 and 1000 serials,
// through the real client, with as many callers as cores.
func BenchmarkEmulatorCommission(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("serials=%d", n), func(b *testing.B) {
			s := startSim(b, cloudsim.Faults{})
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 64
			c := client(b, s, func(c *cloud.Config) { c.HTTPClient = &http.Client{Transport: tr} })
			var next atomic.Int64
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				serials := make([]string, n)
				for pb.Next() {
					base := next.Add(int64(n)) - int64(n)
					for i := range serials {
						serials[i] = fmt.Sprintf("B%012d", base+int64(i))
					}
					if _, err := c.Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: serials}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "serials/s")
		})
	}
}
