package journal_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// BenchmarkCommission is the journal's part of a printed label: the
// commissioning event built, hashed and written (event and EPC rows). An
// op is 100 events in one transaction, so the commit, which the label's
// own transaction pays anyway, is spread thin.
func BenchmarkCommission(b *testing.B) {
	db := open(b)
	j, err := journal.New(queue.New(db), journal.Config{Site: site, ReadPointExtension: "LINE1"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		err := db.Write(ctx, func(tx *sql.Tx) error {
			for k := 0; k < 100; k++ {
				if err := j.Commission(tx, "LO-1", gtin, fmt.Sprintf("S%09d", i), "LOT7", "271200"); err != nil {
					return err
				}
				i++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(i), "µs/event")
}
