package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

func TestQueueCommands(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	cfg := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("line:\n  name: line-9\ndata_dir: "+dir+"\nhttp:\n  listen: 127.0.0.1:0\n  token: a-long-enough-token\n"), 0o600))
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "edgeagent.db")}, zerolog.Nop())
	require.NoError(t, err)
	ob := queue.New(db)
	for _, k := range []string{"A", "B"} {
		_, err := ob.EnqueueNow(context.Background(), queue.Item{Kind: "commission", Stream: "PO-1", Key: k, Payload: []byte(`{"serial":"` + k + `"}`)})
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	code, out, errs := runCLI(t, "", "queue", "status", "--config", cfg)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "pending:   2\nparked:    0")

	code, _, errs = runCLI(t, "", "queue", "park", "1", "--config", cfg)
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--reason is required")
	code, out, errs = runCLI(t, "", "queue", "park", "1", "--config", cfg, "--reason", "wrong batch")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "item 1 parked")

	code, out, _ = runCLI(t, "", "queue", "list", "--config", cfg, "--state", "parked")
	require.Equal(t, 0, code)
	require.Contains(t, out, "commission  PO-1    A    parked")
	require.Contains(t, out, ": wrong batch")
	require.NotContains(t, out, " B ")

	code, out, errs = runCLI(t, "", "queue", "retry", "1", "--config", cfg, "--reason", "batch fixed")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "item 1 will be sent again")
	code, _, errs = runCLI(t, "", "queue", "retry", "99", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "no such outbox item: 99")

	exp := filepath.Join(dir, "export.jsonl")
	code, out, errs = runCLI(t, "", "queue", "export", "--config", cfg, "--out", exp)
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "2 items written")
	data, err := os.ReadFile(exp)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(data), "\n"))
	require.Contains(t, string(data), `"payload":{"serial":"A"}`)
	st, _ := os.Stat(exp)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// Both manual actions are in the audit log.
	db, err = store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "edgeagent.db")}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('queue.park', 'queue.retry') AND actor LIKE 'cli%'`).Scan(&n))
	require.Equal(t, 2, n)
}

func TestSerialsAndLabelCommands(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	cfg := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("line:\n  name: line-9\n  products:\n    - gtin: \"09506000134352\"\n      market: EU\n"+
		"      batches: [{batch: AB12, expiry: \"261231\"}]\ndata_dir: "+dir+"\nhttp:\n  listen: 127.0.0.1:0\n  token: a-long-enough-token\n"), 0o600))
	code, out, errs := runCLI(t, "SN-1\nSN-2\n\nSN-2\n", "serials", "import", "--config", cfg, "--gtin", "09506000134352", "-")
	require.Equal(t, 0, code, errs)
	require.Equal(t, "2 of 3 serials added (1 were known); 2 available for 09506000134352\n", out)
	code, _, errs = runCLI(t, "bad serial\n", "serials", "import", "--config", cfg, "--gtin", "09506000134352", "-")
	require.Equal(t, 1, code)
	require.Contains(t, errs, `serial 1 ("bad serial"): character ' ' at position 4 is not in GS1 character set 82`)

	code, out, _ = runCLI(t, "", "labels", "unknown", "--config", cfg)
	require.Equal(t, 0, code)
	require.Equal(t, "no labels with an unknown outcome\n", out)
	code, _, errs = runCLI(t, "", "labels", "resolve", "7", "--config", cfg, "--printed", "--void", "--reason", "x")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "exactly one of --printed and --void")
	code, _, errs = runCLI(t, "", "labels", "resolve", "7", "--config", cfg, "--void", "--reason", "not on the line")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "label 7")
}
