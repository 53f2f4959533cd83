package orders

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
)

// statusColumn reads a label order's status as the line shows it: closed
// once a supervisor closed it, its stored status before.
const statusColumn = `CASE WHEN closed_at IS NOT NULL THEN 'closed' ELSE status END`

// Errors of closing.
var (
	// ErrCloseReason is a close without a reason.
	ErrCloseReason = errors.New("reason: closing a label order needs a reason")
	// ErrNotReconciled is a reconciliation asked for before the order was
	// closed.
	ErrNotReconciled = errors.New("it is not closed, so it has no reconciliation yet")
)

// OpenLabelsError refuses a close while labels of the order are still on
// their way to the printer or their outcome is unknown: it says how many
// of each, and which come first.
type OpenLabelsError struct {
	OrderID string
	Counts  map[ledger.LabelState]int // unknown, printing, queued
	First   []ledger.OpenLabel
}

func (e *OpenLabelsError) Error() string {
	var parts []string
	for _, s := range []ledger.LabelState{ledger.LabelUnknown, ledger.LabelPrinting, ledger.LabelQueued} {
		if n := e.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	var first []string
	for _, l := range e.First {
		first = append(first, fmt.Sprintf("label %d (serial %s, %s)", l.ID, l.Serial, l.State))
	}
	total := e.Counts[ledger.LabelUnknown] + e.Counts[ledger.LabelPrinting] + e.Counts[ledger.LabelQueued]
	more := ""
	if total > len(e.First) {
		more = fmt.Sprintf(" and %d more", total-len(e.First))
	}
	return fmt.Sprintf("label order %s cannot be closed while labels are queued, printing or unknown: %s — %s%s; "+
		"resolve or reprint each unknown label (Orders page) and let the printer finish the others, then close it",
		e.OrderID, strings.Join(parts, ", "), strings.Join(first, ", "), more)
}

// openShown is how many open labels a refused close names.
const openShown = 5

// Reconciliation is the account of a label order written when it is
// closed: every serial the order was given and where it went. Its figures
// are read in the transaction that closes the order, and Checks holds the
// identities between them; Balanced is true when every check holds. A check
// that does not hold is shown with its figures, never left out.
type Reconciliation struct {
	OrderID   string    `json:"order_id"`
	GTIN      string    `json:"gtin"`
	Batch     string    `json:"batch"`
	Expiry    string    `json:"expiry"`
	Printer   string    `json:"printer"`
	Template  string    `json:"template"`
	Status    State     `json:"status"` // the order's status when it was closed
	CreatedAt time.Time `json:"created_at"`
	ClosedAt  time.Time `json:"closed_at"`
	// ClosedBy is the actor as the audit log names it (user:NAME,
	// api:local, cli:NAME); Meaning that of the electronic signature
	// (empty for the service token, which signs nothing).
	ClosedBy    string             `json:"closed_by"`
	Meaning     string             `json:"meaning"`
	Reason      string             `json:"reason"`
	Labels      LabelFigures       `json:"labels"`
	Serials     SerialFigures      `json:"serials"`
	Outbox      OutboxFigures      `json:"outbox"`
	Aggregation containers.Packing `json:"aggregation"`
	Odometer    OdometerFigures    `json:"odometer"`
	Checks      []Check            `json:"checks"`
	Balanced    bool               `json:"balanced"`
}

// LabelFigures are the order's labels.
type LabelFigures struct {
	Planned      int `json:"planned"`       // quantity plus extra labels
	Allocated    int `json:"allocated"`     // labels made, each with a serial of the pool
	NotAllocated int `json:"not_allocated"` // planned but never made (closed short)
	Printed      int `json:"printed"`       // confirmed by the printer, or by a person
	Voided       int `json:"voided"`        // not printed, by a person's word
	Reprints     int `json:"reprints"`      // sent again, same serial, after an unknown outcome
}

// SerialFigures are the serials of the order's labels.
type SerialFigures struct {
	Commissioned     int            `json:"commissioned"`             // printed; the cloud has their commission
	Waiting          int            `json:"waiting"`                  // printed; their commission waits in the outbox
	Decommissioned   int            `json:"decommissioned"`           // printed, then taken out of circulation
	DecommissionedBy map[string]int `json:"decommissioned_by_reason"` // the same, by reason
	Voided           int            `json:"voided"`                   // of voided labels: out of circulation, never commissioned
	Other            int            `json:"other"`                    // of printed labels, in any other state: none in a sound ledger
}

// OutboxFigures are the facts of the order's serials not yet delivered to
// the cloud.
type OutboxFigures struct {
	CommissionsPending   int `json:"commissions_pending"`
	CommissionsParked    int `json:"commissions_parked"` // refused by the cloud: a person decides (Queue page)
	DecommissionsPending int `json:"decommissions_pending"`
	DecommissionsParked  int `json:"decommissions_parked"`
}

// OdometerFigures are what the printer's odometer counted over the order.
// Without a reading (a printer that keeps no odometer, a file transport)
// only Printer, Read and the ledger's counts are given.
type OdometerFigures struct {
	Printer string `json:"printer"`
	Read    bool   `json:"read"`
	Start   *int64 `json:"start"`  // before the order's first label left
	End     *int64 `json:"end"`    // when its last label was confirmed
	Travel  *int64 `json:"travel"` // End − Start
	// What the ledger says the printer printed in that travel: the
	// order's printed labels, its reprints, and the printer's other
	// labels confirmed in between.
	Printed  int `json:"printed"`
	Reprints int `json:"reprints"`
	Other    int `json:"other"`
	// Unread counts printed labels of the order that no reading confirmed
	// (a person resolved them as printed): counted in Printed.
	Unread int `json:"unread"`
	// Difference is Travel − (Printed + Reprints + Other).
	Difference *int64 `json:"difference"`
}

// Differs reports whether the odometer was read and counted otherwise than
// the ledger.
func (o OdometerFigures) Differs() bool { return o.Difference != nil && *o.Difference != 0 }

// Check is one identity between the figures.
type Check struct {
	Name  string `json:"name"`
	Rule  string `json:"rule"` // the identity, in words
	Left  int64  `json:"left"`
	Right int64  `json:"right"`
	Holds bool   `json:"holds"`
	Note  string `json:"note,omitempty"` // what a difference may mean, where it does not hold
}

// Stored is a reconciliation as kept: the report as written (Raw, whose
// SHA-256 the close's audit entry holds) and the audit entry.
type Stored struct {
	Reconciliation
	Raw     json.RawMessage
	SHA256  string
	AuditID int64
}

// storedJSON is how a stored reconciliation is answered: the report as it
// was written, its SHA-256 and the audit entry of the close.
type storedJSON struct {
	Report     json.RawMessage `json:"report"`
	SHA256     string          `json:"sha256"`
	AuditEntry int64           `json:"audit_entry"`
}

// MarshalJSON answers the report as stored, so that its SHA-256 can be
// checked against the bytes.
func (s Stored) MarshalJSON() ([]byte, error) {
	return json.Marshal(storedJSON{Report: s.Raw, SHA256: s.SHA256, AuditEntry: s.AuditID})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Stored) UnmarshalJSON(b []byte) error {
	var j storedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	s.Raw, s.SHA256, s.AuditID = j.Report, j.SHA256, j.AuditEntry
	return json.Unmarshal(j.Report, &s.Reconciliation)
}

// Close closes a label order with its reconciliation, in one transaction:
// the figures are read, the order is marked closed, the report is stored
// and the audit entry written (with the report's SHA-256). actor may carry
// an electronic signature (audit.Signed). A close is refused while any
// label of the order is queued, printing or unknown (*OpenLabelsError),
// while its release is still queuing labels, and for an order closed
// already (*StateError).
func (o *Orders) Close(ctx context.Context, actor, orderID, reason string) (Stored, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Stored{}, ErrCloseReason
	}
	who, meaning := audit.Signer(actor)
	var out Stored
	err := o.db.Write(ctx, func(tx *sql.Tx) error {
		out = Stored{}
		r, err := o.reconcile(tx, orderID)
		if err != nil {
			return err
		}
		r.ClosedAt = time.Now().UTC().Truncate(time.Millisecond)
		r.ClosedBy, r.Meaning, r.Reason = who, meaning, reason
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		out = Stored{Reconciliation: r, Raw: raw, SHA256: hex.EncodeToString(sum[:])}
		if _, err := tx.Exec(`UPDATE label_orders SET closed_at = ? WHERE order_id = ?`, r.ClosedAt.UnixMilli(), orderID); err != nil {
			return err
		}
		verdict := "balanced"
		if !r.Balanced {
			verdict = plural(len(r.Failed()), "check does not hold", "checks do not hold")
		}
		if err := audit.Write(tx, actor, "label_order.close", orderID, string(r.Status), string(Closed)+"; reconciliation sha256:"+out.SHA256+"; "+verdict, reason); err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT MAX(id) FROM audit_log`).Scan(&out.AuditID); err != nil {
			return err
		}
		balanced := 0
		if r.Balanced {
			balanced = 1
		}
		_, err = tx.Exec(`INSERT INTO reconciliations (order_id, at, signed_by, meaning, reason, balanced, report, sha256, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			orderID, r.ClosedAt.UnixMilli(), who, meaning, reason, balanced, raw, out.SHA256, out.AuditID)
		return err
	})
	if err != nil {
		return Stored{}, err
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// reconcile reads an order's figures inside tx and checks them, refusing
// an order that cannot be closed.
func (o *Orders) reconcile(tx *sql.Tx, orderID string) (Reconciliation, error) {
	r := Reconciliation{OrderID: orderID}
	var qty, extra int
	var created int64
	var closed sql.NullInt64
	err := tx.QueryRow(`SELECT gtin, batch, expiry, quantity, extra, destination, template, status, created_at, closed_at FROM label_orders WHERE order_id = ?`, orderID).
		Scan(&r.GTIN, &r.Batch, &r.Expiry, &qty, &extra, &r.Printer, &r.Template, &r.Status, &created, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("label order %q: %w", orderID, ErrLabelOrderNotFound)
	}
	if err != nil {
		return r, err
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	switch {
	case closed.Valid:
		return r, &StateError{OrderID: orderID, State: Closed, Act: "it is closed already; its reconciliation is kept"}
	case r.Status == Released:
		return r, &StateError{OrderID: orderID, State: Released, Act: "its labels are still being queued; close it when they are printed"}
	}
	b, err := ledger.Book(tx, orderID, openShown)
	if err != nil {
		return r, err
	}
	if len(b.Open) > 0 {
		return r, &OpenLabelsError{OrderID: orderID, First: b.Open, Counts: map[ledger.LabelState]int{
			ledger.LabelUnknown: b.Labels[ledger.LabelUnknown], ledger.LabelPrinting: b.Labels[ledger.LabelPrinting], ledger.LabelQueued: b.Labels[ledger.LabelQueued]}}
	}
	if r.Aggregation, err = containers.OrderPacking(tx, orderID); err != nil {
		return r, err
	}
	for _, n := range b.Labels {
		r.Labels.Allocated += n
	}
	r.Labels.Planned = qty + extra
	r.Labels.NotAllocated = max(0, r.Labels.Planned-r.Labels.Allocated)
	r.Labels.Printed, r.Labels.Voided, r.Labels.Reprints = b.Labels[ledger.LabelPrinted], b.Labels[ledger.LabelVoided], b.Reprints

	r.Serials.DecommissionedBy = map[string]int{}
	for s, n := range b.Printed {
		switch s {
		case ledger.SerialCommissioned:
			r.Serials.Commissioned = n
		case ledger.SerialPrinted:
			r.Serials.Waiting = n
		case ledger.SerialDecommissioned:
			r.Serials.Decommissioned = n
		default:
			r.Serials.Other += n
		}
	}
	for reason, n := range b.Decommissioned {
		if reason == "" {
			reason = "none given"
		}
		r.Serials.DecommissionedBy[reason] += n
	}
	r.Serials.Voided = b.VoidedOut
	r.Outbox = OutboxFigures{CommissionsPending: b.CommissionsPending, CommissionsParked: b.CommissionsParked,
		DecommissionsPending: b.DecommissionsPending, DecommissionsParked: b.DecommissionsParked}

	r.Odometer = OdometerFigures{Printer: r.Printer, Read: b.Odometer.Read, Printed: r.Labels.Printed, Reprints: r.Labels.Reprints,
		Other: b.Odometer.Other, Unread: b.Odometer.Unread}
	if b.Odometer.Read {
		start, end := b.Odometer.Start, b.Odometer.End
		travel := end - start
		diff := travel - int64(r.Labels.Printed+r.Labels.Reprints+b.Odometer.Other)
		r.Odometer.Start, r.Odometer.End, r.Odometer.Travel, r.Odometer.Difference = &start, &end, &travel, &diff
	}
	r.Checks = r.check()
	r.Balanced = len(r.Failed()) == 0
	return r, nil
}

// check makes the identities of the figures. Labels: every label made is
// printed or voided (none is open at a close). Serials: every serial of a
// printed label is commissioned, waiting for its commission, or
// decommissioned; every serial of a voided label is out of circulation.
// Containers: no pack out of circulation is in one. Odometer, where the
// printer keeps one: its travel over the order is the labels the ledger
// says it printed in that time.
func (r Reconciliation) check() []Check {
	l, s := r.Labels, r.Serials
	out := []Check{
		{Name: "labels", Rule: "allocated = printed + voided", Left: int64(l.Allocated), Right: int64(l.Printed + l.Voided),
			Note: "labels of the order are in another state: the ledger does not agree with itself; list the order's labels"},
		{Name: "serials", Rule: "printed = commissioned + waiting + decommissioned", Left: int64(l.Printed), Right: int64(s.Commissioned + s.Waiting + s.Decommissioned),
			Note: fmt.Sprintf("%d serials of printed labels are in another state (or missing): the ledger does not agree with itself", s.Other)},
		{Name: "voided", Rule: "voided labels = their serials out of circulation", Left: int64(l.Voided), Right: int64(s.Voided),
			Note: "a serial of a voided label is still in circulation: decommission it"},
		{Name: "containers", Rule: "packs out of circulation in a container = 0", Left: int64(r.Aggregation.OutOfCirculation), Right: 0,
			Note: "a decommissioned or voided pack is in a case: take it out (containers remove)"},
	}
	if o := r.Odometer; o.Read {
		c := Check{Name: "odometer", Rule: "odometer travel = printed + reprints + other labels of the printer in between",
			Left: *o.Travel, Right: int64(o.Printed + o.Reprints + o.Other)}
		switch d := *o.Difference; {
		case d > 0:
			c.Note = fmt.Sprintf("the printer counted %d more: labels that came out without being confirmed (unknown, then voided or reprinted), "+
				"labels fed or printed at the printer itself, or a calibration", d)
		case d < 0:
			c.Note = fmt.Sprintf("the printer counted %d fewer: a reprint of a label that had not come out, a label resolved as printed that was not, "+
				"or the odometer was reset", -d)
		}
		out = append(out, c)
	}
	for i := range out {
		out[i].Holds = out[i].Left == out[i].Right
		if out[i].Holds {
			out[i].Note = ""
		}
	}
	return out
}

// Failed lists the checks that do not hold.
func (r Reconciliation) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Holds {
			out = append(out, c)
		}
	}
	return out
}

// Reasons lists the reasons serials were decommissioned for, sorted.
func (r Reconciliation) Reasons() []string {
	out := make([]string, 0, len(r.Serials.DecommissionedBy))
	for k := range r.Serials.DecommissionedBy {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Summary is the reconciliation in a few lines, for the command line.
func (r Reconciliation) Summary() []string {
	l, s, a, ob := r.Labels, r.Serials, r.Aggregation, r.Outbox
	out := []string{
		fmt.Sprintf("label order %s (%s, batch %s) closed %s by %s: %s", r.OrderID, r.GTIN, r.Batch, r.ClosedAt.Format(time.RFC3339), signedBy(r.ClosedBy, r.Meaning), r.Reason),
		fmt.Sprintf("labels: planned %d, allocated %d, printed %d, voided %d, reprints %d, never allocated %d", l.Planned, l.Allocated, l.Printed, l.Voided, l.Reprints, l.NotAllocated),
		fmt.Sprintf("serials: commissioned %d, waiting for the cloud %d (parked %d), decommissioned %d, voided %d", s.Commissioned, s.Waiting, ob.CommissionsParked, s.Decommissioned, s.Voided),
	}
	if len(s.DecommissionedBy) > 0 {
		var by []string
		for _, k := range r.Reasons() {
			by = append(by, fmt.Sprintf("%s %d", k, s.DecommissionedBy[k]))
		}
		out = append(out, "decommissioned by reason: "+strings.Join(by, ", "))
	}
	out = append(out, fmt.Sprintf("aggregated: %d packs in %d closed cases (%d in %d open cases); %d packs in %d cases on %d pallets",
		a.PacksInClosedCases, a.ClosedCases, a.PacksInOpenCases, a.OpenCases, a.PacksOnPallets, a.CasesOnPallets, a.Pallets))
	if o := r.Odometer; o.Read {
		out = append(out, fmt.Sprintf("odometer of %s: %d to %d, travel %d; printed %d + reprints %d + other labels %d = %d; difference %d",
			o.Printer, *o.Start, *o.End, *o.Travel, o.Printed, o.Reprints, o.Other, o.Printed+o.Reprints+o.Other, *o.Difference))
	} else {
		out = append(out, fmt.Sprintf("odometer of %s: not read (the printer keeps none, or none of the order's labels was confirmed by it)", r.Printer))
	}
	if r.Balanced {
		out = append(out, "every check holds")
	}
	for _, c := range r.Failed() {
		out = append(out, fmt.Sprintf("DOES NOT HOLD: %s: %s (%d ≠ %d): %s", c.Name, c.Rule, c.Left, c.Right, c.Note))
	}
	return out
}

func signedBy(who, meaning string) string {
	if meaning == "" {
		return who
	}
	return who + " (signed: " + meaning + ")"
}

// Reconciliation reads a closed order's reconciliation as it was stored.
func (o *Orders) Reconciliation(ctx context.Context, orderID string) (Stored, error) {
	var s Stored
	var raw []byte
	err := o.db.Reader().QueryRowContext(ctx, `SELECT report, sha256, audit_id FROM reconciliations WHERE order_id = ?`, orderID).Scan(&raw, &s.SHA256, &s.AuditID)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := o.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM label_orders WHERE order_id = ?`, orderID).Scan(&n); err != nil {
			return s, err
		}
		if n == 0 {
			return s, fmt.Errorf("label order %q: %w", orderID, ErrLabelOrderNotFound)
		}
		return s, fmt.Errorf("label order %s: %w", orderID, ErrNotReconciled)
	}
	if err != nil {
		return s, err
	}
	s.Raw = raw
	return s, json.Unmarshal(raw, &s.Reconciliation)
}
