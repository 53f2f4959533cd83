package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Row is a label as the ledger keeps it.
type Row struct {
	ID       int64
	Kind     label.Kind
	OrderID  string // pack labels: the label order
	GTIN     string
	Serial   string
	Subject  string
	Template string
	Data     []byte
	Printer  string
	State    LabelState
	Reason   string
}

// Ref is the label's reference.
func (r Row) Ref() label.Ref { return label.Ref{Kind: r.Kind, ID: r.ID} }

const rowColumns = `id, kind, COALESCE(order_id, ''), gtin, serial, subject, template, data, printer, state, reason`

func scanRow(sc interface{ Scan(...any) error }) (Row, error) {
	var r Row
	err := sc.Scan(&r.ID, &r.Kind, &r.OrderID, &r.GTIN, &r.Serial, &r.Subject, &r.Template, &r.Data, &r.Printer, &r.State, &r.Reason)
	return r, err
}

func loadRow(tx *sql.Tx, id int64) (Row, error) {
	r, err := scanRow(tx.QueryRow(`SELECT `+rowColumns+` FROM labels WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("label %d: %w", id, ErrLabelNotFound)
	}
	return r, err
}

// PackData is what a pack label prints.
type PackData struct {
	OrderID, GTIN, Batch, Expiry, Serial string
	// Seq orders the label among its printer's queue: the label order's
	// sequence, so that one order's labels are not interleaved with a
	// later one's.
	Seq int64
}

// Render renders a pack label with a template; keys the template takes
// beyond a pack's data are an error.
func Render(t *zpl.Template, buf []byte, d PackData) ([]byte, error) {
	data := make(zpl.Data, len(t.Keys))
	for _, k := range t.Keys {
		switch k {
		case "gtin":
			data[k] = d.GTIN
		case "batch":
			data[k] = d.Batch
		case "expiry":
			data[k] = d.Expiry
		case "serial":
			data[k] = d.Serial
		case "order_id":
			data[k] = d.OrderID
		default:
			return nil, fmt.Errorf("template %s takes key %q, which a label order cannot fill", t.Tag, k)
		}
	}
	return t.Render(buf, data)
}

// QueuePack gives an available serial to a new pack label of an order,
// queued for the printer, inside tx. The caller has rendered the label
// once to know that it prints.
func (l *Ledger) QueuePack(tx *sql.Tx, printer, template string, d PackData) (int64, error) {
	now := nowMS()
	ins, err := l.db.Stmt(tx, `INSERT INTO labels (kind, order_id, gtin, serial, subject, template, printer, state, seq, updated_at) VALUES ('pack', ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`)
	if err != nil {
		return 0, err
	}
	res, err := ins.Exec(d.OrderID, d.GTIN, d.Serial, d.Serial, template, printer, d.Seq, now)
	if err != nil {
		return 0, err
	}
	id, _ := res.LastInsertId()
	upd, err := l.db.Stmt(tx, `UPDATE serials SET state = 'allocated', order_id = ?, label_id = ?, batch = ?, expiry = ?, updated_at = ? WHERE gtin = ? AND serial = ? AND state = 'available'`)
	if err != nil {
		return 0, err
	}
	res, err = upd.Exec(d.OrderID, id, d.Batch, d.Expiry, now, d.GTIN, d.Serial)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, fmt.Errorf("serial %s of %s is not available", d.Serial, d.GTIN)
	}
	return id, nil
}

// QueueLabel queues a label that carries no serial of the ledger (a
// container's SSCC label, a shipping label, a test label) inside tx.
func (l *Ledger) QueueLabel(tx *sql.Tx, kind label.Kind, printer, subject string, data []byte) (int64, error) {
	if kind == label.Pack || !kind.Valid() {
		return 0, fmt.Errorf("QueueLabel: kind %q", kind)
	}
	res, err := tx.Exec(`INSERT INTO labels (kind, subject, data, printer, state, updated_at) VALUES (?, ?, ?, ?, 'queued', ?)`,
		kind, subject, data, printer, nowMS())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Wake tells the printer's runner that labels were queued for it.
func (l *Ledger) Wake(printer string) {
	select {
	case l.wakeChan(printer) <- struct{}{}:
	default:
	}
}

func (l *Ledger) wakeChan(printer string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := l.wake[printer]
	if ch == nil {
		ch = make(chan struct{}, 1)
		l.wake[printer] = ch
	}
	return ch
}

// Next returns the oldest queued label of the printer, rendered, waiting
// until there is one or ctx ends. The label stays queued until Printing.
// A pack label whose template can no longer be rendered (the template was
// removed from the configuration) is passed over and logged: it waits,
// queued, until the template is back.
func (l *Ledger) Next(ctx context.Context, printer string) (label.Label, error) {
	wake := l.wakeChan(printer)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		lb, ok, err := l.next(ctx, printer)
		if err != nil && ctx.Err() == nil {
			l.cfg.Log.Error().Err(err).Str("printer", printer).Msg("cannot read the label queue")
		}
		if ok {
			return lb, nil
		}
		t.Reset(l.cfg.Poll)
		select {
		case <-ctx.Done():
			return label.Label{}, ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// queueColumns are what a printer needs of a label waiting for it, with
// its serial's batch and expiry for rendering.
const queueColumns = `l.id, l.kind, COALESCE(l.order_id, ''), l.gtin, l.serial, l.subject, l.template, l.data, l.printer, l.state, l.reason,
	COALESCE(s.batch, ''), COALESCE(s.expiry, '') FROM labels l LEFT JOIN serials s ON l.kind = 'pack' AND s.gtin = l.gtin AND s.serial = l.serial`

// queueSQL selects a printer's queued labels, oldest first.
const queueSQL = `SELECT ` + queueColumns + ` WHERE l.printer = ? AND l.state = 'queued' ORDER BY l.seq, l.id LIMIT 16`

func (l *Ledger) next(ctx context.Context, printer string) (label.Label, bool, error) {
	rows, err := l.db.Reader().QueryContext(ctx, queueSQL, printer)
	if err != nil {
		return label.Label{}, false, err
	}
	_, lb, ok, err := l.firstPrintable(rows)
	return lb, ok, err
}

// firstPrintable returns the first label of rows (queueColumns) that can
// be printed, rendered, and closes rows. A pack label whose template can
// no longer be rendered is passed over and logged.
func (l *Ledger) firstPrintable(rows *sql.Rows) (Row, label.Label, bool, error) {
	defer rows.Close()
	for rows.Next() {
		var r Row
		var d PackData
		if err := rows.Scan(&r.ID, &r.Kind, &r.OrderID, &r.GTIN, &r.Serial, &r.Subject, &r.Template, &r.Data, &r.Printer, &r.State, &r.Reason,
			&d.Batch, &d.Expiry); err != nil {
			return Row{}, label.Label{}, false, err
		}
		lb := label.Label{Ref: r.Ref(), Subject: r.Subject, Data: r.Data}
		if r.Kind == label.Pack {
			t, ok := l.cfg.Templates.Get(r.Template)
			if !ok {
				l.cfg.Log.Error().Int64("label", r.ID).Str("template", r.Template).Msg("queued label waits: its template is not configured")
				continue
			}
			d.OrderID, d.GTIN, d.Serial = r.OrderID, r.GTIN, r.Serial
			var err error
			if lb.Data, err = Render(t, nil, d); err != nil {
				l.cfg.Log.Error().Err(err).Int64("label", r.ID).Msg("queued label waits: it does not render")
				continue
			}
		}
		return r, lb, true, nil
	}
	return Row{}, label.Label{}, false, rows.Err()
}

// Printing records, durably, that the label's bytes are about to leave for
// the printer. A label no longer queued is ErrNotQueued.
func (l *Ledger) Printing(ctx context.Context, printer string, ref label.Ref) error {
	err := l.move(ctx, ref.ID, LabelPrinting, "", "")
	var se *LabelStateError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %v", ErrNotQueued, err)
	}
	return err
}

// Printed records the printer's confirmation; a pack label's serial is
// queued for commissioning in the same transaction. Recording a label
// already printed again is no error (a retry after a commit whose answer
// was lost).
func (l *Ledger) Printed(ctx context.Context, printer string, ref label.Ref) error {
	return l.move(ctx, ref.ID, LabelPrinted, "", "")
}

// Handover records the printer's confirmation of done (as Printed) and,
// in the same transaction, takes the printer's next label as printing (as
// Printing), which it returns rendered: the one commit of a printer going
// from one label to the next. The next label is the oldest queued, chosen
// inside the transaction, so that a label voided or queued ahead in the
// meantime is seen. ok is false, with done recorded, when no label is
// queued.
//
// After a Handover of the printer failed, the next one first looks for a
// label of the printer already printing: should the failure have come
// after the commit, that label is taken again, so that a repeat takes the
// same label and none is left printing behind the runner's back.
func (l *Ledger) Handover(ctx context.Context, printer string, done label.Ref) (next label.Label, ok bool, err error) {
	l.mu.Lock()
	unsure := l.doubt[printer]
	l.mu.Unlock()
	queued := false
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		next, ok = label.Label{}, false
		var err error
		if queued, err = l.moveIn(tx, done.ID, LabelPrinted, ""); err != nil {
			return err
		}
		if unsure {
			rows, err := tx.Query(`SELECT `+queueColumns+` WHERE l.printer = ? AND l.state = 'printing' AND l.id != ? ORDER BY l.id LIMIT 1`, printer, done.ID)
			if err != nil {
				return err
			}
			if _, next, ok, err = l.firstPrintable(rows); ok || err != nil {
				return err
			}
		}
		rows, err := tx.Query(queueSQL, printer)
		if err != nil {
			return err
		}
		var r Row
		if r, next, ok, err = l.firstPrintable(rows); !ok || err != nil {
			return err
		}
		_, err = l.moveTx(tx, r, LabelPrinting, "")
		return err
	})
	l.mu.Lock()
	if l.doubt == nil {
		l.doubt = map[string]bool{}
	}
	l.doubt[printer] = err != nil
	l.mu.Unlock()
	if err != nil {
		return label.Label{}, false, err
	}
	if queued {
		l.cfg.Notify()
	}
	return next, ok, nil
}

// Unknown records a label whose outcome the printer could not confirm: a
// person must look and resolve it.
func (l *Ledger) Unknown(ctx context.Context, printer string, ref label.Ref, reason string) error {
	return l.move(ctx, ref.ID, LabelUnknown, reason, "")
}

// move changes a label's state (and its serial's), checked against the
// transitions, with the hooks of its kind, in one transaction.
func (l *Ledger) move(ctx context.Context, id int64, to LabelState, reason, actor string) error {
	queued := false
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		queued, err = l.moveIn(tx, id, to, reason)
		return err
	})
	if err == nil && queued {
		l.cfg.Notify()
	}
	return err
}

// moveIn is move inside tx; it reports whether a fact was queued for the
// cloud.
func (l *Ledger) moveIn(tx *sql.Tx, id int64, to LabelState, reason string) (bool, error) {
	r, err := loadRow(tx, id)
	if err != nil {
		return false, err
	}
	if r.State == to && to != LabelQueued {
		return false, nil // recorded already
	}
	if !r.State.CanMove(to) {
		return false, &LabelStateError{ID: id, State: r.State, To: to}
	}
	return l.moveTx(tx, r, to, reason)
}

// moveTx moves a loaded label inside tx; it reports whether a fact was
// queued for the cloud.
func (l *Ledger) moveTx(tx *sql.Tx, r Row, to LabelState, reason string) (bool, error) {
	now := nowMS()
	// Statements here go through the connection's statement cache
	// (tx.Exec), not one prepared per transaction: a move is most often
	// the only write of its transaction, and preparing anew each time
	// would cost more than the move.
	if _, err := tx.Exec(`UPDATE labels SET state = ?, reason = ?, updated_at = ? WHERE id = ?`, to, reason, now, r.ID); err != nil {
		return false, err
	}
	queued := false
	if r.Kind == label.Pack {
		if _, err := tx.Exec(`UPDATE serials SET state = ?, updated_at = ? WHERE gtin = ? AND serial = ?`, serialFor(to), now, r.GTIN, r.Serial); err != nil {
			return false, err
		}
		if to == LabelPrinted {
			if err := l.commission(tx, r.GTIN, r.Serial); err != nil {
				return false, err
			}
			queued = true
		}
	}
	l.mu.Lock()
	hooks := l.hooks[r.Kind]
	l.mu.Unlock()
	for _, h := range hooks {
		if err := h(tx, r, to); err != nil {
			return false, err
		}
	}
	return queued, nil
}

// commission queues the serial's commission, in the same transaction as
// its printed state.
func (l *Ledger) commission(tx *sql.Tx, gtin, serial string) error {
	s, err := SerialOf(tx, gtin, serial)
	if err != nil {
		return err
	}
	f := facts.SerialFact{ProductCode: gtin, Batch: s.Batch, ExpiryDate: s.Expiry, Serial: serial}
	if _, err = l.outbox.Enqueue(tx, facts.CommissionItem(gtin+"/"+s.Batch, f)); err != nil {
		return err
	}
	return l.journal.Commission(tx, s.OrderID, gtin, serial, s.Batch, s.Expiry)
}

// Recover runs at start-up, before the printers: a label that was on its
// way to a printer when the agent stopped has an unknown outcome (a person
// decides). Queued labels need nothing: their printers take them.
func (l *Ledger) Recover(ctx context.Context) (unknown int, err error) {
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		unknown = 0
		rows, err := tx.Query(`SELECT ` + rowColumns + ` FROM labels WHERE state = 'printing' ORDER BY id`)
		if err != nil {
			return err
		}
		var inFlight []Row
		for rows.Next() {
			r, err := scanRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			inFlight = append(inFlight, r)
		}
		rows.Close()
		for _, r := range inFlight {
			if _, err := l.moveTx(tx, r, LabelUnknown, "the agent stopped before the printer confirmed the label"); err != nil {
				return err
			}
		}
		unknown = len(inFlight)
		if unknown > 0 {
			return audit.Write(tx, "agent", "labels.recover", "", "printing", "unknown", fmt.Sprintf("%d labels in flight at stop", unknown))
		}
		return nil
	})
	return unknown, err
}

// Resolve is a person's verdict on an unknown label: printed (the label is
// on the line: a pack's serial is commissioned) or not (the label is
// voided and a pack's serial decommissioned, never used).
func (l *Ledger) Resolve(ctx context.Context, actor string, id int64, printed bool, reason string) error {
	if reason == "" {
		return fmt.Errorf("resolving an unknown label: %w", ErrReasonRequired)
	}
	queued := false
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		r, err := loadRow(tx, id)
		if err != nil {
			return err
		}
		to, verdict := LabelVoided, "voided"
		if printed {
			to, verdict = LabelPrinted, "printed"
		}
		if r.State != LabelUnknown {
			return &LabelStateError{ID: id, State: r.State, Want: LabelUnknown, To: to}
		}
		if queued, err = l.moveTx(tx, r, to, verdict+" by "+actor+": "+reason); err != nil {
			return err
		}
		if !printed && r.Kind == label.Pack {
			if _, err := tx.Exec(`UPDATE serials SET reason = 'destroy' WHERE gtin = ? AND serial = ?`, r.GTIN, r.Serial); err != nil {
				return err
			}
		}
		return audit.Write(tx, actor, "label.resolve", labelSubject(r), string(LabelUnknown), verdict, reason)
	})
	if err == nil && queued {
		l.cfg.Notify()
	}
	return err
}

func labelSubject(r Row) string {
	s := "label/" + strconv.FormatInt(r.ID, 10)
	if r.Kind == label.Pack {
		return s + " " + r.GTIN + "/" + r.Serial
	}
	return s + " " + string(r.Kind) + " " + r.Subject
}

// Reprint queues a label whose outcome is unknown again, with the same
// serial: an audited supervisor action.
func (l *Ledger) Reprint(ctx context.Context, actor string, id int64, reason string) error {
	if reason == "" {
		return fmt.Errorf("a reprint: %w", ErrReasonRequired)
	}
	var printer string
	err := l.db.Write(ctx, func(tx *sql.Tx) error {
		r, err := loadRow(tx, id)
		if err != nil {
			return err
		}
		if r.State != LabelUnknown {
			return &LabelStateError{ID: id, State: r.State, Want: LabelUnknown, To: LabelQueued}
		}
		if r.Kind == label.Pack {
			if _, ok := l.cfg.Templates.Get(r.Template); !ok {
				return fmt.Errorf("label %d: template %s is not configured", id, r.Template)
			}
		}
		if _, err := l.moveTx(tx, r, LabelQueued, "reprint: "+reason); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE labels SET reprints = reprints + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		printer = r.Printer
		return audit.Write(tx, actor, "label.reprint", labelSubject(r), string(r.State), "reprint", reason)
	})
	if err == nil {
		l.Wake(printer)
	}
	return err
}

// HasOpenLabels reports, inside tx, whether any label of an order is still
// on its way (queued or printing). It stops at the first it finds: it runs
// on every move of a label, and a count would read the whole order each
// time.
func HasOpenLabels(tx *sql.Tx, orderID string) (bool, error) {
	var open bool
	err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM labels WHERE order_id = ? AND state IN ('queued', 'printing'))`, orderID).Scan(&open)
	return open, err
}
