package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

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

// callAgent posts an action to the running agent's /api/v1 with the local
// token from the configuration.
func callAgent(e env, cfgPath, path string, body map[string]any) error {
	if cfgPath == "" {
		return usageError{"--config FILE is required"}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return exitError{1, err}
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+cfg.HTTP.Listen+path, bytes.NewReader(data))
	if err != nil {
		return exitError{1, err}
	}
	req.Header.Set("Authorization", "Bearer "+cfg.HTTP.Token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return exitError{1, fmt.Errorf("the agent at %s does not answer (is it running?): %w", cfg.HTTP.Listen, err)}
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(out, &eb)
		msg := eb.Error + eb.Message
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return exitError{1, fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)}
	}
	return nil
}

func cmdOrdersResume(e env) error {
	fs := flags(e, "orders resume", "ORDER --config FILE", "Release a suspended label order again (after serials were imported), through the running agent.")
	cfgPath := fs.String("config", "", "configuration file")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one label order ID"}
	}
	if err := callAgent(e, *cfgPath, "/api/v1/label-orders/"+url.PathEscape(pos[0])+"/resume", nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "label order %s released\n", pos[0])
	return nil
}

func cmdLabelsReprint(e env) error {
	fs := flags(e, "labels reprint", "LABEL --config FILE --reason TEXT",
		"Print a label whose outcome is unknown again, with the same serial, through the running agent. Audited.")
	cfgPath := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why (required)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	id, err := idArg(pos)
	if err != nil {
		return err
	}
	if *reason == "" {
		return usageError{"--reason is required"}
	}
	if err := callAgent(e, *cfgPath, fmt.Sprintf("/api/v1/labels/%d/reprint", id), map[string]any{"reason": *reason}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "label %d sent to its printer again\n", id)
	return nil
}
