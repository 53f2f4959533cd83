package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
)

// exported reads an export: an EPCISDocument valid against GS1's schema,
// whose events the model reads back, each eventID the canonical hash of
// the event as written. It returns each event as step/serial-or-SSCC, in
// order.
func exported(t *testing.T, data []byte) []string {
	t.Helper()
	epcisschema.Load(t).Require(t, data, "the export")
	var raw struct {
		Type string `json:"type"`
		Body struct {
			EventList []json.RawMessage `json:"eventList"`
		} `json:"epcisBody"`
	}
	require.NoError(t, json.Unmarshal(data, &raw))
	require.Equal(t, "EPCISDocument", raw.Type)
	var doc epcis.Document
	require.NoError(t, json.Unmarshal(data, &doc))
	require.Equal(t, epcis.DefaultContext()[0], doc.Context.([]any)[0])
	require.Len(t, doc.Events, len(raw.Body.EventList))
	out := []string{}
	for i, ev := range doc.Events {
		id, err := epcis.EventHash(raw.Body.EventList[i], epcis.DefaultNamespaces)
		require.NoError(t, err)
		require.Equal(t, ev.Common().EventID, id, "event %d's eventID recomputes", i)
		var what string
		switch e := ev.(type) {
		case *epcis.ObjectEvent:
			what = e.EPCList[0][strings.LastIndex(e.EPCList[0], "/")+1:]
		case *epcis.AggregationEvent:
			what = e.ParentID[strings.LastIndex(e.ParentID, "/")+1:]
		}
		out = append(out, ev.Common().BizStep+"/"+what)
	}
	return out
}

// TestEPCISExport exports a line's journal: whole, by time (RFC 3339 and
// days), by label order, and to a private file.
func TestEPCISExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	cfg := filepath.Join(dir, "edgeagent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("line:\n  name: line-9\ndata_dir: "+dir+"\nhttp:\n  listen: 127.0.0.1:0\n  token: a-long-enough-token\n"), 0o600))
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(dir, "edgeagent.db")}, zerolog.Nop())
	require.NoError(t, err)
	// Two orders' packs, an hour apart in local time; A1 and B1 packed
	// into one case.
	at := time.Date(2026, 12, 1, 23, 30, 0, 0, time.Local)
	j, err := journal.New(queue.New(db), journal.Config{Site: "9506000000008", Now: func() time.Time { at = at.Add(time.Minute); return at }})
	require.NoError(t, err)
	const gtin, sscc = "09506000134352", "095060000000000015"
	require.NoError(t, db.Write(context.Background(), func(tx *sql.Tx) error {
		if err := j.Commission(tx, "LO-A", gtin, "A1", "AB12", "261231"); err != nil {
			return err
		}
		if err := j.Commission(tx, "LO-B", gtin, "B1", "AB12", "261231"); err != nil {
			return err
		}
		at = at.Add(time.Hour) // 00:32 on the 2nd
		if err := j.Pack(tx, sscc, []journal.Pack{{GTIN: gtin, Serial: "A1"}, {GTIN: gtin, Serial: "B1"}}, nil); err != nil {
			return err
		}
		return j.Decommission(tx, "LO-B", "destroy", gtin, "B1")
	}))
	require.NoError(t, db.Close())

	code, out, errs := runCLI(t, "", "epcis", "export", "--config", cfg)
	require.Equal(t, 0, code, errs)
	all := []string{"commissioning/A1", "commissioning/B1", "packing/" + sscc, "destroying/B1"}
	require.Equal(t, all, exported(t, []byte(out)))

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--to", "2026-12-02"}, all[:2]},
		{[]string{"--from", "2026-12-02"}, all[2:]},
		{[]string{"--from", "2026-12-01", "--to", "2026-12-02"}, all[:2]},
		{[]string{"--from", at.Format(time.RFC3339)}, all[3:]},
		{[]string{"--to", "2026-12-01T00:00:00Z"}, []string{}},
		// An order's events: its serials' commissioning, the case they
		// went into and their destruction; not the other order's packs.
		{[]string{"--order", "LO-A"}, []string{all[0], all[2]}},
		{[]string{"--order", "LO-B"}, all[1:]},
		{[]string{"--order", "LO-A", "--to", "2026-12-02"}, all[:1]},
		{[]string{"--order", "LO-NONE"}, []string{}},
	} {
		code, out, errs := runCLI(t, "", append([]string{"epcis", "export", "--config", cfg}, tc.args...)...)
		require.Equal(t, 0, code, "%v: %s", tc.args, errs)
		require.Equal(t, tc.want, exported(t, []byte(out)), "%v", tc.args)
	}

	// To a file others could read: replaced by a private one.
	exp := filepath.Join(dir, "events.jsonld")
	require.NoError(t, os.WriteFile(exp, []byte("old"), 0o644))
	require.NoError(t, os.Chmod(exp, 0o644))
	code, out, errs = runCLI(t, "", "epcis", "export", "--config", cfg, "--order", "LO-B", "--out", exp)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "3 events written to "+exp+"\n", out)
	data, err := os.ReadFile(exp)
	require.NoError(t, err)
	require.Equal(t, all[1:], exported(t, data))
	st, err := os.Stat(exp)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--from", "yesterday"}, `--from "yesterday": give a time in RFC 3339 (2026-12-01T06:00:00+01:00) or a day (2026-12-01)`},
		{[]string{"--to", "2026-12-01T10:00"}, `--to "2026-12-01T10:00": give a time in RFC 3339`},
		{[]string{"--from", "2026-12-02", "--to", "2026-12-01"}, "--to 2026-12-01 must be after --from 2026-12-02"},
		{[]string{"LO-A"}, "no arguments expected"},
	} {
		code, _, errs := runCLI(t, "", append([]string{"epcis", "export", "--config", cfg}, tc.args...)...)
		require.Equal(t, 2, code, "%v", tc.args)
		require.Contains(t, errs, "epcis export: "+tc.err, "%v", tc.args)
		require.Contains(t, errs, "usage: edgeagent epcis export --config FILE [--from T] [--to T] [--order ID] [--out FILE]")
	}
	code, _, errs = runCLI(t, "", "epcis", "export")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--config FILE is required")
}
