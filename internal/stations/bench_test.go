package stations

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/store"
)

const caseSize = 24

// benchLine is a line with n printed packs and four case stations, each
// with an open case.
func benchLine(b *testing.B, n int) (*testLine, *store.DB, []*Station, [][]Scan) {
	dir := b.TempDir()
	names := []StationConfig{{Name: "s1"}, {Name: "s2"}, {Name: "s3"}, {Name: "s4"}}
	l, db := openLine(b, filepath.Join(dir, "data", "l.db"), names...)
	ctx := context.Background()
	scans := make([][]Scan, len(names))
	require.NoError(b, db.Write(ctx, func(tx *sql.Tx) error {
		for i := 0; i < n; i++ {
			sn := fmt.Sprintf("B%011d", i)
			if _, err := tx.Exec(`INSERT INTO serials (gtin, serial, state, batch, expiry, updated_at) VALUES (?, ?, 'printed', 'AB12', '261231', 0)`, testGTIN, sn); err != nil {
				return err
			}
			m, err := gs1.Parse([]byte(fmt.Sprintf("(01)%s(21)%s(10)AB12(17)261231", testGTIN, sn)))
			if err != nil {
				return err
			}
			k := i % len(names)
			scans[k] = append(scans[k], Scan{Source: "bench", Raw: []byte(m.ElementString()), GS1: m})
		}
		return nil
	}))
	var sts []*Station
	for _, c := range names {
		st, _ := l.Station(c.Name)
		v, err := st.Handle(ctx, command(CmdNew))
		require.NoError(b, err)
		require.Equal(b, "opened", v.Code)
		sts = append(sts, st)
	}
	return l, db, sts, scans
}

// feed handles one pack scan, closing and opening a case every caseSize
// packs as an operator would; it returns the latency of the pack's verdict
// (scan delivered to verdict committed).
func feed(b *testing.B, st *Station, sc Scan, i int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	v, err := st.Handle(ctx, sc)
	d := time.Since(start)
	if err != nil || v.Code != "added" {
		b.Errorf("scan %d: %v %s %s", i, err, v.Code, v.Message)
	}
	if (i+1)%caseSize == 0 {
		for _, c := range []string{CmdClose, CmdNew} {
			if v, err := st.Handle(ctx, command(c)); err != nil || !v.OK {
				b.Errorf("%s: %v %s", c, err, v.Message)
			}
		}
	}
	return d
}

func percentile(ds []time.Duration, p float64) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[int(float64(len(ds)-1)*p)].Microseconds())
}

// BenchmarkStationVerdicts measures scan-to-verdict latency at a sustained
// 100 scans/s spread over 4 stations, beside the latency of a one-row
// SQLite commit on the same disk, and the most scans per second 4 stations
// get durable verdicts for.
func BenchmarkStationVerdicts(b *testing.B) {
	const rate, seconds = 100, 6
	b.Run("paced-100-per-s", func(b *testing.B) {
		for iter := 0; iter < b.N; iter++ {
			_, db, sts, scans := benchLine(b, rate*seconds)
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := rate / len(sts)
			for k, st := range sts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Stations take turns: one scan every 1/rate seconds in all.
					time.Sleep(time.Duration(k) * time.Second / time.Duration(rate))
					tick := time.NewTicker(time.Second / time.Duration(per))
					defer tick.Stop()
					for i, sc := range scans[k] {
						<-tick.C
						d := feed(b, st, sc, i)
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			db.Close()
			raw := rawCommits(b, rate*seconds, rate)
			p99, rawP99 := percentile(lat, 0.99), percentile(raw, 0.99)
			b.ReportMetric(percentile(lat, 0.50), "p50-µs")
			b.ReportMetric(p99, "p99-µs")
			b.ReportMetric(percentile(raw, 0.50), "commit-p50-µs")
			b.ReportMetric(rawP99, "commit-p99-µs")
			b.ReportMetric(p99/rawP99, "p99-ratio")
		}
	})
	b.Run("max-4-stations", func(b *testing.B) {
		_, db, sts, scans := benchLine(b, b.N+4)
		defer db.Close()
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for k, st := range sts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < b.N/len(sts)+1 && i < len(scans[k]); i++ {
					feed(b, st, scans[k][i], i)
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "scans/s")
	})
}

// rawCommits times n one-row commits at the given rate on a fresh database
// with the agent's durable settings.
func rawCommits(b *testing.B, n, rate int) []time.Duration {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite3", store.WriterDSN(path))
	require.NoError(b, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	require.NoError(b, err)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		<-tick.C
		start := time.Now()
		tx, err := db.Begin()
		require.NoError(b, err)
		_, err = tx.Exec(`INSERT INTO t (v) VALUES (?)`, "verdict")
		require.NoError(b, err)
		require.NoError(b, tx.Commit())
		out = append(out, time.Since(start))
	}
	return out
}

func init() {
	if d, err := time.ParseDuration(os.Getenv("EDGEAGENT_BENCH_CHECKPOINT")); err == nil {
		benchCheckpoint = d
	}
}
