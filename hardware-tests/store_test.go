//go:build hardware

package hardwaretests

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// TestStoreOnLineDisk checks the durable settings on the line PC's own disk
// (its file system and storage controller), which may differ from a CI tmpfs.
func TestStoreOnLineDisk(t *testing.T) {
	dir := os.Getenv("EDGEAGENT_HW_DB_DIR")
	if dir == "" {
		t.Skip("hardware test: set EDGEAGENT_HW_DB_DIR to a directory on the line PC's data disk")
	}
	path := filepath.Join(dir, "hwtest.db")
	defer os.Remove(path)
	db, err := store.Open(context.Background(), store.Config{Path: path, MaxBatch: 32}, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
		return err
	}))
	var mode string
	require.NoError(t, db.Reader().QueryRow("PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
}
