package ledger

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
)

const gtin = "09506000134352"

func openLedger(t *testing.T, cfg Config) (*Ledger, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "data", "l.db")}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	l, err := New(db, cfg)
	require.NoError(t, err)
	require.NoError(t, l.AddProduct(context.Background(), gtin, "EU", map[string]string{"AB12": "261231"}))
	return l, db
}

// queuePacks gives n serials to pack labels of an order for printer p.
func queuePacks(t *testing.T, l *Ledger, order, printer string, n int) []int64 {
	t.Helper()
	var ids []int64
	require.NoError(t, l.db.Write(context.Background(), func(tx *sql.Tx) error {
		ids = nil
		if _, err := tx.Exec(`INSERT INTO label_orders (order_id, gtin, batch, quantity, destination, template, status, created_by, created_at, request)
			VALUES (?, ?, 'AB12', ?, ?, 'pack', 'printing', 't', 0, ?) ON CONFLICT DO NOTHING`, order, gtin, n, printer, []byte("{}")); err != nil {
			return err
		}
		serials, err := l.Take(tx, gtin, n)
		if err != nil {
			return err
		}
		for _, s := range serials {
			id, err := l.QueuePack(tx, printer, "pack", PackData{OrderID: order, GTIN: gtin, Batch: "AB12", Expiry: "261231", Serial: s})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	}))
	return ids
}

func serialState(t *testing.T, l *Ledger, id int64) SerialState {
	var s SerialState
	require.NoError(t, l.db.Reader().QueryRow(`SELECT s.state FROM serials s JOIN labels l ON l.gtin = s.gtin AND l.serial = s.serial WHERE l.id = ?`, id).Scan(&s))
	return s
}

func TestLabelStateMachine(t *testing.T) {
	for from, tos := range labelMoves {
		for _, to := range tos {
			assert.True(t, from.CanMove(to))
		}
	}
	assert.False(t, LabelPrinted.CanMove(LabelQueued), "a printed label is never printed again")
	assert.False(t, LabelQueued.CanMove(LabelPrinted), "nothing is printed without being recorded as printing")
	assert.False(t, LabelVoided.CanMove(LabelQueued))
	assert.True(t, SerialCommissioned.Usable())
	assert.False(t, SerialUnknown.Usable())
}

func TestNextHandsOutLabelsInOrderAndWaits(t *testing.T) {
	l, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true}, Poll: time.Hour})
	ctx := context.Background()
	first := queuePacks(t, l, "O1", "p", 3)
	queuePacks(t, l, "O2", "other", 1)
	for _, id := range first {
		lb, err := l.Next(ctx, "p")
		require.NoError(t, err)
		require.Equal(t, label.Ref{Kind: label.Pack, ID: id}, lb.Ref)
		require.Contains(t, string(lb.Data), lb.Subject, "the label is rendered with its serial")
		require.NoError(t, l.Printing(ctx, "p", lb.Ref))
		assert.Equal(t, SerialPrinting, serialState(t, l, id))
		require.NoError(t, l.Printing(ctx, "p", lb.Ref), "a retried record is no error")
		require.NoError(t, l.Printed(ctx, "p", lb.Ref))
		require.NoError(t, l.Printed(ctx, "p", lb.Ref), "recording printed twice is no error")
		require.ErrorIs(t, l.Printing(ctx, "p", lb.Ref), ErrNotQueued, "a printed label is never sent again")
		assert.Equal(t, SerialPrinted, serialState(t, l, id))
	}
	// Nothing queued: Next waits until a label is queued and woken.
	got := make(chan label.Label, 1)
	go func() {
		lb, err := l.Next(ctx, "p")
		if err == nil {
			got <- lb
		}
	}()
	select {
	case <-got:
		t.Fatal("Next returned with nothing queued")
	case <-time.After(50 * time.Millisecond):
	}
	ids := queuePacks(t, l, "O3", "p", 1)
	l.Wake("p")
	select {
	case lb := <-got:
		assert.Equal(t, ids[0], lb.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("Next was not woken")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := l.Next(cctx, "nobody")
	require.ErrorIs(t, err, context.Canceled)
	st, err := queue.ReadStats(ctx, l.db)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Pending, "one commission per printed label")
}

func TestRecoveryMakesLabelsInFlightUnknownAndPersonsResolve(t *testing.T) {
	l, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true}})
	ctx := context.Background()
	ids := queuePacks(t, l, "O1", "p", 3)
	for _, id := range ids[:2] {
		require.NoError(t, l.Printing(ctx, "p", label.Ref{Kind: label.Pack, ID: id}))
	}
	n, err := l.Recover(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	unknown, err := l.UnknownLabels(ctx)
	require.NoError(t, err)
	require.Len(t, unknown, 2)
	assert.Contains(t, unknown[0].Reason, "stopped before the printer confirmed")
	assert.Equal(t, SerialUnknown, serialState(t, l, ids[0]))

	require.ErrorIs(t, l.Resolve(ctx, "ana", ids[0], true, ""), ErrReasonRequired)
	require.NoError(t, l.Resolve(ctx, "ana", ids[0], true, "label seen on the pack"))
	assert.Equal(t, SerialPrinted, serialState(t, l, ids[0]))
	var lse *LabelStateError
	require.ErrorAs(t, l.Resolve(ctx, "ana", ids[0], false, "again"), &lse)
	require.ErrorAs(t, l.Reprint(ctx, "ana", ids[2], "not unknown"), &lse)
	require.NoError(t, l.Reprint(ctx, "ana", ids[1], "label torn"))
	lb, err := l.Next(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, ids[1], lb.ID, "the reprint goes first: it is the oldest queued label")
	require.ErrorIs(t, l.Reprint(ctx, "ana", 999, "x"), ErrLabelNotFound)

	// Void: the serial is out of circulation.
	require.NoError(t, l.Printing(ctx, "p", lb.Ref))
	require.NoError(t, l.Unknown(ctx, "p", lb.Ref, "connection lost"))
	require.NoError(t, l.Resolve(ctx, "ana", ids[1], false, "label destroyed"))
	assert.Equal(t, SerialDecommissioned, serialState(t, l, ids[1]))
}

func TestSerialPoolAndImport(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Length: 8, Alphabet: "ABC"}})
	ctx := context.Background()
	n, err := l.ImportSerials(ctx, "cli", gtin, []string{"S1", "S2", "S1"})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = l.ImportSerials(ctx, "cli", gtin, []string{"bad serial"})
	require.ErrorContains(t, err, "not in GS1 character set 82")
	_, err = l.ImportSerials(ctx, "cli", "00000000000000", []string{"S3"})
	require.ErrorIs(t, err, ErrProductNotFound)
	left, err := l.PoolLevel(ctx, gtin)
	require.NoError(t, err)
	assert.Equal(t, 2, left)
	require.ErrorIs(t, db.Write(ctx, func(tx *sql.Tx) error { _, err := l.Take(tx, gtin, 3); return err }), ErrNoSerials)

	g, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true, Length: 12}})
	var got []string
	require.NoError(t, g.db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = g.Take(tx, gtin, 200)
		return err
	}))
	seen := map[string]bool{}
	for _, s := range got {
		require.Len(t, s, 12)
		require.Equal(t, -1, strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(DefaultAlphabet, r) }))
		require.False(t, seen[s])
		seen[s] = true
	}
	_, err = New(db, Config{Serials: SerialConfig{Length: 21}})
	require.Error(t, err)
	_, err = New(db, Config{Serials: SerialConfig{Alphabet: "Ä"}})
	require.Error(t, err)
}

func TestDecommissionAndCommissioned(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true}})
	ctx := context.Background()
	ids := queuePacks(t, l, "O1", "p", 2)
	var serials []string
	for _, id := range ids {
		ref := label.Ref{Kind: label.Pack, ID: id}
		require.NoError(t, l.Printing(ctx, "p", ref))
		require.NoError(t, l.Printed(ctx, "p", ref))
		var s string
		require.NoError(t, db.Reader().QueryRow(`SELECT serial FROM labels WHERE id = ?`, id).Scan(&s))
		serials = append(serials, s)
	}
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error { return l.Commissioned(tx, gtin, serials[0]) }))
	assert.Equal(t, SerialCommissioned, serialState(t, l, ids[0]))
	err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := l.Decommission(tx, "ana", gtin, serials[1], "destroy", "", false)
		return err
	})
	require.NoError(t, err)
	err = db.Write(ctx, func(tx *sql.Tx) error {
		_, err := l.Decommission(tx, "ana", gtin, serials[1], "destroy", "", false)
		return err
	})
	var sse *SerialStateError
	require.ErrorAs(t, err, &sse)
	assert.Equal(t, SerialDecommissioned, sse.State)
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error { return l.Commissioned(tx, gtin, serials[1]) }))
	assert.Equal(t, SerialDecommissioned, serialState(t, l, ids[1]), "a late delivery does not bring a decommissioned serial back")
	err = db.Write(ctx, func(tx *sql.Tx) error {
		_, err := l.Decommission(tx, "ana", gtin, "NOSUCH", "destroy", "", false)
		return err
	})
	var nf *SerialNotFoundError
	require.True(t, errors.As(err, &nf))
}

func TestOtherLabelsAndHooks(t *testing.T) {
	l, db := openLedger(t, Config{})
	ctx := context.Background()
	var moves []LabelState
	l.OnLabel(label.SSCC, func(tx *sql.Tx, r Row, to LabelState) error { moves = append(moves, to); return nil })
	var id int64
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = l.QueueLabel(tx, label.SSCC, "p", "395060000000000017", []byte("^XA^XZ"))
		return err
	}))
	require.Error(t, db.Write(ctx, func(tx *sql.Tx) error { _, err := l.QueueLabel(tx, label.Pack, "p", "x", nil); return err }))
	lb, err := l.Next(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, []byte("^XA^XZ"), lb.Data)
	require.NoError(t, l.Printing(ctx, "p", lb.Ref))
	require.NoError(t, l.Printed(ctx, "p", lb.Ref))
	assert.Equal(t, []LabelState{LabelPrinting, LabelPrinted}, moves)
	recent, err := l.RecentLabels(ctx, 5)
	require.NoError(t, err)
	require.Len(t, recent, 1)
	assert.Equal(t, id, recent[0].ID)
	counts, err := l.LabelCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, counts[LabelPrinted])
}

func TestDeliveredCommissionsMoveSerials(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true}})
	ctx := context.Background()
	ids := queuePacks(t, l, "O1", "p", 2)
	for _, id := range ids {
		ref := label.Ref{Kind: label.Pack, ID: id}
		require.NoError(t, l.Printing(ctx, "p", ref))
		require.NoError(t, l.Printed(ctx, "p", ref))
	}
	recs, err := queue.List(ctx, db, "", 0, true)
	require.NoError(t, err)
	var items []queue.Pending
	for _, r := range recs {
		// Newest first: the first label's commission goes first.
		items = append([]queue.Pending{{ID: r.ID, Kind: r.Kind, Key: r.Key, Payload: r.Payload}}, items...)
	}
	require.Len(t, items, 2)
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error { return l.Delivered(tx, items[:1]) }))
	assert.Equal(t, SerialCommissioned, serialState(t, l, ids[0]))
	assert.Equal(t, SerialPrinted, serialState(t, l, ids[1]))
	bad := []queue.Pending{{Kind: "commission", Key: "x", Payload: []byte("{")}}
	require.Error(t, db.Write(ctx, func(tx *sql.Tx) error { return l.Delivered(tx, bad) }))
}

// labelState reads a label's state.
func labelState(t *testing.T, l *Ledger, id int64) LabelState {
	var s LabelState
	require.NoError(t, l.db.Reader().QueryRow(`SELECT state FROM labels WHERE id = ?`, id).Scan(&s))
	return s
}

// A handover records the confirmed label printed and takes the next one
// as printing in one transaction, chosen inside it: the oldest queued at
// that moment, a label that cannot be rendered passed over.
func TestHandoverMovesTwoLabelsInOneTransaction(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true}, Poll: time.Hour})
	ctx := context.Background()
	var txs []*sql.Tx
	var moves []string
	l.OnLabel(label.Pack, func(tx *sql.Tx, r Row, to LabelState) error {
		txs = append(txs, tx)
		moves = append(moves, r.Serial+" "+string(to))
		return nil
	})
	ids := queuePacks(t, l, "O1", "p", 4)
	queuePacks(t, l, "O2", "other", 1)
	serial := func(id int64) string {
		var s string
		require.NoError(t, l.db.Reader().QueryRow(`SELECT serial FROM labels WHERE id = ?`, id).Scan(&s))
		return s
	}
	first, err := l.Next(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, ids[0], first.ID)
	require.NoError(t, l.Printing(ctx, "p", first.Ref))

	txs, moves = nil, nil
	next, ok, err := l.Handover(ctx, "p", first.Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ids[1], next.ID, "the oldest queued label of the printer")
	assert.Contains(t, string(next.Data), serial(ids[1]), "rendered with its serial")
	assert.Equal(t, []string{serial(ids[0]) + " printed", serial(ids[1]) + " printing"}, moves)
	require.Len(t, txs, 2)
	assert.Same(t, txs[0], txs[1], "both moves in one transaction")
	assert.Equal(t, LabelPrinted, labelState(t, l, ids[0]))
	assert.Equal(t, SerialPrinted, serialState(t, l, ids[0]))
	assert.Equal(t, LabelPrinting, labelState(t, l, ids[1]))
	assert.Equal(t, SerialPrinting, serialState(t, l, ids[1]))
	var commissions int
	require.NoError(t, l.db.Reader().QueryRow(`SELECT COUNT(*) FROM outbox WHERE key = ?`, gtin+"/"+serial(ids[0])).Scan(&commissions))
	assert.Equal(t, 1, commissions, "the printed serial's commission is queued with it")

	// Queued meanwhile, a container label (seq 0) goes ahead of the
	// order's labels; the label whose template is gone waits.
	var sscc int64
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE labels SET seq = 1 WHERE kind = 'pack'`); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE labels SET template = 'gone' WHERE id = ?`, ids[2]); err != nil {
			return err
		}
		sscc, err = l.QueueLabel(tx, label.SSCC, "p", "395060000000000017", []byte("^XA^FDsscc^FS^XZ"))
		return err
	}))
	next, ok, err = l.Handover(ctx, "p", next.Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, sscc, next.ID)
	assert.Equal(t, []byte("^XA^FDsscc^FS^XZ"), next.Data)
	next, ok, err = l.Handover(ctx, "p", next.Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ids[3], next.ID, "the label that does not render is passed over")
	assert.Equal(t, LabelQueued, labelState(t, l, ids[2]))

	// Nothing printable left: the last label is recorded alone.
	_, ok, err = l.Handover(ctx, "p", next.Ref)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, LabelPrinted, labelState(t, l, ids[3]))
	counts, err := l.LabelCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[LabelState]int{LabelPrinted: 4, LabelQueued: 2}, counts, "the unrenderable label and the other printer's wait")
}

// A handover that fails records nothing; the one after it also takes a
// label of the printer found printing (a commit whose answer was lost),
// so that it is sent rather than left printing.
func TestHandoverAfterAFailure(t *testing.T) {
	l, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true}, Poll: time.Hour})
	ctx := context.Background()
	fail := false
	l.OnLabel(label.Pack, func(tx *sql.Tx, r Row, to LabelState) error {
		if fail && to == LabelPrinting {
			return errors.New("disk I/O error")
		}
		return nil
	})
	ids := queuePacks(t, l, "O1", "p", 3)
	done := label.Ref{Kind: label.Pack, ID: ids[0]}
	require.NoError(t, l.Printing(ctx, "p", done))
	fail = true
	_, _, err := l.Handover(ctx, "p", done)
	require.ErrorContains(t, err, "disk I/O error")
	assert.Equal(t, LabelPrinting, labelState(t, l, ids[0]), "nothing recorded")
	assert.Equal(t, LabelQueued, labelState(t, l, ids[1]))

	// As if the failed handover had committed after all: the label it
	// took is printing.
	fail = false
	require.NoError(t, l.Printing(ctx, "p", label.Ref{Kind: label.Pack, ID: ids[2]}))
	next, ok, err := l.Handover(ctx, "p", done)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ids[2], next.ID, "the label already printing is taken again")
	assert.Equal(t, LabelPrinted, labelState(t, l, ids[0]))
	assert.Equal(t, LabelQueued, labelState(t, l, ids[1]), "and no other taken")

	next, ok, err = l.Handover(ctx, "p", next.Ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ids[1], next.ID, "once a handover succeeds, the queue again")
	_, ok, err = l.Handover(ctx, "p", next.Ref)
	require.NoError(t, err)
	assert.False(t, ok)
}
