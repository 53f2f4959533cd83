package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// v8 holds what a database of schema 8 was given, counted as it was
// written: the counters migration 9 must start from.
type v8 struct {
	want map[counterKey]counterValue
}

func (v *v8) add(what, k1, k2 string, id int64) {
	k := counterKey{what, k1, k2}
	c := v.want[k]
	c.n++
	if what == "labels" && k2 == "printed" {
		c.last = max(c.last, id)
	}
	v.want[k] = c
}

// fillV8 writes random label orders, labels, serials, containers and
// outbox items straight into a database of schema 8, as an agent of that
// version left them.
func fillV8(t *testing.T, raw *sql.DB, rng *rand.Rand) *v8 {
	t.Helper()
	v := &v8{want: map[counterKey]counterValue{}}
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	tx, err := raw.Begin()
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	exec := func(q string, args ...any) sql.Result {
		res, err := tx.Exec(q, args...)
		require.NoError(t, err, q)
		return res
	}
	var orders []string
	for i := range 6 {
		id, status := fmt.Sprintf("LO-%d", i), pick("created", "released", "printing", "completed", "suspended")
		exec(`INSERT INTO label_orders (order_id, gtin, batch, quantity, destination, template, status, created_by, created_at, request)
			VALUES (?, '09506000134352', 'AB12', 10, 'p1', 'pack', ?, 'erp', ?, x'7b7d')`, id, status, i)
		v.add("label_orders", status, "", 0)
		orders = append(orders, id)
	}
	for i := range 300 {
		gtin := pick("09506000134352", "09506000134369", "09506000134376")
		serial := fmt.Sprintf("S%05d", i)
		sstate := pick("available", "allocated", "printing", "printed", "unknown", "commissioned", "decommissioned")
		exec(`INSERT INTO serials (gtin, serial, state, updated_at) VALUES (?, ?, ?, 0)`, gtin, serial, sstate)
		v.add("serials", gtin, sstate, 0)
		if rng.IntN(3) == 0 {
			continue // a serial with no label
		}
		printer, lstate := pick("p1", "p2", "ship"), pick("queued", "printing", "printed", "unknown", "voided")
		var order any
		if rng.IntN(4) > 0 {
			order = orders[rng.IntN(len(orders))]
		}
		res := exec(`INSERT INTO labels (kind, order_id, gtin, serial, subject, printer, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
			map[bool]string{true: "pack", false: "sscc"}[order != nil], order, gtin, serial, serial, printer, lstate)
		id, err := res.LastInsertId()
		require.NoError(t, err)
		v.add("labels", printer, lstate, id)
		if order != nil {
			v.add("order_labels", order.(string), lstate, 0)
		}
	}
	for i := range 60 {
		level, state, order := pick("case", "pallet"), pick("open", "closed", "cancelled", "disaggregated"), pick("", "PO-1", "PO-2")
		exec(`INSERT INTO containers (sscc, level, state, station, order_id, origin, opened_at) VALUES (?, ?, ?, 'case-1', ?, 'allocated', 0)`,
			fmt.Sprintf("1950600%011d", i), level, state, order)
		v.add("containers", level, state, 0)
		if level == "case" {
			v.add("order_cases", order, state, 0)
		}
	}
	for i := range 200 {
		state := pick("pending", "pending", "delivered", "parked")
		exec(`INSERT INTO outbox (kind, stream, key, payload, state, created_at) VALUES ('commission', 's', ?, x'7b7d', ?, ?)`, fmt.Sprint(i), state, i)
		v.add("outbox", state, "", 0)
	}
	require.NoError(t, tx.Commit())
	return v
}

// counters reads the counters that are not 0.
func counters(t *testing.T, db *DB) map[counterKey]counterValue {
	t.Helper()
	rows, err := db.Reader().Query(`SELECT what, k1, k2, n, last_id FROM counters WHERE n != 0`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[counterKey]counterValue{}
	for rows.Next() {
		var k counterKey
		var v counterValue
		require.NoError(t, rows.Scan(&k.what, &k.k1, &k.k2, &v.n, &v.last))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func requireExact(t *testing.T, db *DB, msg string) {
	t.Helper()
	problems, err := VerifyCounters(context.Background(), db.Reader())
	require.NoError(t, err)
	require.Empty(t, problems, msg)
}

// TestCountersMigration: a database of schema 8 holding records gets its
// counters from migration 9, equal to the records counted one by one;
// from then on every statement that changes the tables keeps them exact,
// whoever runs it: deletes, rows changed to another printer, product or
// order, a label taken out of printed, a transaction or a savepoint rolled
// back.
func TestCountersMigration(t *testing.T) {
	ctx := context.Background()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	path := filepath.Join(t.TempDir(), "data", "x.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, createDatabase(ctx, path))
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.Equal(t, "0009_counters.sql", ms[8].name)
	raw, err := sql.Open("sqlite3", WriterDSN(path))
	require.NoError(t, err)
	_, err = raw.Exec(schemaMigrationsDDL)
	require.NoError(t, err)
	for _, m := range ms[:8] {
		_, err := raw.Exec(m.sql)
		require.NoError(t, err, m.name)
		_, err = raw.Exec("INSERT INTO schema_migrations(version, name) VALUES (?, ?)", m.version, m.name)
		require.NoError(t, err)
	}
	v := fillV8(t, raw, rng)
	require.NoError(t, raw.Close())

	db := openTest(t, Config{Path: path})
	require.Equal(t, v.want, counters(t, db), "the counters start from the records there are")
	requireExact(t, db, "after the migration")

	write := func(q string, args ...any) {
		t.Helper()
		require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(q, args...); return err }), q)
	}
	var lastPrinted int64
	require.NoError(t, db.Reader().QueryRow(`SELECT COALESCE(MAX(id), 0) FROM labels WHERE printer = 'p1' AND state = 'printed'`).Scan(&lastPrinted))
	write(`UPDATE labels SET state = 'voided' WHERE id = ?`, lastPrinted) // out of printed: the newest is looked up again
	requireExact(t, db, "a printer's newest printed label taken out of printed")
	write(`UPDATE labels SET printer = 'p2' WHERE id % 3 = 0`)
	write(`UPDATE labels SET order_id = 'LO-0' WHERE id % 5 = 0`)
	write(`UPDATE labels SET order_id = NULL, kind = 'sscc' WHERE id % 7 = 0`)
	write(`UPDATE labels SET state = 'printed' WHERE state = 'printing'`)
	write(`DELETE FROM labels WHERE id % 4 = 1`)
	write(`UPDATE serials SET gtin = '09506000134383' WHERE rowid % 6 = 0`)
	write(`UPDATE serials SET state = 'commissioned' WHERE state = 'printed'`)
	write(`DELETE FROM serials WHERE rowid % 5 = 2`)
	write(`INSERT OR IGNORE INTO serials (gtin, serial, state, updated_at) SELECT gtin, serial, 'available', 0 FROM serials`) // all present: none counted
	write(`UPDATE containers SET state = 'closed', order_id = 'PO-3' WHERE state = 'open'`)
	write(`UPDATE containers SET level = 'pallet' WHERE rowid % 4 = 0`)
	write(`DELETE FROM containers WHERE state = 'cancelled'`)
	write(`UPDATE label_orders SET status = 'completed' WHERE status = 'printing'`)
	write(`INSERT INTO outbox (kind, stream, key, payload, created_at) VALUES ('commission', 's', 'new', x'7b7d', 0) ON CONFLICT (kind, key) DO NOTHING`)
	write(`INSERT INTO outbox (kind, stream, key, payload, created_at) VALUES ('commission', 's', 'new', x'7b7d', 0) ON CONFLICT (kind, key) DO NOTHING`)
	write(`UPDATE outbox SET state = 'delivered', delivered_at = 1 WHERE state = 'pending' AND id % 2 = 0`)
	write(`UPDATE outbox SET attempts = attempts + 1 WHERE state = 'pending'`)
	write(`DELETE FROM outbox WHERE state = 'delivered'`)
	requireExact(t, db, "after rows were changed and deleted")

	// What rolls back takes its counts with it.
	before := counters(t, db)
	failed := errors.New("refused")
	require.ErrorIs(t, db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE labels SET state = 'voided'`); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM outbox`); err != nil {
			return err
		}
		return failed
	}), failed)
	require.Equal(t, before, counters(t, db), "a transaction rolled back")

	grouped := openTest(t, Config{Path: filepath.Join(t.TempDir(), "data", "g.db"), MaxBatch: 8, MaxDelay: 50 * time.Millisecond})
	errs := make(chan error, 2)
	for _, fail := range []bool{true, false} {
		go func() {
			errs <- grouped.Write(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`INSERT INTO outbox (kind, stream, key, payload, created_at) VALUES ('commission', 's', ?, x'7b7d', 0)`, fmt.Sprint(fail)); err != nil {
					return err
				}
				if fail {
					return failed
				}
				return nil
			})
		}()
	}
	require.ErrorIs(t, errors.Join(<-errs, <-errs), failed)
	require.Equal(t, map[counterKey]counterValue{{"outbox", "pending", ""}: {n: 1}}, counters(t, grouped), "a write rolled back to its savepoint in a shared transaction")
	requireExact(t, grouped, "group commit")
}
