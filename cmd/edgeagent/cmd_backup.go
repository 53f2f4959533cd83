package main

import (
	"fmt"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/store"
)

func cmdBackup(e env) error {
	fs := flags(e, "backup", "--config FILE --out FILE",
		"Write a consistent copy of the database while the agent runs (SQLite VACUUM INTO). The copy is 0600.\n"+
			"To restore: stop the agent, replace store.path with the copy (delete its -wal and -shm files), start it.")
	cfgPath := fs.String("config", "", "configuration file")
	out := fs.String("out", "", "the copy to write (must not exist)")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 || *cfgPath == "" || *out == "" {
		return usageError{"--config FILE and --out FILE are required"}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitError{1, err}
	}
	if err := store.Backup(e.ctx, cfg.Store.Path, *out); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "backup written to %s\n", *out)
	return nil
}
