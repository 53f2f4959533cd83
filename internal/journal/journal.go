// Package journal keeps the line's EPCIS 2.0 event journal: every
// commission, aggregation, disaggregation, decommission and shipment is
// also an EPCIS event (package epcis gives it its CBV meaning and its
// eventID), written in the same transaction as the fact it describes, so
// that the journal holds exactly what the line did: no fact without its
// event, no event of a fact rolled back.
//
// The journal is the table epcis_events, with the EPCs each event names in
// epcis_epcs; it is never changed or deleted. Read it with Query (the
// EPCIS query subset of GET /epcis/events and of `edgeagent epcis
// export`). When an EPCIS repository is configured, each event also goes
// into the outbox (kind facts.KindEPCIS, one FIFO stream), and the
// dispatcher captures it there as it delivers every other fact: in order,
// retried, parked when refused, never lost. Its eventID is the CBV 2.0
// canonical hash, so a repository drops an event it already has.
package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// Config is where the line's events happen and how its objects are named.
type Config struct {
	// Site is the GLN of the site (bizLocation); "" writes no bizLocation.
	Site string
	// ReadPoint is the GLN and extension of the line (readPoint), e.g.
	// the site's GLN and "LINE1"; an empty GLN takes the site's.
	ReadPointGLN, ReadPointExtension string
	// IDs chooses Digital Link URIs (the default) or EPC URNs.
	IDs epcis.IDs
	// Capture puts every event in the outbox for the EPCIS repository.
	Capture bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log is told of each event the journal cannot write.
	Log zerolog.Logger
}

// Journal writes the line's events. A nil *Journal writes none.
type Journal struct {
	cfg     Config
	line    epcis.Line
	outbox  *queue.Outbox
	skipped atomic.Int64
}

// New returns the journal of the outbox's database.
func New(o *queue.Outbox, cfg Config) (*Journal, error) {
	j := &Journal{cfg: cfg, outbox: o}
	if j.cfg.Now == nil {
		j.cfg.Now = time.Now
	}
	if cfg.Site != "" {
		loc, err := cfg.IDs.SGLN(cfg.Site, "")
		if err != nil {
			return nil, fmt.Errorf("epcis.site: %w", unprefix(err))
		}
		j.line.BizLocation = loc
	}
	rp := cfg.ReadPointGLN
	if rp == "" {
		rp = cfg.Site
	}
	if rp != "" {
		loc, err := cfg.IDs.SGLN(rp, cfg.ReadPointExtension)
		if err != nil {
			return nil, fmt.Errorf("epcis.read_point: %w", unprefix(err))
		}
		j.line.ReadPoint = loc
	} else if cfg.ReadPointExtension != "" {
		return nil, errors.New("epcis.read_point: an extension needs the GLN of the site (epcis.site)")
	}
	if cfg.IDs.Syntax == epcis.URN {
		// Check the prefix length once, here, rather than at the first
		// commission on the line.
		if _, err := cfg.IDs.SSCC("000000000000000000"); err != nil && strings.Contains(err.Error(), "Company Prefix") {
			return nil, fmt.Errorf("epcis.company_prefix_length: %w", unprefix(err))
		}
	}
	return j, nil
}

// Skipped is the number of events the journal could not write since the
// start: a fact whose objects have no valid EPC (a GTIN with a wrong check
// digit, a batch GS1 does not allow). The fact itself goes on; the line is
// not stopped for its journal, and the log names the fact.
func (j *Journal) Skipped() int64 {
	if j == nil {
		return 0
	}
	return j.skipped.Load()
}

// skip notes an event that cannot be written.
func (j *Journal) skip(what string, err error) error {
	j.skipped.Add(1)
	j.cfg.Log.Error().Str("event", what).Str("error", unprefix(err).Error()).Msg("not journalled: no valid EPCIS event for this fact")
	return nil
}

func unprefix(err error) error {
	s, _ := strings.CutPrefix(err.Error(), "epcis: ")
	return errors.New(s)
}

// Pack is a pack's GTIN and serial.
type Pack struct{ GTIN, Serial string }

// Commission journals the commissioning of a printed pack, with its batch
// and expiry (GS1 YYMMDD) as ILMD. The ledger calls it once a serial: a
// label reaches printed once, and a serial has one label.
func (j *Journal) Commission(tx *sql.Tx, order, gtin, serial, batch, expiry string) error {
	if j == nil {
		return nil
	}
	epc, err := j.cfg.IDs.SGTIN(gtin, serial)
	if err != nil {
		return j.skip("commissioning", err)
	}
	at := j.cfg.Now()
	var ilmd *epcis.ILMD
	if batch != "" || expiry != "" {
		ilmd = &epcis.ILMD{LotNumber: batch}
		if expiry != "" {
			if ilmd.ItemExpirationDate, err = epcis.ExpiryDate(expiry, at); err != nil {
				return j.skip("commissioning", err)
			}
		}
	}
	ev, err := j.line.Commission(at, []string{epc}, ilmd)
	if err != nil {
		return j.skip("commissioning", err)
	}
	return j.record(tx, ev, order, ev.EPCList)
}

// Decommission journals a pack taken out of circulation for one of the
// line's reasons.
func (j *Journal) Decommission(tx *sql.Tx, order, reason, gtin, serial string) error {
	if j == nil {
		return nil
	}
	epc, err := j.cfg.IDs.SGTIN(gtin, serial)
	if err != nil {
		return j.skip("decommissioning", err)
	}
	ev, err := j.line.Decommission(j.cfg.Now(), reason, []string{epc})
	if err != nil {
		return j.skip("decommissioning", err)
	}
	return j.record(tx, ev, order, ev.EPCList)
}

// Pack journals packs and containers packed into the container sscc.
func (j *Journal) Pack(tx *sql.Tx, sscc string, packs []Pack, containers []string) error {
	if j == nil {
		return nil
	}
	return j.aggregate(tx, "packing", j.line.Pack, sscc, packs, containers)
}

// Unpack journals packs and containers taken out of the container sscc;
// none named means all of them.
func (j *Journal) Unpack(tx *sql.Tx, sscc string, packs []Pack, containers []string) error {
	if j == nil {
		return nil
	}
	return j.aggregate(tx, "unpacking", j.line.Unpack, sscc, packs, containers)
}

func (j *Journal) aggregate(tx *sql.Tx, what string, build func(time.Time, string, []string) (*epcis.AggregationEvent, error),
	sscc string, packs []Pack, containers []string) error {
	parent, children, err := j.aggregation(sscc, packs, containers)
	if err != nil {
		return j.skip(what, err)
	}
	ev, err := build(j.cfg.Now(), parent, children)
	if err != nil {
		return j.skip(what, err)
	}
	return j.record(tx, ev, "", append([]string{parent}, children...))
}

// Ship journals containers leaving the site with a carrier's shipment:
// its ID is the event's bill of lading (a business transaction of the
// site, when the site is configured).
func (j *Journal) Ship(tx *sql.Tx, shipment string, ssccs []string) error {
	if j == nil || len(ssccs) == 0 {
		return nil
	}
	epcs := make([]string, len(ssccs))
	for i, s := range ssccs {
		e, err := j.cfg.IDs.SSCC(s)
		if err != nil {
			return j.skip("shipping", err)
		}
		epcs[i] = e
	}
	var sh epcis.Shipment
	if j.cfg.Site != "" && shipment != "" {
		bt, err := epcis.BizTransactionID(j.cfg.Site, shipment)
		if err != nil {
			return j.skip("shipping", err)
		}
		sh.BizTransactions = []epcis.BizTransaction{{Type: "bol", BizTransaction: bt}}
	}
	ev, err := j.line.Ship(j.cfg.Now(), epcs, sh)
	if err != nil {
		return j.skip("shipping", err)
	}
	return j.record(tx, ev, "", epcs)
}

func (j *Journal) aggregation(sscc string, packs []Pack, containers []string) (string, []string, error) {
	parent, err := j.cfg.IDs.SSCC(sscc)
	if err != nil {
		return "", nil, err
	}
	children := make([]string, 0, len(packs)+len(containers))
	for _, p := range packs {
		e, err := j.cfg.IDs.SGTIN(p.GTIN, p.Serial)
		if err != nil {
			return "", nil, err
		}
		children = append(children, e)
	}
	for _, c := range containers {
		e, err := j.cfg.IDs.SSCC(c)
		if err != nil {
			return "", nil, err
		}
		children = append(children, e)
	}
	return parent, children, nil
}

const (
	insertEvent = `INSERT INTO epcis_events (event_id, event_type, action, biz_step, event_time, order_id, body)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`
	insertEPC = `INSERT OR IGNORE INTO epcis_epcs (epc, seq) VALUES (?, ?)`
)

// record writes the event and the EPCs it names, and queues it for the
// repository. The same event twice (the same eventID: same time to the
// millisecond, same objects, same step) is one event.
func (j *Journal) record(tx *sql.Tx, ev epcis.Event, order string, epcs []string) error {
	body, err := ev.MarshalJSON() // compact already: json.Marshal would only check it again
	if err != nil {
		return err
	}
	b := ev.Common()
	res, err := tx.Exec(insertEvent, b.EventID, ev.Type(), b.Action, b.BizStep, b.EventTime.UnixMilli(), order, body)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, e := range epcs {
		if _, err := tx.Exec(insertEPC, e, seq); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if j.cfg.Capture {
		if _, err := j.outbox.Enqueue(tx, facts.EPCISItem(b.EventID, body)); err != nil {
			return err
		}
	}
	return nil
}

// Filter is a query of the journal: the EPCIS 2.0 query parameters the
// agent answers.
type Filter struct {
	From, To  time.Time // GE_eventTime, LT_eventTime (zero: open)
	EventType string    // eventType: ObjectEvent or AggregationEvent
	BizStep   string    // EQ_bizStep, short CBV form or URI
	EPC       string    // MATCH_anyEPC: epcList, parentID or childEPCs
	EventID   string    // EQ_eventID: the event's canonical hash
	Order     string    // every event of an EPC commissioned for the label order
	After     int64     // events after this journal position (paging)
	Limit     int       // at most this many (0: all)
}

// ceilMilli is t in Unix milliseconds, rounded up: events are kept to the
// millisecond, so an event at or after t (GE), or before t (LT), is one at
// or after, or before, this millisecond.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// Entry is one journalled event.
type Entry struct {
	Seq   int64
	Event json.RawMessage
}

// Query reads the journal's events that pass the filter, in the order they
// happened.
func Query(ctx context.Context, db *sql.DB, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	if !f.From.IsZero() {
		where, args = append(where, "e.event_time >= ?"), append(args, ceilMilli(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "e.event_time < ?"), append(args, ceilMilli(f.To))
	}
	if f.EventType != "" {
		where, args = append(where, "e.event_type = ?"), append(args, f.EventType)
	}
	if f.BizStep != "" {
		step, _ := strings.CutPrefix(f.BizStep, "https://ref.gs1.org/cbv/BizStep-")
		step, _ = strings.CutPrefix(step, "urn:epcglobal:cbv:bizstep:")
		where, args = append(where, "e.biz_step = ?"), append(args, step)
	}
	if f.EPC != "" {
		where, args = append(where, "e.seq IN (SELECT seq FROM epcis_epcs WHERE epc = ?)"), append(args, f.EPC)
	}
	if f.EventID != "" {
		where, args = append(where, "e.event_id = ?"), append(args, f.EventID)
	}
	if f.Order != "" {
		where = append(where, `e.seq IN (SELECT x.seq FROM epcis_epcs x WHERE x.epc IN (
			SELECT c.epc FROM epcis_events o JOIN epcis_epcs c ON c.seq = o.seq WHERE o.order_id = ?))`)
		args = append(args, f.Order)
	}
	if f.After > 0 {
		where, args = append(where, "e.seq > ?"), append(args, f.After)
	}
	q := "SELECT e.seq, e.body FROM epcis_events e"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY e.seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Seq, &e.Event); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts is the number of journalled events by type and business step,
// e.g. "ObjectEvent commissioning".
func Counts(ctx context.Context, db *sql.DB) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT event_type, biz_step, count(*) FROM epcis_events GROUP BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var typ, step string
		var n int
		if err := rows.Scan(&typ, &step, &n); err != nil {
			return nil, err
		}
		out[typ+" "+step] = n
	}
	return out, rows.Err()
}
