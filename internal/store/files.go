package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// sqliteHeader begins every SQLite 3 database file.
const sqliteHeader = "SQLite format 3\x00"

// The widest modes the agent accepts: the database holds the line's records
// and tokens, so neither its directory nor its files may be open to the
// group or to others.
const (
	privateDir  fs.FileMode = 0o700
	privateFile fs.FileMode = 0o600
)

// checkFiles checks the data directory and the database file (with its
// -wal and -shm, when present) before SQLite opens anything, and reports
// whether the database exists. Modes wider than 0700 and 0600 are refused,
// or tightened when fix is set; a symbolic link, a file that is not a
// database and a write-ahead log without its database are refused. Nothing
// is changed except, with fix, the modes.
func checkFiles(path string, fix bool, log zerolog.Logger) (exists bool, err error) {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("store: data directory: %w", err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("store: data directory %s is not a directory", dir)
	}
	if st.Mode()&fs.ModeSticky != 0 {
		// /tmp and the like: shared by design, so tightening it is not an answer.
		return false, fmt.Errorf("store: data directory %s is shared (mode %04o): give the database a directory of its own", dir, unixMode(st.Mode()))
	}
	if err := checkMode("data directory", dir, st, privateDir, fix, log); err != nil {
		return false, err
	}

	st, err = os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A write-ahead log without its database holds the last
		// transactions of a database that was moved or deleted; SQLite
		// would delete it when it creates the new database.
		if wst, werr := os.Lstat(path + "-wal"); werr == nil {
			return false, fmt.Errorf("%w: %s does not exist but its write-ahead log %s-wal (%d bytes) does. "+
				"The agent will not create a new database beside it: if the database was moved away on purpose, move its "+
				"-wal and -shm files with it; otherwise restore the latest backup to this path, and start again",
				ErrCorrupt, path, path, wst.Size())
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if p != path {
			if st, err = os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return false, fmt.Errorf("store: %w", err)
			}
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			return false, fmt.Errorf("store: database file %s is a symbolic link (to %s): configure the path of the file itself", p, target)
		}
		if !st.Mode().IsRegular() {
			return false, fmt.Errorf("store: database file %s is not a regular file (%s)", p, st.Mode().Type())
		}
		if err := checkMode("database file", p, st, privateFile, fix, log); err != nil {
			return false, err
		}
	}
	if err := checkHeader(path); err != nil {
		return false, err
	}
	return true, nil
}

// checkMode refuses st, the file or directory at path, when its
// permissions are wider than want; with fix it sets want instead.
func checkMode(what, path string, st fs.FileInfo, want fs.FileMode, fix bool, log zerolog.Logger) error {
	mode := st.Mode()
	if mode.Perm()&^want == 0 {
		return nil
	}
	if !fix {
		return fmt.Errorf("store: %s %s is mode %04o: run chmod %o %s", what, path, unixMode(mode), want, path)
	}
	if err := os.Chmod(path, want); err != nil {
		return fmt.Errorf("store: %s %s is mode %04o and could not be tightened: %w", what, path, unixMode(mode), err)
	}
	log.Warn().Str("path", path).Str("was", fmt.Sprintf("%04o", unixMode(mode))).Str("now", fmt.Sprintf("%04o", want)).
		Msg(what + " was open to other users; mode tightened")
	return nil
}

// unixMode returns mode's permission and special bits as chmod spells them.
func unixMode(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// checkHeader refuses a file that does not begin with the SQLite header:
// SQLite would take an empty file for a new database, and the agent would
// start on an empty ledger where the line's records were expected.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && (err == io.EOF):
		detail := "the file is empty (0 bytes)"
		if st, werr := os.Stat(path + "-wal"); werr == nil {
			detail += fmt.Sprintf(", with a write-ahead log (%d bytes) beside it", st.Size())
		}
		return corruptErr(path, detail)
	case errors.Is(err, io.ErrUnexpectedEOF) || (err == nil && string(head) != sqliteHeader):
		return corruptErr(path, "the file does not begin with the SQLite header")
	case err != nil:
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// corruptErr is the ErrCorrupt of the database at path, with detail and
// what the operator does about it.
func corruptErr(path, detail string) error {
	return fmt.Errorf("%w: %s (%s). The agent will not start on a damaged database and never deletes or repairs it: "+
		"stop the service, move the database and its -wal and -shm files aside for analysis, "+
		"restore the latest backup to this path, and start again",
		ErrCorrupt, path, detail)
}

// createDatabase makes a new, empty database at path. SQLite initialises it
// under a temporary name in the same directory, and only a file with a valid
// header is linked into place: a crash at any moment leaves either no
// database (the next start creates it again) or a valid one, never the
// zero-byte file that Open refuses. link(2) also refuses to replace a file
// that appeared meanwhile.
func createDatabase(ctx context.Context, path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = fmt.Errorf("store: %w", rerr)
			}
		}
	}()
	conn, err := sql.Open("sqlite3", WriterDSN(tmp))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	conn.SetMaxOpenConns(1)
	// The first table makes SQLite write the header and the first page;
	// the WAL setting is kept in the header. Closing the only connection
	// checkpoints the WAL into the file (synchronous=FULL syncs it).
	if _, err := conn.ExecContext(ctx, schemaMigrationsDDL); err != nil {
		conn.Close()
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		return fmt.Errorf("store: creating %s: the new database's write-ahead log was not checkpointed", path)
	}
	if err := checkHeader(tmp); err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("store: creating %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a new name in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}
