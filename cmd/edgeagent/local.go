package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/store"
)

// The CLI never writes beside a running agent: a command that changes the
// line asks the running agent through its /api/v1 (so the agent's own
// state, its printers and stations, stays in step), and only when no agent
// runs does it take the agent's lock and change the database itself.
// Commands that only read open the database read-only.

// loadConfig loads the configuration a command names.
func loadConfig(cfgPath string) (config.Config, error) {
	if cfgPath == "" {
		return config.Config{}, usageError{"--config FILE is required"}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return cfg, exitError{1, err}
	}
	return cfg, nil
}

// readLine opens the line read-only, beside a running agent or not.
func readLine(e env, cfgPath string) (*api.Line, *store.DB, error) {
	cfg, db, err := readStore(e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	l, err := agent.NewLine(e.ctx, db, agentConfig(cfg, nil), nil, zerolog.Nop())
	if err != nil {
		db.Close()
		return nil, nil, exitError{1, err}
	}
	return l, db, nil
}

// readStore opens the database read-only, beside a running agent or not,
// for commands that read tables without the line around them.
func readStore(e env, cfgPath string) (config.Config, *store.DB, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return cfg, nil, err
	}
	db, err := store.OpenReadOnly(e.ctx, store.Config{Path: cfg.Store.Path}, zerolog.Nop())
	if err != nil {
		return cfg, nil, exitError{1, err}
	}
	return cfg, db, nil
}

// change carries out a change of the line: through the running agent's
// API (path and body) when one runs, else with local on the database,
// holding the agent's lock so that no agent starts meanwhile.
func change(e env, cfgPath, path string, body map[string]any, local func(ctx context.Context, l *api.Line) (map[string]any, error)) (map[string]any, error) {
	return changeStore(e, cfgPath, path, body, func(ctx context.Context, cfg config.Config, db *store.DB) (map[string]any, error) {
		ac := agentConfig(cfg, nil)
		l, err := agent.NewLine(ctx, db, ac, nil, zerolog.Nop())
		if err == nil {
			err = agent.RegisterProducts(ctx, l, ac.Products)
		}
		if err != nil {
			return nil, err
		}
		return local(ctx, l)
	})
}

// changeStore is change for commands that need only the database (people
// and their credentials), not the line built on it.
func changeStore(e env, cfgPath, path string, body map[string]any,
	local func(ctx context.Context, cfg config.Config, db *store.DB) (map[string]any, error)) (map[string]any, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	lock, err := store.Lock(filepath.Dir(cfg.Store.Path))
	var locked *store.LockedError
	if errors.As(err, &locked) {
		return callAgent(e, cfgPath, path, body)
	}
	if err != nil {
		return nil, exitError{1, err}
	}
	defer lock.Release()
	db, err := store.Open(e.ctx, store.Config{Path: cfg.Store.Path}, zerolog.Nop())
	if err != nil {
		return nil, exitError{1, err}
	}
	defer db.Close()
	res, err := local(e.ctx, cfg, db)
	if err != nil {
		return nil, exitError{1, err}
	}
	return res, nil
}
