package stations

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/store"
)

// caseSize is how many packs go into a case before CLOSE and NEW.
const caseSize = 24

// benchStations is how many case stations the line has.
const benchStations = 4

// agentStore is the store as the agent opens it where its configuration
// is silent (group commit of up to 128 writes, no wait to fill a batch,
// the checkpointer beside the writer every second), on the database at
// path.
func agentStore(path string, stats *store.Stats) store.Config {
	d := config.Default().Store
	return store.Config{Path: path, MaxBatch: d.GroupCommitMaxBatch, MaxDelay: d.GroupCommitMaxDelay, MaxPageCount: d.MaxPages,
		CheckpointEvery: benchCheckpoint, Stats: stats}
}

// benchLine is a line on the agent's schema and store settings with four
// case stations, each with a case open, and for each station a stream of
// scans as an operator makes them: caseSize printed packs, CLOSE, NEW, and
// again; every stream has n scans.
func benchLine(b *testing.B, n int, stats *store.Stats) (*store.DB, []*Station, [][]Scan) {
	names := make([]StationConfig, benchStations)
	for k := range names {
		names[k] = StationConfig{Name: fmt.Sprintf("s%d", k+1)}
	}
	l, db := openLineWith(b, agentStore(filepath.Join(b.TempDir(), "data", "l.db"), stats), names...)
	ctx := context.Background()
	streams := make([][]Scan, len(names))
	require.NoError(b, db.Write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.Prepare(`INSERT INTO serials (gtin, serial, state, batch, expiry, updated_at) VALUES (?, ?, 'printed', 'AB12', '261231', 0)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		packs := 0
		for k := range streams {
			for len(streams[k]) < n {
				if i := len(streams[k]) % (caseSize + 2); i == caseSize {
					streams[k] = append(streams[k], command(CmdClose), command(CmdNew))
					continue
				}
				sn := fmt.Sprintf("B%011d", packs)
				packs++
				if _, err := ins.Exec(testGTIN, sn); err != nil {
					return err
				}
				m, err := gs1.Parse(fmt.Appendf(nil, "(01)%s(21)%s(10)AB12(17)261231", testGTIN, sn))
				if err != nil {
					return err
				}
				streams[k] = append(streams[k], Scan{Source: "bench", Raw: []byte(m.ElementString()), GS1: m})
			}
			streams[k] = streams[k][:n]
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
	return db, sts, streams
}

// expect is the verdict a stream's scan must get.
func expect(sc Scan) string {
	switch sc.Plain {
	case CmdClose:
		return "closed"
	case CmdNew:
		return "opened"
	}
	return "added"
}

// judge hands a stream's scan to its station and checks the verdict.
func judge(b *testing.B, st *Station, sc Scan) {
	v, err := st.Handle(context.Background(), sc)
	if err != nil || v.Code != expect(sc) {
		b.Errorf("%s %s: %v %s %s", st.Name(), sc.Raw, err, v.Code, v.Message)
	}
}

// percentile is the p-quantile of ds (sorted here), nearest rank, in µs.
func percentile(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	i := int(float64(len(ds))*p+0.999999) - 1
	return float64(ds[max(i, 0)].Nanoseconds()) / 1e3
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkStationVerdicts measures the stations of a line on the agent's
// schema and store settings (store.Open, group commit, the checkpointer).
//
// paced-100-per-s: 4 case stations get 100 scans a second in all (a case
// closed every 24 packs: CLOSE and NEW are scans on the schedule too),
// while an anchor committer beside them makes 100 one-row durable commits
// a second through the same store, in between the scans. Every latency is
// taken from the scan's (the commit's) scheduled time, so a backlog counts;
// 6,000 verdicts and 6,000 commits a run, three runs, each figure the
// median of the runs'. With -short: one run of 600 of each, to see it
// work.
//
// max-4-stations: the 4 stations each as fast as they are answered, the
// verdicts a second they sustain (and the packs among them), with how many
// verdicts a commit carried and how long a COMMIT took, which bound it.
//
// sql-per-pack: one station, one pack scan at a time; the time its
// transaction takes from BEGIN to the start of COMMIT (the SQL of the scan
// and the code between the statements), the COMMIT's, and the statements,
// per pack scan.
func BenchmarkStationVerdicts(b *testing.B) {
	b.Run("paced-100-per-s", func(b *testing.B) {
		const rate = 100 // scans a second in all, and anchor commits a second
		samples, runs := 6000, 3
		if testing.Short() {
			samples, runs = 600, 1
		}
		var p50, p99, cp50, cp99, ratio []float64
		least := samples
		for iter := 0; iter < b.N; iter++ {
			for run := 0; run < runs; run++ {
				lat, anchor := pacedRun(b, samples, rate)
				least = min(least, len(lat), len(anchor))
				p50, p99 = append(p50, percentile(lat, 0.50)), append(p99, percentile(lat, 0.99))
				cp50, cp99 = append(cp50, percentile(anchor, 0.50)), append(cp99, percentile(anchor, 0.99))
				ratio = append(ratio, p99[len(p99)-1]/cp99[len(cp99)-1])
			}
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(median(p50), "p50-µs")
		b.ReportMetric(median(p99), "p99-µs")
		b.ReportMetric(median(cp50), "commit-p50-µs")
		b.ReportMetric(median(cp99), "commit-p99-µs")
		b.ReportMetric(median(ratio), "p99-ratio")
		b.ReportMetric(float64(least), "samples/run") // the fewest verdicts or commits a run timed
		b.ReportMetric(float64(len(p99)), "runs")
	})
	b.Run("max-4-stations", func(b *testing.B) {
		per := b.N/benchStations + 1
		var stats store.Stats
		db, sts, streams := benchLine(b, per, &stats)
		defer db.Close()
		b.ResetTimer()
		before := stats.Snapshot()
		start := time.Now()
		var wg sync.WaitGroup
		for k, st := range sts {
			wg.Go(func() {
				for _, sc := range streams[k] {
					judge(b, st, sc)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start).Seconds()
		b.StopTimer()
		ran := stats.Snapshot().Sub(before)
		verdicts, packs := 0, 0
		for _, stream := range streams {
			verdicts += len(stream)
			for _, sc := range stream {
				if sc.GS1 != nil {
					packs++
				}
			}
		}
		b.ReportMetric(float64(verdicts)/elapsed, "verdicts/s")
		b.ReportMetric(float64(packs)/elapsed, "packs/s")
		b.ReportMetric(float64(verdicts)/float64(ran.Transactions), "verdicts/commit")
		b.ReportMetric(float64(ran.Commit.Nanoseconds())/1e3/float64(ran.Transactions), "commit-µs")
	})
	b.Run("sql-per-pack", func(b *testing.B) {
		var stats store.Stats
		db, sts, streams := benchLine(b, b.N+b.N/caseSize*2+2, &stats)
		defer db.Close()
		st := sts[0]
		var packs store.StatsSnapshot
		n := 0
		b.ResetTimer()
		for _, sc := range streams[0] {
			if n == b.N {
				break
			}
			if sc.GS1 == nil {
				judge(b, st, sc) // CLOSE and NEW: not pack scans
				continue
			}
			before := stats.Snapshot()
			judge(b, st, sc)
			d := stats.Snapshot().Sub(before)
			packs.Statements, packs.Transactions = packs.Statements+d.Statements, packs.Transactions+d.Transactions
			packs.Work, packs.Commit = packs.Work+d.Work, packs.Commit+d.Commit
			n++
		}
		b.StopTimer()
		if packs.Transactions != int64(n) {
			b.Fatalf("%d pack scans in %d transactions", n, packs.Transactions)
		}
		b.ReportMetric(float64(packs.Work.Nanoseconds())/1e3/float64(n), "sql-µs/pack")
		b.ReportMetric(float64(packs.Commit.Nanoseconds())/1e3/float64(n), "commit-µs/pack")
		b.ReportMetric(float64(packs.Statements)/float64(n), "statements/pack")
	})
}

// pacedRun runs the stations of a new line on a schedule of rate scans a
// second in all (each station in turn), and an anchor committer beside
// them on its own schedule of rate one-row commits a second, half a period
// after each scan, through the same store: n of each (rounded up to whole
// streams). It returns the
// latencies from the scheduled times to the verdicts and to the commits.
func pacedRun(b *testing.B, n, rate int) (verdicts, anchors []time.Duration) {
	db, sts, streams := benchLine(b, (n+benchStations-1)/benchStations, nil)
	defer db.Close()
	ctx := context.Background()
	period := time.Second / time.Duration(rate)
	t0 := time.Now().Add(100 * time.Millisecond)
	lat := make([][]time.Duration, len(sts))
	anchors = make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	for k, st := range sts {
		wg.Go(func() {
			for i, sc := range streams[k] {
				at := t0.Add(time.Duration(i*len(sts)+k) * period)
				time.Sleep(time.Until(at))
				sc.At = at
				judge(b, st, sc)
				lat[k] = append(lat[k], time.Since(at))
			}
		})
	}
	wg.Go(func() {
		for j := range n {
			at := t0.Add(time.Duration(j)*period + period/2)
			time.Sleep(time.Until(at))
			err := db.Write(ctx, func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO scans (station, source, at, raw, ok, code, message) VALUES ('anchor', 'bench', ?, '', 1, 'anchor', '')`,
					at.UnixMilli())
				return err
			})
			if err != nil {
				b.Error(err)
			}
			anchors = append(anchors, time.Since(at))
		}
	})
	wg.Wait()
	for _, l := range lat {
		verdicts = append(verdicts, l...)
	}
	return verdicts, anchors
}

func init() {
	if d, err := time.ParseDuration(os.Getenv("EDGEAGENT_BENCH_CHECKPOINT")); err == nil {
		benchCheckpoint = d
	}
}
