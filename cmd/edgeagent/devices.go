package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edgeagent/edgeagent/internal/agent"
	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/scanner"
)

// loadRunConfig reads a configuration as run uses it: config.Load's checks,
// then each printer and scanner URL through the parsers the printer
// runners and the scanner sources use, so that config check refuses what
// run would refuse, before any database is made.
func loadRunConfig(path string) (config.Config, error) {
	return config.Load(path, checkPrinters, checkScanners, checkRanges)
}

// checkRanges checks the line's SSCC ranges and serial settings with the
// rules the containers and the ledger apply when the agent starts.
func checkRanges(c config.Config) error {
	return errors.Join(containers.CheckSSCC(agent.SSCCConfig(c.Line.SSCC)), ledger.CheckSerials(agent.SerialConfig(c.Line.Serials)))
}

func checkPrinters(c config.Config) error {
	var errs []error
	for i, p := range c.Line.Printers {
		if !strings.Contains(p.URL, "://") {
			continue // config.Validate names it already
		}
		if err := printer.CheckURL(p.URL); err != nil {
			errs = append(errs, fmt.Errorf("line.printers[%d].url: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func checkScanners(c config.Config) error {
	var errs []error
	for i, st := range c.Line.Stations {
		for j, u := range st.Scanners {
			if u != "stdin" && !strings.Contains(u, "://") {
				continue // config.Validate names it already
			}
			if err := scanner.CheckURL(u); err != nil {
				errs = append(errs, fmt.Errorf("line.stations[%d].scanners[%d]: %w", i, j, err))
			}
		}
	}
	return errors.Join(errs...)
}
