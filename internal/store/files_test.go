package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// snapshot returns the name and contents of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

func names(files map[string]string) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// makeDB creates a database with one row in items at path and closes it.
func makeDB(t *testing.T, path string) {
	t.Helper()
	db, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	require.NoError(t, err)
	createItems(t, db)
	require.NoError(t, insert(db, 1, "kept"))
	require.NoError(t, db.Close())
}

// TestNotADatabaseIsRefusedAndKept: where a database is expected, a file
// that is not one is refused as damage, by Open and OpenReadOnly alike,
// and nothing in the directory changes. SQLite itself would take an empty
// file for a new database (and delete the -wal beside it).
func TestNotADatabaseIsRefusedAndKept(t *testing.T) {
	random := make([]byte, 100)
	for i := range random {
		random[i] = byte(rand.IntN(256))
	}
	cases := []struct {
		name   string
		files  map[string][]byte
		detail string
	}{
		{"zero bytes", map[string][]byte{"edgeagent.db": {}}, "the file is empty (0 bytes)"},
		{"zero bytes and a stale wal", map[string][]byte{"edgeagent.db": {}, "edgeagent.db-wal": []byte("frames of the last transactions")},
			"the file is empty (0 bytes), with a write-ahead log (31 bytes) beside it"},
		{"100 random bytes", map[string][]byte{"edgeagent.db": random}, "the file does not begin with the SQLite header"},
		{"a short file", map[string][]byte{"edgeagent.db": []byte("SQLite")}, "the file does not begin with the SQLite header"},
	}
	for _, c := range cases {
		for _, open := range []struct {
			name string
			fn   func(context.Context, Config, zerolog.Logger) (*DB, error)
		}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
			t.Run(c.name+"/"+open.name, func(t *testing.T) {
				dir := privateTempDir(t)
				for name, b := range c.files {
					require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
				}
				before := snapshot(t, dir)
				path := filepath.Join(dir, "edgeagent.db")
				_, err := open.fn(context.Background(), Config{Path: path, FixModes: true}, zerolog.Nop())
				require.ErrorIs(t, err, ErrCorrupt)
				require.ErrorContains(t, err, path+" ("+c.detail+")")
				require.ErrorContains(t, err, "restore the latest backup to this path")
				require.Equal(t, before, snapshot(t, dir), "every file is left byte for byte as it was, and none is added")
			})
		}
	}
}

func TestValidDatabaseOpens(t *testing.T) {
	path := filepath.Join(privateTempDir(t), "edgeagent.db")
	makeDB(t, path)
	db := openTest(t, Config{Path: path})
	require.Equal(t, 1, count(t, db))
}

// TestNewDatabaseIsCreatedWhole: a new database appears under its name only
// once SQLite has written it, so no crash can leave the empty file that Open
// refuses; nothing else is left in the directory.
func TestNewDatabaseIsCreatedWhole(t *testing.T) {
	dir := privateTempDir(t)
	path := filepath.Join(dir, "edgeagent.db")
	db := openTest(t, Config{Path: path})
	require.NoError(t, db.Close())
	files := snapshot(t, dir)
	require.Equal(t, []string{"edgeagent.db"}, names(files))
	require.Equal(t, sqliteHeader, files["edgeagent.db"][:len(sqliteHeader)])
	m, err := fileMode(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), m)
}

// TestWALWithoutDatabaseIsRefused: the -wal of a database that was moved
// away holds its last transactions; a new database beside it would delete it.
func TestWALWithoutDatabaseIsRefused(t *testing.T) {
	dir := privateTempDir(t)
	path := filepath.Join(dir, "edgeagent.db")
	require.NoError(t, os.WriteFile(path+"-wal", []byte("frames"), 0o600))
	_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, path+" does not exist but its write-ahead log "+path+"-wal (6 bytes) does")
	require.Equal(t, map[string]string{"edgeagent.db-wal": "frames"}, snapshot(t, dir))
}

func TestWideDataDirectoryIsRefused(t *testing.T) {
	dir := privateTempDir(t)
	path := filepath.Join(dir, "edgeagent.db")
	makeDB(t, path)
	require.NoError(t, os.Chmod(dir, 0o755))
	_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
	require.EqualError(t, err, fmt.Sprintf("store: data directory %s is mode 0755: run chmod 700 %s", dir, dir))
	_, err = OpenReadOnly(context.Background(), Config{Path: path, FixModes: true}, zerolog.Nop())
	require.ErrorContains(t, err, "is mode 0755: run chmod 700", "a read-only open changes nothing")
	m, err := fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), m)

	db := openTest(t, Config{Path: path, FixModes: true})
	require.Equal(t, 1, count(t, db))
	m, err = fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), m, "FixModes tightens the directory")
}

func TestNewDataDirectoryInWideParentIsPrivate(t *testing.T) {
	parent := privateTempDir(t)
	require.NoError(t, os.Chmod(parent, 0o755))
	dir := filepath.Join(parent, "state")
	openTest(t, Config{Path: filepath.Join(dir, "edgeagent.db")})
	m, err := fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), m, "only the database's own directory must be private")
}

func TestSharedDataDirectoryIsRefused(t *testing.T) {
	dir := privateTempDir(t)
	require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky))
	_, err := Open(context.Background(), Config{Path: filepath.Join(dir, "edgeagent.db"), FixModes: true}, zerolog.Nop())
	require.EqualError(t, err, fmt.Sprintf("store: data directory %s is shared (mode 1777): give the database a directory of its own", dir))
	m, err := fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o777), m, "a shared directory is never tightened")
	_, err = os.Stat(filepath.Join(dir, "edgeagent.db"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestWideDatabaseFilesAreRefused(t *testing.T) {
	for _, name := range []string{"edgeagent.db", "edgeagent.db-wal", "edgeagent.db-shm"} {
		t.Run(name, func(t *testing.T) {
			dir := privateTempDir(t)
			path := filepath.Join(dir, "edgeagent.db")
			makeDB(t, path)
			file := filepath.Join(dir, name)
			if name != "edgeagent.db" {
				// Left by an agent that was killed (a clean stop removes them).
				require.NoError(t, os.WriteFile(file, nil, 0o600))
			}
			require.NoError(t, os.Chmod(file, 0o644))
			before := snapshot(t, dir)
			_, err := Open(context.Background(), Config{Path: path}, zerolog.Nop())
			require.EqualError(t, err, fmt.Sprintf("store: database file %s is mode 0644: run chmod 600 %s", file, file))
			require.Equal(t, before, snapshot(t, dir))

			db := openTest(t, Config{Path: path, FixModes: true})
			require.Equal(t, 1, count(t, db))
			m, err := fileMode(file)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), m, "FixModes tightens the file")
		})
	}
}

func TestSymlinkedDatabaseIsRefused(t *testing.T) {
	dir := privateTempDir(t)
	real := filepath.Join(dir, "real.db")
	makeDB(t, real)
	link := filepath.Join(dir, "edgeagent.db")
	require.NoError(t, os.Symlink(real, link))
	want := fmt.Sprintf("store: database file %s is a symbolic link (to %s): configure the path of the file itself", link, real)
	_, err := Open(context.Background(), Config{Path: link, FixModes: true}, zerolog.Nop())
	require.EqualError(t, err, want)
	_, err = OpenReadOnly(context.Background(), Config{Path: link}, zerolog.Nop())
	require.EqualError(t, err, want)

	// A dangling link is refused too, not followed to create a database.
	gone := filepath.Join(dir, "gone.db")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere.db"), gone))
	_, err = Open(context.Background(), Config{Path: gone}, zerolog.Nop())
	require.ErrorContains(t, err, "is a symbolic link")
	_, err = os.Lstat(filepath.Join(dir, "nowhere.db"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestFailedCreationLeavesNoFile: when creating a new database fails
// half-way, nothing is left under the database's name, so the next start
// creates it rather than refusing an empty file.
func TestFailedCreationLeavesNoFile(t *testing.T) {
	dir := privateTempDir(t)
	path := filepath.Join(dir, "edgeagent.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, Config{Path: path}, zerolog.Nop())
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, snapshot(t, dir), "neither the database nor its temporary file is left")
	db := openTest(t, Config{Path: path})
	createItems(t, db)
	require.Zero(t, count(t, db))
}
