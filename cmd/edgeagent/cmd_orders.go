package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/orders"
)

func cmdOrdersClose(e env) error {
	fs := flags(e, "orders close", "ORDER --config FILE --reason TEXT [--json]",
		"Close a label order: refused while any of its labels is queued, printing or unknown; otherwise its reconciliation\n"+
			"(every serial the order was given and where it went, with the printer's odometer) is written with the close\n"+
			"and its audit entry, and printed here. Through the running agent. A closed order is never printed again.")
	cfgPath := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why the order is closed (required)")
	asJSON := fs.Bool("json", false, "print the reconciliation as JSON")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one label order ID"}
	}
	if *reason == "" {
		return usageError{"--reason is required"}
	}
	res, err := change(e, *cfgPath, "/api/v1/label-orders/"+url.PathEscape(pos[0])+"/close", map[string]any{"reason": *reason},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			rec, err := l.Orders.Close(ctx, actor(), pos[0], *reason)
			return map[string]any{"reconciliation": rec}, err
		})
	if err != nil {
		return err
	}
	// The agent answers JSON, a local close the record itself: both are
	// read back the same way.
	b, err := json.Marshal(res["reconciliation"])
	if err != nil {
		return exitError{1, err}
	}
	var rec orders.Stored
	if err := json.Unmarshal(b, &rec); err != nil {
		return exitError{1, fmt.Errorf("the agent's answer is not a reconciliation: %w", err)}
	}
	return printReconciliation(e, rec, *asJSON)
}

func cmdOrdersReconciliation(e env) error {
	fs := flags(e, "orders reconciliation", "ORDER --config FILE [--json]", "Show the reconciliation written when a label order was closed, as it was kept.")
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON: the report as stored, its SHA-256 and the audit entry")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give one label order ID"}
	}
	l, db, err := readLine(e, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	rec, err := l.Orders.Reconciliation(e.ctx, pos[0])
	if err != nil {
		return exitError{1, err}
	}
	return printReconciliation(e, rec, *asJSON)
}

func printReconciliation(e env, rec orders.Stored, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(rec)
		if err != nil {
			return exitError{1, err}
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	for _, l := range rec.Summary() {
		fmt.Fprintln(e.stdout, l)
	}
	fmt.Fprintf(e.stdout, "report sha256 %s, audit entry %d\n", rec.SHA256, rec.AuditID)
	if !rec.Balanced {
		return exitError{3, fmt.Errorf("label order %s: %d of %d checks of its reconciliation do not hold", rec.OrderID, len(rec.Failed()), len(rec.Checks))}
	}
	return nil
}
