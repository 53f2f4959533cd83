package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

// A supervisor closes a label order of the running demo: refused while one
// of its labels is unknown, closed once that label is resolved, and the
// reconciliation (JSON and its A4 page) accounts for every serial. The
// line runs EDGEAGENT_DEMO_RUN first (default: until a label is unknown);
// with EDGEAGENT_SCREENSHOTS the page and its JSON are written to
// docs/screenshots/reconciliation.{png,json}.
func TestDemoReconciliation(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700)
	d := startDemo(t, dir)
	if v := os.Getenv("EDGEAGENT_DEMO_RUN"); v != "" {
		run, err := time.ParseDuration(v)
		require.NoError(t, err, "EDGEAGENT_DEMO_RUN")
		time.Sleep(run)
	}
	require.Eventually(t, func() bool { return d.metric(t, "edgeagent_labels", "state", "unknown") >= 1 }, 90*time.Second, 200*time.Millisecond,
		"the printer's dropped connection leaves a label unknown")

	cfg, err := os.ReadFile(filepath.Join(dir, "edgeagent.yaml"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^  token: "(\S+)"$`).FindSubmatch(cfg)
	require.NotNil(t, m, "the demo's configuration holds the service token")
	token := string(m[1])
	call := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequest(method, d.url+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	code, body := call("GET", "/api/v1/labels/unknown", "")
	require.Equal(t, 200, code, "%s", body)
	var unknown []struct {
		ID      int64  `json:"id"`
		OrderID string `json:"order_id"`
		Serial  string `json:"serial"`
	}
	require.NoError(t, json.Unmarshal(body, &unknown))
	var lost = unknown[0]
	for _, u := range unknown {
		if u.OrderID != "" {
			lost = u
			break
		}
	}
	require.NotEmpty(t, lost.OrderID, "an unknown pack label: %s", body)
	sig := fmt.Sprintf(`"signature":{"user":"demo","password":%q,"meaning":"approved"}`, d.token)
	closeOrder := func() (int, []byte) {
		return call("POST", "/api/v1/label-orders/"+lost.OrderID+"/close", `{"reason":"batch finished",`+sig+`}`)
	}
	code, body = closeOrder()
	require.Equal(t, 409, code, "%s", body)
	assert.Contains(t, string(body), fmt.Sprintf("label %d (serial %s, unknown)", lost.ID, lost.Serial), "the refusal names the unknown label")
	t.Logf("close refused while a label is unknown: %s", body)

	// The demo's printer drops the connection before the label comes out:
	// the supervisor finds no such pack and voids it.
	code, body = call("POST", fmt.Sprintf("/api/v1/labels/%d/resolve", lost.ID), `{"printed":false,"reason":"not on the roll"}`)
	require.Equal(t, 200, code, "%s", body)
	// The order's other labels may still be on their way to the printer.
	require.Eventually(t, func() bool { code, body = closeOrder(); return code != 409 }, 90*time.Second, 250*time.Millisecond)
	require.Equal(t, 200, code, "%s", body)

	code, body = call("GET", "/api/v1/label-orders/"+lost.OrderID+"/reconciliation", "")
	require.Equal(t, 200, code, "%s", body)
	var rec struct {
		Report struct {
			OrderID  string `json:"order_id"`
			ClosedBy string `json:"closed_by"`
			Labels   struct {
				Planned, Allocated, Printed, Voided int
			} `json:"labels"`
			Balanced bool `json:"balanced"`
		} `json:"report"`
		SHA256 string `json:"sha256"`
	}
	require.NoError(t, json.Unmarshal(body, &rec))
	assert.Equal(t, lost.OrderID, rec.Report.OrderID)
	assert.Equal(t, "user:demo", rec.Report.ClosedBy, "signed by the supervisor named in the signature")
	assert.Positive(t, rec.Report.Labels.Printed)
	assert.Equal(t, 1, rec.Report.Labels.Voided)
	assert.True(t, rec.Report.Balanced, "every check holds, the printer's odometer among them")
	assert.Len(t, rec.SHA256, 64)
	t.Logf("reconciliation of %s: %s", lost.OrderID, body)

	// The line's journal reaches the emulated EPCIS repository.
	rm := regexp.MustCompile(`the emulated repository at (http://\S+)/events`).FindStringSubmatch(d.out.String())
	require.NotNil(t, rm, "the demo prints its EPCIS repository")
	require.Eventually(t, func() bool {
		resp, err := http.Get(rm[1] + "/events?EQ_bizStep=commissioning&perPage=1")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var q struct {
			EPCISBody struct {
				QueryResults struct {
					ResultsBody struct {
						EventList []json.RawMessage `json:"eventList"`
					} `json:"resultsBody"`
				} `json:"queryResults"`
			} `json:"epcisBody"`
		}
		return json.NewDecoder(resp.Body).Decode(&q) == nil && len(q.EPCISBody.QueryResults.ResultsBody.EventList) == 1
	}, 30*time.Second, 200*time.Millisecond, "the repository has the line's commissioning events")

	web := d.login(t)
	resp, err := web.Get(d.url + "/orders/" + lost.OrderID + "/reconciliation")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(page), lost.OrderID)

	if os.Getenv("EDGEAGENT_SCREENSHOTS") == "" {
		return
	}
	shots := filepath.Join(testutil.ModuleRoot(t), "docs", "screenshots")
	require.NoError(t, os.WriteFile(filepath.Join(shots, "reconciliation.json"), append(body, '\n'), 0o644))
	browser := testutil.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(900, 1270))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(d.url+"/login?next=/orders/"+lost.OrderID+"/reconciliation"),
		chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "demo"),
		chromedp.SendKeys("#password", d.token),
		chromedp.Click("#login"),
		chromedp.WaitVisible("main"),
	))
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(shots, "reconciliation.png"), png, 0o644))
}
