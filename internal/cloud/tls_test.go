package cloud

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A cloud with a certificate no trusted CA signed is refused, unless its CA
// is configured.
func TestSelfSignedCloudIsRefusedUnlessItsCAIsConfigured(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"message":"ok","data":[]}`))
	}))
	defer srv.Close()
	cfg := Config{BaseURL: srv.URL, ChannelKey: "ch", Token: "tok", Timeout: 5 * time.Second}
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = c.OpenPackagingOrders(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "certificate", "TLS is verified by default")

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	cfg.CAFile = caFile
	c, err = New(cfg)
	require.NoError(t, err)
	_, err = c.OpenPackagingOrders(context.Background())
	require.NoError(t, err, "trusted once its CA is configured")

	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	_, err = New(cfg)
	require.ErrorContains(t, err, "cloud CA file")
}
