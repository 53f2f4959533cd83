package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/store"
)

func cmdInit(e env) error {
	fs := flags(e, "init", "[FILE]", "Write a commented default configuration to FILE (default edgeagent.yaml), mode 0600.")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	path := "edgeagent.yaml"
	switch len(pos) {
	case 0:
	case 1:
		path = pos[0]
	default:
		return usageError{"at most one FILE"}
	}
	if err := config.WriteTemplate(path); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "wrote %s; set EDGEAGENT_TOKEN (16+ characters) in the environment, then run: edgeagent run --config %s\n", path, path)
	return nil
}

func cmdConfigCheck(e env) error {
	fs := flags(e, "config check", "FILE", "Validate a configuration file; each fault names the field and the rule.")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one FILE"}
	}
	cfg, err := loadRunConfig(pos[0])
	if err != nil {
		return exitError{1, err}
	}
	if err := checkUsed(e.ctx, cfg); err != nil {
		var skipped notCompared
		if !errors.As(err, &skipped) {
			return exitError{1, &config.Faults{File: pos[0], List: strings.Split(err.Error(), "\n")}}
		}
		fmt.Fprintf(e.stdout, "%s: ok (%v)\n", pos[0], err)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", pos[0])
	return nil
}

// notCompared is a database the ranges could not be compared with.
type notCompared struct{ err error }

func (n notCompared) Error() string {
	return fmt.Sprintf("line.sscc.ranges and line.serials.prefix were not compared with the database: %v", n.err)
}

// checkUsed compares the line's SSCC ranges and serial prefix with what
// the database at store.path says the line has used, as run does when it
// starts, read-only and beside a running agent. Without a database there
// is nothing to compare.
func checkUsed(ctx context.Context, cfg config.Config) error {
	if _, err := os.Stat(cfg.Store.Path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := store.OpenReadOnly(ctx, store.Config{Path: cfg.Store.Path}, zerolog.Nop())
	if err != nil {
		return notCompared{err}
	}
	defer db.Close()
	l, err := agent.NewLine(ctx, db, agentConfig(cfg, nil), nil, zerolog.Nop())
	if err != nil {
		return notCompared{err}
	}
	return agent.CheckRanges(ctx, l)
}
