package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

// queueDB opens the agent's database read-only from its configuration;
// the agent may be running.
func queueDB(ctx context.Context, cfgPath string) (*store.DB, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenReadOnly(ctx, store.Config{Path: cfg.Store.Path}, zerolog.Nop())
	if err != nil {
		return nil, exitError{1, err}
	}
	return db, nil
}

// actor names the person at the terminal for the audit log.
func actor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

func cmdQueueStatus(e env) error {
	fs := flags(e, "queue status", "--config FILE [--json]", "Show how many facts wait for the cloud, are parked for a person, or were delivered.")
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	db, err := queueDB(e.ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := queue.ReadStats(e.ctx, db)
	if err != nil {
		return exitError{1, err}
	}
	if *asJSON {
		out := map[string]any{"pending": st.Pending, "parked": st.Parked, "delivered": st.Delivered}
		if !st.OldestPending.IsZero() {
			out["oldest_pending"] = st.OldestPending.UTC()
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "pending:   %d\nparked:    %d\ndelivered: %d (kept for the retention period)\n", st.Pending, st.Parked, st.Delivered)
	if !st.OldestPending.IsZero() {
		fmt.Fprintf(e.stdout, "oldest pending: %s (%s ago)\n", st.OldestPending.UTC().Format(time.RFC3339), time.Since(st.OldestPending).Round(time.Second))
	}
	if st.Parked > 0 {
		fmt.Fprintln(e.stdout, "parked items need a person: edgeagent queue list --state parked")
	}
	return nil
}

func cmdQueueList(e env) error {
	fs := flags(e, "queue list", "--config FILE [--state pending|parked|delivered] [--limit N]", "List outbox items, newest first.")
	cfgPath := fs.String("config", "", "configuration file")
	state := fs.String("state", "", "only items in this state")
	limit := fs.Int("limit", 50, "at most this many (0: all)")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	db, err := queueDB(e.ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	recs, err := queue.List(e.ctx, db, *state, *limit, false)
	if err != nil {
		return exitError{1, err}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTREAM\tKEY\tSTATE\tATTEMPTS\tCREATED\tLAST ERROR")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Kind, r.Stream, r.Key, r.State, r.Attempts, r.CreatedAt.Format(time.RFC3339), r.LastError)
	}
	return tw.Flush()
}

func idArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usageError{"give one item ID"}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Sprintf("item ID %q: a positive number", pos[0])}
	}
	return id, nil
}

func cmdQueueRetry(e env) error {
	fs := flags(e, "queue retry", "ID --config FILE [--reason TEXT]", "Send a parked item again (after fixing what the cloud refused). Written to the audit log.")
	cfgPath := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why (for the audit log)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	id, err := idArg(pos)
	if err != nil {
		return err
	}
	_, err = change(e, *cfgPath, fmt.Sprintf("/api/v1/queue/%d/retry", id), map[string]any{"reason": *reason},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			return nil, queue.Retry(ctx, l.Ledger.DB(), id, actor(), *reason, l.Shipments.Rerequest)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "item %d will be sent again\n", id)
	return nil
}

func cmdQueuePark(e env) error {
	fs := flags(e, "queue park", "ID --config FILE --reason TEXT", "Take a pending item out of delivery; items that depend on it wait. Written to the audit log.")
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
	_, err = change(e, *cfgPath, fmt.Sprintf("/api/v1/queue/%d/park", id), map[string]any{"reason": *reason},
		func(ctx context.Context, l *api.Line) (map[string]any, error) {
			return nil, queue.Park(ctx, l.Ledger.DB(), id, actor(), *reason)
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "item %d parked\n", id)
	return nil
}

func cmdQueueExport(e env) error {
	fs := flags(e, "queue export", "--config FILE [--out FILE]", "Write every outbox item as JSON lines, to standard output or to FILE (mode 0600; an existing FILE is replaced).")
	cfgPath := fs.String("config", "", "configuration file")
	outPath := fs.String("out", "", "file to write")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	db, err := queueDB(e.ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// The items carry the line's facts: a file is 0600, also when it
	// replaces an export others could read.
	var n int
	err = export(e, *outPath, func(w io.Writer) (err error) {
		n, err = queue.Export(e.ctx, db, w)
		return err
	})
	if err != nil {
		return exitError{1, err}
	}
	if *outPath == "" {
		return nil
	}
	fmt.Fprintf(e.stdout, "%d items written to %s\n", n, *outPath)
	return nil
}
