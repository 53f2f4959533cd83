package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
)

// TestMigrationSealsTheAuditLog: a database written before the audit
// chain (schema 6) gets its entries sealed, in id order and unchanged, by
// migration 7, and from then on refuses to change them.
func TestMigrationSealsTheAuditLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "x.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, createDatabase(ctx, path))
	ms, err := loadMigrations()
	require.NoError(t, err)
	raw, err := sql.Open("sqlite3", WriterDSN(path))
	require.NoError(t, err)
	for _, m := range ms[:6] {
		_, err := raw.Exec(m.sql)
		require.NoError(t, err, m.name)
		_, err = raw.Exec("INSERT INTO schema_migrations(version, name) VALUES (?, ?)", m.version, m.name)
		require.NoError(t, err)
	}
	// Entries as the agent wrote them before the chain.
	old := []audit.Entry{
		{At: "2025-03-04T10:15:02.123456789Z", Actor: "user:Ana", Action: "label.resolve", Subject: "09506000134352/SN1", Old: "unknown", New: "printed", Reason: "found on the pack"},
		{At: "2025-03-04T10:16:00Z", Actor: "cli:root", Action: "queue.park", Subject: "outbox/7", Old: "pending", New: "parked", Reason: "wrong batch"},
		{At: "2025-03-04T10:17:00.5Z", Actor: "agent", Action: "labels.recover", Old: "printing", New: "unknown"},
	}
	for _, e := range old {
		_, err := raw.Exec(`INSERT INTO audit_log (at, actor, action, subject, old_value, new_value, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.At, e.Actor, e.Action, e.Subject, e.Old, e.New, e.Reason)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())

	db := openTest(t, Config{Path: path})
	v, err := db.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, len(ms), v)
	es, err := audit.Newest(ctx, db.Reader(), 10)
	require.NoError(t, err)
	require.Len(t, es, 3)
	prev := audit.Genesis
	for i := range old {
		e := es[len(es)-1-i]
		want := old[i]
		want.ID, want.PrevHash = int64(i+1), prev
		want.Hash = want.Sum()
		require.Equal(t, want, e, "entry #%d sealed as written", i+1)
		prev = e.Hash
	}
	rep, err := audit.Verify(ctx, db.Reader())
	require.NoError(t, err)
	require.True(t, rep.Intact(), "%v", rep.Problems)
	require.Equal(t, audit.Head{ID: 3, Hash: prev}, rep.Head)

	// Sealed once: the entries cannot be sealed again, or changed.
	err = db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = 1`, audit.Genesis, audit.Genesis)
		return err
	})
	require.ErrorContains(t, err, "the audit log is append-only")
	// New entries follow the sealed ones.
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error { return audit.Write(tx, "agent", "test.after", "", "", "", "") }))
	rep, err = audit.Verify(ctx, db.Reader())
	require.NoError(t, err)
	require.True(t, rep.Intact(), "%v", rep.Problems)
	require.Equal(t, int64(4), rep.Head.ID)
}

// TestSealRefusesAnEntryBeforeTheChain: Seal extends the chain; it does not
// seal an entry that sealed ones follow.
func TestSealRefusesAnEntryBeforeTheChain(t *testing.T) {
	db := openTest(t, Config{})
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		for range 2 {
			if err := audit.Write(tx, "agent", "test", "", "", "", ""); err != nil {
				return err
			}
		}
		return nil
	}))
	err := db.Write(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP TRIGGER audit_log_no_update`); err != nil {
			return err
		}
		// The only way to an entry without a hash before sealed ones: undo a seal by hand.
		if _, err := tx.Exec(`UPDATE audit_log SET prev_hash = NULL, hash = NULL WHERE id = 1`); err != nil {
			return err
		}
		_, err := audit.Seal(tx)
		return err
	})
	require.EqualError(t, err, "audit: entry #1 has no hash but entries after it have: seal only entries that follow the chain")
}
