package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func openTest(t testing.TB, cfg Config) *DB {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "data", "edgeagent.db")
	}
	db, err := Open(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// privateTempDir returns a new directory of mode 0700, as Open requires of
// the database's directory: t.TempDir's mode depends on the umask.
func privateTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	return dir
}

func createItems(t testing.TB, db *DB) {
	t.Helper()
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
		return err
	}))
}

func insert(db *DB, id int, v string) error {
	return db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO items(id, v) VALUES (?, ?)", id, v)
		return err
	})
}

func count(t testing.TB, db *DB) int {
	var n int
	require.NoError(t, db.Reader().QueryRow("SELECT COUNT(*) FROM items").Scan(&n))
	return n
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	db := openTest(t, Config{Path: filepath.Join(dir, "edgeagent.db")})
	createItems(t, db)
	require.NoError(t, insert(db, 1, "a"))
	for _, p := range []string{db.Path(), db.Path() + "-wal", db.Path() + "-shm"} {
		m, err := fileMode(p)
		require.NoError(t, err, p)
		require.Equal(t, os.FileMode(0o600), m, p)
	}
	m, err := fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), m)
	v, err := db.SchemaVersion(context.Background())
	require.NoError(t, err)
	all, err := loadMigrations()
	require.NoError(t, err)
	require.Equal(t, len(all), v, "every embedded migration applied")
}

func TestWriterUsesDurablePragmas(t *testing.T) {
	db := openTest(t, Config{})
	var mode string
	var sync, fk int
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		if err := tx.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			return err
		}
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		return tx.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	}))
	require.Equal(t, "wal", mode)
	require.Equal(t, 2, sync, "synchronous=FULL")
	require.Equal(t, 1, fk)
	_, err := db.Reader().Exec("CREATE TABLE nope (x)")
	require.Error(t, err, "the read pool must not write")
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := openTest(t, Config{MaxBatch: 64, MaxDelay: 5 * time.Millisecond})
	createItems(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				errs[i] = db.Write(context.Background(), func(tx *sql.Tx) error {
					if _, err := tx.Exec("INSERT INTO items(id, v) VALUES (?, 'doomed')", 100000+i); err != nil {
						return err
					}
					return errors.New("caller changed its mind")
				})
				return
			}
			errs[i] = insert(db, i, "ok")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 0 {
			require.EqualError(t, err, "caller changed its mind")
		} else {
			require.NoError(t, err)
		}
	}
	require.Equal(t, 180, count(t, db), "every acknowledged write and none of the failed ones")
}

func TestDiskFullIsTypedAndLosesNothing(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "full.db")
	db := openTest(t, Config{Path: path, MaxPageCount: 90})
	createItems(t, db)
	big := strings.Repeat("x", 2000)
	acked := 0
	var err error
	for i := 0; i < 1000; i++ {
		if err = insert(db, i, big); err != nil {
			break
		}
		acked++
	}
	require.Error(t, err)
	require.True(t, IsDiskFull(err))
	require.ErrorIs(t, err, ErrDiskFull)
	require.Equal(t, acked, count(t, db), "every acknowledged row is stored")
	require.NoError(t, db.Close())

	db2 := openTest(t, Config{Path: path})
	require.Equal(t, acked, count(t, db2))
	require.NoError(t, insert(db2, 5000, big), "normal service once space returns")
}

func TestCorruptDatabaseIsRefusedAndKept(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "bad.db")
	garbage := []byte(strings.Repeat("this is not a database ", 300))
	require.NoError(t, os.WriteFile(path, garbage, 0o600))
	_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "restore the latest backup")
	after, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	require.Equal(t, garbage, after, "the file must be left as it was")
}

func TestCloseIsSafeTwiceAndRefusesLaterWrites(t *testing.T) {
	db := openTest(t, Config{})
	createItems(t, db)
	require.NoError(t, db.Close())
	require.NoError(t, db.Close())
	require.ErrorIs(t, insert(db, 1, "late"), ErrClosed)
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "new.db")
	db := openTest(t, Config{Path: path})
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO schema_migrations(version, name) VALUES (99, 'future.sql')")
		return err
	}))
	require.NoError(t, db.Close())
	_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	require.ErrorContains(t, err, "newer than this edgeagent")
}

// TestDurabilityAfterSIGKILL starts a child process that writes through the
// group-committing writer and reports each acknowledged row; the child is
// killed with SIGKILL at a random moment, and every acknowledged row must be
// in the database when it is opened again.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	if os.Getenv("EDGEAGENT_STORE_CHILD") != "" {
		return // this process is the child of another run of this test
	}
	path := filepath.Join(privateTempDir(t), "crash.db")
	acked := map[int]bool{}
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.v")
		cmd.Env = append(os.Environ(), "EDGEAGENT_STORE_CHILD="+path, "EDGEAGENT_STORE_ROUND="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		killAfter := 50 + rand.IntN(400)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			id, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			v, err := strconv.Atoi(id)
			require.NoError(t, err)
			acked[v] = true
			if n++; n == killAfter {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			}
		}
		_ = cmd.Wait()
		require.GreaterOrEqual(t, n, killAfter, "round %d: child ended before it was killed", round)

		db, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
		require.NoError(t, err, "round %d: reopen after SIGKILL", round)
		rows, err := db.Reader().Query("SELECT id FROM items")
		require.NoError(t, err)
		stored := map[int]bool{}
		for rows.Next() {
			var id int
			require.NoError(t, rows.Scan(&id))
			stored[id] = true
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.NoError(t, db.Close())
		for id := range acked {
			require.True(t, stored[id], "round %d: row %d was acknowledged but is missing", round, id)
		}
	}
	t.Logf("%d acknowledged rows survived %d SIGKILLs", len(acked), rounds)
}

// TestDurabilityChild is the child side of TestDurabilityAfterSIGKILL.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv("EDGEAGENT_STORE_CHILD")
	if path == "" {
		return // a helper process: it does its work only when TestDurabilityAfterSIGKILL starts it
	}
	round, _ := strconv.Atoi(os.Getenv("EDGEAGENT_STORE_ROUND"))
	db, err := Open(context.Background(), Config{Path: path, MaxBatch: 32}, zerolog.Nop())
	require.NoError(t, err)
	createItems(t, db)
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := round*10_000_000 + g*1_000_000 + i
				if err := insert(db, id, "v"); err != nil {
					panic(err)
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %d\n", id)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// fileMode reports the permission bits of path.
func fileMode(path string) (os.FileMode, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := privateTempDir(t)
	db := openTest(t, Config{Path: filepath.Join(dir, "a.db")})
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('k', 'v')`)
		return err
	}))
	out := filepath.Join(dir, "copy.db")
	require.NoError(t, Backup(ctx, db.Path(), out))
	st, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	require.ErrorContains(t, Backup(ctx, db.Path(), out), "exists", "never overwrites")
	cp := openTest(t, Config{Path: out})
	var v string
	require.NoError(t, cp.Reader().QueryRow(`SELECT value FROM meta WHERE key = 'k'`).Scan(&v))
	require.Equal(t, "v", v)
}
