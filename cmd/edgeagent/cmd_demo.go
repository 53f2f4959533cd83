package main

import (
	"fmt"
	"os"

	"github.com/edgeagent/edgeagent/internal/demo"
	"github.com/edgeagent/edgeagent/internal/logging"
)

func cmdDemo(e env) error {
	fs := flags(e, "demo", "[--data DIR] [--listen ADDR] [--pace N] [--outage D]",
		"Run the whole line on this machine: the agent, an emulated cloud, two emulated printers and a simulated line\n"+
			"that prints, packs cases and pallets, takes a sample and ships orders. The cloud goes offline for a minute and\n"+
			"a printer runs out of media once. The dashboard URL and token are printed. Ctrl-C stops; running it again continues.")
	dir := fs.String("data", "demo-data", "directory for the demo's state")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the dashboard and API")
	pace := fs.Float64("pace", 1, "speed of the simulated operators and printers (2 = twice as fast)")
	outage := fs.Duration("outage", 0, "how long the cloud goes offline in the first cycle (default 1m; negative: never)")
	level := fs.String("log", "info", "log level: debug, info, warn, error")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	if *pace <= 0 || *pace > 100 {
		return usageError{fmt.Sprintf("--pace must be more than 0 and at most 100; got %g", *pace)}
	}
	log, err := logging.New(e.stderr, "auto", *level)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return exitError{1, err}
	}
	err = demo.Run(e.ctx, demo.Config{Dir: *dir, Listen: *listen, Version: version, Log: log, Out: e.stdout, Pace: *pace, Outage: *outage})
	if err != nil {
		return exitError{1, err}
	}
	return nil
}
