package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
)

// recounts are, for each kind of counter (migrations/0009_counters.sql),
// the count of its table it stands for: k1, k2, the count, and for
// printed labels the newest label's id.
var recounts = map[string]string{
	"labels":       `SELECT printer, state, COUNT(*), iif(state = 'printed', MAX(id), 0) FROM labels GROUP BY printer, state`,
	"order_labels": `SELECT order_id, state, COUNT(*), 0 FROM labels WHERE order_id IS NOT NULL GROUP BY order_id, state`,
	"serials":      `SELECT gtin, state, COUNT(*), 0 FROM serials GROUP BY gtin, state`,
	"containers":   `SELECT level, state, COUNT(*), 0 FROM containers GROUP BY level, state`,
	"order_cases":  `SELECT order_id, state, COUNT(*), 0 FROM containers WHERE level = 'case' GROUP BY order_id, state`,
	"label_orders": `SELECT status, '', COUNT(*), 0 FROM label_orders GROUP BY status`,
	"outbox":       `SELECT state, '', COUNT(*), 0 FROM outbox GROUP BY state`,
}

type counterKey struct{ what, k1, k2 string }

type counterValue struct{ n, last int64 }

// VerifyCounters counts the tables again, row by row, and lists every
// counter that differs from its count (none: the counters are exact). It
// reads whole tables: it is for tests and for a person looking into a copy
// of a database, never for a page.
func VerifyCounters(ctx context.Context, reader *sql.DB) ([]string, error) {
	tx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for the counters and the tables
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	want := map[counterKey]counterValue{}
	for what, query := range recounts {
		if err := scanCounters(ctx, tx, query, what, want); err != nil {
			return nil, fmt.Errorf("recount %s: %w", what, err)
		}
	}
	got := map[counterKey]counterValue{}
	rows, err := tx.QueryContext(ctx, `SELECT what, k1, k2, n, last_id FROM counters`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k counterKey
		var v counterValue
		if err := rows.Scan(&k.what, &k.k1, &k.k2, &v.n, &v.last); err != nil {
			return nil, err
		}
		got[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var problems []string
	for k, v := range got {
		if _, known := recounts[k.what]; !known {
			problems = append(problems, fmt.Sprintf("counter %s/%s/%s: no such kind of counter", k.what, k.k1, k.k2))
		} else if w := want[k]; v != w {
			problems = append(problems, fmt.Sprintf("counter %s/%s/%s is %d (last %d); the table has %d (last %d)", k.what, k.k1, k.k2, v.n, v.last, w.n, w.last))
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			problems = append(problems, fmt.Sprintf("counter %s/%s/%s is missing; the table has %d (last %d)", k.what, k.k1, k.k2, w.n, w.last))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

func scanCounters(ctx context.Context, tx *sql.Tx, query, what string, into map[counterKey]counterValue) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		k := counterKey{what: what}
		var v counterValue
		if err := rows.Scan(&k.k1, &k.k2, &v.n, &v.last); err != nil {
			return err
		}
		into[k] = v
	}
	return rows.Err()
}
