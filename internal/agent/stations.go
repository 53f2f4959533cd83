package agent

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/scanner"
	"github.com/edgeagent/edgeagent/internal/stations"
)

// stationSource is one scanner of a station.
type stationSource struct {
	st  *stations.Station
	src scanner.Source
}

// readScanner hands each read of a scanner to its station, one at a time,
// until ctx ends. A read the database could not store gets no verdict:
// the operator sees no "ok" and scans again.
func (a *Agent) readScanner(ctx context.Context, ss stationSource) {
	ch := make(chan scanner.Scan, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ss.src.Run(ctx, ch); err != nil && ctx.Err() == nil {
			a.log.Error().Err(err).Str("station", ss.st.Name()).Str("scanner", ss.src.String()).Msg("scanner stopped")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			<-done
			return
		case sc := <-ch:
			v, err := ss.st.Handle(ctx, lineScan(scanner.Decode(sc)))
			if err != nil {
				a.log.Error().Err(err).Str("station", ss.st.Name()).Msg("scan not recorded")
				continue
			}
			a.log.Debug().Str("station", v.Station).Bool("ok", v.OK).Str("code", v.Code).Msg(v.Message)
		}
	}
}

func lineScan(d scanner.Decoded) stations.Scan {
	return stations.Scan{Source: d.Source, Raw: d.Raw, At: d.At, GS1: d.GS1, Plain: d.Plain, Err: d.Err}
}

// PageScan takes a read typed into a station page by a wedge scanner.
func (a *Agent) PageScan(ctx context.Context, station, data, actor string) (stations.Verdict, error) {
	st, ok := a.Line.Stations.Get(station)
	if !ok {
		return stations.Verdict{}, fmt.Errorf("station %q: %w", station, api.ErrBadScan)
	}
	switch {
	case data == "":
		return stations.Verdict{}, fmt.Errorf("data: the read is empty: %w", api.ErrBadScan)
	case len(data) > 4096:
		return stations.Verdict{}, fmt.Errorf("data: a read is at most 4096 characters, got %d: %w", len(data), api.ErrBadScan)
	case strings.ContainsAny(data, "\r\n"):
		return stations.Verdict{}, fmt.Errorf("data: a read is one line, without CR or LF: %w", api.ErrBadScan)
	}
	fr := scanner.NewFramer(scanner.Framing{Suffix: "\r", GSSubstitute: a.stations[station].GS})
	reads := fr.Write([]byte(data+"\r"), time.Now())
	if len(reads) != 1 {
		return stations.Verdict{}, fmt.Errorf("data: not one read: %w", api.ErrBadScan)
	}
	sc := lineScan(scanner.Decode(scanner.NewScan(reads[0], "page", time.Now(), true)))
	sc.Actor = actor
	return st.Handle(ctx, sc)
}

// shipRecorder gives the cloud sender the line's shipping records.
type shipRecorder struct{ a *Agent }

func (r shipRecorder) ShipmentOf(ctx context.Context, id int64) (string, error) {
	return r.a.Line.Shipments.ShipmentOf(ctx, id)
}
func (r shipRecorder) ShipRequested(ctx context.Context, id int64, shipment string) error {
	return r.a.Line.Shipments.ShipRequested(ctx, id, shipment)
}
func (r shipRecorder) ShipLabelled(ctx context.Context, id int64, zpl []byte) error {
	return r.a.Line.Shipments.ShipLabelled(ctx, id, zpl)
}
func (r shipRecorder) ShipFailed(ctx context.Context, id int64, detail string) error {
	return r.a.Line.Shipments.ShipFailed(ctx, id, detail)
}

// printerStatus reports the printers for the dashboard and the metrics.
func (a *Agent) printerStatus() []api.PrinterStatus {
	counts, err := a.Line.Ledger.PrinterCounts(context.Background())
	if err != nil {
		a.log.Warn().Err(err).Msg("cannot count the printers' labels")
	}
	var out []api.PrinterStatus
	for tag, p := range a.Printers {
		s, c := p.Snapshot(), counts[tag]
		out = append(out, api.PrinterStatus{Tag: tag, URL: s.URL, State: string(s.State), Faults: s.Faults,
			Printed: int64(c.Printed), Unknown: int64(c.Unknown), Queued: c.Queued, Last: c.Last,
			PrintedSinceStart: s.Printed, UnknownSinceStart: s.Unknown, LastErr: s.LastErr})
	}
	return out
}

// testPrint queues a test label with the time on it; it prints in turn
// with the printer's other labels.
func (a *Agent) testPrint(ctx context.Context, tag string) error {
	if _, ok := a.Printers[tag]; !ok {
		return fmt.Errorf("printer %q: %w", tag, api.ErrNoPrinter)
	}
	data := fmt.Sprintf("^XA^CI28^PW400^LL240^FO20,20^A0N,36,30^FDedgeagent test label^FS^FO20,80^A0N,28,24^FD%s %s^FS^PQ1^XZ",
		tag, time.Now().Format("2006-01-02 15:04:05"))
	err := a.DB.Write(ctx, func(tx *sql.Tx) error {
		_, err := a.Line.Ledger.QueueLabel(tx, label.Test, tag, "test label", []byte(data))
		return err
	})
	if err == nil {
		a.Line.Ledger.Wake(tag)
	}
	return err
}

// scannerStatus reports each station scanner's dropped reads.
func (a *Agent) scannerStatus() []api.ScannerStatus {
	out := make([]api.ScannerStatus, 0, len(a.sources))
	for _, ss := range a.sources {
		out = append(out, api.ScannerStatus{Station: ss.st.Name(), Scanner: ss.src.String(), Dropped: ss.src.Dropped(), State: string(ss.src.State())})
	}
	return out
}

// ready is the agent's readiness (/readyz): the database answers, every
// printer has been checked since start and every scanner has started
// (opened its device, or listens). A printer that is offline or paused, or
// a scanner that is unavailable, is reported but does not make the agent
// unready: the agent has done what starting asks; the parts wait for
// people.
func (a *Agent) ready(ctx context.Context) error {
	if err := a.DB.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	for tag, p := range a.Printers {
		if !p.Snapshot().Checked {
			return fmt.Errorf("printer %s: not checked yet", tag)
		}
	}
	for _, ss := range a.sources {
		if ss.src.State() == scanner.SourceStarting {
			return fmt.Errorf("scanner %s of station %s: not started yet", ss.src, ss.st.Name())
		}
	}
	return nil
}
