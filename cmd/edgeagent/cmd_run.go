package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/logging"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// agentConfig maps the configuration file to the agent's parts.
func agentConfig(cfg config.Config, templates *zpl.Set) agent.Config {
	ac := agent.Config{
		DB: store.Config{Path: cfg.Store.Path, MaxBatch: cfg.Store.GroupCommitMaxBatch, MaxDelay: cfg.Store.GroupCommitMaxDelay,
			MaxPageCount: cfg.Store.MaxPages},
		LineName:  cfg.Line.Name,
		Templates: templates,
		Serials: ledger.SerialConfig{Generate: cfg.Line.Serials.Generate, Length: cfg.Line.Serials.Length,
			Alphabet: cfg.Line.Serials.Alphabet, LowPool: cfg.Line.Serials.LowPool},
		Extra:   orders.Extra{Amount: cfg.Line.ExtraLabels.Amount, Type: cfg.Line.ExtraLabels.Type},
		Listen:  cfg.HTTP.Listen,
		Tokens:  map[string]string{"local": cfg.HTTP.Token.Reveal()},
		Queue:   queue.Config{Workers: cfg.Sync.Workers, DefaultBatch: cfg.Sync.MaxBatch, Retention: cfg.Sync.Retention},
		Version: version,
	}
	for _, p := range cfg.Line.Printers {
		ac.Printers = append(ac.Printers, agent.PrinterConfig{Tag: p.Tag, URL: p.URL})
	}
	for _, p := range cfg.Line.Products {
		b := map[string]string{}
		for _, x := range p.Batches {
			b[x.Batch] = x.Expiry
		}
		ac.Products = append(ac.Products, agent.Product{GTIN: p.GTIN, Market: p.Market, Batches: b})
		if p.CaseCapacity > 0 || p.PalletCapacity > 0 {
			if ac.Capacities == nil {
				ac.Capacities = map[string]stations.Capacity{}
			}
			ac.Capacities[p.GTIN] = stations.Capacity{Case: p.CaseCapacity, Pallet: p.PalletCapacity}
		}
	}
	ac.SSCC = containers.SSCCConfig{CompanyPrefix: cfg.Line.SSCC.CompanyPrefix, Extension: cfg.Line.SSCC.Extension}
	for _, st := range cfg.Line.Stations {
		sc := agent.StationConfig{StationConfig: stations.StationConfig{Name: st.Name, Mode: st.Mode, Printer: st.Printer, Reason: st.Reason,
			SendToMarket: st.SendToMarket, Order: st.Order, CaseCapacity: st.CaseCapacity, PalletCapacity: st.PalletCapacity,
			IntegrationID: st.IntegrationID}, Scanners: st.Scanners, Layout: st.Layout}
		if st.GS != "" {
			sc.GS = st.GS[0]
		}
		ac.Stations = append(ac.Stations, sc)
	}
	for _, t := range cfg.V2.Tokens {
		ac.Tokens[t.Name] = t.Token.Reveal()
	}
	for _, k := range cfg.V2.ChannelKeys {
		ac.ChannelKeys = append(ac.ChannelKeys, k.Reveal())
	}
	if cfg.Cloud.BaseURL != "" {
		ac.Cloud = &cloud.Config{BaseURL: cfg.Cloud.BaseURL, ChannelKey: cfg.Cloud.ChannelKey.Reveal(), Token: cfg.Cloud.Token.Reveal(),
			APIKey: cfg.Cloud.APIKey.Reveal(), APISecret: cfg.Cloud.APISecret.Reveal(), BearerToken: cfg.Cloud.Bearer,
			CAFile: cfg.Cloud.CAFile, Timeout: cfg.Cloud.Timeout}
		if sh := cfg.Cloud.Shipping; sh.BaseURL != "" {
			ac.Shipping = &cloud.ShippingConfig{BaseURL: sh.BaseURL, PublicKey: sh.PublicKey.Reveal(), SecretKey: sh.SecretKey.Reveal(),
				PartnerID: sh.PartnerID, Timeout: cfg.Cloud.Timeout, CAFile: cfg.Cloud.CAFile}
		}
	}
	return ac
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
	cfg, err := config.Load(*cfgPath)
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
