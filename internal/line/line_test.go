package line

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/v2"
)

// lossyPrinter loses every label: the outcome of each is unknown.
type lossyPrinter struct{ l *Line }

func (p *lossyPrinter) Submit(_ string, labels []PrintLabel) error {
	for _, lb := range labels {
		ctx := context.Background()
		if err := p.l.Printing(ctx, "p", lb.ID); err != nil {
			return err
		}
		if err := p.l.Unknown(ctx, "p", lb.ID, "connection lost"); err != nil {
			return err
		}
	}
	return nil
}

func TestUnknownLabelsAreResolvedByAPerson(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "l.db")}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	p := &lossyPrinter{}
	l, err := New(db, Config{Printers: map[string]Printer{"p": p}, Serials: SerialConfig{Generate: true, Length: 8}}, nil)
	require.NoError(t, err)
	p.l = l
	require.NoError(t, l.AddProduct(ctx, "09506000134352", "EU", map[string]string{"B": "261200"}))
	q := 2
	require.NoError(t, l.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "O", ProductCode: "09506000134352", ProductCodeSchema: "GTIN",
		Batch: "B", Quantity: &q, DestinationTag: "p", TemplateTag: "pack", Execute: true}))
	unknown, err := l.UnknownLabels(ctx)
	require.NoError(t, err)
	require.Len(t, unknown, 2)
	st, err := queue.ReadStats(ctx, db)
	require.NoError(t, err)
	assert.Zero(t, st.Pending, "nothing commissioned while unknown")

	require.ErrorContains(t, l.ResolveUnknown(ctx, "supervisor", unknown[0].ID, true, ""), "needs a reason")
	require.NoError(t, l.ResolveUnknown(ctx, "supervisor", unknown[0].ID, true, "label found on the pack"))
	require.NoError(t, l.ResolveUnknown(ctx, "supervisor", unknown[1].ID, false, "label torn"))
	require.ErrorContains(t, l.ResolveUnknown(ctx, "supervisor", unknown[1].ID, false, "again"), "only unknown labels are resolved")
	st, _ = queue.ReadStats(ctx, db)
	assert.Equal(t, 1, st.Pending, "the confirmed serial is queued for commissioning")
	status, counts, err := l.LabelOrderStatus(ctx, "O")
	require.NoError(t, err)
	assert.Equal(t, OrderCompleted, status)
	assert.Equal(t, map[string]int{"printed": 1, "voided": 1}, counts)
	var state string
	require.NoError(t, db.Reader().QueryRow(`SELECT state FROM serials WHERE serial = ?`, unknown[1].Serial).Scan(&state))
	assert.Equal(t, "decommissioned", state, "a voided label's serial is never used")
	var n int
	require.NoError(t, db.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'label.resolve' AND actor = 'supervisor'`).Scan(&n))
	assert.Equal(t, 2, n)
}

func TestGeneratedSerialsAreRandomAndInTheAlphabet(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "l.db")}, zerolog.Nop())
	require.NoError(t, err)
	defer db.Close()
	l, err := New(db, Config{Serials: SerialConfig{Generate: true, Length: 6, Alphabet: "AB12"}}, nil)
	require.NoError(t, err)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		s, err := l.randomSerial()
		require.NoError(t, err)
		require.Len(t, s, 6)
		for _, c := range s {
			require.Contains(t, "AB12", string(c))
		}
		seen[s] = true
	}
	assert.Greater(t, len(seen), 150, "not sequential, rarely repeated")
	_, err = New(db, Config{Serials: SerialConfig{Alphabet: "AB~"}}, nil)
	assert.ErrorContains(t, err, "not in GS1 character set 82")
	_, err = New(db, Config{Serials: SerialConfig{Length: 21}}, nil)
	assert.ErrorContains(t, err, "must be 1-20")
}
