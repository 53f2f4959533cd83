package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/journal"
)

// The epcis commands read the line's EPCIS journal: they open the database
// read-only (queueDB), beside a running agent or not.

func cmdEPCISExport(e env) error {
	fs := flags(e, "epcis export", "--config FILE [--from T] [--to T] [--order ID] [--out FILE]",
		"Write the EPCIS journal's events as one EPCIS 2.0 EPCISDocument (JSON-LD), in the order they happened: those at\n"+
			"or after --from and before --to, every one when neither is given. With --order, the events of every serial\n"+
			"commissioned for that label order: its commissioning, packing, unpacking, destruction and shipping.\n"+
			"T is a time in RFC 3339 (2026-12-01T06:00:00+01:00) or a day, YYYY-MM-DD, from local midnight:\n"+
			"--from 2026-12-01 --to 2026-12-02 is the first of December. To standard output, or to FILE (mode 0600:\n"+
			"the events name serials; an existing FILE is replaced).")
	cfgPath := fs.String("config", "", "configuration file")
	fromArg := fs.String("from", "", "the first time, RFC 3339 or YYYY-MM-DD")
	toArg := fs.String("to", "", "the time after the last, RFC 3339 or YYYY-MM-DD")
	order := fs.String("order", "", "only the events of the serials of this label order")
	outPath := fs.String("out", "", "file to write")
	if pos, err := parseInterspersed(fs, e.args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	f := journal.Filter{Order: *order}
	var err error
	if f.From, err = exportTime("--from", *fromArg); err != nil {
		return err
	}
	if f.To, err = exportTime("--to", *toArg); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return usageError{fmt.Sprintf("--to %s must be after --from %s", *toArg, *fromArg)}
	}
	db, err := queueDB(e.ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	entries, err := journal.Query(e.ctx, db.Reader(), f)
	if err != nil {
		return exitError{1, err}
	}
	events := make([]epcis.Event, len(entries))
	for i, en := range entries {
		if events[i], err = epcis.DecodeEvent(en.Event); err != nil {
			return exitError{1, fmt.Errorf("journal event %d: %w", en.Seq, err)}
		}
	}
	doc, err := json.MarshalIndent(epcis.NewDocument(time.Now(), events...), "", "  ")
	if err != nil {
		return exitError{1, err}
	}
	if err := export(e, *outPath, func(w io.Writer) error {
		_, err := w.Write(append(doc, '\n'))
		return err
	}); err != nil {
		return exitError{1, err}
	}
	if *outPath != "" {
		fmt.Fprintf(e.stdout, "%s written to %s\n", plural(len(events), "event"), *outPath)
	}
	return nil
}

// exportTime reads a time flag: RFC 3339, or a day from local midnight.
func exportTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Sprintf("%s %q: give a time in RFC 3339 (2026-12-01T06:00:00+01:00) or a day (2026-12-01)", flag, v)}
}
