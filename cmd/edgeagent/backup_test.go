package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// lineWithDB writes a configuration (0600) for a database with two outbox
// items and returns the configuration's path and the directory beside it.
func lineWithDB(t *testing.T) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	dbPath := filepath.Join(dir, "data", "x.db")
	cfg = filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("line:\n  name: line-9\nstore:\n  path: "+dbPath+"\nhttp:\n  listen: 127.0.0.1:0\n  token: a-long-enough-token\n"), 0o600))
	db, err := store.Open(context.Background(), store.Config{Path: dbPath}, zerolog.Nop())
	require.NoError(t, err)
	ob := queue.New(db)
	for _, k := range []string{"A", "B"} {
		_, err := ob.EnqueueNow(context.Background(), queue.Item{Kind: "commission", Stream: "PO-1", Key: k, Payload: []byte(`{"serial":"` + k + `"}`)})
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	return cfg, dir
}

// requireMode asserts a file's permissions.
func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, st.Mode().Perm(), "%s is %04o", path, st.Mode().Perm())
}

// requireNoLeftovers asserts that nothing but the named files is in dir.
func requireNoLeftovers(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, names, got)
}

// A backup is 0600, never replaces a file by accident, and with --force
// replaces one whole, also one others could read.
func TestBackupKeepsAnExistingFileUnlessForced(t *testing.T) {
	cfg, dir := lineWithDB(t)
	out := filepath.Join(dir, "copy.db")
	code, stdout, errs := runCLI(t, "", "backup", "--config", cfg, "--out", out)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "backup written to "+out+"\n", stdout)
	requireMode(t, out, 0o600)
	requireSQLite(t, out)

	// An existing file is kept, and the message says so once.
	old := filepath.Join(dir, "old.db")
	require.NoError(t, os.WriteFile(old, []byte("last week's copy"), 0o600))
	require.NoError(t, os.Chmod(old, 0o644))
	code, _, errs = runCLI(t, "", "backup", "--config", cfg, "--out", old)
	require.Equal(t, 1, code)
	require.Equal(t, fmt.Sprintf("edgeagent backup: %s already exists; give --force to replace it, or choose another file\n", old), errs)
	data, err := os.ReadFile(old)
	require.NoError(t, err)
	require.Equal(t, "last week's copy", string(data))

	// --force replaces it with a copy that is 0600, and leaves nothing beside it.
	code, _, errs = runCLI(t, "", "backup", "--config", cfg, "--out", old, "--force")
	require.Equal(t, 0, code, errs)
	requireMode(t, old, 0o600)
	requireSQLite(t, old)
	requireNoLeftovers(t, dir, "data", "edgeagent.yaml", "copy.db", "old.db")

	// A directory or a link in the way is refused, not replaced or followed.
	link := filepath.Join(dir, "link.db")
	require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere.db"), link))
	code, _, errs = runCLI(t, "", "backup", "--config", cfg, "--out", link, "--force")
	require.Equal(t, 1, code)
	require.Contains(t, errs, link+" is not a regular file")
	_, err = os.Lstat(filepath.Join(dir, "elsewhere.db"))
	require.True(t, os.IsNotExist(err), "the link was not followed")
}

func requireSQLite(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "SQLite format 3\x00"), "%s is a database", path)
}

// An export replaces a file others could read with one only the owner can.
func TestQueueExportOverAWiderFileIsPrivate(t *testing.T) {
	cfg, dir := lineWithDB(t)
	exp := filepath.Join(dir, "export.jsonl")
	require.NoError(t, os.WriteFile(exp, []byte("an older export, longer than the new one will be……………………………………………………………………………………………\n"), 0o600))
	require.NoError(t, os.Chmod(exp, 0o644))
	code, out, errs := runCLI(t, "", "queue", "export", "--config", cfg, "--out", exp)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "2 items written to "+exp+"\n", out)
	requireMode(t, exp, 0o600)
	data, err := os.ReadFile(exp)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(data), "\n"))
	require.NotContains(t, string(data), "older export")
	requireNoLeftovers(t, dir, "data", "edgeagent.yaml", "export.jsonl")
}

// config check and every command refuse a configuration others can read
// that holds a secret; the message names the chmod.
func TestConfigCheckRefusesWideFileWithInlineSecret(t *testing.T) {
	cfg, _ := lineWithDB(t)
	require.NoError(t, os.Chmod(cfg, 0o644))
	want := fmt.Sprintf("%s is mode 0644 and holds a secret inline (http.token): run chmod 600 %s, or take the secret from the environment with ${NAME}\n", cfg, cfg)
	code, _, errs := runCLI(t, "", "config", "check", cfg)
	require.Equal(t, 1, code)
	require.Equal(t, "edgeagent config check: "+want, errs)
	code, _, errs = runCLI(t, "", "queue", "status", "--config", cfg)
	require.Equal(t, 1, code)
	require.Equal(t, "edgeagent queue status: "+want, errs)

	require.NoError(t, os.Chmod(cfg, 0o600))
	code, out, errs := runCLI(t, "", "config", "check", cfg)
	require.Equal(t, 0, code, errs)
	require.Equal(t, cfg+": ok\n", out)
}

// init never replaces a configuration, whatever its mode.
func TestInitKeepsAnExistingConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "edgeagent.yaml")
	require.NoError(t, os.WriteFile(p, []byte("line: {name: mine}\n"), 0o600))
	require.NoError(t, os.Chmod(p, 0o644))
	code, _, errs := runCLI(t, "", "init", p)
	require.Equal(t, 1, code)
	require.Contains(t, errs, p+" already exists")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "line: {name: mine}\n", string(data))
	requireMode(t, p, 0o644)
}

// config check reports every fault, one a line as FILE: field: rule, with
// the parsers run uses for printer and scanner URLs; run refuses the same
// file before it makes a database.
func TestConfigCheckReportsEveryFaultAsRunWould(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
http:
  token: 0123456789abcdef
line:
  name: l1
  printers:
    - tag: p1
      url: http://x
    - tag: p2
      url: tcp://host:99999
  stations:
    - name: s1
      mode: case
      scanners: ["bogus://x", "serial:///dev/ttyS1?baud=fast"]
`), 0o600))
	code, _, errs := runCLI(t, "", "config", "check", cfg)
	require.Equal(t, 1, code)
	p := "edgeagent config check: " + cfg + ": "
	assert.Equal(t, p+`line.printers[0].url: printer URL "http://x": scheme must be tcp, usb, serial or file`+"\n"+
		p+`line.printers[1].url: tcp URL "tcp://host:99999": port "99999" must be 1-65535`+"\n"+
		p+`line.stations[0].scanners[0]: scanner URL "bogus://x": scheme must be serial, tcp, tcp-listen, hidpos, evdev or stdin`+"\n"+
		p+`line.stations[0].scanners[1]: serial URL "serial:///dev/ttyS1?baud=fast": baud "fast" must be 1200 to 921600`+"\n", errs)

	code, _, errs = runCLI(t, "", "run", "--config", cfg)
	require.Equal(t, 1, code)
	assert.Equal(t, 4, strings.Count(errs, "edgeagent run: "+cfg+": "), errs)
	assert.NoDirExists(t, filepath.Join(dir, "data"), "run stops before it makes the data directory and its database")

	// A decoding fault names the setting and the rule, not a Go type.
	require.NoError(t, os.WriteFile(cfg, []byte("log:\n  formt: json\nshutdown_timeout: soon\n"), 0o600))
	code, _, errs = runCLI(t, "", "config", "check", cfg)
	require.Equal(t, 1, code)
	assert.Equal(t, p+"log.formt: is not a known setting; did you mean format? (line 2)\n"+
		p+`shutdown_timeout: must be a duration (for example 500ms, 30s or 5m), not "soon" (line 3)`+"\n", errs)
}
