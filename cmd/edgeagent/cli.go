package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeagent/edgeagent/internal/config"
)

// env is what every command gets: its arguments and standard streams.
type env struct {
	ctx    context.Context
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand; sub holds nested commands ("gs1 parse").
type command struct {
	name    string
	usage   string // arguments, e.g. "[--json] [DATA]"
	summary string
	run     func(e env) error
	sub     []*command
}

// usageError makes the CLI print the command's usage and exit 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// exitError ends the CLI with a specific code and message.
type exitError struct {
	code int
	err  error
}

func (x exitError) Error() string { return x.err.Error() }

func commands() []*command {
	return []*command{
		{name: "version", summary: "print the version", run: cmdVersion},
		{name: "init", usage: "[FILE]", summary: "write a commented default configuration (default edgeagent.yaml)", run: cmdInit},
		{name: "config", summary: "configuration tools", sub: []*command{
			{name: "check", usage: "FILE", summary: "validate a configuration file", run: cmdConfigCheck},
		}},
		{name: "run", usage: "--config FILE", summary: "run the agent as a service", run: cmdRun},
		{name: "gs1", summary: "GS1 data tools", sub: []*command{
			{name: "parse", usage: "[--json] [DATA]", summary: "parse and validate GS1 data given as DATA or on stdin (raw bytes)", run: cmdGS1Parse},
			{name: "sscc", usage: "--ext D --prefix P --ref N", summary: "build an 18-digit SSCC with its check digit", run: cmdGS1SSCC},
			{name: "check-digit", usage: "DIGITS", summary: "print DIGITS followed by their GS1 check digit", run: cmdGS1CheckDigit},
		}},
		{name: "backup", usage: "--config FILE --out FILE [--force]", summary: "write a consistent copy of the database while the agent runs", run: cmdBackup},
		{name: "demo", usage: "[--data DIR] [--listen ADDR]", summary: "run the whole line on emulated printers and an emulated cloud", run: cmdDemo},
		{name: "printer", summary: "printer tools", sub: []*command{
			{name: "status", usage: "URL [--json]", summary: "show a printer's identity, odometer and faults", run: cmdPrinterStatus},
			{name: "send", usage: "URL FILE", summary: "send a ZPL file to a printer as it is", run: cmdPrinterSend},
			{name: "test", usage: "URL", summary: "print a test label and wait for the printer's confirmation", run: cmdPrinterTest},
			{name: "discover", summary: "list Zebra printers attached over USB", run: cmdPrinterDiscover},
		}},
		{name: "serials", summary: "the serial number pool", sub: []*command{
			{name: "import", usage: "--config FILE --gtin GTIN FILE", summary: "add serials issued elsewhere to a product's pool", run: cmdSerialsImport},
		}},
		{name: "labels", summary: "the label ledger", sub: []*command{
			{name: "unknown", usage: "--config FILE", summary: "list labels whose outcome is unknown", run: cmdLabelsUnknown},
			{name: "resolve", usage: "LABEL --config FILE (--printed|--void) --reason TEXT", summary: "resolve a label with an unknown outcome", run: cmdLabelsResolve},
			{name: "reprint", usage: "LABEL --config FILE --reason TEXT", summary: "print an unknown label again with the same serial (running agent)", run: cmdLabelsReprint},
		}},
		{name: "containers", summary: "cases and pallets built at stations", sub: []*command{
			{name: "list", usage: "--config FILE [--state S]", summary: "list containers and what they hold", run: cmdContainersList},
			{name: "disaggregate", usage: "SSCC --config FILE --reason TEXT", summary: "empty a closed container (rework)", run: cmdContainersDisaggregate},
			{name: "remove", usage: "ITEM --config FILE --reason TEXT", summary: "take one pack (GTIN/serial) or case (SSCC) out of its container", run: cmdContainersRemove},
		}},
		{name: "orders", summary: "label orders", sub: []*command{
			{name: "resume", usage: "ORDER --config FILE", summary: "release a suspended label order again (running agent)", run: cmdOrdersResume},
			{name: "close", usage: "ORDER --config FILE --reason TEXT --user NAME [--password-stdin] [--json]", summary: "close a label order and write its reconciliation (running agent)", run: cmdOrdersClose},
			{name: "reconciliation", usage: "ORDER --config FILE [--json]", summary: "show a closed label order's reconciliation", run: cmdOrdersReconciliation},
		}},
		{name: "users", summary: "the people who work the line, their roles and credentials", sub: []*command{
			{name: "add", usage: "NAME --role R --config FILE [--password-stdin]", summary: "add a person with a role and a password", run: cmdUsersAdd},
			{name: "passwd", usage: "NAME --config FILE [--password-stdin]", summary: "give a person a new password", run: cmdUsersPasswd},
			{name: "role", usage: "NAME --role R --config FILE", summary: "give a person another role", run: cmdUsersRole},
			{name: "disable", usage: "NAME --config FILE", summary: "stop a person from logging in, signing on and signing", run: cmdUsersDisable},
			{name: "enable", usage: "NAME --config FILE", summary: "let a disabled person in again", run: cmdUsersEnable},
			{name: "badge", usage: "NAME --config FILE", summary: "issue a new badge and print its code once", run: cmdUsersBadge},
			{name: "list", usage: "--config FILE [--json]", summary: "list people, roles and how they sign on", run: cmdUsersList},
		}},
		{name: "queue", summary: "the outbox of facts bound for the cloud", sub: []*command{
			{name: "status", usage: "--config FILE [--json]", summary: "count pending, parked and delivered items", run: cmdQueueStatus},
			{name: "list", usage: "--config FILE [--state S] [--limit N]", summary: "list items, newest first", run: cmdQueueList},
			{name: "retry", usage: "ID --config FILE [--reason TEXT]", summary: "send a parked item again", run: cmdQueueRetry},
			{name: "park", usage: "ID --config FILE --reason TEXT", summary: "take an item out of delivery", run: cmdQueuePark},
			{name: "export", usage: "--config FILE [--out FILE]", summary: "write every item as JSON lines", run: cmdQueueExport},
		}},
		{name: "audit", summary: "the audit log: who changed what, when and why", sub: []*command{
			{name: "verify", usage: "--config FILE [--head ID:HASH]", summary: "check that no entry was changed or deleted; print the head", run: cmdAuditVerify},
			{name: "export", usage: "--config FILE [--out FILE]", summary: "write every entry with its hashes as JSON lines, then the head", run: cmdAuditExport},
		}},
		{name: "epcis", summary: "the EPCIS 2.0 journal of the line's events", sub: []*command{
			{name: "export", usage: "--config FILE [--from T] [--to T] [--order ID] [--out FILE]", summary: "write the events as an EPCIS 2.0 document (JSON-LD)", run: cmdEPCISExport},
		}},
		{name: "scanner", summary: "scanner tools", sub: []*command{
			{name: "listen", usage: "URL [--layout us] [--wedge]", summary: "print each scan as it arrives, with a station's verdict", run: cmdScannerListen},
		}},
		{name: "emulate", summary: "emulators for lines without hardware", sub: []*command{
			{name: "printer", usage: "--listen ADDR [--faults SPEC] …", summary: "run a Zebra printer emulator", run: cmdEmulatePrinter},
			{name: "cloud", usage: "--listen ADDR [--seed FILE] [--faults SPEC]", summary: "run an emulator of the cloud and shipping APIs", run: cmdEmulateCloud},
		}},
		{name: "zpl", summary: "label template tools", sub: []*command{
			{name: "templates", usage: "[--dir DIR]", summary: "list label templates with their sizes and data keys", run: cmdZPLTemplates},
			{name: "render", usage: "--template FILE|TAG --data k=v … [--count N]", summary: "render a template to ZPL on stdout", run: cmdZPLRender},
			{name: "lint", usage: "FILE…", summary: "check templates and label formats", run: cmdZPLLint},
			{name: "preview", usage: "--template FILE|TAG --data k=v … --out FILE.png [--dpmm 8]", summary: "draw a label as PNG", run: cmdZPLPreview},
		}},
	}
}

// run is the whole CLI: it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &command{name: "edgeagent", summary: "shopfloor edge agent for serialization packaging lines", sub: commands()}
	cmd, path, rest := root, []string{"edgeagent"}, args
	if len(rest) > 0 && (rest[0] == "--version" || rest[0] == "-version" || rest[0] == "-v") {
		rest = append([]string{"version"}, rest[1:]...)
	}
	for len(cmd.sub) > 0 {
		if len(rest) == 0 || isHelp(rest[0]) || rest[0] == "help" {
			printHelp(stdout, cmd, path)
			if len(rest) == 0 && cmd == root {
				return 2
			}
			return 0
		}
		next := find(cmd.sub, rest[0])
		if next == nil {
			fmt.Fprintf(stderr, "%s: unknown command %q; run '%s help'\n", strings.Join(path, " "), rest[0], strings.Join(path, " "))
			return 2
		}
		cmd, path, rest = next, append(path, next.name), rest[1:]
	}
	err := cmd.run(env{ctx: ctx, args: rest, stdin: stdin, stdout: stdout, stderr: stderr})
	var ue usageError
	var xe exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nusage: %s %s\n", strings.Join(path, " "), ue.msg, strings.Join(path, " "), cmd.usage)
		return 2
	case errors.As(err, &xe):
		var faults *config.Faults
		if errors.As(xe.err, &faults) {
			// One fault a line, as a compiler does: FILE: field: rule.
			for _, l := range strings.Split(faults.Error(), "\n") {
				fmt.Fprintf(stderr, "%s: %s\n", strings.Join(path, " "), l)
			}
			return xe.code
		}
		fmt.Fprintf(stderr, "%s: %s\n", strings.Join(path, " "), oneLine(xe.err.Error()))
		return xe.code
	}
	fmt.Fprintf(stderr, "%s: %s\n", strings.Join(path, " "), err)
	return 1
}

func isHelp(s string) bool { return s == "-h" || s == "--help" || s == "-help" }

func find(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer, cmd *command, path []string) {
	fmt.Fprintf(w, "%s — %s\n\nUsage:\n  %s <command> [arguments]\n\nCommands:\n", strings.Join(path, " "), cmd.summary, strings.Join(path, " "))
	for _, c := range cmd.sub {
		if use := strings.TrimSpace(c.name + " " + c.usage); len(use) <= 28 {
			fmt.Fprintf(w, "  %-28s %s\n", use, c.summary)
		} else {
			// Too long for the column: the summary goes under it, aligned.
			fmt.Fprintf(w, "  %s\n  %-28s %s\n", use, "", c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's options.\n", strings.Join(path, " "))
}

// flags builds a FlagSet whose --help prints the command's usage to stdout.
func flags(e env, name, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: edgeagent %s %s\n\n%s\n", name, usage, summary)
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(e.stdout, "\nOptions:")
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			fs.SetOutput(e.stderr)
		}
	}
	return fs
}

// parseInterspersed lets flags come before or after positional arguments.
// A flag the command does not take, or a bad flag value, is a usage error.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	usage := fs.Usage
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			usage()
			return nil, flag.ErrHelp
		}
	}
	fs.Usage = func() {}
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func cmdVersion(e env) error {
	fs := flags(e, "version", "", "Print the version.")
	if _, err := parseInterspersed(fs, e.args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "edgeagent %s\n", version)
	return nil
}
