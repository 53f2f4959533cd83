package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBy asserts that err is a *LockedError naming pid and dir.
func lockedBy(t *testing.T, err error, pid int, dir string) {
	t.Helper()
	var le *LockedError
	require.True(t, errors.As(err, &le), "want a *LockedError, got %v", err)
	require.Equal(t, pid, le.PID)
	require.Equal(t, dir, le.Path)
	require.EqualError(t, err, fmt.Sprintf("another edgeagent (pid %d) is running on %s: stop it first, or use its API", pid, dir))
}

// lockPID returns the PID written on the lock file's first line.
func lockPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	require.NoError(t, err)
	first, rest, _ := strings.Cut(string(b), "\n")
	require.True(t, strings.HasPrefix(rest, "started "), "second line is the start time: %q", b)
	pid, err := strconv.Atoi(first)
	require.NoError(t, err, "lock file %q", b)
	return pid
}

func TestLockRefusesSecondLockInProcess(t *testing.T) {
	dir := privateTempDir(t)
	l, err := Lock(dir)
	require.NoError(t, err)
	m, err := fileMode(l.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), m)
	require.Equal(t, os.Getpid(), lockPID(t, dir))

	// flock belongs to the open file description: a second open of the
	// same file in this process is refused like another process.
	_, err = Lock(dir)
	lockedBy(t, err, os.Getpid(), dir)
	pid, running, err := Holder(dir)
	require.NoError(t, err)
	require.True(t, running)
	require.Equal(t, os.Getpid(), pid)

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "Release is safe twice")
	pid, running, err = Holder(dir)
	require.NoError(t, err)
	require.False(t, running)
	require.Zero(t, pid)
	l2, err := Lock(dir)
	require.NoError(t, err, "released: the next agent takes it")
	require.NoError(t, l2.Release())
}

// TestLockHeldByAnotherProcess starts a child that takes the lock; the
// parent is refused with the child's PID, and takes the lock once the child
// is killed with SIGKILL (no Release, no clean-up).
func TestLockHeldByAnotherProcess(t *testing.T) {
	if os.Getenv("EDGEAGENT_LOCK_CHILD") != "" {
		return // this process is the child of another run of this test
	}
	dir := privateTempDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$")
	cmd.Env = append(os.Environ(), "EDGEAGENT_LOCK_CHILD="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "locked" {
	}
	require.Equal(t, "locked", sc.Text(), "child did not take the lock")
	child := cmd.Process.Pid

	_, err = Lock(dir)
	lockedBy(t, err, child, dir)
	pid, running, err := Holder(dir)
	require.NoError(t, err)
	require.True(t, running)
	require.Equal(t, child, pid)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	pid, running, err = Holder(dir)
	require.NoError(t, err)
	require.False(t, running, "a dead holder holds nothing")
	require.Zero(t, pid)
	l, err := Lock(dir)
	require.NoError(t, err, "the lock of a killed agent is taken")
	defer l.Release()
	require.Equal(t, os.Getpid(), lockPID(t, dir), "the dead holder's PID is replaced")
}

// TestLockChild is the child side of TestLockHeldByAnotherProcess: it takes
// the lock, says so, and waits to be killed.
func TestLockChild(t *testing.T) {
	dir := os.Getenv("EDGEAGENT_LOCK_CHILD")
	if dir == "" {
		return // a helper process: it does its work only when TestLockHeldByAnotherProcess starts it
	}
	if _, err := Lock(dir); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	for {
		time.Sleep(time.Hour)
	}
}

func TestLockTakesStaleLockFile(t *testing.T) {
	dir := privateTempDir(t)
	path := filepath.Join(dir, LockFile)
	// Left by an agent that died, with a PID no process has and a longer
	// line than ours, which must not survive as a tail.
	require.NoError(t, os.WriteFile(path, []byte("2147483647\nstarted 2001-01-01T00:00:00Z and more text\n"), 0o600))
	pid, running, err := Holder(dir)
	require.NoError(t, err)
	require.False(t, running)
	require.Zero(t, pid)
	l, err := Lock(dir)
	require.NoError(t, err)
	defer l.Release()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Regexp(t, `^`+strconv.Itoa(os.Getpid())+`\nstarted \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`, string(b))
}

func TestHolderNeverCreatesTheLockFile(t *testing.T) {
	dir := privateTempDir(t)
	pid, running, err := Holder(dir)
	require.NoError(t, err)
	require.False(t, running)
	require.Zero(t, pid)
	_, err = os.Stat(filepath.Join(dir, LockFile))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLockCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(privateTempDir(t), "state")
	l, err := Lock(dir)
	require.NoError(t, err)
	defer l.Release()
	m, err := fileMode(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), m)
}

func TestLockRefusesSymlinkedLockFile(t *testing.T) {
	dir := privateTempDir(t)
	target := filepath.Join(dir, "elsewhere")
	require.NoError(t, os.WriteFile(target, []byte("keep me\n"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, LockFile)))
	_, err := Lock(dir)
	require.Error(t, err)
	b, rerr := os.ReadFile(target)
	require.NoError(t, rerr)
	require.Equal(t, "keep me\n", string(b), "the link's target is not written")
}
