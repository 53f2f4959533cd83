// Package store owns the agent's SQLite database: it opens the file with the
// durable settings (WAL, synchronous=FULL, immediate transactions, foreign
// keys), checks its integrity before anything else touches it, applies the
// migrations embedded in the binary, and funnels every write through one
// writer goroutine that may group concurrent writes into one transaction.
//
// A write is acknowledged (Write returns nil) only after its transaction has
// committed. Reads use a separate read-only pool and never wait for writes.
//
// The database is created only where no file exists, with mode 0600 in a
// directory of mode 0700; a file that is not a database, a symbolic link, or
// modes open to other users are refused. Lock keeps a second agent off the
// data directory; OpenReadOnly serves commands that only look.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
)

// Errors that callers act on.
var (
	// ErrDiskFull means SQLite could not grow the database: new work must be
	// refused with a clear message; nothing stored is lost.
	ErrDiskFull = errors.New("store: disk full")
	// ErrCorrupt means the integrity check failed; the agent must not start.
	ErrCorrupt = errors.New("store: database failed its integrity check")
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("store: closed")
	// ErrReadOnly is returned by Write on a database opened with OpenReadOnly.
	ErrReadOnly = errors.New("store: the database was opened read-only")
)

// Config configures Open. The zero value of each field has the meaning given.
type Config struct {
	// Path of the database file. Required.
	Path string
	// MaxBatch is how many writes may share one transaction; 0 or 1 commits each write alone.
	MaxBatch int
	// MaxDelay is how long the writer waits for more writes to fill a batch; 0 never waits.
	MaxDelay time.Duration
	// ReadConns bounds the read-only pool; 0 means 4.
	ReadConns int
	// MaxPageCount caps the database size in pages (0: no cap). Used to test a full disk.
	MaxPageCount int
	// CheckpointEvery is how often the WAL is copied back into the
	// database, beside the writes; 0 means 1s.
	CheckpointEvery time.Duration
	// Stats, when set, counts the writer's statements and times its
	// transactions (tests and benchmarks); nil counts nothing.
	Stats *Stats
	// FixModes makes Open tighten a data directory wider than 0700 or
	// database files wider than 0600 (logging a warning) instead of
	// refusing them. OpenReadOnly never changes modes.
	FixModes bool
}

// DB is an open database.
type DB struct {
	cfg    Config
	log    zerolog.Logger
	writer *sql.DB // nil when read-only
	reader *sql.DB

	// readOnly is set by OpenReadOnly: there is no writer and no
	// checkpointer, only the reader pool.
	readOnly bool

	// Writes wait in queue; the writer that holds lead (the leader)
	// commits them in batches on its own goroutine, so a lone write costs
	// no hand-off between goroutines. kick asks a waiting writer to take
	// over when the leader leaves work behind; arrive tells the leader a
	// write was queued.
	qmu       sync.Mutex
	queue     []*writeReq
	lastBatch int // how many writes the last commit carried; the leader's
	lead      sync.Mutex
	kick      chan struct{}
	arrive    chan struct{}
	closeOnce sync.Once
	mu        sync.RWMutex // guards closed against Write racing Close
	closed    bool

	// The checkpointer's connection, and its stop signal.
	ckpt     *sql.DB
	stopCkpt chan struct{}
	ckptDone chan struct{}

	// Statements prepared for the current write transaction; only the
	// leader touches them.
	txStmtsFor *sql.Tx
	txStmts    map[string]*sql.Stmt
}

type writeReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	errc chan error
}

// WriterDSN returns the connection string of the single writer connection.
func WriterDSN(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=1&_stmt_cache_size=128"
}

func readerDSN(path string) string {
	return "file:" + path + "?mode=ro&_busy_timeout=5000&_foreign_keys=1&_query_only=1"
}

// Open opens and checks the database, applies migrations and starts the
// writer. Where no file exists it creates a new database (mode 0600, in a
// directory created with mode 0700). Before SQLite sees the file, Open
// refuses a data directory wider than 0700, database files wider than 0600
// (Config.FixModes tightens them instead), a database path that is a
// symbolic link, and a file that is not an SQLite database: an empty file or
// one without the SQLite header is ErrCorrupt, as is a database that fails
// its integrity check. A refused database is never modified.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: path is required")
	}
	if cfg.MaxBatch < 1 {
		cfg.MaxBatch = 1
	}
	if cfg.ReadConns < 1 {
		cfg.ReadConns = 4
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), privateDir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	exists, err := checkFiles(cfg.Path, cfg.FixModes, log)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := createDatabase(ctx, cfg.Path); err != nil {
			return nil, err
		}
		log.Info().Str("path", cfg.Path).Msg("new database created")
	}
	var writer *sql.DB
	if cfg.Stats != nil {
		writer = sql.OpenDB(&countingConnector{dsn: WriterDSN(cfg.Path), stats: cfg.Stats})
	} else if writer, err = sql.Open("sqlite3", WriterDSN(cfg.Path)); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	db := &DB{cfg: cfg, log: log, writer: writer, kick: make(chan struct{}, 1), arrive: make(chan struct{}, 1)}

	var version string
	if err := writer.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		writer.Close()
		return nil, db.openErr(err)
	}
	if err := db.quickCheck(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	// A larger page cache for the one writer keeps index pages of a big
	// outbox in memory. Checkpoints are not run by the committing writer
	// (a stall of tens of milliseconds for whichever write crosses the
	// threshold) but by a checkpointer of its own, beside the writes.
	for _, pragma := range []string{"PRAGMA cache_size = -16384", "PRAGMA wal_autocheckpoint = 0"} {
		if _, err := writer.ExecContext(ctx, pragma); err != nil {
			writer.Close()
			return nil, db.classify(err)
		}
	}
	if cfg.MaxPageCount > 0 {
		if _, err := writer.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", cfg.MaxPageCount)); err != nil {
			writer.Close()
			return nil, db.classify(err)
		}
	}
	applied, err := db.migrate(ctx)
	if err != nil {
		writer.Close()
		return nil, err
	}
	// From here on the statement and savepoint journals stay in memory: an
	// UPDATE of hundreds of rows inside a group commit's savepoint
	// otherwise spills its journal to a temporary file, written and
	// truncated for every statement. They only undo a statement or a
	// savepoint inside an open transaction, so a crash loses nothing that
	// the WAL keeps. (Set after the migrations, whose index builds over a
	// large table sort through temporary files, not memory.)
	if _, err := writer.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		writer.Close()
		return nil, db.classify(err)
	}
	db.reader, err = sql.Open("sqlite3", readerDSN(cfg.Path))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	db.reader.SetMaxOpenConns(cfg.ReadConns)
	if db.ckpt, err = sql.Open("sqlite3", WriterDSN(cfg.Path)); err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	db.ckpt.SetMaxOpenConns(1)
	db.stopCkpt, db.ckptDone = make(chan struct{}), make(chan struct{})
	go db.checkpointer()
	log.Info().Str("path", cfg.Path).Str("sqlite_version", version).Int("migrations_applied", applied).
		Int("group_commit_max_batch", cfg.MaxBatch).Msg("database opened")
	return db, nil
}

// OpenReadOnly opens an existing database for reading only, beside a
// running agent or without one: SQLite opens it with mode=ro and
// query_only, and there are no migrations, no integrity check and no
// checkpoints, so the database file is never written. It never creates a
// database (a missing one is an error that wraps fs.ErrNotExist), refuses
// what Open refuses (FixModes is ignored: nothing is changed), and refuses a
// schema older or newer than this binary's. Write returns ErrReadOnly.
//
// As for any reader of a WAL database, SQLite creates the empty -wal and the
// -shm index beside a database that no writer has open (with the
// database's mode and owner); the database file itself is not touched.
func OpenReadOnly(ctx context.Context, cfg Config, log zerolog.Logger) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: path is required")
	}
	if cfg.ReadConns < 1 {
		cfg.ReadConns = 4
	}
	if _, err := os.Lstat(cfg.Path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: no database at %s: %w", cfg.Path, fs.ErrNotExist)
	}
	exists, err := checkFiles(cfg.Path, false, log)
	if err != nil {
		return nil, err
	}
	if !exists { // removed since the Lstat above
		return nil, fmt.Errorf("store: no database at %s: %w", cfg.Path, fs.ErrNotExist)
	}
	db := &DB{cfg: cfg, log: log, readOnly: true}
	if db.reader, err = sql.Open("sqlite3", readerDSN(cfg.Path)); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.reader.SetMaxOpenConns(cfg.ReadConns)
	if err := db.checkSchema(ctx); err != nil {
		db.reader.Close()
		return nil, err
	}
	log.Info().Str("path", cfg.Path).Msg("database opened read-only")
	return db, nil
}

// openErr is ErrCorrupt when SQLite finds the file damaged or not a
// database, and the classified error otherwise.
func (db *DB) openErr(err error) error {
	if isCorruptErr(err) {
		return db.corrupt(err.Error())
	}
	return db.classify(err)
}

func (db *DB) quickCheck(ctx context.Context) error {
	rows, err := db.writer.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return db.openErr(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return db.classify(err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return db.openErr(err)
	}
	if len(problems) > 0 {
		return db.corrupt(strings.Join(problems, "; "))
	}
	return nil
}

func (db *DB) corrupt(detail string) error { return corruptErr(db.cfg.Path, detail) }

func isCorruptErr(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// classify wraps SQLITE_FULL as ErrDiskFull so callers can refuse new work.
func (db *DB) classify(err error) error {
	if err == nil {
		return nil
	}
	if IsDiskFull(err) && !errors.Is(err, ErrDiskFull) {
		return fmt.Errorf("%w: %s: %v", ErrDiskFull, db.cfg.Path, err)
	}
	return err
}

// IsDiskFull reports whether err means the database (or its disk) is full.
func IsDiskFull(err error) bool {
	if errors.Is(err, ErrDiskFull) {
		return true
	}
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrFull
}

// Reader returns the read-only pool. Queries there see committed data only.
func (db *DB) Reader() *sql.DB { return db.reader }

// Path returns the database file's path.
func (db *DB) Path() string { return db.cfg.Path }

// Write runs fn inside a write transaction and returns after the
// transaction committed (nil) or failed. Concurrent writes may share one
// transaction (group commit); each runs inside its own savepoint, so one
// failing fn rolls back only its own changes. fn must not keep tx after it
// returns and must not call Write itself. On a database opened with
// OpenReadOnly, Write returns ErrReadOnly and never runs fn.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.readOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, db.cfg.Path)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	db.qmu.Lock()
	db.queue = append(db.queue, req)
	db.qmu.Unlock()
	db.mu.RUnlock()
	select {
	case db.arrive <- struct{}{}:
	default:
	}
	// Once queued, the outcome is awaited even if ctx ends: the caller must
	// learn whether its write committed.
	return db.drive(req)
}

// drive commits queued writes as the leader, when no one else leads, until
// req has its outcome.
func (db *DB) drive(req *writeReq) error {
	for {
		if db.lead.TryLock() {
			err := db.leadUntil(req)
			db.lead.Unlock()
			// Writes queued behind ours need a leader: wake one writer.
			db.qmu.Lock()
			pending := len(db.queue) > 0
			db.qmu.Unlock()
			if pending {
				select {
				case db.kick <- struct{}{}:
				default:
				}
			}
			return err
		}
		select {
		case err := <-req.errc:
			return err
		case <-db.kick:
		}
	}
}

// leadUntil commits batches, oldest writes first, until req is done.
func (db *DB) leadUntil(req *writeReq) error {
	for {
		select {
		case err := <-req.errc:
			return err
		default:
		}
		batch := db.take(nil)
		if len(batch) == 0 {
			// An earlier leader committed req already.
			return <-req.errc
		}
		batch = db.fill(batch)
		db.lastBatch = len(batch)
		db.commit(batch)
	}
}

// lingerMax bounds how long a batch smaller than the one before waits for
// the writers of that one to come back. Writers that write one after
// another (a station waits for its verdict before it takes the next scan)
// queue again moments after the commit that answered them; without a wait
// the next leader commits whoever is queued and they fall into turns of
// part batches, each paying a commit. A lone writer (the last batch was of
// one) never waits, and a wait that finds no one makes the next batch's
// measure smaller, so a line that goes quiet stops waiting at once.
const lingerMax = 100 * time.Microsecond

// take moves up to MaxBatch queued writes (less those in batch) to batch.
func (db *DB) take(batch []*writeReq) []*writeReq {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	n := min(db.cfg.MaxBatch-len(batch), len(db.queue))
	batch = append(batch, db.queue[:n]...)
	db.queue = append(db.queue[:0], db.queue[n:]...)
	return batch
}

// fill waits at most MaxDelay for more writes to share the batch; with no
// MaxDelay, at most lingerMax for as many writes as the last batch had.
func (db *DB) fill(batch []*writeReq) []*writeReq {
	want, wait := db.cfg.MaxBatch, db.cfg.MaxDelay
	if wait <= 0 {
		want, wait = min(db.lastBatch, db.cfg.MaxBatch), lingerMax
	}
	if len(batch) >= want {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < want {
		select {
		case <-db.arrive:
			batch = db.take(batch)
		case <-t.C:
			return db.take(batch)
		}
	}
	return batch
}

func (db *DB) commit(batch []*writeReq) {
	defer func() { db.txStmtsFor, db.txStmts = nil, nil }()
	ctx := context.Background()
	var began time.Time
	if db.cfg.Stats != nil {
		began = time.Now()
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		err = db.classify(err)
		for _, r := range batch {
			r.errc <- err
		}
		return
	}
	results := make([]error, len(batch))
	ran := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if len(batch) == 1 {
			results[i] = db.classify(r.fn(tx))
		} else {
			results[i] = db.runInSavepoint(tx, r.fn)
		}
		if results[i] == nil {
			ran++
		}
	}
	if len(batch) == 1 && results[0] != nil {
		_ = tx.Rollback()
		batch[0].errc <- results[0]
		return
	}
	var committing time.Time
	if db.cfg.Stats != nil {
		committing = time.Now()
	}
	err = tx.Commit()
	if db.cfg.Stats != nil {
		// Counted before anyone hears the outcome, so a caller's next
		// snapshot includes its own transaction.
		db.cfg.Stats.ended(committing.Sub(began), time.Since(committing))
	}
	if err != nil {
		err = db.classify(err)
		_ = tx.Rollback()
		for i, r := range batch {
			if results[i] == nil {
				results[i] = err
			}
			r.errc <- results[i]
		}
		return
	}
	for i, r := range batch {
		r.errc <- results[i]
	}
}

func (db *DB) runInSavepoint(tx *sql.Tx, fn func(*sql.Tx) error) error {
	if _, err := db.stmt(tx, "SAVEPOINT w").Exec(); err != nil {
		return db.classify(err)
	}
	if err := fn(tx); err != nil {
		if _, rerr := db.stmt(tx, "ROLLBACK TO w").Exec(); rerr != nil {
			return errors.Join(db.classify(err), rerr)
		}
		_, _ = db.stmt(tx, "RELEASE w").Exec()
		return db.classify(err)
	}
	if _, err := db.stmt(tx, "RELEASE w").Exec(); err != nil {
		return db.classify(err)
	}
	return nil
}

// stmt returns the statement prepared for this transaction; it is ignored
// when preparing fails, and the statement fails when run.
func (db *DB) stmt(tx *sql.Tx, query string) *sql.Stmt {
	st, err := db.Stmt(tx, query)
	if err != nil {
		st, _ = tx.Prepare(query)
	}
	return st
}

// Stmt returns query prepared for tx, the transaction of the write being
// run, prepared once per transaction however many writes share it: hot
// paths skip SQLite's parser. Use it only inside Write.
func (db *DB) Stmt(tx *sql.Tx, query string) (*sql.Stmt, error) {
	if db.txStmtsFor != tx {
		db.txStmtsFor, db.txStmts = tx, map[string]*sql.Stmt{}
	}
	if st, ok := db.txStmts[query]; ok {
		return st, nil
	}
	st, err := tx.Prepare(query)
	if err != nil {
		return nil, err
	}
	db.txStmts[query] = st
	return st, nil
}

// checkpointer copies committed WAL frames into the database file now and
// then (PASSIVE: it never waits for or blocks a writer), so no write pays
// for a checkpoint.
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	every := db.cfg.CheckpointEvery
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stopCkpt:
			return
		case <-t.C:
		}
		var busy, frames, copied int
		if err := db.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
			db.log.Warn().Err(err).Msg("WAL checkpoint failed; retrying")
		}
	}
}

// Ping checks that both pools answer; used by /readyz.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.reader.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close waits for queued writes to commit, checkpoints the WAL and closes
// the database (a read-only one: closes its readers). It is safe to call
// twice.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		if db.readOnly {
			err = db.reader.Close()
			return
		}
		// Commit what is queued; later writes get ErrClosed.
		db.lead.Lock()
		for batch := db.take(nil); len(batch) > 0; batch = db.take(nil) {
			db.commit(batch)
		}
		db.lead.Unlock()
		close(db.stopCkpt)
		<-db.ckptDone
		if _, cerr := db.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); cerr != nil {
			db.log.Warn().Err(cerr).Msg("WAL checkpoint at close failed; it will be redone at next start")
		}
		err = errors.Join(db.reader.Close(), db.ckpt.Close(), db.writer.Close())
		db.log.Info().Str("path", db.cfg.Path).Msg("database closed")
	})
	return err
}

// Backup writes a consistent copy of the database to path (which must not
// exist), while the agent keeps working: SQLite's VACUUM INTO on a
// read-only connection. The copy is created with mode 0600.
func Backup(ctx context.Context, dbPath, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	conn, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup of %s: %w", dbPath, err)
	}
	return nil
}
