package orders

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/audit"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/queue"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// runner stands for printer p1's runner as the agent wires it: it reads
// the odometer before each label and when the label is confirmed, and
// tells the ledger (ledger.Odometers) before each move.
type runner struct {
	t     *testing.T
	l     *ledger.Ledger
	odo   *ledger.Odometers
	count int64 // the printer's odometer
}

// Outcomes of one label at the fake printer.
const (
	comesOut    = "printed"          // printed and confirmed
	unconfirmed = "unknown, out"     // printed, but the connection was lost before the confirmation
	neverOut    = "unknown, not out" // the connection was lost before it printed
)

// print takes p1's next label through the printer with the outcome.
func (r *runner) print(outcome string) label.Label {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lb, err := r.l.Next(ctx, "p1")
	require.NoError(r.t, err)
	r.odo.Saw("p1", r.count)
	require.NoError(r.t, r.l.Printing(ctx, "p1", lb.Ref))
	switch outcome {
	case comesOut:
		r.count++
		r.odo.Saw("p1", r.count)
		require.NoError(r.t, r.l.Printed(ctx, "p1", lb.Ref))
	case unconfirmed:
		r.count++
		require.NoError(r.t, r.l.Unknown(ctx, "p1", lb.Ref, "connection lost before the printer confirmed the label"))
	case neverOut:
		require.NoError(r.t, r.l.Unknown(ctx, "p1", lb.Ref, "connection lost while sending"))
	}
	return lb
}

func newRunner(t *testing.T, l *line) *runner {
	return &runner{t: t, l: l.ledger, odo: l.ledger.TrackOdometers(), count: 1000}
}

func TestCloseIsRefusedWhileALabelIsUnknownAndNamesIt(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 3)))
	r := newRunner(t, l)
	r.print(comesOut)
	lost := r.print(unconfirmed)
	r.print(comesOut)

	_, err := l.orders.Close(ctx, audit.Signed("user:ana", "approved"), "LO-1", "batch done")
	var open *OpenLabelsError
	require.ErrorAs(t, err, &open)
	assert.Equal(t, 1, open.Counts[ledger.LabelUnknown])
	require.Len(t, open.First, 1)
	assert.Equal(t, lost.ID, open.First[0].ID)
	assert.Equal(t, lost.Subject, open.First[0].Serial)
	assert.Contains(t, err.Error(), fmt.Sprintf("1 unknown — label %d (serial %s, unknown)", lost.ID, lost.Subject))

	// Nothing of the close was stored.
	status, _, err := l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Completed, status, "every label is printed or unknown: the order completed, and is not closed")
	assert.NotContains(t, auditActions(t, l.db), "label_order.close")
	_, err = l.orders.Reconciliation(ctx, "LO-1")
	assert.ErrorIs(t, err, ErrNotReconciled)

	// Once the label is resolved, the order closes.
	require.NoError(t, l.ledger.Resolve(ctx, "user:ana", lost.ID, true, "it is on the pack"))
	rec, err := l.orders.Close(ctx, audit.Signed("user:ana", "approved"), "LO-1", "batch done")
	require.NoError(t, err)
	assert.True(t, rec.Balanced, "%v", rec.Failed())
	status, _, err = l.orders.Status(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, Closed, status)
	counts, err := l.orders.StatusCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[State]int{Closed: 1}, counts, "the dashboard counts a closed order as closed, not as the status it kept")
}

func TestCloseIsRefusedWhileLabelsAreQueued(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 8)))
	_, err := l.orders.Close(ctx, "api:local", "LO-1", "stop")
	var open *OpenLabelsError
	require.ErrorAs(t, err, &open)
	assert.Equal(t, 8, open.Counts[ledger.LabelQueued])
	assert.Len(t, open.First, openShown, "the first few are named")
	assert.Contains(t, err.Error(), "8 queued")
	assert.Contains(t, err.Error(), "and 3 more")

	_, err = l.orders.Close(ctx, "api:local", "LO-1", "  ")
	assert.ErrorIs(t, err, ErrCloseReason)
	_, err = l.orders.Close(ctx, "api:local", "LO-9", "stop")
	assert.ErrorIs(t, err, ErrLabelOrderNotFound)
}

// An order through everything that happens on a line, closed, and each
// figure of its reconciliation checked against the ledger's own tables.
func TestCloseAccountsForEverySerial(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	cs, err := containers.New(l.ledger, containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 3})
	require.NoError(t, err)
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 10)))
	r := newRunner(t, l)
	start := r.count
	var packs []label.Label
	for i := 0; i < 4; i++ {
		packs = append(packs, r.print(comesOut))
	}
	// A test label between the order's labels: the odometer counts it.
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := l.ledger.QueueLabel(tx, label.Test, "p1", "test", []byte("^XA^XZ"))
		return err
	}))
	test := r.print(comesOut)
	require.Equal(t, label.Test, test.Kind)
	reprinted := r.print(unconfirmed) // came out; will be reprinted
	voided := r.print(neverOut)       // did not come out; will be voided
	resolved := r.print(unconfirmed)  // came out; a person confirms it
	for i := 0; i < 3; i++ {
		packs = append(packs, r.print(comesOut))
	}
	require.NoError(t, l.ledger.Reprint(ctx, "user:ana", reprinted.ID, "no confirmation"))
	again := r.print(comesOut)
	require.Equal(t, reprinted.ID, again.ID)
	packs = append(packs, again)
	end := r.count
	require.NoError(t, l.ledger.Resolve(ctx, "user:ana", voided.ID, false, "not on the roll"))
	require.NoError(t, l.ledger.Resolve(ctx, "user:ana", resolved.ID, true, "on the pack"))
	packs = append(packs, resolved)
	require.Len(t, packs, 9)

	// A later order on the same printer is outside the order's travel.
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-2", 2)))
	r.print(comesOut)
	r.print(comesOut)

	// The cloud has the first four commissions; the fifth was refused.
	serial := func(lb label.Label) string { return lb.Subject }
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		for _, lb := range packs[:4] {
			if _, err := tx.Exec(`UPDATE outbox SET state = 'delivered', delivered_at = 1 WHERE kind = 'commission' AND key = ?`, testGTIN+"/"+serial(lb)); err != nil {
				return err
			}
			if err := l.ledger.Commissioned(tx, testGTIN, serial(lb)); err != nil {
				return err
			}
		}
		return nil
	}))
	var parked int64
	require.NoError(t, l.db.Reader().QueryRow(`SELECT id FROM outbox WHERE kind = 'commission' AND key = ?`, testGTIN+"/"+serial(packs[4])).Scan(&parked))
	require.NoError(t, queue.Park(ctx, l.db, parked, "user:ana", "refused by the cloud"))
	// A sample taken; four packs in case A on a pallet, two in case B.
	_, err = l.orders.Decommission(ctx, "erp", v2.Decommission{ProductCode: testGTIN, ProductCodeSchema: "GTIN", Serials: []string{serial(packs[8])}, Reason: "sample", SendToMarket: new(bool)})
	require.NoError(t, err)
	items := func(ls []label.Label) []v2.TradeItem {
		var out []v2.TradeItem
		for _, lb := range ls {
			out = append(out, v2.TradeItem{ProductCode: testGTIN, ProductCodeSchema: "GTIN", SerialNumber: serial(lb)})
		}
		return out
	}
	caseA, caseB, pallet := ssccOf(t, 1), ssccOf(t, 2), ssccOf(t, 3)
	require.NoError(t, cs.Aggregate(ctx, "erp", v2.Aggregation{Parent: caseA, ChildTradeItems: items(packs[:4])}))
	require.NoError(t, cs.Aggregate(ctx, "erp", v2.Aggregation{Parent: caseB, ChildTradeItems: items(packs[4:6])}))
	require.NoError(t, cs.Aggregate(ctx, "erp", v2.Aggregation{Parent: pallet, ChildContainers: []string{caseA}}))

	rec, err := l.orders.Close(ctx, audit.Signed("user:ana", "approved"), "LO-1", "batch AB12 finished")
	require.NoError(t, err)
	rp := rec.Reconciliation

	// The ledger's own tables, counted here.
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, l.db.Reader().QueryRow(q, args...).Scan(&n))
		return n
	}
	labels := func(state string) int {
		return count(`SELECT COUNT(*) FROM labels WHERE order_id = 'LO-1' AND state = ?`, state)
	}
	serials := func(state string) int {
		return count(`SELECT COUNT(*) FROM labels l JOIN serials s USING (gtin, serial) WHERE l.order_id = 'LO-1' AND l.state = 'printed' AND s.state = ?`, state)
	}
	outbox := func(kind, state string) int {
		return count(`SELECT COUNT(*) FROM outbox o JOIN labels l ON o.key = l.gtin || '/' || l.serial WHERE l.order_id = 'LO-1' AND o.kind = ? AND o.state = ?`, kind, state)
	}
	assert.Equal(t, LabelFigures{Planned: 10, Allocated: count(`SELECT COUNT(*) FROM labels WHERE order_id = 'LO-1'`), Printed: labels("printed"),
		Voided: labels("voided"), Reprints: count(`SELECT SUM(reprints) FROM labels WHERE order_id = 'LO-1'`)}, rp.Labels)
	assert.Equal(t, LabelFigures{Planned: 10, Allocated: 10, Printed: 9, Voided: 1, Reprints: 1}, rp.Labels)
	assert.Equal(t, SerialFigures{Commissioned: serials("commissioned"), Waiting: serials("printed"), Decommissioned: serials("decommissioned"),
		DecommissionedBy: map[string]int{"sample": 1}, Voided: count(`SELECT COUNT(*) FROM labels l JOIN serials s USING (gtin, serial)
		WHERE l.order_id = 'LO-1' AND l.state = 'voided' AND s.state = 'decommissioned' AND s.reason = 'destroy'`)}, rp.Serials)
	assert.Equal(t, SerialFigures{Commissioned: 4, Waiting: 4, Decommissioned: 1, DecommissionedBy: map[string]int{"sample": 1}, Voided: 1}, rp.Serials)
	assert.Equal(t, OutboxFigures{CommissionsPending: outbox("commission", "pending"), CommissionsParked: outbox("commission", "parked"),
		DecommissionsPending: outbox("decommission", "pending"), DecommissionsParked: outbox("decommission", "parked")}, rp.Outbox)
	assert.Equal(t, OutboxFigures{CommissionsPending: 4, CommissionsParked: 1, DecommissionsPending: 1}, rp.Outbox,
		"waiting: 3 pending and 1 parked; the sample's commission waits too, with its decommission behind it")
	assert.Equal(t, containers.Packing{PacksInClosedCases: 6, ClosedCases: 2, PacksOnPallets: 4, CasesOnPallets: 1, Pallets: 1}, rp.Aggregation)

	// The odometer: ten pack labels came out (one of them twice, one
	// never) and the test label, against 9 printed + 1 reprint + 1 other.
	require.True(t, rp.Odometer.Read)
	assert.Equal(t, start, *rp.Odometer.Start)
	assert.Equal(t, end, *rp.Odometer.End)
	assert.Equal(t, int64(11), *rp.Odometer.Travel)
	assert.Equal(t, 1, rp.Odometer.Other, "the test label")
	assert.Equal(t, 1, rp.Odometer.Unread, "the label a person confirmed")
	assert.Equal(t, int64(0), *rp.Odometer.Difference)
	require.Len(t, rp.Checks, 5)
	for _, c := range rp.Checks {
		assert.True(t, c.Holds, "%s: %s (%d, %d)", c.Name, c.Rule, c.Left, c.Right)
	}
	assert.True(t, rp.Balanced)
	assert.Equal(t, "user:ana", rp.ClosedBy)
	assert.Equal(t, "approved", rp.Meaning)
	assert.Equal(t, Completed, rp.Status)

	// Kept: the report, its hash in the audit entry, the order closed.
	sum := sha256.Sum256(rec.Raw)
	assert.Equal(t, hex.EncodeToString(sum[:]), rec.SHA256)
	var actor, meaning, newValue, reason string
	require.NoError(t, l.db.Reader().QueryRow(`SELECT actor, meaning, new_value, reason FROM audit_log WHERE id = ?`, rec.AuditID).Scan(&actor, &meaning, &newValue, &reason))
	assert.Equal(t, "user:ana", actor)
	assert.Equal(t, "approved", meaning)
	assert.Equal(t, "closed; reconciliation sha256:"+rec.SHA256+"; balanced", newValue)
	assert.Equal(t, "batch AB12 finished", reason)
	kept, err := l.orders.Reconciliation(ctx, "LO-1")
	require.NoError(t, err)
	assert.Equal(t, string(rec.Raw), string(kept.Raw))
	assert.Equal(t, rec.AuditID, kept.AuditID)
	assert.Equal(t, rp.Labels, kept.Labels)

	// Closed for good: not closed twice, not released again, the record
	// not changed.
	_, err = l.orders.Close(ctx, "api:local", "LO-1", "again")
	var se *StateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, Closed, se.State)
	err = l.orders.Resume(ctx, "api:local", "LO-1")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, Closed, se.State)
	err = l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE reconciliations SET balanced = 0`)
		return err
	})
	assert.ErrorContains(t, err, "a reconciliation is a record")
	views, err := l.orders.LabelOrders(ctx, 10)
	require.NoError(t, err)
	for _, v := range views {
		if v.OrderID == "LO-1" {
			assert.Equal(t, Closed, v.Status)
		}
	}
}

// A label that came out without the printer confirming it, and was then
// voided by a person, leaves the printer's odometer one ahead of the
// ledger: the close goes through, and the report says so.
func TestCloseShowsAnOdometerThatDoesNotAgree(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 3)))
	r := newRunner(t, l)
	r.print(comesOut)
	out := r.print(unconfirmed)
	r.print(comesOut)
	require.NoError(t, l.ledger.Resolve(ctx, "user:ana", out.ID, false, "not found on the line"))

	rec, err := l.orders.Close(ctx, "api:local", "LO-1", "done")
	require.NoError(t, err)
	assert.False(t, rec.Balanced)
	failed := rec.Failed()
	require.Len(t, failed, 1)
	assert.Equal(t, "odometer", failed[0].Name)
	assert.Equal(t, int64(3), failed[0].Left, "three labels came out")
	assert.Equal(t, int64(2), failed[0].Right, "two printed")
	assert.Contains(t, failed[0].Note, "the printer counted 1 more")
	assert.Equal(t, int64(1), *rec.Odometer.Difference)
	assert.Equal(t, "", rec.Meaning, "the service token signs nothing")
	var newValue string
	require.NoError(t, l.db.Reader().QueryRow(`SELECT new_value FROM audit_log WHERE id = ?`, rec.AuditID).Scan(&newValue))
	assert.Contains(t, newValue, "1 check does not hold")
	var balanced int
	require.NoError(t, l.db.Reader().QueryRow(`SELECT balanced FROM reconciliations WHERE order_id = 'LO-1'`).Scan(&balanced))
	assert.Equal(t, 0, balanced)
	assert.Contains(t, rec.Summary()[len(rec.Summary())-1], "DOES NOT HOLD: odometer")
}

// A printer without an odometer: the report says it was not read, and
// checks the rest.
func TestCloseWithoutAnOdometer(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", 2)))
	printQueued(t, l.ledger, nil)
	rec, err := l.orders.Close(ctx, "api:local", "LO-1", "done")
	require.NoError(t, err)
	assert.False(t, rec.Odometer.Read)
	assert.Nil(t, rec.Odometer.Travel)
	assert.Len(t, rec.Checks, 4)
	assert.True(t, rec.Balanced)
}

// An order still being released in steps is not closed under its release.
func TestCloseWaitsForARelease(t *testing.T) {
	l := openOrders(t, ledger.SerialConfig{Generate: true}, Config{})
	ctx := context.Background()
	require.NoError(t, l.orders.CreateLabelOrder(ctx, "erp", labelOrder("LO-1", ReleaseStep+1)))
	_, err := l.orders.Close(ctx, "api:local", "LO-1", "stop")
	var se *StateError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, Released, se.State)
}

func ssccOf(t *testing.T, ref uint64) string {
	s, err := gs1.SSCC(3, "9506000", ref)
	require.NoError(t, err)
	return s
}
