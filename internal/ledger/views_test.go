package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

func pack(id int64) label.Ref { return label.Ref{Kind: label.Pack, ID: id} }

func TestOrderAndLineCounts(t *testing.T) {
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true}})
	ctx := context.Background()
	ids := queuePacks(t, l, "O1", "p", 3)
	queuePacks(t, l, "O2", "q", 2)
	require.NoError(t, l.Printing(ctx, "p", pack(ids[0])))
	require.NoError(t, l.Printed(ctx, "p", pack(ids[0])))
	require.NoError(t, l.Printing(ctx, "p", pack(ids[1])))
	require.NoError(t, l.Unknown(ctx, "p", pack(ids[1]), "no answer"))

	counts, err := l.OrderCounts(ctx, "O1")
	require.NoError(t, err)
	assert.Equal(t, map[LabelState]int{LabelPrinted: 1, LabelUnknown: 1, LabelQueued: 1}, counts)
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		n, err := OpenLabels(tx, "O1")
		assert.Equal(t, 1, n, "only the queued label is on its way")
		require.NoError(t, err)
		open, err := HasOpenLabels(tx, "O1")
		assert.True(t, open)
		require.NoError(t, err)
		open, err = HasOpenLabels(tx, "O2-none")
		assert.False(t, open, "an order without labels has none on its way")
		return err
	}))
	printed, err := l.PrintedSerials(ctx, "O1")
	require.NoError(t, err)
	var first string
	require.NoError(t, db.Reader().QueryRow(`SELECT serial FROM labels WHERE id = ?`, ids[0]).Scan(&first))
	assert.Equal(t, []string{first}, printed)
	queued, err := l.Queued(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"p": 1, "q": 2}, queued)
	serials, err := l.SerialCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]map[SerialState]int{gtin: {SerialPrinted: 1, SerialUnknown: 1, SerialAllocated: 3}}, serials)
	lc, err := l.LabelCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[LabelState]int{LabelPrinted: 1, LabelUnknown: 1, LabelQueued: 3}, lc)
	recent, err := l.RecentLabels(ctx, 2)
	require.NoError(t, err)
	require.Len(t, recent, 2)
	assert.Equal(t, "O2", recent[0].OrderID, "newest first")
	pc, err := l.PrinterCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]PrinterCount{"p": {Queued: 1, Printed: 1, Unknown: 1, Last: ids[0]}, "q": {Queued: 2}}, pc)
	next, err := l.OrderLabel(ctx, "O1")
	require.NoError(t, err)
	assert.Equal(t, ids[2], next, "the next label it prints")
	require.NoError(t, l.Printing(ctx, "p", pack(ids[2])))
	next, err = l.OrderLabel(ctx, "O1")
	require.NoError(t, err)
	assert.Equal(t, ids[0], next, "none queued: its first")
	next, err = l.OrderLabel(ctx, "O9")
	require.NoError(t, err)
	assert.Zero(t, next, "an order without labels")
}

func TestMasterData(t *testing.T) {
	l, db := openLedger(t, Config{})
	ctx := context.Background()
	// A known product keeps what it had where the new data is empty.
	require.NoError(t, l.AddProduct(ctx, gtin, "", map[string]string{"AB12": "", "CD34": "270101"}))
	products, err := l.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]map[string]string{gtin: {"AB12": "261231", "CD34": "270101"}}, products)
	require.NoError(t, l.AddProduct(ctx, "00000000000000", "US", nil))
	products, err = l.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{}, products["00000000000000"], "a product without batches")
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		p, err := ProductOf(tx, gtin)
		require.NoError(t, err)
		assert.Equal(t, "EU", p.Market, "an empty market does not overwrite")
		exp, err := ExpiryOf(tx, gtin, "CD34")
		require.NoError(t, err)
		assert.Equal(t, "270101", exp)
		_, err = ExpiryOf(tx, gtin, "ZZ")
		assert.ErrorIs(t, err, ErrBatchNotFound)
		_, err = ProductOf(tx, "11111111111116")
		assert.ErrorIs(t, err, ErrProductNotFound)
		return nil
	}))
	assert.Same(t, db, l.DB())
	assert.NotNil(t, l.Outbox())
	_, ok := l.Templates().Get("pack")
	assert.True(t, ok, "the built-in templates by default")
	assert.Equal(t, SerialConfig{Length: 12, Alphabet: DefaultAlphabet}, l.Serials(), "the defaults")
	for _, bad := range []string{"", strings.Repeat("A", 21), "AB CD", "Ä"} {
		assert.Error(t, CheckSerial(bad), bad)
	}
	assert.NoError(t, CheckSerial("AB/12-x_%"))
}

func TestNotifyOnlyWhenAFactIsQueued(t *testing.T) {
	notified := 0
	l, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true}, Notify: func() { notified++ }})
	ctx := context.Background()
	ids := queuePacks(t, l, "O1", "p", 2)
	require.NoError(t, l.Printing(ctx, "p", pack(ids[0])))
	assert.Equal(t, 0, notified)
	require.NoError(t, l.Printed(ctx, "p", pack(ids[0])))
	assert.Equal(t, 1, notified, "the commission is queued")
	require.NoError(t, l.Printing(ctx, "p", pack(ids[1])))
	require.NoError(t, l.Unknown(ctx, "p", pack(ids[1]), "x"))
	require.NoError(t, l.Resolve(ctx, "ana", ids[1], true, "seen"))
	assert.Equal(t, 2, notified, "resolved printed: commissioned")
	l.Notify()
	assert.Equal(t, 3, notified)
}

func TestAQueuedLabelWaitsForItsTemplate(t *testing.T) {
	var logs bytes.Buffer
	set, err := zpl.Load(fstest.MapFS{"mini.zpl": {Data: []byte("^FX tag: mini\n^FX keys: order_id serial\n^XA\n^FO0,0^A0N,20,20^FD{{order_id}} {{serial}}^FS\n^XZ\n")}})
	require.NoError(t, err)
	l, db := openLedger(t, Config{Serials: SerialConfig{Generate: true}, Templates: set, Poll: 10 * time.Millisecond, Log: zerolog.New(&logs)})
	ctx := context.Background()
	var ids []int64
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO label_orders (order_id, gtin, batch, quantity, destination, template, status, created_by, created_at, request)
			VALUES ('O1', ?, 'AB12', 3, 'p', 'gone', 'printing', 't', 0, ?)`, gtin, []byte("{}")); err != nil {
			return err
		}
		serials, err := l.Take(tx, gtin, 3)
		if err != nil {
			return err
		}
		for i, tmpl := range []string{"gone", "sscc", "mini"} { // removed, not a pack template, fine
			id, err := l.QueuePack(tx, "p", tmpl, PackData{OrderID: "O1", GTIN: gtin, Batch: "AB12", Expiry: "261231", Serial: serials[i]})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		none, err := l.Take(tx, gtin, 0)
		assert.Nil(t, none)
		return err
	}))
	lb, err := l.Next(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, ids[2], lb.ID, "labels that cannot be rendered are passed over")
	assert.Contains(t, string(lb.Data), "O1 ", "order_id is filled")
	assert.Contains(t, logs.String(), "its template is not configured")
	assert.Contains(t, logs.String(), "it does not render")
	require.NoError(t, l.Printing(ctx, "p", lb.Ref))
	require.NoError(t, l.Printed(ctx, "p", lb.Ref))

	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = l.Next(tctx, "p")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the others wait, queued")
	queued, err := l.Queued(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, queued["p"])

	// A label whose template is gone is not reprinted.
	require.NoError(t, l.Printing(ctx, "p", pack(ids[0])))
	require.NoError(t, l.Unknown(ctx, "p", pack(ids[0]), "x"))
	require.ErrorContains(t, l.Reprint(ctx, "ana", ids[0], "again"), "template gone is not configured")
	require.ErrorIs(t, l.Reprint(ctx, "ana", ids[0], ""), ErrReasonRequired)

	// A serial is given to one label only.
	err = db.Write(ctx, func(tx *sql.Tx) error {
		_, err := l.QueuePack(tx, "p", "mini", PackData{OrderID: "O1", GTIN: gtin, Batch: "AB12", Serial: lb.Subject})
		return err
	})
	require.ErrorContains(t, err, "is not available")
}

func TestResolvingOtherLabels(t *testing.T) {
	l, db := openLedger(t, Config{})
	ctx := context.Background()
	var id int64
	require.NoError(t, db.Write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = l.QueueLabel(tx, label.SSCC, "p", "395060000000000017", []byte("^XA^XZ"))
		return err
	}))
	require.Error(t, db.Write(ctx, func(tx *sql.Tx) error { _, err := l.QueueLabel(tx, "bogus", "p", "x", nil); return err }))
	ref := label.Ref{Kind: label.SSCC, ID: id}
	var lse *LabelStateError
	require.ErrorAs(t, l.Printed(ctx, "p", ref), &lse, "nothing is printed without being recorded as printing")
	assert.Equal(t, "label 1 is queued: it cannot become printed", lse.Error())
	require.ErrorAs(t, l.Resolve(ctx, "ana", id, false, "x"), &lse)
	assert.Equal(t, "label 1 is queued: only labels whose outcome is unknown are resolved", lse.Error())
	require.ErrorIs(t, l.Resolve(ctx, "ana", 99, false, "x"), ErrLabelNotFound)
	require.NoError(t, l.Printing(ctx, "p", ref))
	require.NoError(t, l.Unknown(ctx, "p", ref, "cable pulled"))
	unknown, err := l.UnknownLabels(ctx)
	require.NoError(t, err)
	require.Len(t, unknown, 1)
	assert.Equal(t, UnknownLabel{ID: id, Kind: label.SSCC, Subject: "395060000000000017", Printer: "p", Reason: "cable pulled"}, unknown[0])
	require.NoError(t, l.Resolve(ctx, "ana", id, false, "label not on the case"))
	var subject, reason string
	require.NoError(t, db.Reader().QueryRow(`SELECT subject, reason FROM audit_log WHERE action = 'label.resolve'`).Scan(&subject, &reason))
	assert.Equal(t, "label/1 sscc 395060000000000017", subject)
	assert.Equal(t, "label not on the case", reason)
	var state LabelState
	require.NoError(t, db.Reader().QueryRow(`SELECT state FROM labels WHERE id = ?`, id).Scan(&state))
	assert.Equal(t, LabelVoided, state)
	assert.Equal(t, "serial S of G is not known on this line", (&SerialNotFoundError{GTIN: "G", Serial: "S"}).Error())
	assert.Equal(t, "serial S is unknown: it cannot be decommissioned",
		(&SerialStateError{GTIN: "G", Serial: "S", State: SerialUnknown, Act: "decommissioned"}).Error())
}

func TestLowPoolWarning(t *testing.T) {
	var logs bytes.Buffer
	l, _ := openLedger(t, Config{Serials: SerialConfig{LowPool: 3}, Log: zerolog.New(&logs)})
	ctx := context.Background()
	_, err := l.ImportSerials(ctx, "cli", gtin, []string{"S1", "S2", "S3"})
	require.NoError(t, err)
	l.WarnLowPool(ctx, gtin)
	assert.Empty(t, logs.String(), "three left is not low")
	require.NoError(t, l.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE serials SET state = 'allocated' WHERE serial = 'S1'`)
		return err
	}))
	l.WarnLowPool(ctx, gtin)
	assert.Contains(t, logs.String(), "serial pool low")
	assert.Contains(t, logs.String(), `"available":2`)

	logs.Reset()
	g, _ := openLedger(t, Config{Serials: SerialConfig{Generate: true, LowPool: 3}, Log: zerolog.New(&logs)})
	g.WarnLowPool(ctx, gtin)
	assert.Empty(t, logs.String(), "generated serials are made as orders need them")
}
