package api

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// follow opens a page's live stream as a signed-in tab and delivers each
// fragment it sends, until the test ends.
func follow(t *testing.T, se *session, page string) <-chan string {
	t.Helper()
	c, _ := followUntil(t, se, page)
	return c
}

// followUntil is follow with a way to close the tab.
func followUntil(t *testing.T, se *session, page string) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", se.base+"/ui/live?page="+page, nil)
	require.NoError(t, err)
	resp, err := se.c.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	out := make(chan string, 100)
	done := make(chan struct{})
	closeTab := func() { cancel(); resp.Body.Close(); <-done }
	t.Cleanup(closeTab)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var frag []string
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "data: "):
				frag = append(frag, strings.TrimPrefix(line, "data: "))
			case line == "" && frag != nil:
				out <- strings.Join(frag, "\n")
				frag = nil
			}
		}
	}()
	return out, closeTab
}

func (h *liveHub) setEvery(d time.Duration) {
	h.mu.Lock()
	h.every = d
	h.mu.Unlock()
}

// rendered is how often the hub rendered a page.
func (h *liveHub) rendered(page string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.pages[page]; p != nil {
		return p.renders
	}
	return 0
}

// TestLiveSendsOnlyChanges: a tab following a page gets its fragment at
// once, then nothing while nothing changes, then the change within the
// interval; however many tabs follow a page, it is rendered once an
// interval for all of them.
func TestLiveSendsOnlyChanges(t *testing.T) {
	const every = 100 * time.Millisecond
	s, l := withWork(t)
	s.hub.setEvery(every)
	ctx := context.Background()
	require.Eventually(t, func() bool { // the printer has printed the order
		q, err := l.Ledger.Queued(ctx)
		st, _, _ := l.Orders.Status(ctx, "LO-1")
		return err == nil && len(q) == 0 && st == "completed"
	}, 10*time.Second, 10*time.Millisecond)
	se := login(t, s, "ana", supervisorPW)

	tab := follow(t, se, "overview")
	select {
	case f := <-tab:
		require.Contains(t, f, "LO-1")
	case <-time.After(5 * time.Second):
		t.Fatal("no first fragment")
	}
	select {
	case f := <-tab:
		t.Fatalf("a fragment though nothing changed:\n%s", f)
	case <-time.After(10 * every):
	}

	q := 2
	changed := time.Now()
	require.NoError(t, l.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-2", ProductCode: "09506000134352", ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack"}))
	select {
	case f := <-tab:
		require.Contains(t, f, "LO-2", "the new order")
		// One interval, and the render's time on a busy machine.
		require.Less(t, time.Since(changed), every+time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the change was not sent")
	}

	// Nine more tabs on the page, and one on another: the overview is
	// still rendered once an interval (give or take one at each edge).
	tabs := []<-chan string{tab}
	for range 9 {
		tabs = append(tabs, follow(t, se, "overview"))
	}
	follow(t, se, "queue")
	for _, c := range tabs[1:] {
		select {
		case f := <-c:
			require.Contains(t, f, "LO-2", "a new tab gets the page as it is now")
		case <-time.After(5 * time.Second):
			t.Fatal("a new tab got no fragment")
		}
	}
	before, start := s.hub.rendered("overview"), time.Now()
	time.Sleep(10 * every)
	n, elapsed := s.hub.rendered("overview")-before, time.Since(start)
	require.LessOrEqual(t, n, int(elapsed/every)+2, "renders of the overview in %v with 10 tabs", elapsed)
	require.Positive(t, n, "the page is still followed")
	require.Positive(t, s.hub.rendered("queue"), "the other page has its own render")
	for i, c := range tabs {
		select {
		case f := <-c:
			t.Fatalf("tab %d got a fragment though nothing changed:\n%s", i, f)
		default:
		}
	}
}

// TestLiveNewTabGetsThePageAsItIs: a tab that comes after the page changed
// while nobody followed it gets the page as it is, not the fragment the
// last tab was sent.
func TestLiveNewTabGetsThePageAsItIs(t *testing.T) {
	const every = 100 * time.Millisecond
	s, l := withWork(t)
	s.hub.setEvery(every)
	se := login(t, s, "ana", supervisorPW)
	tab, closeTab := followUntil(t, se, "overview")
	select {
	case f := <-tab:
		require.NotContains(t, f, "LO-9")
	case <-time.After(5 * time.Second):
		t.Fatal("no first fragment")
	}
	closeTab()
	q := 1
	require.NoError(t, l.Orders.CreateLabelOrder(context.Background(), "erp", v2.LabelOrder{OrderID: "LO-9", ProductCode: "09506000134352",
		ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack"}))
	time.Sleep(2 * every)
	select {
	case f := <-follow(t, se, "overview"):
		require.Contains(t, f, "LO-9", "the first fragment is the page now")
	case <-time.After(5 * time.Second):
		t.Fatal("no first fragment")
	}
}
