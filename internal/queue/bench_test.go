package queue

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/store"
)

// benchEnqueue enqueues b.N single-item facts from 32 producers, each fact
// in its own durable write, as a line reports packs one by one.
func benchEnqueue(b *testing.B, cfg store.Config) {
	cfg.Path = filepath.Join(b.TempDir(), "data", "q.db")
	db := openDB(b, cfg)
	var next atomic.Int64
	payload := []byte(`{"product_code":"09506000134352","batch":"AB12","expiry_date":"261231","serial":"SN"}`)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const producers = 256
	per := b.N / producers
	for w := 0; w < producers; w++ {
		n := per
		if w == 0 {
			n += b.N % producers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				k := next.Add(1)
				err := db.Write(context.Background(), func(tx *sql.Tx) error {
					_, err := New(db).Enqueue(tx, Item{Kind: "commission", Stream: fmt.Sprintf("PO-%d", k%4), Key: fmt.Sprint(k), BatchKey: "b", Payload: payload})
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
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkEnqueue compares durable enqueue with group commit against one
// row per commit, on the same disk, with 32 concurrent producers.
func BenchmarkEnqueue(b *testing.B) {
	b.Run("group-commit", func(b *testing.B) { benchEnqueue(b, store.Config{MaxBatch: 1024, MaxDelay: 2 * time.Millisecond}) })
	b.Run("one-row-per-commit", func(b *testing.B) { benchEnqueue(b, store.Config{MaxBatch: 1}) })
}
