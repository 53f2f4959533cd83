package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/logging"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

// oneURL checks the single URL argument.
func oneURL(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", usageError{"give one " + what}
	}
	if err := printer.CheckURL(pos[0]); err != nil {
		return "", exitError{1, err}
	}
	return pos[0], nil
}

func connect(ctx context.Context, url string) (*printer.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t, err := printer.Open(dctx, url, printer.Options{})
	if err != nil {
		return nil, err
	}
	return printer.NewConn(t, 2*time.Second), nil
}

func cmdPrinterStatus(e env) error {
	fs := flags(e, "printer status", "URL [--json]",
		"Ask a printer for its identity, language, odometer and status (~HI, SGD, ~HQES, ~HS).\n"+
			"URL is tcp://host:9100, usb://0a5f:PID?serial=SN or serial:///dev/ttyUSB0?baud=9600.")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	url, err := oneURL(pos, "printer URL")
	if err != nil {
		return err
	}
	c, err := connect(e.ctx, url)
	if err != nil {
		return exitError{1, err}
	}
	defer c.Close()
	st, err := c.ReadStatus(e.ctx)
	if err != nil {
		return exitError{1, err}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := e.stdout
	fmt.Fprintf(w, "printer:   %s\n", st.Transport)
	if st.ID != nil {
		fmt.Fprintf(w, "model:     %s, firmware %s, %d dpmm, %s\n", st.ID.Model, st.ID.Version, st.ID.DPMM, st.ID.Memory)
	}
	fmt.Fprintf(w, "language:  %s\n", st.Languages)
	if st.Odometer != nil {
		fmt.Fprintf(w, "odometer:  %d labels\n", *st.Odometer)
	} else {
		fmt.Fprintln(w, "odometer:  not kept by this printer")
	}
	faults := "none"
	if len(st.Faults) > 0 {
		faults = strings.Join(st.Faults, ", ")
	}
	fmt.Fprintf(w, "faults:    %s\n", faults)
	if len(st.Warnings) > 0 {
		fmt.Fprintf(w, "warnings:  %s\n", strings.Join(st.Warnings, ", "))
	}
	// The buffer is what ~HS tells; HostErr says why it did not
	// ("~HS: no answer …").
	switch {
	case st.Host != nil:
		fmt.Fprintf(w, "buffer:    %d formats, %d labels remaining\n", st.Host.FormatsInBuffer, st.Host.LabelsRemaining)
	default:
		fmt.Fprintf(w, "buffer:    unknown: %s\n", st.HostErr)
	}
	if st.Ready {
		fmt.Fprintln(w, "ready:     yes")
	} else {
		fmt.Fprintln(w, "ready:     no")
		return exitError{1, fmt.Errorf("printer not ready")}
	}
	return nil
}

func cmdPrinterSend(e env) error {
	fs := flags(e, "printer send", "URL FILE", "Send a file of ZPL (or - for standard input) to a printer as it is.")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give a printer URL and a file"}
	}
	if err := printer.CheckURL(pos[0]); err != nil {
		return exitError{1, err}
	}
	var data []byte
	if pos[1] == "-" {
		data, err = io.ReadAll(io.LimitReader(e.stdin, 64<<20))
	} else {
		data, err = os.ReadFile(pos[1])
	}
	if err != nil {
		return exitError{1, err}
	}
	c, err := connect(e.ctx, pos[0])
	if err != nil {
		return exitError{1, err}
	}
	defer c.Close()
	if err := c.Send(e.ctx, data); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "sent %d bytes to %s\n", len(data), c.Transport())
	return nil
}

func cmdPrinterTest(e env) error {
	fs := flags(e, "printer test", "URL [--wait] [--timeout 2m]",
		"Print a test label and wait until the printer confirms it was printed. A printer with a fault (media or\n"+
			"ribbon out, head open, paused) is reported at once, and nothing is printed, unless --wait is given.")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	wait := fs.Bool("wait", false, "wait for a fault to be cleared instead of giving up at once")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	url, err := oneURL(pos, "printer URL")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()

	// The test label goes through the same runner as production labels,
	// from a ledger in memory: it carries no serial of the real ledger.
	data := fmt.Sprintf("^XA^CI28^PW400^LL240^FO20,20^A0N,36,30^FDedgeagent test label^FS"+
		"^FO20,70^A0N,24,20^FD%s^FS^FO20,110^BY2^BCN,80,N,N,N^FDTEST^FS^PQ1^XZ", time.Now().Format(time.RFC3339))
	test := label.Label{Ref: label.Ref{Kind: label.Test, ID: 1}, Subject: "TEST", Data: []byte(data)}
	q := printer.NewQueue()
	if err := q.Add(test); err != nil {
		return exitError{1, err}
	}
	// The runner keeps trying a printer that is not in ZPL mode, and waits
	// while one is faulted, for someone to fix it; a one-shot test says so
	// and ends instead. With --wait it waits for a fault too, saying what
	// it waits for. A fault that comes once the label is in the printer is
	// waited for either way: the label prints when it is cleared.
	waitCtx, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	onEvent := func(ev printer.Event) {
		switch {
		case ev.State == printer.StateError:
			giveUp(errors.New(ev.Reason))
		case ev.State != printer.StatePaused:
		case !*wait && stillQueued(q, test.Ref):
			giveUp(fmt.Errorf("the printer has a fault: %s; nothing was printed (clear the fault and try again, or give --wait)",
				strings.Join(ev.Faults, ", ")))
		default:
			fmt.Fprintf(e.stdout, "waiting: the printer has a fault: %s\n", strings.Join(ev.Faults, ", "))
		}
	}
	p, err := printer.New(printer.Config{Name: url, URL: url, BackoffMax: time.Second, OnEvent: onEvent}, q, zerolog.Nop())
	if err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "printing test label on %s\n", url)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	waitErr := q.Wait(waitCtx, test.Ref)
	stop() // a label already sent is still confirmed
	runErr := <-done
	out, reason := q.Outcome(test.Ref)
	switch {
	case out == printer.OutcomePrinted:
		fmt.Fprintln(e.stdout, "printed: the printer confirmed the test label")
		return nil
	case out == printer.OutcomeUnknown:
		fmt.Fprintf(e.stdout, "unknown: %s\n", reason)
		return exitError{1, fmt.Errorf("the test label's outcome is unknown")}
	case runErr != nil:
		return exitError{1, runErr}
	case ctx.Err() == nil && waitErr != nil:
		return exitError{1, context.Cause(waitCtx)} // a fault, or a printer not in ZPL mode
	default:
		s := p.Snapshot()
		why := string(s.State)
		if len(s.Faults) > 0 {
			why += ": " + strings.Join(s.Faults, ", ")
		} else if s.LastErr != "" {
			why += ": " + s.LastErr
		}
		return exitError{1, fmt.Errorf("no confirmation within %s (the printer is %s)", *timeout, why)}
	}
}

// stillQueued reports whether the label is still queued, not yet on its
// way to the printer.
func stillQueued(q *printer.Queue, r label.Ref) bool {
	out, _ := q.Outcome(r)
	return out == ""
}

func cmdPrinterDiscover(e env) error {
	fs := flags(e, "printer discover", "", "List the Zebra printers attached over USB, with the URL that selects each.")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	devs, err := printer.DiscoverUSB()
	if err != nil {
		return exitError{1, fmt.Errorf("USB: %w", err)}
	}
	if len(devs) == 0 {
		fmt.Fprintln(e.stdout, "no Zebra printers attached over USB")
		return nil
	}
	for _, d := range devs {
		way := "one-way"
		if d.Bidirectional {
			way = "bidirectional"
		}
		fmt.Fprintf(e.stdout, "%s\t%s %s\tbus %d address %d\t%s\n", d.URL(), d.Manufacturer, d.Product, d.Bus, d.Address, way)
	}
	return nil
}

func cmdEmulatePrinter(e env) error {
	fs := flags(e, "emulate printer", "--listen ADDR [--dpmm 8] [--speed N] [--faults SPEC] [--out DIR] [--png]",
		"Run a Zebra printer emulator on a TCP port: it prints label formats at a set speed, answers ~HS, ~HQES,\n"+
			"~HI and SGD getvar, keeps an odometer and runs scripted faults. SPEC is comma-separated KIND[@N][/DURATION]\n"+
			"with KIND media-out, ribbon-out, head-open, pause, drop or refuse, e.g. media-out@7/5s,drop@15.")
	listen := fs.String("listen", "127.0.0.1:9100", "address to listen on")
	dpmm := fs.Int("dpmm", 8, "resolution: 6, 8, 12 or 24 dots per mm")
	speed := fs.Float64("speed", 6, "labels per second; 0 prints as fast as it can")
	faults := fs.String("faults", "", "fault script")
	out := fs.String("out", "", "directory to store each printed label's ZPL")
	withPNG := fs.Bool("png", false, "also store a PNG preview of each label (needs --out)")
	language := fs.String("language", "zpl", "device.languages to report")
	noOdo := fs.Bool("no-odometer", false, "report no odometer")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	if *dpmm != 6 && *dpmm != 8 && *dpmm != 12 && *dpmm != 24 {
		return usageError{"--dpmm must be 6, 8, 12 or 24"}
	}
	if *withPNG && *out == "" {
		return usageError{"--png needs --out DIR"}
	}
	fl, err := printersim.ParseFaults(*faults)
	if err != nil {
		return usageError{"--faults: " + err.Error()}
	}
	log, err := logging.New(e.stderr, "auto", "info")
	if err != nil {
		return err
	}
	sim, err := printersim.Start(printersim.Config{Listen: *listen, DPMM: *dpmm, Speed: *speed, Faults: fl, OutDir: *out,
		PNG: *withPNG, Language: *language, NoOdometer: *noOdo}, logging.Component(log, "printersim"))
	if err != nil {
		return exitError{1, err}
	}
	log.Info().Str("addr", sim.Addr()).Str("url", sim.URL()).Msg("printer emulator listening")
	<-e.ctx.Done()
	log.Info().Int64("printed", sim.Odometer()).Msg("printer emulator stopping")
	return sim.Close()
}
