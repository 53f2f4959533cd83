package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func openReadOnlyTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := OpenReadOnly(context.Background(), Config{Path: path}, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestReadOnlyBesideWriter: a read-only open beside a writer that keeps
// committing sees every write acknowledged before its query, and cannot
// write itself.
func TestReadOnlyBesideWriter(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "edgeagent.db")
	w := openTest(t, Config{Path: path, MaxBatch: 16, CheckpointEvery: 5 * time.Millisecond})
	createItems(t, w)
	ro := openReadOnlyTest(t, path)

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := insert(w, i, "v"); err != nil {
				t.Error(err)
				return
			}
			acked.Add(1)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for acked.Load() < 300 && time.Now().Before(deadline) {
		before := acked.Load()
		var n int64
		require.NoError(t, ro.Reader().QueryRow("SELECT COUNT(*) FROM items").Scan(&n))
		require.GreaterOrEqual(t, n, before, "every acknowledged write is visible to a later read")
	}
	close(stop)
	wg.Wait()
	require.GreaterOrEqual(t, acked.Load(), int64(300), "the writer kept committing")
	require.Equal(t, int(acked.Load()), count(t, ro))

	err := ro.Write(context.Background(), func(tx *sql.Tx) error {
		t.Error("a read-only database ran a write")
		return nil
	})
	require.ErrorIs(t, err, ErrReadOnly)
	require.EqualError(t, err, "store: the database was opened read-only: "+path)
	_, err = ro.Reader().Exec("INSERT INTO items(id, v) VALUES (-1, 'x')")
	require.Error(t, err, "the connections themselves refuse writes")
	require.NoError(t, ro.Ping(context.Background()))
	v, err := ro.SchemaVersion(context.Background())
	require.NoError(t, err)
	all, err := loadMigrations()
	require.NoError(t, err)
	require.Equal(t, len(all), v)
}

// TestReadOnlyLeavesDatabaseUntouched: with no writer about, reading
// changes neither the database's bytes nor its modification time.
func TestReadOnlyLeavesDatabaseUntouched(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "edgeagent.db")
	makeDB(t, path)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	stBefore, err := os.Stat(path)
	require.NoError(t, err)

	for range 2 { // the second open finds the -wal and -shm the first one left
		ro, err := OpenReadOnly(context.Background(), Config{Path: path}, zerolog.Nop())
		require.NoError(t, err)
		require.Equal(t, 1, count(t, ro))
		require.NoError(t, ro.Close())
		require.NoError(t, ro.Close(), "Close is safe twice")
		require.ErrorIs(t, insert(ro, 2, "late"), ErrReadOnly)
	}

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	stAfter, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "the database's bytes are unchanged")
	require.Equal(t, stBefore.ModTime(), stAfter.ModTime(), "the database's mtime is unchanged")
	wal, err := os.Stat(path + "-wal")
	if err == nil {
		require.Zero(t, wal.Size(), "nothing was logged")
	}
}

func TestReadOnlyNeverCreatesADatabase(t *testing.T) {
	dir := privateTempDir(t)
	for _, path := range []string{filepath.Join(dir, "edgeagent.db"), filepath.Join(dir, "missing", "edgeagent.db")} {
		_, err := OpenReadOnly(context.Background(), Config{Path: path}, zerolog.Nop())
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, "no database at "+path)
	}
	require.Empty(t, snapshot(t, dir), "no file and no directory was created")
}

func TestReadOnlyRefusesOtherSchemas(t *testing.T) {
	all, err := loadMigrations()
	require.NoError(t, err)
	cases := []struct {
		name, change, want string
	}{
		{"newer", "INSERT INTO schema_migrations(version, name) VALUES (99, 'future.sql')",
			"store: database schema version 99 is newer than this edgeagent (knows %d): use the edgeagent that runs on it"},
		{"older", "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
			"store: database schema version %d is older than this edgeagent (knows %d): start the agent once to migrate it, or use the edgeagent that wrote it"},
		{"none", "DROP TABLE schema_migrations",
			"store: database schema version 0 is older than this edgeagent (knows %d): start the agent once to migrate it, or use the edgeagent that wrote it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(privateTempDir(t), "edgeagent.db")
			db := openTest(t, Config{Path: path})
			require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
				_, err := tx.Exec(c.change)
				return err
			}))
			require.NoError(t, db.Close())
			_, err := OpenReadOnly(context.Background(), Config{Path: path}, zerolog.Nop())
			switch c.name {
			case "older":
				require.EqualError(t, err, fmt.Sprintf(c.want, len(all)-1, len(all)))
			default:
				require.EqualError(t, err, fmt.Sprintf(c.want, len(all)))
			}
		})
	}
}
