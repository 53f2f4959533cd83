package cloudsim

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

// Seed is what is registered in the emulated tenant before any request.
type Seed struct {
	APIKeys        []APIKey  `json:"api_keys"`
	StaticTokens   []string  `json:"static_tokens"`
	ChannelKeys    []string  `json:"channel_keys"`
	Products       []Product `json:"products"`
	Destinations   []string  `json:"destinations"`
	Templates      []string  `json:"templates"`
	PackagingLines []string  `json:"packaging_lines"`
	Shipping       ShipSeed  `json:"shipping"`
}

// APIKey is a key and secret for dynamic tokens.
type APIKey struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// Product is a registered product code.
type Product struct {
	GTIN    string   `json:"gtin"`
	Market  string   `json:"market"`
	Batches []string `json:"batches"`
	// SerialPool is how many serials are assigned to the product for label
	// orders; Replenish makes the pool refill after a shortfall.
	SerialPool int  `json:"serial_pool"`
	Replenish  bool `json:"replenish"`
}

// ShipSeed is the shipping side.
type ShipSeed struct {
	PublicKey      string      `json:"public_key"`
	SecretKey      string      `json:"secret_key"`
	PartnerIDs     []string    `json:"partner_ids"`
	IntegrationIDs []int       `json:"integration_ids"`
	Orders         []ShipOrder `json:"orders"`
}

// ShipOrder is an order known to the shipping service.
type ShipOrder struct {
	OrderID     string `json:"order_id"`
	OrderNumber string `json:"order_number"`
	// NotFoundFor makes the order invisible for its first lookups, as an
	// order saved moments before.
	NotFoundFor int `json:"not_found_for"`
	// ReadyAfter is how many shipment lookups pass before the label exists.
	ReadyAfter int `json:"ready_after"`
	// Fail makes the carrier announcement fail.
	Fail bool `json:"fail"`
}

// DefaultSeed is the tenant the demo and tests start from.
func DefaultSeed() Seed {
	return Seed{
		APIKeys:        []APIKey{{Key: "demo-key", Secret: "demo-secret"}},
		StaticTokens:   []string{"demo-static-token"},
		ChannelKeys:    []string{"demo-channel"},
		Products:       []Product{{GTIN: "09506000134352", Market: "EU", Batches: []string{"AB12", "B2024-11"}, SerialPool: 100000, Replenish: true}, {GTIN: "09506000134369", Market: "US", Batches: []string{"US-1"}, SerialPool: 50}},
		Destinations:   []string{"line-1-printer"},
		Templates:      []string{"pack", "sscc"},
		PackagingLines: []string{"line-1"},
		Shipping: ShipSeed{
			PublicKey: "ship-public", SecretKey: "ship-secret", IntegrationIDs: []int{70},
			PartnerIDs: []string{"8e3ee1f7-9c55-4d5e-9d0f-3c1e0c6b2a10"},
			Orders: []ShipOrder{
				{OrderID: "593c853e-ca90-4ab4-953c-fd2f47dd8dc3", OrderNumber: "ORD-2024-00174", ReadyAfter: 1},
				{OrderID: "23458265234", OrderNumber: "ORD-2024-00166"},
				{OrderNumber: "ORD-2024-00180", NotFoundFor: 1},
				{OrderNumber: "ORD-2024-00190", Fail: true},
			},
		},
	}
}

// LoadSeed reads a seed file (JSON in the shape of Seed).
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, err
	}
	var s Seed
	if err := json.Unmarshal(data, &s); err != nil {
		return Seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	for i, p := range s.Products {
		if !cloud.ValidGS1Key(p.GTIN, 14) {
			return Seed{}, fmt.Errorf("seed %s: products[%d].gtin %q is not a valid GTIN-14", path, i, p.GTIN)
		}
	}
	return s, nil
}
