package queue

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/store"
)

// enqueueProducers is how many goroutines enqueue at once in
// BenchmarkEnqueue, as the stations, printers and API of a line report
// their facts side by side.
const enqueueProducers = 32

// enqueueRound bounds the items of one timed round: rounds of the two
// stores alternate, so that both see the same machine.
const enqueueRound = 32 * enqueueProducers

// warmup is the items written into each database before the timer starts.
const warmup = 4 * enqueueProducers

// enqueueBatch is the agent's default group commit (config: store.
// group_commit_max_batch 128, group_commit_max_delay 0): a write waits for
// no one and takes along what queued while the previous commit synced.
var enqueueBatch = store.Config{MaxBatch: 128}

// enqueueRows enqueues items [from, from+n) into db, one fact per durable
// write, spread evenly over enqueueProducers producers, and returns how long
// it took.
func enqueueRows(b *testing.B, db *store.DB, from, n int) time.Duration {
	payload := []byte(`{"product_code":"09506000134352","batch":"AB12","expiry_date":"261231","serial":"SN"}`)
	ob := New(db)
	var wg sync.WaitGroup
	start := time.Now()
	next := from
	for w := 0; w < enqueueProducers; w++ {
		// Producer w takes n/P items, and one more while the remainder
		// lasts: no producer carries more than one item over another.
		k := n / enqueueProducers
		if w < n%enqueueProducers {
			k++
		}
		if k == 0 {
			break
		}
		first := next
		next += k
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := first; i < first+k; i++ {
				err := db.Write(context.Background(), func(tx *sql.Tx) error {
					_, err := ob.Enqueue(tx, Item{Kind: "commission", Stream: fmt.Sprintf("PO-%d", i%4), Key: fmt.Sprint(i), BatchKey: "b", Payload: payload})
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkEnqueue compares durable enqueue with the agent's group commit
// against one row per commit: 32 producers, each writing one fact per
// durable write (as a line reports packs one by one), into two databases on
// the same disk with the same settings but the batch. One op is one item
// written into each. The two alternate in rounds of 1,024 items, the order
// swapped every round, so that both figures and their ratio come from the
// same run window; each reports items/s over its own time.
func BenchmarkEnqueue(b *testing.B) {
	b.Run(fmt.Sprintf("producers=%d", enqueueProducers), func(b *testing.B) {
		dir := b.TempDir()
		group := enqueueBatch
		group.Path = filepath.Join(dir, "group", "q.db")
		one := enqueueBatch
		one.Path, one.MaxBatch = filepath.Join(dir, "one", "q.db"), 1
		gdb, odb := openDB(b, group), openDB(b, one)
		// A few writes into each first, untimed: the files grow their first
		// pages and SQLite prepares its statements.
		enqueueRows(b, gdb, -warmup, warmup)
		enqueueRows(b, odb, -warmup, warmup)
		var gt, ot time.Duration
		b.ResetTimer()
		for done, round := 0, 0; done < b.N; round++ {
			n := min(enqueueRound, b.N-done)
			if round%2 == 0 {
				gt += enqueueRows(b, gdb, done, n)
				ot += enqueueRows(b, odb, done, n)
			} else {
				ot += enqueueRows(b, odb, done, n)
				gt += enqueueRows(b, gdb, done, n)
			}
			done += n
		}
		b.StopTimer()
		// Every write acknowledged is a row in each database.
		for name, db := range map[string]*store.DB{"group commit": gdb, "one row per commit": odb} {
			var rows int
			if err := db.Reader().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&rows); err != nil {
				b.Fatal(err)
			}
			if rows != warmup+b.N {
				b.Fatalf("%s: %d rows for %d writes", name, rows, warmup+b.N)
			}
		}
		g, o := float64(b.N)/gt.Seconds(), float64(b.N)/ot.Seconds()
		b.ReportMetric(g, "group-items/s")
		b.ReportMetric(o, "one-row-items/s")
		b.ReportMetric(g/o, "group/one-row")
		b.ReportMetric(0, "ns/op") // one op is a write into each: its time is neither figure
	})
}
