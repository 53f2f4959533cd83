package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/printer/printersim"
)

// A label order's commissions reach the cloud and their events the EPCIS
// repository; while the repository is down, the cloud is still reported
// reachable and the repository is the one reported unreachable, and its
// events wait until it is back.
func TestEPCISRepositoryAnswersApartFromTheCloud(t *testing.T) {
	repo := epcissim.New(epcissim.Options{Token: "repo-token"})
	var current atomic.Pointer[epcissim.Server]
	current.Store(repo)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) }))
	defer srv.Close()
	repo.FailCaptures(1000, epcissim.Fault{Status: 503})
	r := start(t, printersim.Config{}, "", true, func(c *Config) {
		c.Journal = &journal.Config{Site: "9506000000008", ReadPointExtension: "LINE1"}
		c.EPCIS = &cloud.CaptureConfig{URL: srv.URL, Token: "repo-token", Timeout: 2 * time.Second}
		c.Queue.MaxBackoff = 50 * time.Millisecond
	})
	code, body := post(t, r.url, "/v1/manufacturer/v2/api/label_orders/", order55)
	require.Equal(t, 200, code, body)
	require.Eventually(t, func() bool { return len(commissionedAt(r.cloud)) == 55 }, 20*time.Second, 20*time.Millisecond)
	// The cloud's commissions are recorded delivered (the cloud may have
	// them a moment before the agent has recorded its answer); the 55
	// events wait.
	require.Eventually(t, func() bool {
		st, err := r.agent.Dispatcher.Stats(context.Background())
		return err == nil && !st.Services["epcis"].FailingSince.IsZero() && st.Pending == 55
	}, 10*time.Second, 10*time.Millisecond)
	st, err := r.agent.Dispatcher.Stats(context.Background())
	require.NoError(t, err)
	assert.True(t, st.FailingSince.IsZero(), "the cloud answers: %s", st.LastFailure)
	assert.Empty(t, repo.Events())

	// The repository comes back (a fresh one on the same address).
	fresh := epcissim.New(epcissim.Options{Token: "repo-token"})
	current.Store(fresh)
	require.Eventually(t, func() bool { return len(fresh.Events()) == 55 }, 20*time.Second, 20*time.Millisecond, "the events go once it is back")
	require.Eventually(t, func() bool {
		st, err := r.agent.Dispatcher.Stats(context.Background())
		return err == nil && st.Pending == 0 && len(st.Services) == 0
	}, 10*time.Second, 10*time.Millisecond)
}
