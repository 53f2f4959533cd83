package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/audit"
)

// The audit commands only read: they open the database read-only
// (queueDB), beside a running agent or not.

func cmdAuditVerify(e env) error {
	fs := flags(e, "audit verify", "--config FILE [--head ID:HASH]",
		"Check that no audit log entry was changed or deleted since it was written: recompute every entry's hash and its link to the entry before.\n"+
			"--head also checks that the log still holds a head recorded earlier (printed by verify, or the last line of an export), which shows that the newest entries were not removed.")
	cfgPath := fs.String("config", "", "configuration file")
	headArg := fs.String("head", "", "a head recorded earlier, as ID:HASH")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	var recorded *audit.Head
	if *headArg != "" {
		h, err := parseHead(*headArg)
		if err != nil {
			return err
		}
		recorded = &h
	}
	db, err := queueDB(e.ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.Verify(e.ctx, db.Reader())
	if err != nil {
		return exitError{1, err}
	}
	if !rep.Intact() {
		for _, p := range rep.Problems {
			fmt.Fprintln(e.stdout, p)
		}
		if rep.Omitted > 0 {
			fmt.Fprintf(e.stdout, "and %s more\n", plural(rep.Omitted, "problem"))
		}
		return exitError{1, fmt.Errorf("audit log not intact: %s in %d entries; the first: %s",
			plural(len(rep.Problems)+rep.Omitted, "problem"), rep.Entries, rep.Problems[0])}
	}
	if recorded != nil {
		if err := audit.CheckHead(e.ctx, db.Reader(), *recorded); err != nil {
			return exitError{1, fmt.Errorf("audit log not intact: %w", err)}
		}
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d entries, head %s\n", rep.Entries, rep.Head)
	if recorded != nil {
		fmt.Fprintf(e.stdout, "it holds the recorded head %s\n", recorded)
	}
	return nil
}

// plural is "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// parseHead reads a head given as ID:HASH (or #ID:HASH).
func parseHead(s string) (audit.Head, error) {
	id, hash, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(s), "#"), ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n < 0 || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return audit.Head{}, usageError{fmt.Sprintf("--head %q: give the entry's number and its 64-character hash, as ID:HASH", s)}
	}
	return audit.Head{ID: n, Hash: hash}, nil
}

func cmdAuditExport(e env) error {
	fs := flags(e, "audit export", "--config FILE [--out FILE]",
		"Write every audit log entry with its hashes as JSON lines, oldest first, then a last line with the head:\n"+
			`{"head":{"id":…,"hash":…}}. To standard output, or to FILE (created or truncated, mode 0600).`)
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
	if *outPath == "" {
		if _, _, err := audit.Export(e.ctx, db.Reader(), e.stdout); err != nil {
			return exitError{1, err}
		}
		return nil
	}
	f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return exitError{1, err}
	}
	// An existing file keeps its mode through O_TRUNC: make it private
	// before anything is written to it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return exitError{1, err}
	}
	n, head, err := audit.Export(e.ctx, db.Reader(), f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Half an export must not pass for a whole one.
		return exitError{1, errors.Join(fmt.Errorf("audit export to %s failed, file removed: %w", *outPath, err), os.Remove(*outPath))}
	}
	fmt.Fprintf(e.stdout, "%d entries written to %s, head %s\n", n, *outPath, head)
	return nil
}
