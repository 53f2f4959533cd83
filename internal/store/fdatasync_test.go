package store

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fdatasyncCommits = 40

// A durable commit syncs the WAL with fdatasync, not a full fsync: the
// bundled SQLite is built with -DHAVE_FDATASYNC=1 (the Makefile sets it in
// CGO_CFLAGS for every build). The syscalls are counted with strace.
func TestCommitsUseFdatasync(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fdatasync is counted on Linux")
	}
	if !strings.Contains(os.Getenv("CGO_CFLAGS"), "-DHAVE_FDATASYNC=1") {
		t.Skip("built without the Makefile: CGO_CFLAGS lacks -DHAVE_FDATASYNC=1 (make test sets it)")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed: apt-get install strace to count the syncs")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "strace.txt")
	cmd := exec.Command(strace, "-f", "-qq", "-c", "-e", "trace=fsync,fdatasync", "-o", out,
		os.Args[0], "-test.run=^TestFdatasyncCommits$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EDGEAGENT_FDATASYNC_DIR="+dir)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	report, err := os.ReadFile(out)
	require.NoError(t, err)
	calls := func(name string) int {
		m := regexp.MustCompile(`(?m)^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?` + name + `$`).FindSubmatch(report)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	fdatasync, fsync := calls("fdatasync"), calls("fsync")
	t.Logf("%d commits: %d fdatasync, %d fsync\n%s", fdatasyncCommits, fdatasync, fsync, report)
	assert.GreaterOrEqual(t, fdatasync, fdatasyncCommits, "each commit syncs the WAL with fdatasync")
	assert.Less(t, fsync, fdatasyncCommits/4, "full fsyncs only where SQLite needs one (a directory, a checkpoint)")
}

// TestFdatasyncCommits is the workload TestCommitsUseFdatasync counts: it
// runs only when that test starts it.
func TestFdatasyncCommits(t *testing.T) {
	dir := os.Getenv("EDGEAGENT_FDATASYNC_DIR")
	if dir == "" {
		t.Skip("run by TestCommitsUseFdatasync under strace")
	}
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: filepath.Join(dir, "data", "sync.db")}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE t (v INTEGER)`)
		return err
	}))
	for i := range fdatasyncCommits {
		require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO t VALUES (?)`, i)
			return err
		}))
	}
}
