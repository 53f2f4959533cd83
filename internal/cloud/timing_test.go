package cloud_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

// The tests here run in a synctest bubble on a pipe network: hours pass in
// virtual time, and the durations asserted are exact.

// pipeSim is an emulator on a pipe network and a client of it with a
// dynamic token.
func pipeSim(t *testing.T, f cloudsim.Faults) (*cloudsim.Sim, *cloud.Client) {
	sim := cloudsim.New(cloudsim.Config{Seed: cloudsim.DefaultSeed(), Faults: f})
	c, err := cloud.New(cloud.Config{BaseURL: "http://cloud.test", ChannelKey: "demo-channel", APIKey: "demo-key", APISecret: "demo-secret",
		HTTPClient: servePipe(t, sim.Handler())})
	require.NoError(t, err)
	return sim, c
}

// auths counts the token requests the emulator received, and the answers
// of every other request.
func auths(sim *cloudsim.Sim) (n int, statuses []int) {
	for _, r := range sim.Received() {
		if r.Endpoint == "auth" {
			n++
		} else {
			statuses = append(statuses, r.Status)
		}
	}
	return n, statuses
}

// A dynamic token lives a day; the client renews it an hour before the day
// ends, so no call meets an expired token.
func TestTokenRenewedBeforeItsDayEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, c := pipeSim(t, cloudsim.Faults{})
		ctx := context.Background()
		call := func() {
			_, err := c.OpenPackagingOrders(ctx)
			require.NoError(t, err)
		}
		call()
		time.Sleep(22*time.Hour + 59*time.Minute)
		call()
		n, _ := auths(sim)
		assert.Equal(t, 1, n, "the token is used for 23 hours")
		time.Sleep(2 * time.Minute)
		call()
		n, statuses := auths(sim)
		assert.Equal(t, 2, n, "renewed an hour before it expires")
		assert.Equal(t, []int{200, 200, 200}, statuses, "no call met a refused token")
	})
}

// A token the service forgot sooner (revoked, or a shorter lifetime) is
// renewed on its first refusal and the call is made once more.
func TestDynamicTokenRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, c := pipeSim(t, cloudsim.Faults{TokenTTL: 5 * time.Minute})
		ctx := context.Background()
		_, err := c.OpenPackagingOrders(ctx)
		require.NoError(t, err)
		time.Sleep(6 * time.Minute) // the token expires on the server
		_, err = c.OpenPackagingOrders(ctx)
		require.NoError(t, err, "a 401 Failed to authenticate token renews the token once")
		var codes []int
		for _, r := range sim.Received() {
			codes = append(codes, r.Status)
		}
		assert.Equal(t, []int{200, 200, 401, 200, 200}, codes, "auth, call, refused call, auth, call")

		bad, err := cloud.New(cloud.Config{BaseURL: "http://cloud.test", ChannelKey: "demo-channel", APIKey: "demo-key", APISecret: "wrong",
			HTTPClient: servePipe(t, sim.Handler())})
		require.NoError(t, err)
		_, err = bad.OpenPackagingOrders(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cloud auth: HTTP 401")
		assert.NotContains(t, err.Error(), "wrong")
	})
}

// A service that does not answer is given up on after the timeout: the
// call is worth retrying, and a commission may have been applied.
func TestTimeoutWithoutAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := servePipe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // the request is taken in…
			<-r.Context().Done()        // …and the answer never comes
		}))
		c, err := cloud.New(cloud.Config{BaseURL: "http://cloud.test", ChannelKey: "k", Token: "t", HTTPClient: hc})
		require.NoError(t, err)
		start := time.Now()
		_, err = c.Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Serials: []string{"T1"}})
		assert.Equal(t, 30*time.Second, time.Since(start), "the default timeout")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ce *cloud.Error
		require.ErrorAs(t, err, &ce)
		assert.True(t, ce.Timeout && ce.Ambiguous && ce.Retryable, "%+v", ce)

		_, err = c.OpenPackagingOrders(context.Background())
		require.ErrorAs(t, err, &ce)
		assert.True(t, ce.Timeout)
		assert.False(t, ce.Ambiguous, "a read changes nothing")
	})
}

// Retry-After, in seconds or as a date, is read against the clock and
// capped.
func TestRetryAfterAdvice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var advice string
		hc := servePipe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", advice)
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"success":false,"message":"Too many requests"}`))
		}))
		c, err := cloud.New(cloud.Config{BaseURL: "http://cloud.test", ChannelKey: "k", Token: "t", HTTPClient: hc})
		require.NoError(t, err)
		for _, tc := range []struct {
			advice string
			want   time.Duration
		}{
			{"30", 30 * time.Second},
			{time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
			{time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), 0},
			{"3600", cloud.MaxRetryAfter},
			{"soon", 0},
		} {
			advice = tc.advice
			_, err := c.OpenPackagingOrders(context.Background())
			var ce *cloud.Error
			require.ErrorAs(t, err, &ce)
			assert.True(t, ce.Retryable)
			assert.Equal(t, tc.want, ce.RetryAfter, "Retry-After: %s", tc.advice)
		}
	})
}

// The shipping client asks again for an order just saved, and looks at a
// shipment again, the configured pause apart.
func TestShippingWaitsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := cloudsim.New(cloudsim.Config{Seed: cloudsim.DefaultSeed()})
		c, err := cloud.NewShipping(cloud.ShippingConfig{BaseURL: "http://cloud.test/api/v3", PublicKey: "ship-public", SecretKey: "ship-secret",
			HTTPClient: servePipe(t, sim.Handler())})
		require.NoError(t, err)
		ctx := context.Background()
		start := time.Now()
		res, err := c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{OrderNumber: "ORD-2024-00180"}}})
		require.NoError(t, err)
		require.NotNil(t, res[0].Ref, "found when asked again")
		assert.Equal(t, 2*time.Second, time.Since(start), "not found once: asked again 2s later (the default)")

		res, err = c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{OrderNumber: "ORD-2024-00174"}}})
		require.NoError(t, err)
		start = time.Now()
		sh, err := c.WaitForLabels(ctx, res[0].Ref.ShipmentID, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 5*time.Second, time.Since(start), "the label is there at the second look")
		assert.NotEmpty(t, sh.Parcels)

		start = time.Now()
		_, err = c.WaitForLabels(ctx, "no-such-shipment", time.Second)
		require.ErrorContains(t, err, "HTTP 404 not_found")
		assert.Zero(t, time.Since(start), "an unknown shipment is an answer, not a wait")
	})
}
