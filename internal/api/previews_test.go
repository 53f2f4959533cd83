package api

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/testutil"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// decodePack reads the GS1 DataMatrix of a pack label's preview.
func decodePack(t *testing.T, body string) map[string]string {
	t.Helper()
	img, err := png.Decode(strings.NewReader(body))
	require.NoError(t, err, "a PNG")
	si, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	require.True(t, ok)
	d, err := testutil.Decode(si.SubImage(image.Rect(0, 0, 160, 240)), testutil.DataMatrix)
	require.NoError(t, err)
	msg, err := gs1.ParseElementString(d.Text)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range msg.Elements {
		out[e.AI] = e.Value
	}
	return out
}

// The orders page shows the label each order prints, the printers page the
// last label each printer printed; both are the ledger's labels drawn as
// they print, and an order with no labels yet shows a sample with its data.
func TestLabelPreviews(t *testing.T) {
	s, l := withWork(t)
	ctx := context.Background()
	q := 2
	require.NoError(t, l.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-2", ProductCode: "09506000134352", ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack"}))
	require.Eventually(t, func() bool {
		st, _, err := l.Orders.Status(ctx, "LO-1")
		return err == nil && st == orders.Completed
	}, 10*time.Second, 10*time.Millisecond, "LO-1 prints")
	first, err := l.Ledger.OrderLabel(ctx, "LO-1")
	require.NoError(t, err)
	require.NotZero(t, first)
	lz, err := l.Ledger.LabelZPL(ctx, first)
	require.NoError(t, err)
	se := login(t, s, "ana", supervisorPW)

	// LO-1's next label: a redirect to the label itself, whose DataMatrix
	// carries the label's own serial.
	resp, err := se.c.Get(se.base + "/orders/LO-1/label.png")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("/labels/%d.png", first), resp.Header.Get("Location"))
	code, body := se.get(resp.Header.Get("Location"))
	require.Equal(t, 200, code, body)
	ais := decodePack(t, body)
	assert.Equal(t, lz.Serial, ais["21"])
	assert.Equal(t, "AB12", ais["10"])
	assert.Equal(t, "09506000134352", ais["01"])

	// LO-2 is stored, not released: a sample with its data.
	code, body = se.get("/orders/LO-2/label.png")
	require.Equal(t, 200, code, body)
	ais = decodePack(t, body)
	assert.Equal(t, "SAMPLE", ais["21"])
	assert.Equal(t, "AB12", ais["10"])

	for path, want := range map[string]int{"/labels/999999.png": 404, "/labels/abc.png": 404, "/labels/-1.png": 404,
		"/orders/NOPE/label.png": 404, "/templates/shipping.png": 200, "/templates/sscc.png": 200} {
		code, body := se.get(path)
		assert.Equal(t, want, code, "%s: %s", path, body)
		if want == 200 {
			_, err := png.Decode(bytes.NewReader([]byte(body)))
			assert.NoError(t, err, path)
		}
	}

	// The pages: each order's label, each printer's last label; an order
	// printing on a paused printer says it waits, and why.
	require.NoError(t, l.Ledger.DB().Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE label_orders SET status = 'printing' WHERE order_id = 'LO-2'`)
		return err
	}))
	_, page := se.get("/orders")
	assert.Contains(t, page, `src="/orders/LO-1/label.png"`)
	assert.Contains(t, page, `src="/orders/LO-2/label.png"`)
	assert.Contains(t, page, "printer p1 is paused: media out")
	s.cfg.Printers = func() []PrinterStatus {
		return []PrinterStatus{{Tag: "p1", State: "ready", Printed: 1, Last: first}, {Tag: "p2", State: "ready"}}
	}
	_, page = se.get("/printers")
	assert.Contains(t, page, fmt.Sprintf(`<img src="/labels/%d.png"`, first))
	assert.Contains(t, page, "Nothing printed yet.", "p2 has printed nothing")
	_, page = se.get("/orders")
	assert.NotContains(t, page, "is paused", "the printer is ready again")

	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = anon.Get(se.base + fmt.Sprintf("/labels/%d.png", first))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a label shows a serial: a login first")
}
