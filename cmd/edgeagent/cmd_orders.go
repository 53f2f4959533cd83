package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/users"
)

func cmdOrdersClose(e env) error {
	fs := flags(e, "orders close", "ORDER --config FILE --reason TEXT --user NAME [--meaning M] [--password-stdin] [--json]",
		"Close a label order: refused while any of its labels is queued, printing or unknown; otherwise its reconciliation\n"+
			"(every serial the order was given and where it went, with the printer's odometer) is written with the close\n"+
			"and its audit entry, and printed here. A supervisor signs it (--user, their password typed or on standard input).\n"+
			"Through the running agent, or on the database when none runs. A closed order is never printed again.")
	cfgPath := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why the order is closed (required)")
	user := fs.String("user", "", "the supervisor who signs the close (required)")
	meaning := fs.String("meaning", "approved", "meaning of the signature: approved, reviewed, performed or verified")
	fromStdin := fs.Bool("password-stdin", false, "read the signer's password from the first line of standard input")
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
	if *user == "" {
		return usageError{"--user is required: a close is signed by a supervisor"}
	}
	pw, err := readSignature(e, *user, *fromStdin)
	if err != nil {
		return err
	}
	sig := map[string]any{"user": *user, "password": pw, "meaning": *meaning}
	res, err := change(e, *cfgPath, "/api/v1/label-orders/"+url.PathEscape(pos[0])+"/close", map[string]any{"reason": *reason, "signature": sig},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			signed, err := users.New(l.Ledger.DB(), users.Config{}, zerolog.Nop()).Sign(ctx, *user, pw, *meaning, *reason)
			if err != nil {
				return nil, err
			}
			if !signed.Role.AtLeast(users.Supervisor) {
				return nil, fmt.Errorf("signature: %s is not a supervisor; a close needs a supervisor's signature", signed.Name)
			}
			rec, err := l.Orders.Close(ctx, audit.Signed("user:"+signed.Name, signed.Meaning), pos[0], *reason)
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
