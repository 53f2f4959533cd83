package agent

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/users"
)

// A supervisor closes a printed order on the Orders page, signing with
// their password, and lands on its reconciliation: the agent's own
// printer runner recorded the emulator's odometer around every label, the
// cloud has every commission, and the page prints on one A4 sheet without
// the dashboard around it.
func TestCloseOnTheDashboardAndPrintTheReconciliation(t *testing.T) {
	browser := testutil.Chromium(t)
	r := start(t, printersim.Config{}, "", true)
	ctx := context.Background()
	require.NoError(t, r.agent.People.Users.Add(ctx, "test", "sam", users.Supervisor, "supervisor password 1"))
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", `{"order_id":"LO-R","product_code":"`+gtin+`","product_code_schema":"GTIN",
		"batch":"AB12","quantity":12,"destination_tag":"line-1-printer","template_tag":"pack","execute":true}`)
	require.Equal(t, 200, code, body)
	require.Eventually(t, func() bool {
		st, labels, err := r.agent.Line.Orders.Status(ctx, "LO-R")
		serials, _ := r.agent.Line.Ledger.SerialCounts(ctx)
		return err == nil && st == orders.Completed && labels["printed"] == 12 && serials[gtin]["commissioned"] == 12
	}, 30*time.Second, 20*time.Millisecond, "printed, and commissioned in the cloud")

	bctx := startBrowser(t, browser)
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs { // "Close label order LO-R?"
			if err != nil {
				return
			}
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	form := `form[data-api="/api/v1/label-orders/LO-R/close"] `
	require.NoError(t, chromedp.Do(bctx,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(r.url+"/login?next=/orders"), chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "sam"), chromedp.SendKeys("#password", "supervisor password 1"), chromedp.Click("#login"),
		chromedp.WaitVisible(form+"button")))
	shots := os.Getenv("EDGEAGENT_SCREENSHOTS")
	if shots != "" {
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "orders-close.png"), shot, 0o644))
	}
	require.NoError(t, chromedp.Do(bctx,
		chromedp.SendKeys(form+`input[name="reason"]`, "batch AB12 finished"),
		chromedp.SendKeys(form+`input[name="signature.password"]`, "supervisor password 1"),
		chromedp.Click(form+"button"),
		chromedp.WaitVisible("#verdict")))
	verdict, err := chromedp.Run(bctx, chromedp.Text("#verdict"))
	require.NoError(t, err)
	closedBy, err := chromedp.Run(bctx, chromedp.Text("#closed-by"))
	require.NoError(t, err)
	assert.Contains(t, verdict, "Every serial is accounted for")
	assert.Equal(t, "user:sam", closedBy)

	rec, err := r.agent.Line.Orders.Reconciliation(ctx, "LO-R")
	require.NoError(t, err)
	assert.True(t, rec.Balanced, "%v", rec.Failed())
	assert.Equal(t, "approved", rec.Meaning)
	assert.Equal(t, 12, rec.Serials.Commissioned)
	require.True(t, rec.Odometer.Read, "the runner's readings reached the ledger")
	assert.Equal(t, int64(0), *rec.Odometer.Start)
	assert.Equal(t, int64(12), *rec.Odometer.End)
	assert.Equal(t, int64(0), *rec.Odometer.Difference)
	assert.Equal(t, int64(12), r.sim.Odometer())

	// On paper: A4, the dashboard's header and buttons left off.
	shown := func(sel string) bool {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector("`+sel+`").getClientRects().length > 0`))
		require.NoError(t, err)
		return v
	}
	assert.True(t, shown("header"), "on screen, the dashboard's header")
	assert.True(t, shown("[data-print]"), "and the Print button")
	_, err = chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	require.NoError(t, err)
	assert.False(t, shown("header"), "no navigation on paper")
	assert.False(t, shown("[data-print]"), "no buttons on paper")
	assert.True(t, shown("#checks"), "the checks are")
	_, err = chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	require.NoError(t, err)
	yes := true
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(func(p *page.PrintToPDFParams) { p.PreferCSSPageSize, p.PrintBackground = &yes, &yes }))
	require.NoError(t, err)
	pages := regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1)
	assert.Len(t, pages, 1, "the reconciliation fits one sheet")
	box := regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)`).FindSubmatch(pdf)
	require.NotNil(t, box, "the PDF names its page size")
	w, _ := strconv.ParseFloat(string(box[1]), 64)
	h, _ := strconv.ParseFloat(string(box[2]), 64)
	assert.InDelta(t, 595.3, w, 2, "A4 is 210 mm wide (595 pt)")
	assert.InDelta(t, 841.9, h, 2, "and 297 mm high (842 pt)")
	if dir := shots; dir != "" {
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "reconciliation.png"), shot, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "reconciliation.pdf"), pdf, 0o644))
	}
}
