package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/users"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// startBrowser starts a headless Chromium for the test, closed when it
// ends; its context gives every step at most two minutes in all.
func startBrowser(t *testing.T, browser string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "the browser starts")
	bctx, cancel = context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancel)
	return bctx
}

// Three station screens paired by a supervisor stay live across a restart
// of the agent, with nobody logged in: each says it is reconnecting while
// the agent is down and is live again within 10 s.
func TestPairedScreensAreLiveAgainAfterARestart(t *testing.T) {
	browser := testutil.Chromium(t)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	names := []string{"case-1", "case-2", "pallet-1"}
	cfg := Config{DB: store.Config{Path: filepath.Join(dir, "data", "edgeagent.db")}, LineName: "line-1", Templates: zpl.Builtin(),
		Listen: "127.0.0.1:0", ServiceToken: "service-token-0123456789"}
	for _, n := range names {
		cfg.Stations = append(cfg.Stations, StationConfig{StationConfig: stations.StationConfig{Name: n}})
	}
	a, err := Start(context.Background(), cfg, zerolog.Nop())
	require.NoError(t, err)
	cfg.Listen = a.API.Addr() // the same address after the restart: the screens know it
	base := "http://" + cfg.Listen
	require.NoError(t, a.People.Users.Add(context.Background(), "test", "sam", users.Supervisor, "supervisor password 1"))

	live := func(v string) string { return fmt.Sprintf(`document.body.dataset.live === %q`, v) }
	poll := func(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
		p := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := p(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	// Three screens at the line, each its own browser: a supervisor logs
	// in on each, pairs it with its station and logs out again; the screen
	// goes on by its own credential.
	var tabs []context.Context
	for _, name := range names {
		bctx := startBrowser(t, browser, chromedp.WindowSize(1366, 768))
		steps := []struct {
			what string
			do   []chromedp.Action[chromedp.Void]
		}{
			{"log in", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/login?next=/station/" + name), chromedp.WaitVisible("#user"),
				chromedp.SendKeys("#user", "sam"), chromedp.SendKeys("#password", "supervisor password 1"), chromedp.Click("#login")}},
			{"pair", []chromedp.Action[chromedp.Void]{chromedp.WaitVisible("#pair"), chromedp.Click("#pair"), chromedp.WaitVisible(".screen-hint")}},
			{"log out", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/"), chromedp.WaitVisible(".who button"), chromedp.Click(".who button"), chromedp.WaitVisible("#user")}},
			{"the screen alone", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/station/" + name), chromedp.WaitVisible(".screen-hint"),
				poll(live("1"), 10*time.Second)}},
		}
		for _, step := range steps {
			sctx, cancel := context.WithTimeout(bctx, 20*time.Second)
			err := chromedp.Do(sctx, step.do...)
			cancel()
			require.NoError(t, err, "%s: %s", name, step.what)
		}
		tabs = append(tabs, bctx)
	}

	// Restart the agent on the same address.
	require.NoError(t, a.Stop(context.Background()))
	for i, tab := range tabs {
		require.NoError(t, chromedp.Do(tab, poll(live("0")+` && !document.getElementById("live-state").hidden`, 10*time.Second)), "%s says it is not live", names[i])
	}
	a, err = Start(context.Background(), cfg, zerolog.Nop())
	require.NoError(t, err)
	defer a.Stop(context.Background())
	restarted := time.Now()
	for i, tab := range tabs {
		require.NoError(t, chromedp.Do(tab, poll(live("1")+` && document.getElementById("live-state").hidden`, 10*time.Second)), "%s is live again", names[i])
	}
	t.Logf("three paired screens live again %s after the restart", time.Since(restarted).Round(10*time.Millisecond))
	// And they show what the station does: a verdict reaches each.
	for i, tab := range tabs {
		st, _ := a.Line.Stations.Get(names[i])
		_, err := st.Handle(context.Background(), stations.Scan{Source: "test", Raw: []byte("hello"), Plain: "hello"})
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(tab, poll(`document.getElementById("verdict").className === "verdict bad"`, 10*time.Second)), names[i])
	}
}

// The station screen at the sizes of the line's screens: after a run of
// refusals the header, the verdict and the count are still in sight; and
// the overview on a phone is no wider than the phone.
func TestStationScreenFitsTheScreen(t *testing.T) {
	browser := testutil.Chromium(t)
	r := start(t, printersim.Config{}, "", false, func(c *Config) {
		c.Stations = []StationConfig{{StationConfig: stations.StationConfig{Name: "case-1"}}}
		c.SSCC = containers.SSCCConfig{CompanyPrefix: "9506000", Extension: 1}
	})
	ctx := context.Background()
	_, err := r.agent.Line.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-7", ProductCode: gtin, ProductCodeSchema: "GTIN",
		Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	require.NoError(t, r.agent.People.Users.Add(ctx, "test", "sam", users.Supervisor, "supervisor password 1"))
	st, _ := r.agent.Line.Stations.Get("case-1")
	v, err := st.Handle(ctx, stations.Scan{Source: "test", Raw: []byte(stations.CmdNew), Plain: stations.CmdNew, Actor: "user:sam"})
	require.NoError(t, err)
	require.Equal(t, "opened", v.Code)

	bctx := startBrowser(t, browser)
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(r.url+"/login?next=/station/case-1"), chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "sam"), chromedp.SendKeys("#password", "supervisor password 1"), chromedp.Click("#login"),
		chromedp.WaitVisible("#scan")))
	shots := ""
	if os.Getenv("EDGEAGENT_SCREENSHOTS") != "" {
		shots = filepath.Join(testutil.ModuleRoot(t), "docs", "screenshots")
		require.NoError(t, os.MkdirAll(shots, 0o755))
	}
	inView := `(() => { const h = innerHeight, w = innerWidth;
		return ["#station-head", "#verdict", "#count", "#verdict-text"].every(s => { const r = document.querySelector(s).getBoundingClientRect();
			return r.top >= 0 && r.bottom <= h && r.right <= w; }) && scrollY === 0; })()`
	for _, size := range [][2]int64{{1366, 768}, {1280, 1024}, {1920, 1080}} {
		require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(size[0], size[1]), chromedp.Navigate(r.url+"/station/case-1"), chromedp.WaitVisible("#scan")))
		for i := 0; i < 10; i++ {
			bad := fmt.Sprintf("(01)%s(21)NOSUCH%02d(10)AB12(17)261231", gtin, i)
			if i%2 == 1 {
				bad = "SOMETHING-THAT-IS-NOT-A-PACK-LABEL-AT-ALL-AND-RATHER-LONG-" + strings.Repeat("X", 120)
			}
			require.NoError(t, chromedp.Do(bctx, chromedp.SendKeys("#scan", bad+"\r")))
		}
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("recent").children.length >= 10 && document.getElementById("verdict").className === "verdict bad"`))
		require.NoError(t, err, "%dx%d: the refusals arrive", size[0], size[1])
		ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](inView))
		require.NoError(t, err)
		assert.True(t, ok, "%dx%d: header, verdict and count in sight after 10 refusals", size[0], size[1])
		headline, err := chromedp.Run(bctx, chromedp.Text("#verdict-text"))
		require.NoError(t, err)
		assert.LessOrEqual(t, len([]rune(headline)), 40, "a short headline: %q", headline)
		if shots != "" {
			png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(shots, fmt.Sprintf("station-%dx%d.png", size[0], size[1])), png, 0o644))
		}
	}
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(r.url+"/"), chromedp.WaitVisible("main")))
	// Measured once the page has loaded with its style sheet: on a busy
	// machine "main" can be visible before the styles apply.
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.readyState === "complete" && [...document.styleSheets].some(s => s.href && s.href.endsWith("/static/style.css") && s.cssRules.length > 0)`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the overview loads with its style sheet")
	fits, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= innerWidth`))
	require.NoError(t, err)
	if !fits {
		wide, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join("; ")`))
		t.Logf("wider than the screen: %s", wide)
	}
	assert.True(t, fits, "the overview at 390 px has no horizontal overflow")
	if shots != "" {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "overview-390.png"), png, 0o644))
	}
}
