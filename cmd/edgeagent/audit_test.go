package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/store"
)

// TestAuditVerifyAndExport runs both commands against a database: intact,
// exported (to standard output and to a private file), then edited by hand.
func TestAuditVerifyAndExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	cfg := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("line:\n  name: line-9\ndata_dir: "+dir+"\nhttp:\n  listen: 127.0.0.1:0\n  token: a-long-enough-token\n"), 0o600))
	dbPath := filepath.Join(dir, "edgeagent.db")
	db, err := store.Open(context.Background(), store.Config{Path: dbPath}, zerolog.Nop())
	require.NoError(t, err)
	for _, r := range []string{"found on the pack", "not on the line", "found on the pack"} {
		require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
			return audit.Write(tx, "user:Ana", "label.resolve", "09506000134352/SN1", "unknown", "printed", r)
		}))
	}
	rep, err := audit.Verify(context.Background(), db.Reader())
	require.NoError(t, err)
	head := rep.Head
	require.NoError(t, db.Close())

	code, out, errs := runCLI(t, "", "audit", "verify", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "audit log intact: 3 entries, head #3 "+head.Hash+"\n", out)
	code, out, errs = runCLI(t, "", "audit", "verify", "--config", cfg, "--head", "3:"+head.Hash)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "it holds the recorded head #3 "+head.Hash)
	code, _, errs = runCLI(t, "", "audit", "verify", "--config", cfg, "--head", "3")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "as ID:HASH")
	code, _, errs = runCLI(t, "", "audit", "verify")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--config FILE is required")

	// To standard output: three entries and the head.
	code, out, errs = runCLI(t, "", "audit", "export", "--config", cfg)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4)
	var first audit.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, audit.Genesis, first.PrevHash)
	require.Equal(t, first.Sum(), first.Hash)
	require.JSONEq(t, `{"head":{"id":3,"hash":"`+head.Hash+`"}}`, lines[3])

	// To a file that existed, open to everyone: truncated and made private.
	exp := filepath.Join(dir, "audit.jsonl")
	require.NoError(t, os.WriteFile(exp, []byte(strings.Repeat("old content\n", 100)), 0o644))
	require.NoError(t, os.Chmod(exp, 0o644))
	code, out, errs = runCLI(t, "", "audit", "export", "--config", cfg, "--out", exp)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "3 entries written to "+exp+", head #3 "+head.Hash+"\n", out)
	data, err := os.ReadFile(exp)
	require.NoError(t, err)
	require.Equal(t, strings.Join(lines, "\n")+"\n", string(data))
	st, err := os.Stat(exp)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	fresh := filepath.Join(dir, "fresh.jsonl")
	code, _, errs = runCLI(t, "", "audit", "export", "--config", cfg, "--out", fresh)
	require.Equal(t, 0, code, errs)
	st, err = os.Stat(fresh)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The newest entry deleted: the chain is intact, the recorded head is not there.
	raw, err := sql.Open("sqlite3", "file:"+dbPath)
	require.NoError(t, err)
	for _, s := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id = 3`} {
		_, err := raw.Exec(s)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())
	code, out, errs = runCLI(t, "", "audit", "verify", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "audit log intact: 2 entries, head #2 ")
	code, _, errs = runCLI(t, "", "audit", "verify", "--config", cfg, "--head", "#3:"+head.Hash)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "audit verify: audit log not intact: entry #3, the head recorded earlier, is missing: entries were deleted")

	// Edited by someone with the sqlite3 shell.
	raw, err = sql.Open("sqlite3", "file:"+dbPath)
	require.NoError(t, err)
	for _, s := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET reason = 'x' WHERE id = 2`} {
		_, err := raw.Exec(s)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())
	code, out, errs = runCLI(t, "", "audit", "verify", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, out, "entry #2 was changed after it was written")
	require.Contains(t, errs, "audit verify: audit log not intact: 1 problem in 2 entries; the first: entry #2 was changed after it was written")
}
