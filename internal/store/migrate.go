package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/audit"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change, e.g. migrations/0002_outbox.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("store: migration file %q must be named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations must be numbered 1, 2, 3, …; %s is out of sequence", m.name)
		}
	}
	return out, nil
}

// goSteps are the parts of migrations that SQL cannot do, by version: each
// runs in its migration's transaction, right after its SQL.
var goSteps = map[int]func(tx *sql.Tx) error{
	// 0007_audit_chain.sql: the entries written before it get their
	// SHA-256 hashes, which SQLite cannot compute.
	7: func(tx *sql.Tx) error { _, err := audit.Seal(tx); return err },
}

// schemaMigrationsDDL creates the table that records applied migrations.
const schemaMigrationsDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))) STRICT`

// migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction, and returns how many it applied. A database newer
// than this binary is refused rather than used.
func (db *DB) migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := db.writer.ExecContext(ctx, schemaMigrationsDDL); err != nil {
		return 0, db.classify(err)
	}
	var current int
	if err := db.writer.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return 0, db.classify(err)
	}
	if current > len(ms) {
		return 0, fmt.Errorf("store: database schema version %d is newer than this edgeagent (knows %d): install the newer edgeagent or restore a backup", current, len(ms))
	}
	applied := 0
	for _, m := range ms[current:] {
		tx, err := db.writer.BeginTx(ctx, nil)
		if err != nil {
			return applied, db.classify(err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("store: migration %s: %w", m.name, db.classify(err))
		}
		if step := goSteps[m.version]; step != nil {
			if err := step(tx); err != nil {
				_ = tx.Rollback()
				return applied, fmt.Errorf("store: migration %s: %w", m.name, db.classify(err))
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name) VALUES (?, ?)", m.version, m.name); err != nil {
			_ = tx.Rollback()
			return applied, db.classify(err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("store: migration %s: %w", m.name, db.classify(err))
		}
		applied++
	}
	return applied, nil
}

// checkSchema refuses, for a read-only open, a database whose schema is not
// exactly the one this binary knows: it may not migrate it, and its queries
// are written for this schema only.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var tables, current int
	if err := db.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables); err != nil {
		return db.openErr(err)
	}
	if tables > 0 {
		if err := db.reader.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return db.openErr(err)
		}
	}
	switch {
	case current > len(ms):
		return fmt.Errorf("store: database schema version %d is newer than this edgeagent (knows %d): use the edgeagent that runs on it", current, len(ms))
	case current < len(ms):
		return fmt.Errorf("store: database schema version %d is older than this edgeagent (knows %d): start the agent once to migrate it, or use the edgeagent that wrote it", current, len(ms))
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.reader.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
