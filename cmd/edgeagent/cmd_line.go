package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/edgeagent/edgeagent/internal/config"
	"github.com/edgeagent/edgeagent/internal/line"
	"github.com/edgeagent/edgeagent/internal/store"
)

// openLine opens the line on the agent's database, without printers: for
// the ledger commands, which may run beside the agent.
func openLine(e env, cfgPath string) (*line.Line, *store.DB, error) {
	db, err := queueDB(e.ctx, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	cfg, _ := config.Load(cfgPath) // loaded fine by queueDB
	l, err := line.New(db, line.Config{Name: cfg.Line.Name}, nil)
	if err == nil {
		for _, p := range agentConfig(cfg, nil).Products {
			if err = l.AddProduct(e.ctx, p.GTIN, p.Market, p.Batches); err != nil {
				break
			}
		}
	}
	if err != nil {
		db.Close()
		return nil, nil, exitError{1, err}
	}
	return l, db, nil
}

func cmdSerialsImport(e env) error {
	fs := flags(e, "serials import", "--config FILE --gtin GTIN FILE",
		"Add serial numbers issued elsewhere (one per line; - for standard input) to a product's pool.")
	cfgPath := fs.String("config", "", "configuration file")
	gtin := fs.String("gtin", "", "the product's GTIN-14")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *gtin == "" {
		return usageError{"give --gtin and one FILE"}
	}
	in := e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return exitError{1, err}
		}
		defer f.Close()
		in = f
	}
	var serials []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			serials = append(serials, s)
		}
	}
	if err := sc.Err(); err != nil {
		return exitError{1, err}
	}
	l, db, err := openLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := l.ImportSerials(e.ctx, actor(), *gtin, serials)
	if err != nil {
		return exitError{1, err}
	}
	pool, _ := l.PoolLevel(e.ctx, *gtin)
	fmt.Fprintf(e.stdout, "%d of %d serials added (%d were known); %d available for %s\n", n, len(serials), len(serials)-n, pool, *gtin)
	return nil
}

func cmdLabelsUnknown(e env) error {
	fs := flags(e, "labels unknown", "--config FILE", "List the labels whose outcome the printer could not confirm: look at the line, then resolve each.")
	cfgPath := fs.String("config", "", "configuration file")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	l, db, err := openLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	labels, err := l.UnknownLabels(e.ctx)
	if err != nil {
		return exitError{1, err}
	}
	if len(labels) == 0 {
		fmt.Fprintln(e.stdout, "no labels with an unknown outcome")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tORDER\tGTIN\tSERIAL\tPRINTER\tREASON")
	for _, u := range labels {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.OrderID, u.GTIN, u.Serial, u.Printer, u.Reason)
	}
	return tw.Flush()
}

func cmdLabelsResolve(e env) error {
	fs := flags(e, "labels resolve", "LABEL --config FILE (--printed | --void) --reason TEXT",
		"Resolve a label with an unknown outcome: --printed when it is on the line (its serial is commissioned),\n"+
			"--void when it is not (its serial is never used). Written to the audit log.")
	cfgPath := fs.String("config", "", "configuration file")
	printed := fs.Bool("printed", false, "the label came out")
	void := fs.Bool("void", false, "the label did not come out, or is destroyed")
	reason := fs.String("reason", "", "what you saw (required)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	id, err := idArg(pos)
	if err != nil {
		return err
	}
	if *printed == *void {
		return usageError{"give exactly one of --printed and --void"}
	}
	if *reason == "" {
		return usageError{"--reason is required"}
	}
	l, db, err := openLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := l.ResolveUnknown(e.ctx, actor(), id, *printed, *reason); err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "label %d resolved\n", id)
	return nil
}
