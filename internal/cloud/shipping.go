package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/clock"
	"github.com/edgeagent/edgeagent/internal/v2"
)

// ShippingConfig sets up the shipping-label client.
type ShippingConfig struct {
	BaseURL    string // e.g. https://panel.sendcloud.sc/api/v3
	PublicKey  string
	SecretKey  string
	PartnerID  string // optional Sendcloud-Partner-Id (a UUID)
	Timeout    time.Duration
	CAFile     string
	HTTPClient *http.Client
	// NotFoundRetries is how many times an order that is "not found" right
	// after it was saved is asked for again (default 3; negative: never),
	// NotFoundWait apart (default 2s).
	NotFoundRetries int
	NotFoundWait    time.Duration
}

// Shipping is the shipping-label client.
type Shipping struct {
	cfg  ShippingConfig
	http *http.Client
	base string
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewShipping checks the configuration.
func NewShipping(cfg ShippingConfig) (*Shipping, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("shipping base URL %q: must be https://host/path", cfg.BaseURL)
	}
	if cfg.PublicKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("shipping auth: public and secret key are required")
	}
	if cfg.PartnerID != "" && !uuidRE.MatchString(cfg.PartnerID) {
		return nil, fmt.Errorf("shipping partner id %q: must be a UUID", cfg.PartnerID)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.NotFoundRetries == 0 {
		cfg.NotFoundRetries = 3
	}
	if cfg.NotFoundWait <= 0 {
		cfg.NotFoundWait = 2 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		if hc, err = httpClient(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	// The public and secret key go in every request's Authorization
	// header: redirects are followed only to the configured host.
	return &Shipping{cfg: cfg, http: sameOriginOnly(hc, u), base: strings.TrimSuffix(cfg.BaseURL, "/")}, nil
}

// ShipOrder is one order to make labels for: OrderID (1-64) or
// OrderNumber (1-255).
type ShipOrder struct {
	OrderID            string `json:"order_id,omitempty"`
	OrderNumber        string `json:"order_number,omitempty"`
	ApplyShippingRules *bool  `json:"apply_shipping_rules,omitempty"`
}

// CreateLabels is the create-labels-async request.
type CreateLabels struct {
	IntegrationID   int         `json:"integration_id"`
	Orders          []ShipOrder `json:"orders"`
	SenderAddressID int         `json:"sender_address_id,omitempty"`
	BrandID         int         `json:"brand_id,omitempty"`
}

// MaxOrdersPerCall is the documented limit of one create-labels-async call.
const MaxOrdersPerCall = 20

// Validate applies the documented rules (the 1-20 bound applies per call;
// CreateLabelsAsync splits longer lists).
func (r CreateLabels) Validate() error {
	var c v2.Checker
	if r.IntegrationID <= 0 {
		c.Fail("integration_id", "is required")
	}
	if len(r.Orders) == 0 {
		c.Fail("orders", "give 1-20 orders, got 0")
	}
	if r.BrandID < 0 {
		c.Fail("brand_id", "must be at least 1")
	}
	for i, o := range r.Orders {
		f := "orders[" + v2.Itoa(i) + "]"
		switch {
		case o.OrderID == "" && o.OrderNumber == "":
			c.Fail(f, "give order_id or order_number")
		case o.OrderID != "" && len(o.OrderID) > 64:
			c.Fail(f+".order_id", "must be 1-64 characters, got %d", len(o.OrderID))
		case len(o.OrderNumber) > 255:
			c.Fail(f+".order_number", "must be 1-255 characters, got %d", len(o.OrderNumber))
		}
	}
	return c.Result()
}

// LabelRef is one order that got a shipment.
type LabelRef struct {
	ParcelID    int64   `json:"parcel_id"`
	ParcelsIDs  []int64 `json:"parcels_ids"`
	ShipmentID  string  `json:"shipment_id"`
	OrderID     string  `json:"order_id"`
	OrderNumber string  `json:"order_number"`
}

// APIError is one entry of a shipping errors[] list.
type APIError struct {
	Status string `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Source struct {
		Pointer string `json:"pointer"`
	} `json:"source"`
}

// OrderResult is what became of one order of a CreateLabelsAsync call.
type OrderResult struct {
	Order ShipOrder
	Ref   *LabelRef // set on success
	Err   *APIError // set on failure
}

// CreateLabelsAsync asks for labels for the orders, at most 20 per call. The
// results are in the orders' order: each failure is matched to its order by
// the error's source pointer (/data/attributes/orders/N). Orders that are
// "not found" (saved moments before) are asked for again a few times.
func (s *Shipping) CreateLabelsAsync(ctx context.Context, req CreateLabels) ([]OrderResult, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	results := make([]OrderResult, len(req.Orders))
	for i, o := range req.Orders {
		results[i].Order = o
	}
	pending := make([]int, len(req.Orders))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		var retry []int
		for start := 0; start < len(pending); start += MaxOrdersPerCall {
			idx := pending[start:min(start+MaxOrdersPerCall, len(pending))]
			call := req
			call.Orders = make([]ShipOrder, len(idx))
			for j, i := range idx {
				call.Orders[j] = req.Orders[i]
			}
			var body struct {
				Data   []LabelRef `json:"data"`
				Errors []APIError `json:"errors"`
			}
			if err := s.do(ctx, "create labels", http.MethodPost, "/orders/create-labels-async", call, "application/json", &body); err != nil {
				return results, err
			}
			s.match(call.Orders, idx, body.Data, body.Errors, results)
			for _, i := range idx {
				if e := results[i].Err; e != nil && e.Code == "not_found" && attempt < s.cfg.NotFoundRetries {
					results[i].Err = nil
					retry = append(retry, i)
				}
			}
		}
		pending = retry
		if len(pending) > 0 {
			if err := clock.Sleep(ctx, s.cfg.NotFoundWait); err != nil {
				return results, err
			}
		}
	}
	return results, nil
}

var pointerRE = regexp.MustCompile(`/orders/(\d+)`)

// match pairs answers with orders: errors by pointer index, references by
// order id or number.
func (s *Shipping) match(orders []ShipOrder, idx []int, data []LabelRef, errs []APIError, results []OrderResult) {
	for _, e := range errs {
		if m := pointerRE.FindStringSubmatch(e.Source.Pointer); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n < len(idx) {
				e := e
				results[idx[n]].Err = &e
			}
		}
	}
	for _, d := range data {
		for j, o := range orders {
			if results[idx[j]].Err != nil || results[idx[j]].Ref != nil {
				continue
			}
			if (o.OrderID != "" && o.OrderID == d.OrderID) || (o.OrderNumber != "" && o.OrderNumber == d.OrderNumber) {
				d := d
				results[idx[j]].Ref = &d
				break
			}
		}
	}
}

// Parcel is one parcel of a shipment.
type Parcel struct {
	ID     int64 `json:"id"`
	Status struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	Documents []struct {
		Type string `json:"type"`
		Size string `json:"size"`
		Link string `json:"link"`
	} `json:"documents"`
	TrackingNumber string `json:"tracking_number"`
}

// Shipment is a shipment with its parcels.
type Shipment struct {
	ID      string     `json:"id"`
	Parcels []Parcel   `json:"parcels"`
	Errors  []APIError `json:"errors"`
}

// Shipment reads a shipment.
func (s *Shipping) Shipment(ctx context.Context, id string) (Shipment, error) {
	var body struct {
		Data Shipment `json:"data"`
	}
	err := s.do(ctx, "shipment", http.MethodGet, "/shipments/"+url.PathEscape(id), nil, "application/json", &body)
	return body.Data, err
}

// ParcelFailedError is a parcel the carrier refused (ANNOUNCEMENT_FAILED)
// or that was cancelled: final for its order. Message holds the status
// message and the first announcement error.
type ParcelFailedError struct {
	Shipment string
	Parcel   int64
	Code     string
	Message  string
}

func (e *ParcelFailedError) Error() string { return e.Code + ": " + e.Message }

// Failed parcel statuses.
var failedParcel = map[string]bool{"ANNOUNCEMENT_FAILED": true, "CANCELLED": true}

// WaitForLabels follows a shipment until every parcel has a label document,
// or one fails; poll is the pause between looks.
func (s *Shipping) WaitForLabels(ctx context.Context, id string, poll time.Duration) (Shipment, error) {
	for {
		sh, err := s.Shipment(ctx, id)
		if err != nil {
			return sh, err
		}
		ready := len(sh.Parcels) > 0
		for _, p := range sh.Parcels {
			if failedParcel[p.Status.Code] {
				msg := p.Status.Message
				if len(sh.Errors) > 0 {
					msg += ": " + sh.Errors[0].Detail
				}
				return sh, &Error{Op: "shipment " + id, Code: p.Status.Code, Message: msg,
					Answer: &ParcelFailedError{Shipment: id, Parcel: p.ID, Code: p.Status.Code, Message: msg}}
			}
			if !hasLabel(p) {
				ready = false
			}
		}
		if ready {
			return sh, nil
		}
		if err := clock.Sleep(ctx, poll); err != nil {
			return sh, err
		}
	}
}

func hasLabel(p Parcel) bool {
	for _, d := range p.Documents {
		if d.Type == "label" {
			return true
		}
	}
	return false
}

// LabelZPL downloads a parcel's label as ZPL.
func (s *Shipping) LabelZPL(ctx context.Context, parcelID int64) ([]byte, error) {
	var out []byte
	err := s.do(ctx, "label", http.MethodGet, "/parcels/"+strconv.FormatInt(parcelID, 10)+"/documents/label", nil, "application/zpl", &out)
	return out, err
}

func (s *Shipping) do(ctx context.Context, op, method, path string, body any, accept string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.cfg.PublicKey, s.cfg.SecretKey)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.cfg.PartnerID != "" {
		req.Header.Set("Sendcloud-Partner-Id", s.cfg.PartnerID)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return transportError(op, err, body != nil)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return transportError(op, err, true)
	}
	if len(data) > maxBody {
		return &Error{Op: op, Status: resp.StatusCode, Message: "answer larger than 1 MiB"}
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
		var eb struct {
			Errors []APIError `json:"errors"`
		}
		if json.Unmarshal(data, &eb) == nil && len(eb.Errors) > 0 {
			e.Code, e.Message = eb.Errors[0].Code, eb.Errors[0].Detail
		}
		classify(e)
		return e
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
	}
	return nil
}
