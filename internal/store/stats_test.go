package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stats counts every statement of a write, BEGIN and COMMIT included,
// whether run directly, prepared for the transaction or in a failed write,
// and times the transactions that reach COMMIT.
func TestStatsCountTheWritersStatements(t *testing.T) {
	var stats Stats
	db := openTest(t, Config{Stats: &stats})
	createItems(t, db)
	ctx := context.Background()

	before := stats.Snapshot()
	require.NoError(t, insert(db, 1, "a"))
	one := stats.Snapshot().Sub(before)
	assert.Equal(t, int64(3), one.Statements, "BEGIN, INSERT, COMMIT")
	assert.Equal(t, int64(1), one.Transactions)
	assert.Positive(t, one.Work)
	assert.Positive(t, one.Commit)

	before = stats.Snapshot()
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		st, err := db.Stmt(tx, "INSERT INTO items(id, v) VALUES (?, ?)")
		if err != nil {
			return err
		}
		for i := 2; i < 5; i++ {
			if _, err := st.Exec(i, "b"); err != nil {
				return err
			}
		}
		var n int
		return tx.QueryRow("SELECT COUNT(*) FROM items").Scan(&n)
	}))
	assert.Equal(t, int64(6), stats.Snapshot().Sub(before).Statements, "BEGIN, 3 prepared INSERTs, SELECT, COMMIT")

	before = stats.Snapshot()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec("INSERT INTO items(id, v) VALUES (9, 'c')"); err != nil {
			return err
		}
		return errors.New("refused")
	})
	require.Error(t, err)
	failed := stats.Snapshot().Sub(before)
	assert.Equal(t, int64(3), failed.Statements, "BEGIN, INSERT, ROLLBACK")
	assert.Zero(t, failed.Transactions, "nothing reached COMMIT")
	assert.Equal(t, 4, count(t, db))
}
