package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/store"
)

func cmdBackup(e env) error {
	fs := flags(e, "backup", "--config FILE --out FILE [--force]",
		"Write a consistent copy of the database while the agent runs (SQLite VACUUM INTO). The copy is 0600.\n"+
			"An existing FILE is kept unless --force is given; then it is replaced whole, and only once the copy is complete.\n"+
			"To restore: stop the agent, replace store.path with the copy (delete its -wal and -shm files), start it.")
	cfgPath := fs.String("config", "", "configuration file")
	out := fs.String("out", "", "the copy to write (must not exist, unless --force)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 || *cfgPath == "" || *out == "" {
		return usageError{"--config FILE and --out FILE are required"}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitError{1, err}
	}
	if err := backup(e, cfg.Store.Path, *out, *force); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "backup written to %s\n", *out)
	return nil
}

// backup copies the database at dbPath to out, mode 0600. A new out is
// created by the copy itself, which never overwrites a file (one that
// appears meanwhile is kept). An existing out is replaced only with force,
// by a complete copy made beside it (see writePrivate).
func backup(e env, dbPath, out string, force bool) error {
	exists := func() error {
		return fmt.Errorf("%s already exists; give --force to replace it, or choose another file", out)
	}
	if _, err := os.Lstat(out); err == nil {
		if !force {
			return exists()
		}
		return writePrivate(out, func(tmp string) error {
			return storeError(store.Backup(e.ctx, dbPath, tmp))
		})
	}
	err := store.Backup(e.ctx, dbPath, out)
	if errors.Is(err, fs.ErrExist) {
		return exists()
	}
	if err != nil {
		return storeError(err)
	}
	return os.Chmod(out, 0o600) // 0600 exactly, whatever the umask
}

// storeError drops the "backup: " the store puts before its errors: the
// command's name already heads the message.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), "backup: "))
}
