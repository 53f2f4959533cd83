package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/config"
)

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
	res, err := change(e, *cfgPath, "/api/v1/products/"+url.PathEscape(*gtin)+"/serials", map[string]any{"serials": serials},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			n, err := l.Ledger.ImportSerials(ctx, actor(), *gtin, serials)
			if err != nil {
				return nil, err
			}
			pool, err := l.Ledger.PoolLevel(ctx, *gtin)
			return map[string]any{"added": n, "available": pool}, err
		})
	if err != nil {
		return err
	}
	n, pool := number(res["added"]), number(res["available"])
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
	l, db, err := readLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	labels, err := l.Ledger.UnknownLabels(e.ctx)
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
	_, err = change(e, *cfgPath, fmt.Sprintf("/api/v1/labels/%d/resolve", id), map[string]any{"printed": *printed, "reason": *reason},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			return nil, l.Ledger.Resolve(ctx, actor(), id, *printed, *reason)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "label %d resolved\n", id)
	return nil
}

// callAgent posts an action to the running agent's /api/v1 with the local
// token from the configuration.
func callAgent(e env, cfgPath, path string, body map[string]any) (map[string]any, error) {
	if cfgPath == "" {
		return nil, usageError{"--config FILE is required"}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, exitError{1, err}
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, "http://"+cfg.HTTP.Listen+path, bytes.NewReader(data))
	if err != nil {
		return nil, exitError{1, err}
	}
	req.Header.Set("Authorization", "Bearer "+cfg.HTTP.Token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, exitError{1, fmt.Errorf("the agent at %s does not answer (is it running?): %w", cfg.HTTP.Listen, err)}
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
		return nil, exitError{1, fmt.Errorf("%s (HTTP %d)", msg, resp.StatusCode)}
	}
	var res map[string]any
	_ = json.Unmarshal(out, &res)
	return res, nil
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
	_, err = change(e, *cfgPath, "/api/v1/label-orders/"+url.PathEscape(pos[0])+"/resume", nil,
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			return nil, l.Orders.Resume(ctx, actor(), pos[0])
		})
	if err != nil {
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
	_, err = change(e, *cfgPath, fmt.Sprintf("/api/v1/labels/%d/reprint", id), map[string]any{"reason": *reason},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			return nil, l.Ledger.Reprint(ctx, actor(), id, *reason)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "label %d sent to its printer again\n", id)
	return nil
}

// number reads a count from an action's result: an int when the command
// ran locally, a JSON number when the agent answered.
func number(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}
