package main

import (
	"fmt"

	"github.com/edgeagent/edgeagent/internal/config"
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
	if _, err := loadRunConfig(pos[0]); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", pos[0])
	return nil
}
