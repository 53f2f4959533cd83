package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writePrivate makes the file at path with mode 0600, whatever mode a file
// there had before and whatever the umask: write fills a new file (named
// tmp) in a private directory beside path, on the same file system, and
// that file then takes path's place in one rename. A reader never sees
// half a file, nor the content with a mode others can read, and a failure
// leaves what was at path as it was.
//
// path must be new or a regular file: a directory, a device or a symbolic
// link there is refused rather than replaced or followed.
func writePrivate(path string, write func(tmp string) error) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; give the path of a new or regular file", path)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".edgeagent-write-")
	if err != nil {
		return fmt.Errorf("cannot write beside %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, filepath.Base(path))
	if err := write(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// export writes what write writes to standard output, or, when path is
// given, to the file at path, mode 0600 (see writePrivate): exports hold
// the line's serials and facts.
func export(e env, path string, write func(w io.Writer) error) error {
	if path == "" {
		w := bufio.NewWriter(e.stdout)
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	}
	return writePrivate(path, func(tmp string) error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		if err := write(w); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Close()
	})
}
