package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LockFile is the name of the single-instance lock in the data directory.
const LockFile = "edgeagent.lock"

// How long Lock and Holder keep trying when the lock or its contents are
// momentarily taken by a probe (Holder) or a holder that is still writing
// its PID. A real second agent is refused after this long.
const (
	lockRetryFor   = 200 * time.Millisecond
	lockRetryEvery = 5 * time.Millisecond
)

// DirLock is the data directory's single-instance lock, taken by Lock: an
// exclusive flock on DIR/edgeagent.lock held, through the open file, until
// Release. The kernel drops it when the process ends however it ends, so a
// lock left by a dead agent is simply taken by the next one. The file is opened close-on-exec:
// programs the agent starts do not inherit the lock.
type DirLock struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// LockedError is returned by Lock when another process holds the lock.
type LockedError struct {
	// PID of the holder, as it wrote it in the lock file; 0 when the
	// file did not name a live process.
	PID int
	// Path is the data directory.
	Path string
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another edgeagent (pid %d) is running on %s: stop it first, or use its API", e.PID, e.Path)
	}
	return fmt.Sprintf("another edgeagent is running on %s: stop it first, or use its API", e.Path)
}

// Lock takes the single-instance lock of the data directory dir (created
// with mode 0700 if missing) without waiting for it, and writes this
// process's PID and start time into the lock file (mode 0600). When another
// process holds the lock it returns a *LockedError naming that process.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	// os.OpenFile adds O_CLOEXEC; O_NOFOLLOW refuses a lock file that
	// is a symbolic link planted to make us write elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid, _ := readHolder(path)
			return nil, &LockedError{PID: pid, Path: dir}
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	// Write over the old contents first and cut what is left after, so a
	// reader never finds the file empty while it is held; it may find the
	// previous holder's PID for an instant, which readHolder waits out.
	content := fmt.Sprintf("%d\nstarted %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := f.Truncate(int64(len(content))); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return &DirLock{f: f, path: path}, nil
}

// Path returns the lock file's path.
func (l *DirLock) Path() string { return l.path }

// Release empties the lock file and releases the lock. The file itself
// stays: removing it would let a process that opened it just before take a
// lock on a file no longer in the directory while a third locks a new one.
// Release is safe to call twice.
func (l *DirLock) Release() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	terr := l.f.Truncate(0)
	cerr := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	if err := errors.Join(terr, cerr); err != nil {
		return fmt.Errorf("store: release %s: %w", l.path, err)
	}
	return nil
}

// Holder reports whether an agent holds the lock of the data directory dir
// and, when it does, its PID (0 if the lock file does not name a live
// process). It never creates the lock file and does not keep the lock.
func Holder(dir string) (pid int, running bool, err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	// A shared lock is enough to learn whether an exclusive one is held,
	// and two probes do not get in each other's way.
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return 0, false, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return 0, false, fmt.Errorf("store: lock %s: %w", path, err)
	}
	pid, err = readHolder(path)
	return pid, true, err
}

// flock takes how (LOCK_EX or LOCK_SH) on f without blocking, trying again
// for a short while: a Holder probe keeps a shared lock for microseconds,
// and an agent starting at that moment must not take it for a second agent.
func flock(f *os.File, how int) error {
	deadline := time.Now().Add(lockRetryFor)
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(lockRetryEvery)
	}
}

// readHolder returns the PID written in the lock file at path, waiting a
// little for a live one: a holder that has just taken the lock may not have
// replaced its predecessor's PID yet. It returns 0 when the file names no
// live process.
func readHolder(path string) (int, error) {
	deadline := time.Now().Add(lockRetryFor)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pid, perr := strconv.Atoi(strings.TrimSpace(first))
		if perr == nil && pid > 0 && alive(pid) {
			return pid, nil
		}
		if time.Now().After(deadline) {
			return 0, nil
		}
		time.Sleep(lockRetryEvery)
	}
}

// alive reports whether a process with this PID exists (EPERM: it does,
// as another user).
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
