package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

func chromiumPath(t *testing.T) string {
	if p := os.Getenv("EDGEAGENT_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH and EDGEAGENT_CHROMIUM unset: install Debian's chromium to run the browser tests")
	return ""
}

// Three station screens paired by a supervisor stay live across a restart
// of the agent, with nobody logged in: each says it is reconnecting while
// the agent is down and is live again within 10 s.
func TestPairedScreensAreLiveAgainAfterARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test")
	}
	browser := chromiumPath(t)
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
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1366, 768),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true))
		actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
		defer cancel()
		bctx, cancel := chromedp.NewContext(actx)
		defer cancel()
		bctx, cancel = context.WithTimeout(bctx, 2*time.Minute)
		defer cancel()
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "the browser starts")
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
