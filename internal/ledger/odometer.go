package ledger

import (
	"database/sql"
	"sync"

	"github.com/edgeagent/edgeagent/internal/label"
)

// Odometers keeps, for each printer, the odometer its runner read last,
// and writes it into the labels the runner moves, inside the move's own
// transaction: odo_before when a label is recorded printing (the value
// read last before its bytes left), odo_after when the printer's
// confirmation is recorded (the value that confirmed it). Only a runner
// moves a label from queued to printing and from printing to printed; a
// person's resolution of an unknown label as printed gets no reading, nor
// does any label of a printer whose odometer was never read.
type Odometers struct {
	mu sync.Mutex
	by map[string]int64 // by printer
}

// TrackOdometers makes the ledger keep the odometers its printer runners
// report (Saw) with the labels they move.
func (l *Ledger) TrackOdometers() *Odometers {
	o := &Odometers{by: map[string]int64{}}
	for _, k := range []label.Kind{label.Pack, label.SSCC, label.Shipping, label.Test} {
		l.OnLabel(k, o.hook())
	}
	return o
}

// Saw records the odometer the printer's runner has just read.
func (o *Odometers) Saw(printer string, count int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.by[printer] = count
}

func (o *Odometers) last(printer string) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.by[printer]
	return n, ok
}

func (o *Odometers) hook() Hook {
	return func(tx *sql.Tx, r Row, to LabelState) error {
		var q string
		switch {
		case r.State == LabelQueued && to == LabelPrinting:
			q = `UPDATE labels SET odo_before = ? WHERE id = ?`
		case r.State == LabelPrinting && to == LabelPrinted:
			q = `UPDATE labels SET odo_after = ? WHERE id = ?`
		default:
			return nil
		}
		n, ok := o.last(r.Printer)
		if !ok {
			return nil
		}
		// Through the connection's statement cache, as the move's own
		// statements (moveTx).
		_, err := tx.Exec(q, n, r.ID)
		return err
	}
}
