package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/users"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// A supervisor retries an item the cloud refused: the queue page says that
// it was refused again, in the cloud's words, rather than "Done.".
func TestQueueRetryShowsTheCloudsAnswer(t *testing.T) {
	browser := testutil.Chromium(t)
	sim := startCloud(t, "127.0.0.1:0")
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	cfg := Config{DB: store.Config{Path: filepath.Join(dir, "data", "edgeagent.db")}, LineName: "line-1", Templates: zpl.Builtin(),
		Listen: "127.0.0.1:0", ServiceToken: "service-token-0123456789",
		Cloud: &cloud.Config{BaseURL: sim.URL(), ChannelKey: "demo-channel", Token: "demo-static-token", Timeout: 3 * time.Second},
		Queue: queue.Config{Workers: 1, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Poll: 10 * time.Millisecond}}
	a, err := Start(context.Background(), cfg, zerolog.Nop())
	require.NoError(t, err)
	defer a.Stop(context.Background())
	require.NoError(t, a.People.Users.Add(context.Background(), "test", "sam", users.Supervisor, "supervisor password 1"))

	// A serial of a product the cloud does not know: refused, parked.
	ctx := context.Background()
	id, err := queue.New(a.DB).EnqueueNow(ctx, facts.CommissionItem("test", facts.SerialFact{ProductCode: "09999999999994", Serial: "RETRY1"}))
	require.NoError(t, err)
	a.Dispatcher.Notify()
	require.Eventually(t, func() bool {
		r, err := queue.Get(ctx, a.DB, id)
		return err == nil && r.State == queue.StateParked
	}, 10*time.Second, 20*time.Millisecond, "the cloud refuses the item")

	bctx := startBrowser(t, browser, chromedp.WindowSize(1366, 768))
	base := "http://" + a.API.Addr()
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(base+"/login?next=/queue"), chromedp.WaitVisible("#user"),
		chromedp.SendKeys("#user", "sam"), chromedp.SendKeys("#password", "supervisor password 1"), chromedp.Click("#login"),
		chromedp.WaitVisible(fmt.Sprintf(`form[data-follow="/api/v1/queue/%d"] button`, id)),
		chromedp.Click(fmt.Sprintf(`form[data-follow="/api/v1/queue/%d"] button`, id)),
		chromedp.WaitVisible("#toast p.bad"),
	))
	toast, err := chromedp.Run(bctx, chromedp.Text("#toast p.bad"))
	require.NoError(t, err)
	require.Contains(t, toast, fmt.Sprintf("Item %d refused again: ", id))
	r, err := queue.Get(ctx, a.DB, id)
	require.NoError(t, err)
	require.Contains(t, toast, r.LastError, "in the cloud's words")
	t.Logf("toast: %s", toast)
}
