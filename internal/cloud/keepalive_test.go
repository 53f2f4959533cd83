package cloud_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

// Requests sent side by side, as the outbox sends one per stream, keep
// their connections between rounds: the callers open about one each, not
// one per request.
func TestConnectionsKeptForConcurrentCallers(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(cloudsim.New(cloudsim.Config{Seed: cloudsim.DefaultSeed(), Log: zerolog.Nop()}).Handler())
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := cloud.New(cloud.Config{BaseURL: srv.URL, ChannelKey: "demo-channel", Token: "demo-static-token"})
	require.NoError(t, err)
	const callers, rounds = 8, 20
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for k := 0; k < callers; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN",
					Serials: []string{fmt.Sprintf("KA%03d%02d", r, k)}})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
	}
	// A connection goes back to the pool a moment after its answer is
	// read, so a round may open one while the last round's are on their
	// way back; each is kept, and 2×callers of them always leave one
	// free. Closing what is beyond two, net/http's default, opens about
	// 6 a round, over a hundred in all.
	assert.LessOrEqual(t, int(opened.Load()), 2*callers, "connections opened for %d rounds of %d requests", rounds, callers)
}
