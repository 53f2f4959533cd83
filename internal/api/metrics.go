package api

import (
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI is the document the server serves at /api/openapi.yaml (a copy):
// the local API as OpenAPI 3.
func OpenAPI() []byte { return append([]byte(nil), openapiYAML...) }

// promWriter writes the Prometheus text exposition format. Label values
// are escaped; no serial number or SSCC is ever a label value (they would
// make unbounded series). Every sample carries the line's name as its
// first label, line, so that one Prometheus can scrape (or federate) every
// line of a site and tell them apart.
type promWriter struct {
	w    io.Writer
	seen map[string]bool
	line string
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func (p *promWriter) family(name, typ, help string) {
	if p.seen[name] {
		return
	}
	p.seen[name] = true
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p *promWriter) sample(name string, v float64, labels ...string) {
	var b strings.Builder
	b.WriteString(name)
	if p.line != "" {
		labels = append([]string{"line", p.line}, labels...)
	}
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(labelEscaper.Replace(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	b.WriteByte('\n')
	_, _ = io.WriteString(p.w, b.String())
}

// metrics serves /metrics: base units, the edgeagent_ prefix.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	p := &promWriter{w: w, seen: map[string]bool{}}
	if s.cfg.Line != nil {
		p.line = s.cfg.Line.Name
	}
	ctx := r.Context()

	p.family("edgeagent_build_info", "gauge", "The running version (always 1).")
	p.sample("edgeagent_build_info", 1, "version", s.cfg.Version, "goversion", runtime.Version())
	p.family("edgeagent_start_time_seconds", "gauge", "When the agent started, in Unix seconds.")
	p.sample("edgeagent_start_time_seconds", float64(s.started.UnixMilli())/1000)
	if rss, ok := residentBytes(); ok {
		p.family("edgeagent_resident_memory_bytes", "gauge", "Resident memory of the agent process.")
		p.sample("edgeagent_resident_memory_bytes", rss)
	}
	p.family("edgeagent_goroutines", "gauge", "Goroutines of the agent process.")
	p.sample("edgeagent_goroutines", float64(runtime.NumGoroutine()))

	if s.cfg.Dispatcher != nil {
		if st, err := s.cfg.Dispatcher.Stats(ctx); err == nil {
			p.family("edgeagent_outbox_items", "gauge", "Facts in the outbox by state (delivered ones are kept for the retention period).")
			p.sample("edgeagent_outbox_items", float64(st.Pending), "state", "pending")
			p.sample("edgeagent_outbox_items", float64(st.Parked), "state", "parked")
			p.sample("edgeagent_outbox_items", float64(st.Delivered), "state", "delivered")
			p.family("edgeagent_outbox_oldest_pending_age_seconds", "gauge", "Age of the oldest fact waiting for the cloud (0 when none).")
			age := 0.0
			if !st.OldestPending.IsZero() {
				age = time.Since(st.OldestPending).Seconds()
			}
			p.sample("edgeagent_outbox_oldest_pending_age_seconds", age)
			p.family("edgeagent_outbox_last_delivery_timestamp_seconds", "gauge", "When the cloud last took a fact, in Unix seconds (0: not since start).")
			last := 0.0
			if !st.LastSuccess.IsZero() {
				last = float64(st.LastSuccess.UnixMilli()) / 1000
			}
			p.sample("edgeagent_outbox_last_delivery_timestamp_seconds", last)
			p.family("edgeagent_outbox_delivered_total", "counter", "Facts the cloud took since start.")
			p.sample("edgeagent_outbox_delivered_total", float64(st.DeliveredTotal))
			p.family("edgeagent_outbox_parked_total", "counter", "Facts the cloud refused since start.")
			p.sample("edgeagent_outbox_parked_total", float64(st.ParkedTotal))
		}
	}
	if s.cfg.Scanners != nil {
		if ss := s.cfg.Scanners(); len(ss) > 0 {
			p.family("edgeagent_scanner_reads_dropped_total", "counter", "Reads a scanner sent that were dropped: too long, or never finished.")
			for _, x := range ss {
				p.sample("edgeagent_scanner_reads_dropped_total", float64(x.Dropped), "station", x.Station, "scanner", x.Scanner)
			}
		}
	}
	if ps := s.printers(); len(ps) > 0 {
		p.family("edgeagent_printer_up", "gauge", "1 when the printer is connected and not faulted.")
		p.family("edgeagent_printer_state", "gauge", "The printer's state (1 for the current one).")
		p.family("edgeagent_printer_labels_printed_total", "counter", "Labels the printer confirmed since start.")
		p.family("edgeagent_printer_labels_unknown_total", "counter", "Labels whose outcome the printer could not confirm, since start.")
		p.family("edgeagent_printer_queued_labels", "gauge", "Labels waiting for the printer.")
		for _, x := range ps {
			up := 0.0
			if x.State == "ready" || x.State == "printing" {
				up = 1
			}
			p.sample("edgeagent_printer_up", up, "printer", x.Tag)
			for _, st := range []string{"offline", "ready", "printing", "paused", "error"} {
				v := 0.0
				if st == x.State {
					v = 1
				}
				p.sample("edgeagent_printer_state", v, "printer", x.Tag, "state", st)
			}
			p.sample("edgeagent_printer_labels_printed_total", float64(x.PrintedSinceStart), "printer", x.Tag)
			p.sample("edgeagent_printer_labels_unknown_total", float64(x.UnknownSinceStart), "printer", x.Tag)
			p.sample("edgeagent_printer_queued_labels", float64(x.Queued), "printer", x.Tag)
		}
	}
	if s.cfg.Line != nil {
		if c, err := s.cfg.Line.counts(ctx); err == nil {
			p.family("edgeagent_labels", "gauge", "Labels in the ledger by state.")
			for _, k := range sortedKeys(c.Labels) {
				p.sample("edgeagent_labels", float64(c.Labels[k]), "state", k)
			}
			p.family("edgeagent_serials", "gauge", "Serial numbers by product and state.")
			for _, g := range sortedKeys(c.Serials) {
				for _, k := range sortedKeys(c.Serials[g]) {
					p.sample("edgeagent_serials", float64(c.Serials[g][k]), "gtin", g, "state", k)
				}
			}
			p.family("edgeagent_containers", "gauge", "Cases and pallets by state.")
			for _, lv := range sortedKeys(c.Containers) {
				for _, k := range sortedKeys(c.Containers[lv]) {
					p.sample("edgeagent_containers", float64(c.Containers[lv][k]), "level", lv, "state", k)
				}
			}
			p.family("edgeagent_label_orders", "gauge", "Label orders by status.")
			for _, k := range sortedKeys(c.LabelOrder) {
				p.sample("edgeagent_label_orders", float64(c.LabelOrder[k]), "status", k)
			}
		}
		s.rangeMetrics(ctx, p)
		p.family("edgeagent_epcis_unjournalled_total", "counter", "Facts since start whose EPCIS event could not be written (no valid EPC: see the log).")
		p.sample("edgeagent_epcis_unjournalled_total", float64(s.cfg.Line.Ledger.Journal().Skipped()))
		names := s.cfg.Line.Stations.Names()
		sort.Strings(names)
		if len(names) > 0 {
			p.family("edgeagent_station_scans_total", "counter", "Scans judged at each station since start, by verdict.")
			for _, n := range names {
				st, _ := s.cfg.Line.Stations.Get(n)
				ok, refused := st.Verdicts()
				p.sample("edgeagent_station_scans_total", float64(ok), "station", n, "verdict", "ok")
				p.sample("edgeagent_station_scans_total", float64(refused), "station", n, "verdict", "refused")
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// residentBytes reads the process's resident set size (Linux).
func residentBytes() (float64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()), err == nil
}
