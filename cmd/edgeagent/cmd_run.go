package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/logging"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// agentConfig maps the configuration file to the agent's parts.
func agentConfig(cfg config.Config, templates *zpl.Set) agent.Config {
	return agent.FromConfig(cfg, templates, version)
}

func cmdRun(e env) error {
	fs := flags(e, "run", "--config FILE", "Run the agent as a service until SIGINT or SIGTERM.")
	cfgPath := fs.String("config", "", "configuration file")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if *cfgPath == "" || len(pos) > 0 {
		return usageError{"--config FILE is required"}
	}
	cfg, err := loadRunConfig(*cfgPath)
	if err != nil {
		return exitError{1, err}
	}
	log, err := logging.New(e.stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return exitError{1, err}
	}
	log.Info().Str("version", version).Str("line", cfg.Line.Name).Str("config", *cfgPath).Msg("edgeagent starting")

	templates, err := templateSet(cfg.Line.TemplatesDir)
	if err != nil {
		log.Error().Err(err).Str("dir", cfg.Line.TemplatesDir).Msg("cannot load the label templates")
		return exitError{1, fmt.Errorf("line.templates_dir: %w", err)}
	}
	log.Info().Strs("templates", templates.Tags()).Msg("label templates loaded")

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return exitError{1, err}
	}
	a, err := agent.Start(e.ctx, agentConfig(cfg, templates), log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
		}
		return exitError{1, err}
	}
	srv := a.API
	log.Info().Msg("edgeagent ready")
	if err := sdNotify("READY=1\nSTATUS=serving " + cfg.HTTP.Listen); err != nil {
		log.Warn().Err(err).Msg("cannot tell systemd the agent is ready")
	}
	wctx, stopWatchdog := context.WithCancel(e.ctx)
	defer stopWatchdog()
	go watchdog(wctx, a.DB.Ping, log)

	var runErr error
	select {
	case <-e.ctx.Done():
		log.Info().Msg("stopping: signal received")
	case err := <-srv.Err():
		runErr = err
		log.Error().Err(err).Msg("stopping: http server failed")
	}

	_ = sdNotify("STOPPING=1")
	stopWatchdog()
	// Shut down in reverse order with a fresh deadline; a second signal aborts the drain.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			log.Warn().Msg("second signal: aborting the drain")
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := a.Stop(ctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	log.Info().Msg("edgeagent stopped")
	if runErr != nil {
		return exitError{1, runErr}
	}
	return nil
}
