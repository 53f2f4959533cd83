package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/logging"
	"github.com/edgeagent/edgeagent/internal/scanner"
)

func cmdScannerListen(e env) error {
	fs := flags(e, "scanner listen", "URL [--layout us] [--wedge]",
		"Print each read of a scanner as it arrives: the raw bytes (escaped), the symbology, and the GS1 data,\n"+
			"or why a station would refuse it. URL is serial:///dev/ttyACM0?baud=115200, tcp://host:port,\n"+
			"tcp-listen://:port, hidpos://VID:PID, evdev:///dev/input/by-id/… or stdin; all take\n"+
			"suffix=cr|lf|crlf|none and gs=CHAR. Reads typed by a keyboard wedge (evdev, or stdin on a terminal)\n"+
			"may have lost their GS separators: one that could be split into AIs two ways is refused, as at a station.")
	layouts := scanner.Layouts()
	layout := fs.String("layout", "us", "keyboard layout of a wedge scanner (evdev): "+strings.Join(layouts, ", "))
	wedge := fs.Bool("wedge", false, "treat stdin as typed by a keyboard wedge even when it is not a terminal")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one scanner URL"}
	}
	if !slices.Contains(layouts, *layout) {
		return usageError{fmt.Sprintf("--layout %q: must be one of %s", *layout, strings.Join(layouts, ", "))}
	}
	log, err := logging.New(e.stderr, "auto", "info")
	if err != nil {
		return err
	}
	opt := scanner.Options{Log: logging.Component(log, "scanner"), Layout: *layout, Stdin: e.stdin,
		Wedge: *wedge || isTerminal(e.stdin)}
	src, err := scanner.Open(pos[0], opt)
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

// printScan shows a read and what a station makes of it: scanner.Decode is
// the station's first step, and a read it cannot use is refused in the
// station's words.
func printScan(e env, d scanner.Decoded) {
	sym := d.Symbology
	if sym == "" {
		sym = "(no AIM identifier)"
	}
	fmt.Fprintf(e.stdout, "%s  %s  %s  %s\n", d.At.Format(time.TimeOnly+".000"), sym, escapeRaw(d.Raw), d.Source)
	switch {
	case d.Err != nil:
		fmt.Fprintf(e.stdout, "    refused: Barcode not usable: %v\n", d.Err)
	case d.GS1 != nil:
		for _, el := range d.GS1.Elements {
			fmt.Fprintf(e.stdout, "    (%s) %s\n", el.AI, el.Value)
		}
	default:
		fmt.Fprintf(e.stdout, "    plain: %q\n", d.Plain)
	}
}

// isTerminal reports whether r is a terminal, where a person or a keyboard
// wedge types.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// escapeRaw shows bytes as Go would quote them, with GS as <GS>.
func escapeRaw(b []byte) string {
	q := strconv.Quote(string(b))
	return strings.ReplaceAll(q[1:len(q)-1], `\x1d`, "<GS>")
}
