package cloud_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloud/cloudsim"
)

func shipping(t *testing.T, s *cloudsim.Sim, mod func(*cloud.ShippingConfig)) *cloud.Shipping {
	cfg := cloud.ShippingConfig{BaseURL: s.ShippingURL(), PublicKey: "ship-public", SecretKey: "ship-secret", NotFoundWait: 10 * time.Millisecond, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cloud.NewShipping(cfg)
	require.NoError(t, err)
	return c
}

func TestShippingPartialSuccess(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := shipping(t, s, func(c *cloud.ShippingConfig) { c.PartnerID = "8e3ee1f7-9c55-4d5e-9d0f-3c1e0c6b2a10" })
	ctx := context.Background()
	// Five orders, two of which fail: one unknown, one with an over-long id.
	orders := []cloud.ShipOrder{
		{OrderNumber: "ORD-2024-00174"},
		{OrderNumber: "NO-SUCH-ORDER"},
		{OrderID: "23458265234"},
		{OrderNumber: "ORD-2024-00180"}, // saved moments ago: not found at first
		{OrderNumber: "ORD-2024-00190"},
	}
	res, err := c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: orders})
	require.NoError(t, err)
	require.Len(t, res, 5)
	assert.NotNil(t, res[0].Ref)
	require.NotNil(t, res[1].Err, "the unknown order failed")
	assert.Equal(t, "not_found", res[1].Err.Code)
	assert.Nil(t, res[1].Ref)
	assert.Equal(t, "23458265234", res[2].Ref.OrderID)
	require.NotNil(t, res[3].Ref, "not found right after saving, found on the retry")
	assert.NotNil(t, res[4].Ref)

	// The pointer of an error names its order within the call.
	once := shipping(t, s, func(c *cloud.ShippingConfig) { c.NotFoundRetries = -1 })
	res, err = once.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{
		{OrderNumber: "ORD-2024-00174"}, {OrderNumber: "X1"}, {OrderNumber: "ORD-2024-00166"}, {OrderNumber: "X2"}, {OrderID: "593c853e-ca90-4ab4-953c-fd2f47dd8dc3"},
	}})
	require.NoError(t, err)
	var failed []string
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, r.Order.OrderNumber+"@"+r.Err.Source.Pointer)
		}
	}
	assert.Equal(t, []string{"X1@/data/attributes/orders/1", "X2@/data/attributes/orders/3"}, failed)

	// Follow shipments to their labels.
	sh, err := c.WaitForLabels(ctx, res[0].Ref.ShipmentID, 5*time.Millisecond)
	require.NoError(t, err)
	zpl, err := c.LabelZPL(ctx, sh.Parcels[0].ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(zpl), "^XA"))
	assert.Contains(t, string(zpl), sh.Parcels[0].TrackingNumber)

	bad, err := c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{OrderNumber: "ORD-2024-00190"}}})
	require.NoError(t, err)
	_, err = c.WaitForLabels(ctx, bad[0].Ref.ShipmentID, 5*time.Millisecond)
	assert.ErrorContains(t, err, "ANNOUNCEMENT_FAILED: Announcement failed: The carrier rejected the address")
	var pf *cloud.ParcelFailedError
	require.ErrorAs(t, err, &pf, "a carrier's refusal is typed")
	assert.Equal(t, "ANNOUNCEMENT_FAILED", pf.Code)
	assert.Equal(t, bad[0].Ref.ShipmentID, pf.Shipment)
}

func TestShippingSplitsAndRules(t *testing.T) {
	s := startSim(t, cloudsim.Faults{})
	c := shipping(t, s, nil)
	ctx := context.Background()
	var orders []cloud.ShipOrder
	for i := 0; i < 45; i++ {
		orders = append(orders, cloud.ShipOrder{OrderNumber: fmt.Sprintf("ORD-2024-%05d", 174-i%2*8)})
	}
	res, err := c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 70, Orders: orders})
	require.NoError(t, err)
	for i, r := range res {
		require.NotNil(t, r.Ref, "order %d", i)
	}
	creates := 0
	for _, r := range s.Received() {
		if r.Endpoint == "ship_create" {
			creates++
		}
	}
	assert.Equal(t, 3, creates, "45 orders go in calls of at most 20")

	for _, tc := range []struct {
		req  cloud.CreateLabels
		want string
	}{
		{cloud.CreateLabels{Orders: []cloud.ShipOrder{{OrderNumber: "A"}}}, "integration_id: is required"},
		{cloud.CreateLabels{IntegrationID: 70}, "orders: give 1-20 orders"},
		{cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{}}}, "orders[0]: give order_id or order_number"},
		{cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{OrderID: strings.Repeat("i", 65)}}}, "orders[0].order_id: must be 1-64"},
		{cloud.CreateLabels{IntegrationID: 70, Orders: []cloud.ShipOrder{{OrderNumber: strings.Repeat("n", 256)}}}, "orders[0].order_number: must be 1-255"},
		{cloud.CreateLabels{IntegrationID: 70, BrandID: -1, Orders: []cloud.ShipOrder{{OrderNumber: "A"}}}, "brand_id: must be at least 1"},
	} {
		_, err := c.CreateLabelsAsync(ctx, tc.req)
		assert.ErrorContains(t, err, tc.want)
	}
	_, err = c.CreateLabelsAsync(ctx, cloud.CreateLabels{IntegrationID: 71, Orders: []cloud.ShipOrder{{OrderNumber: "A"}}})
	assert.ErrorContains(t, err, "HTTP 404 not_found: Integration not found.")

	// The emulator applies the same rules to what reaches it.
	for body, want := range map[string]string{
		`{"orders":[{"order_number":"A"}]}`: `"code":"required"`,
		`{"integration_id":70,"orders":[]}`: "Ensure this list has 1 to 20 elements, it has 0.",
		`{"integration_id":70,"orders":[` + strings.Repeat(`{"order_number":"A"},`, 20) + `{"order_number":"A"}]}`: "it has 21",
		`{"integration_id":70,"orders":[{"order_id":"` + strings.Repeat("i", 65) + `"}]}`:                          `"pointer":"/data/attributes/orders/0/order_id"`,
		`{"integration_id":70,"orders":[{}]}`:             "Either order_id or order_number is required.",
		`{"integration_id":70,"orders":[{"order_id":7}]}`: `"pointer":"/data/attributes/orders/0"`,
	} {
		req, _ := http.NewRequest(http.MethodPost, s.ShippingURL()+"/orders/create-labels-async", strings.NewReader(body))
		req.SetBasicAuth("ship-public", "ship-secret")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Less(t, resp.StatusCode, 500)
		assert.Contains(t, string(data), want, body)
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/parcels/%d/documents/label", s.ShippingURL(), res[1].Ref.ParcelID), nil)
	req.SetBasicAuth("ship-public", "ship-secret")
	req.Header.Set("Accept", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode)

	_, err = shipping(t, s, func(c *cloud.ShippingConfig) { c.SecretKey = "wrong" }).Shipment(ctx, "511")
	assert.ErrorContains(t, err, "HTTP 401 authentication_failed")
	assert.NotContains(t, err.Error(), "wrong")
	_, err = shipping(t, s, func(c *cloud.ShippingConfig) { c.PartnerID = "00000000-0000-0000-0000-000000000000" }).Shipment(ctx, "511")
	assert.ErrorContains(t, err, "HTTP 400 invalid: Unknown or invalid Sendcloud-Partner-Id.")
	_, err = cloud.NewShipping(cloud.ShippingConfig{BaseURL: s.ShippingURL(), PublicKey: "a", SecretKey: "b", PartnerID: "not-a-uuid"})
	assert.ErrorContains(t, err, "must be a UUID")
}

// The emulator takes its tenant from a seed file.
func TestSeedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"static_tokens":["t1"],"channel_keys":["c1"],
		"products":[{"gtin":"09506000134369","market":"IDN","batches":["L1"],"serial_pool":5}],
		"destinations":["d"],"templates":["pack"]}`), 0o600))
	seed, err := cloudsim.LoadSeed(path)
	require.NoError(t, err)
	s, err := cloudsim.Start(cloudsim.Config{Listen: "127.0.0.1:0", Seed: seed, Log: zerolog.Nop()})
	require.NoError(t, err)
	defer s.Close()
	c, err := cloud.New(cloud.Config{BaseURL: s.URL(), ChannelKey: "c1", Token: "t1"})
	require.NoError(t, err)
	o := cloud.PackagingOrder{OrderID: "P1", ProductCode: "09506000134369", ProductCodeSchema: "GTIN", Market: "IDN"}
	_, err = c.CreatePackagingOrder(context.Background(), o)
	require.NoError(t, err)
	o.ProductCode = gtin
	_, err = c.CreatePackagingOrder(context.Background(), o)
	require.ErrorIs(t, err, cloud.ErrProduct, "only the seeded product exists")

	require.NoError(t, os.WriteFile(path, []byte(`{"products":[{"gtin":"09506000134353"}]}`), 0o600))
	_, err = cloudsim.LoadSeed(path)
	require.ErrorContains(t, err, `products[0].gtin "09506000134353" is not a valid GTIN-14`)
	_, err = cloudsim.LoadSeed(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
}
