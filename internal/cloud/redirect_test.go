package cloud_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

// The secrets of the tests below: none of them may reach another host.
const (
	redirToken   = "static-token-0123456789"
	redirChannel = "channel-key-0123456789"
	redirKey     = "api-key-0123456789"
	redirSecret  = "api-secret-0123456789"
	shipPublic   = "ship-public-0123456789"
	shipSecret   = "ship-secret-0123456789"
)

// elsewhere is a host the configured service redirects to. It answers
// every request as the service would, so that a client that followed the
// redirect would succeed, and it keeps what it was sent.
type elsewhere struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // each request's headers and body, as text
}

func newElsewhere(t *testing.T) *elsewhere {
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b strings.Builder
		_ = r.Header.Write(&b)
		b.Write(body)
		e.mu.Lock()
		e.seen = append(e.seen, b.String())
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"message":"ok","token":"stolen","data":[]}`))
	}))
	t.Cleanup(e.Close)
	return e
}

// requireNothingSeen fails if the other host got a request, naming any
// secret it got.
func (e *elsewhere) requireNothingSeen(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, req := range e.seen {
		for _, secret := range []string{redirToken, redirChannel, redirKey, redirSecret, shipPublic, shipSecret} {
			require.NotContains(t, req, secret, "a secret reached the other host")
		}
		// Basic authentication is base64: the header itself must not go.
		require.NotContains(t, strings.ToLower(req), "authorization:", "an Authorization header reached the other host")
	}
	require.Empty(t, e.seen, "the other host got a request")
}

// redirector answers every request with a redirect (307, which keeps the
// method and body) to the same path on to.
func redirector(t *testing.T, to string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// requireRefusedRedirect asserts that err is the refused redirect, told as
// the operator reads it, and that it leaves the facts waiting.
func requireRefusedRedirect(t *testing.T, err error, to string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorContains(t, err, "the service redirected to "+to)
	require.ErrorContains(t, err, ": secrets are only sent to the configured host")
	var re *cloud.RedirectError
	require.True(t, errors.As(err, &re))
	var ce *cloud.Error
	require.True(t, errors.As(err, &ce))
	require.True(t, ce.Retryable, "the facts wait for the configuration or the service to be put right")
	require.False(t, ce.Ambiguous, "the service answered: nothing was done")
}

// The auth call carries the API key and secret in its body: a redirect to
// another host is not followed, so they never get there.
func TestRedirectToAnotherHostKeepsTheAPISecret(t *testing.T) {
	other := newElsewhere(t)
	front := redirector(t, other.URL)
	c, err := cloud.New(cloud.Config{BaseURL: front.URL, ChannelKey: redirChannel, APIKey: redirKey, APISecret: redirSecret, Timeout: 5 * time.Second})
	require.NoError(t, err)
	_, err = c.OpenPackagingOrders(context.Background())
	other.requireNothingSeen(t)
	requireRefusedRedirect(t, err, other.URL+cloud.DefaultPaths.Auth)
	require.ErrorContains(t, err, "cloud auth: ")
}

// A V2 call carries the token and the channel key in its headers, in
// either form of the token.
func TestRedirectToAnotherHostKeepsTokenAndChannelKey(t *testing.T) {
	other := newElsewhere(t)
	front := redirector(t, other.URL)
	for _, bearer := range []bool{false, true} {
		c, err := cloud.New(cloud.Config{BaseURL: front.URL, ChannelKey: redirChannel, Token: redirToken, BearerToken: bearer, Timeout: 5 * time.Second})
		require.NoError(t, err)
		_, err = c.OpenPackagingOrders(context.Background())
		other.requireNothingSeen(t)
		requireRefusedRedirect(t, err, other.URL+cloud.DefaultPaths.OpenPackagingOrders)
		_, err = c.Commission(context.Background(), cloud.Commission{ProductCode: gtin, ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231", Serials: []string{"S1"}})
		other.requireNothingSeen(t)
		requireRefusedRedirect(t, err, other.URL+cloud.DefaultPaths.Commission)
	}
}

// The shipping client sends its keys as Basic authentication, which
// net/http itself forwards to another port of the same host.
func TestShippingRedirectToAnotherHostKeepsTheKeys(t *testing.T) {
	other := newElsewhere(t)
	front := redirector(t, other.URL)
	s, err := cloud.NewShipping(cloud.ShippingConfig{BaseURL: front.URL + "/api/v3", PublicKey: shipPublic, SecretKey: shipSecret, Timeout: 5 * time.Second})
	require.NoError(t, err)
	_, err = s.Shipment(context.Background(), "SH-1")
	other.requireNothingSeen(t)
	requireRefusedRedirect(t, err, other.URL+"/api/v3/shipments/SH-1")
	_, err = s.CreateLabelsAsync(context.Background(), cloud.CreateLabels{IntegrationID: 7, Orders: []cloud.ShipOrder{{OrderNumber: "ORD-1"}}})
	other.requireNothingSeen(t)
	requireRefusedRedirect(t, err, other.URL+"/api/v3/orders/create-labels-async")
}

// From https to http on the same host and port is refused too: the
// secrets would cross the network in the clear. The query of the target is
// left out of the message.
func TestRedirectFromHTTPSToHTTPIsRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+r.URL.Path+"?token=x", http.StatusFound)
	}))
	defer srv.Close()
	c, err := cloud.New(cloud.Config{BaseURL: srv.URL, ChannelKey: redirChannel, Token: redirToken, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	require.NoError(t, err)
	_, err = c.OpenPackagingOrders(context.Background())
	requireRefusedRedirect(t, err, "http://"+srv.Listener.Addr().String()+cloud.DefaultPaths.OpenPackagingOrders+": ")
	require.NotContains(t, err.Error(), "token=x")
}

// A redirect within the configured host is followed as before, for both
// clients, and the answer at its end is the call's.
func TestRedirectWithinTheHostIsFollowed(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // path → the token it was sent
	mux := http.NewServeMux()
	mux.HandleFunc("/old/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/old"), http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("x-access-token")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/api/v3/shipments/") {
			_, _ = w.Write([]byte(`{"data":{"id":"SH-1","parcels":[]}}`))
			return
		}
		_, _ = w.Write([]byte(`{"success":true,"message":"ok","data":[]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, err := cloud.New(cloud.Config{BaseURL: srv.URL, ChannelKey: redirChannel, Token: redirToken, Timeout: 5 * time.Second,
		Paths: cloud.Paths{OpenPackagingOrders: "/old" + cloud.DefaultPaths.OpenPackagingOrders}})
	require.NoError(t, err)
	_, err = c.OpenPackagingOrders(context.Background())
	require.NoError(t, err)
	require.Equal(t, redirToken, got[cloud.DefaultPaths.OpenPackagingOrders], "the token goes along within the host")

	s, err := cloud.NewShipping(cloud.ShippingConfig{BaseURL: srv.URL + "/old/api/v3", PublicKey: shipPublic, SecretKey: shipSecret, Timeout: 5 * time.Second})
	require.NoError(t, err)
	sh, err := s.Shipment(context.Background(), "SH-1")
	require.NoError(t, err)
	require.Equal(t, "SH-1", sh.ID)
	_, ok := got["/api/v3/shipments/SH-1"]
	require.True(t, ok)
}
