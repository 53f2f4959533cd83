package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/logging"
	"github.com/edgeagent/edgeagent/internal/scanner"
)

func cmdScannerListen(e env) error {
	fs := flags(e, "scanner listen", "URL [--layout us]",
		"Print each read of a scanner as it arrives: the raw bytes (escaped), the symbology, and the GS1 data\n"+
			"or why it cannot be used. URL is serial:///dev/ttyACM0?baud=115200, tcp://host:port, tcp-listen://:port,\n"+
			"hidpos://VID:PID, evdev:///dev/input/by-id/… or stdin; all take suffix=cr|lf|crlf|none and gs=CHAR.")
	layout := fs.String("layout", "us", "keyboard layout of a wedge scanner (evdev): us, uk, de or fr")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one scanner URL"}
	}
	log, err := logging.New(e.stderr, "auto", "info")
	if err != nil {
		return err
	}
	src, err := scanner.Open(pos[0], scanner.Options{Log: logging.Component(log, "scanner"), Layout: *layout, Stdin: e.stdin})
	if err != nil {
		return exitError{1, err}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	out := make(chan scanner.Scan, 16)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out); close(out) }()
	for s := range out {
		printScan(e, scanner.Decode(s))
	}
	if err := <-done; err != nil {
		return exitError{1, err}
	}
	return nil
}

func printScan(e env, d scanner.Decoded) {
	sym := d.Symbology
	if sym == "" {
		sym = "(no AIM identifier)"
	}
	fmt.Fprintf(e.stdout, "%s  %s  %s  %s\n", d.At.Format(time.TimeOnly+".000"), sym, escapeRaw(d.Raw), d.Source)
	switch {
	case d.Err != nil:
		fmt.Fprintf(e.stdout, "    rejected: %v\n", d.Err)
	case d.GS1 != nil:
		for _, el := range d.GS1.Elements {
			fmt.Fprintf(e.stdout, "    (%s) %s\n", el.AI, el.Value)
		}
	default:
		fmt.Fprintf(e.stdout, "    plain: %q\n", d.Plain)
	}
}

// escapeRaw shows bytes as Go would quote them, with GS as <GS>.
func escapeRaw(b []byte) string {
	q := strconv.Quote(string(b))
	return strings.ReplaceAll(q[1:len(q)-1], `\x1d`, "<GS>")
}
