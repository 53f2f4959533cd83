package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/line"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/scanner"
)

// stationSource is one scanner of a station.
type stationSource struct {
	st  *line.Station
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

func lineScan(d scanner.Decoded) line.Scan {
	return line.Scan{Source: d.Source, Raw: d.Raw, At: d.At, GS1: d.GS1, Plain: d.Plain, Err: d.Err}
}

// PageScan takes a read typed into a station page by a wedge scanner.
func (a *Agent) PageScan(ctx context.Context, station, data string) (line.Verdict, error) {
	st, ok := a.Line.Station(station)
	if !ok {
		return line.Verdict{}, fmt.Errorf("no station %q", station)
	}
	fr := scanner.NewFramer(scanner.Framing{Suffix: "\r", GSSubstitute: a.stations[station].GS})
	reads := fr.Write([]byte(data+"\r"), time.Now())
	if len(reads) != 1 {
		return line.Verdict{}, fmt.Errorf("a read is one line of at most 4096 characters")
	}
	return st.Handle(ctx, lineScan(scanner.Decode(scanner.NewScan(reads[0], "page", time.Now(), true))))
}

// shipRecorder gives the cloud sender the line's shipping records.
type shipRecorder struct{ a *Agent }

func (r shipRecorder) ShipmentOf(ctx context.Context, id int64) (string, error) {
	return r.a.Line.ShipmentOf(ctx, id)
}
func (r shipRecorder) ShipRequested(ctx context.Context, id int64, shipment string) error {
	return r.a.Line.ShipRequested(ctx, id, shipment)
}
func (r shipRecorder) ShipLabelled(ctx context.Context, id int64, zpl []byte) error {
	return r.a.Line.ShipLabelled(ctx, id, zpl)
}
func (r shipRecorder) ShipFailed(ctx context.Context, id int64, detail string) error {
	return r.a.Line.ShipFailed(ctx, id, detail)
}

// printerStatus reports the printers for the dashboard and the metrics.
func (a *Agent) printerStatus() []api.PrinterStatus {
	var out []api.PrinterStatus
	for tag, p := range a.Printers {
		s := p.Snapshot()
		out = append(out, api.PrinterStatus{Tag: tag, URL: s.URL, State: string(s.State), Faults: s.Faults, Printed: s.Printed,
			Unknown: s.Unknown, Queued: s.Queued, LastErr: s.LastErr})
	}
	return out
}

var testLabels atomic.Int64

// testPrint prints a test label with the time on it.
func (a *Agent) testPrint(_ context.Context, tag string) error {
	p, ok := a.Printers[tag]
	if !ok {
		return fmt.Errorf("no printer %q", tag)
	}
	n := testLabels.Add(1)
	id := fmt.Sprintf("test:%d", n)
	label := fmt.Sprintf("^XA^CI28^PW400^LL240^FO20,20^A0N,36,30^FDedgeagent test label^FS^FO20,80^A0N,28,24^FD%s %s^FS^PQ1^XZ",
		tag, time.Now().Format("2006-01-02 15:04:05"))
	_, err := p.Submit(id, []printer.Label{{ID: id, Serial: "TEST", Data: []byte(label)}})
	return err
}
