package ledger

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
)

// Decommission takes a printed serial out of circulation inside tx and
// queues the decommission for the cloud (after the serial's commission).
// It does not look at containers: the caller refuses a pack that is in one.
func (l *Ledger) Decommission(tx *sql.Tx, actor, gtin, serial, reason, market string, sendToMarket bool) (Serial, error) {
	s, err := SerialOf(tx, gtin, serial)
	if err != nil {
		return s, err
	}
	if !s.State.Usable() {
		return s, &SerialStateError{GTIN: gtin, Serial: serial, State: s.State, Act: "decommissioned"}
	}
	if _, err := tx.Exec(`UPDATE serials SET state = 'decommissioned', reason = ?, updated_at = ? WHERE gtin = ? AND serial = ?`, reason, nowMS(), gtin, serial); err != nil {
		return s, err
	}
	f := facts.SerialFact{ProductCode: gtin, Batch: s.Batch, ExpiryDate: s.Expiry, Serial: serial, Reason: reason, MarketID: market, SendToMarket: sendToMarket}
	if _, err := l.outbox.Enqueue(tx, facts.DecommissionItem(gtin+"/"+s.Batch, f)); err != nil {
		return s, err
	}
	if err := l.journal.Decommission(tx, s.OrderID, reason, gtin, serial); err != nil {
		return s, err
	}
	return s, audit.Write(tx, actor, "serial.decommission", gtin+"/"+serial, string(s.State), string(SerialDecommissioned), reason)
}

// Commissioned records, inside the transaction that marks the commission
// delivered, that the cloud has the serial: printed → commissioned. A
// serial decommissioned meanwhile stays decommissioned.
func (l *Ledger) Commissioned(tx *sql.Tx, gtin, serial string) error {
	st, err := l.db.Stmt(tx, `UPDATE serials SET state = 'commissioned', updated_at = ? WHERE gtin = ? AND serial = ? AND state = 'printed'`)
	if err != nil {
		return err
	}
	_, err = st.Exec(nowMS(), gtin, serial)
	return err
}

// Delivered is the outbox dispatcher's delivery hook: it runs in the
// transaction that records items delivered, and moves each serial whose
// commission the cloud now has to commissioned.
func (l *Ledger) Delivered(tx *sql.Tx, items []queue.Pending) error {
	for _, it := range items {
		if it.Kind != facts.KindCommission {
			continue
		}
		var f facts.SerialFact
		if err := json.Unmarshal(it.Payload, &f); err != nil {
			return fmt.Errorf("commission %s: %w", it.Key, err)
		}
		if err := l.Commissioned(tx, f.ProductCode, f.Serial); err != nil {
			return err
		}
	}
	return nil
}
