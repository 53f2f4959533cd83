package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a demo in the background.
type running struct {
	url, token string
	out        *syncBuffer // what it printed
	cancel     context.CancelFunc
	done       chan error
	logs       *syncBuffer
}

func startDemo(t *testing.T, dir string) *running {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	r := &running{cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}, out: out}
	go func() {
		r.done <- Run(ctx, Config{Dir: dir, Listen: "127.0.0.1:0", Version: "test", Log: zerolog.New(r.logs).Level(zerolog.InfoLevel),
			Out: out, Pace: 20, Outage: 3 * time.Second})
	}()
	re := regexp.MustCompile(`dashboard (http://\S+)\s+\(log in as demo with the password (\S+),`)
	require.Eventually(t, func() bool { return re.MatchString(out.String()) }, 20*time.Second, 20*time.Millisecond, "the demo prints its URL and login")
	m := re.FindStringSubmatch(out.String())
	r.url, r.token = m[1], m[2]
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop within 20s of Ctrl-C")
	}
}

// login logs in as the demo's user, as a browser's form would.
func (r *running) login(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", r.url+"/login", strings.NewReader(url.Values{"user": {"demo"}, "password": {r.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", r.url)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	return c
}

// metric reads one sample of /metrics whose labels include want.
func (r *running) metric(t *testing.T, name string, want ...string) float64 {
	resp, err := http.Get(r.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	total := 0.0
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && labels[want[i]] == want[i+1]
		}
		if ok {
			total += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return total
}

// The whole line in a browser, as a supervisor and an operator use it.
func TestDemoInABrowser(t *testing.T) {
	browser := testutil.Chromium(t)
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700) // the agent refuses a data directory others can read
	d := startDemo(t, dir)

	// The simulated line fills a pallet; the printer's dropped connection
	// leaves one label unknown; one shipping order is refused.
	require.Eventually(t, func() bool {
		return d.metric(t, "edgeagent_containers", "level", "pallet", "state", "closed") >= 2 &&
			d.metric(t, "edgeagent_labels", "state", "unknown") >= 1 && d.metric(t, "edgeagent_outbox_items", "state", "parked") >= 1
	}, 90*time.Second, 200*time.Millisecond)
	assert.Zero(t, d.metric(t, "edgeagent_outbox_oldest_pending_age_seconds") > 60, "the cloud took the facts after the outage")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "the browser starts")
	bctx, cancel = context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		p := chromedp.Poll[bool](expr)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := p(ctx, tg)
			return chromedp.Void{}, err
		}
	}

	// Log in.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(d.url+"/login?next=/station/ship-1"),
		chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "demo"),
		chromedp.SendKeys("#password", d.token),
		chromedp.Click("#login"),
		// The station screen: a scan typed by a wedge scanner.
		chromedp.WaitVisible("#scan"),
		chromedp.SendKeys("#scan", "ORD-2024-00180"+kb.Enter),
		poll(`document.getElementById("verdict-text").textContent === "Order added" && document.getElementById("verdict-detail").textContent.includes("Order ORD-2024-00180 added")`),
	))
	class, err := chromedp.Run(bctx, chromedp.AttributeValue("#verdict", "class"))
	require.NoError(t, err)
	assert.Equal(t, "verdict ok", class.Value)
	require.NoError(t, chromedp.Do(bctx,
		chromedp.SendKeys("#scan", "ORD-2024-00180"+kb.Enter),
		poll(`document.getElementById("verdict").className === "verdict bad"`),
	))
	text, err := chromedp.Run(bctx, chromedp.Text("#verdict-text"))
	require.NoError(t, err)
	assert.Equal(t, "Scanned twice", text, "a short headline")
	detail, err := chromedp.Run(bctx, chromedp.Text("#verdict-detail"))
	require.NoError(t, err)
	assert.Contains(t, detail, "scanned twice", "and the detail below it")

	// Retry the parked item.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(d.url+"/queue"),
		chromedp.WaitVisible("button.retry"),
		chromedp.Click("button.retry"),
		// The page follows the item to the cloud's answer.
		poll(`/Item \d+ (delivered to the cloud|refused again: .+|not delivered yet: .+)/.test(document.getElementById("toast").textContent)`),
	))
	// Resolve the unknown label: it is on the pack.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(d.url+"/orders"),
		chromedp.WaitVisible("button.resolve"),
		chromedp.SendKeys(`form[data-api$="/resolve"] input[name=reason]`, "found on the pack"),
		chromedp.SendKeys(`form[data-api$="/resolve"] input[name="signature.password"]`, d.token),
		chromedp.Click("button.resolve"),
		poll(`document.getElementById("toast").textContent.includes("Done.")`),
	))
	// The label previews draw: the label each order prints, the last label
	// each printer printed, the shipping template's example.
	drawn := func(sel string) chromedp.Action[chromedp.Void] {
		return poll(`[...document.querySelectorAll('` + sel + `')].some(i => i.complete && i.naturalWidth > 0)`)
	}
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(d.url+"/orders"), drawn("img.thumb"),
		chromedp.Navigate(d.url+"/printers"), drawn(".previews img"),
		chromedp.Navigate(d.url+"/templates"), drawn(`img[src="/templates/shipping.png"]`),
	))
	web := d.login(t)
	resp, err := web.Get(d.url + "/audit")
	require.NoError(t, err)
	var audit bytes.Buffer
	_, _ = audit.ReadFrom(resp.Body)
	resp.Body.Close()
	assert.Regexp(t, `<td>user:demo</td><td>queue.retry</td>`, audit.String())
	assert.Regexp(t, `<td>user:demo</td><td>label.resolve</td>.*<td>unknown</td><td>printed</td><td>found on the pack</td>`, audit.String())

	// Screenshots for the documentation, when asked for.
	if os.Getenv("EDGEAGENT_SCREENSHOTS") != "" {
		shots := filepath.Join(testutil.ModuleRoot(t), "docs", "screenshots")
		require.NoError(t, os.MkdirAll(shots, 0o755))
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(d.url+"/station/case-1"), chromedp.WaitVisible("#scan"),
			poll(`document.getElementById("recent").children.length > 3 && document.getElementById("verdict").className !== "verdict idle"`)))
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "station.png"), png, 0o644))
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible("#live"), chromedp.Sleep(time.Second)))
		png, err = chromedp.Run(bctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "overview.png"), png, 0o644))
	}

	// No secret in the logs, the printed text or any page.
	var pages bytes.Buffer
	for _, p := range []string{"/", "/orders", "/printers", "/stations", "/queue", "/audit", "/templates", "/station/case-1", "/metrics", "/api/openapi.yaml"} {
		resp, err := web.Get(d.url + p)
		require.NoError(t, err)
		_, _ = pages.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	for _, secret := range []string{d.token, "demo-static-token", "demo-channel", "ship-secret"} {
		assert.NotContains(t, d.logs.String(), secret, "logs")
		assert.NotContains(t, pages.String(), secret, "pages")
	}
	assert.Contains(t, d.logs.String(), `"message":"demo: the cloud goes offline"`, "the logs were captured")

	// Ctrl-C stops it; running it again continues where it stopped.
	orders := d.metric(t, "edgeagent_label_orders")
	d.stop(t)
	_, err = os.Stat(filepath.Join(dir, "cloud.json"))
	require.NoError(t, err, "the emulated cloud's state is kept")
	require.NoError(t, filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := e.Info()
		require.NoError(t, err)
		if e.IsDir() {
			assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), path)
		} else {
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), path)
		}
		return nil
	}))
	d = startDemo(t, dir)
	require.Eventually(t, func() bool { return d.metric(t, "edgeagent_label_orders") > orders }, 60*time.Second, 200*time.Millisecond)
	before := d.metric(t, "edgeagent_outbox_items", "state", "parked")
	time.Sleep(2 * time.Second)
	assert.Equal(t, before, d.metric(t, "edgeagent_outbox_items", "state", "parked"), "nothing new refused by the cloud after the restart")
}

// The V2 API's own example request, sent as the documentation writes it
// with the credentials the demo prints, creates its label order, and its
// 12 labels print on the example's printer.
func TestDemoTakesTheDocumentedLabelOrder(t *testing.T) {
	seed, err := os.ReadFile(testutil.SharedFile(t, "seeds/label-orders.txt"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)-d '(\{.*?\})'`).FindSubmatch(seed)
	require.NotNil(t, m, "the sample request's body")
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700)
	d := startDemo(t, dir)
	cred := regexp.MustCompile(`local V2 API: x-access-token (\S+) \(in [^)]+\), x-channel-key (\S+)`).FindStringSubmatch(d.out.String())
	require.NotNil(t, cred, "the demo prints its V2 credentials: %s", d.out.String())
	req, _ := http.NewRequest("POST", d.url+"/v1/manufacturer/v2/api/label_orders/", bytes.NewReader(m[1]))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-access-token", cred[1])
	req.Header.Set("x-channel-key", cred[2])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%v", answer)
	assert.Equal(t, map[string]any{"success": true, "message": "Label order created successfully"}, answer)
	require.Eventually(t, func() bool {
		return d.metric(t, "edgeagent_printer_labels_printed_total", "printer", "zebra-cloud-device-1") >= 12
	}, 30*time.Second, 50*time.Millisecond, "10 labels and 2 extra print on zebra-cloud-device-1")
}
