// Package cloudsim emulates the Movilitas.Cloud Manufacturer V2 API and the
// Sendcloud-style shipping-label API on a real HTTP server: the documented
// field rules and error messages, state so that duplicates are refused as the
// service refuses them, a seeded tenant, an inspection endpoint for tests,
// and injected faults.
package cloudsim

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

// Config sets up the emulator.
type Config struct {
	Listen string // e.g. 127.0.0.1:8081; ":0" picks a port
	Seed   Seed
	Faults Faults
	Log    zerolog.Logger
	// MaxRecorded bounds the requests kept for Received (0: all), for long
	// runs.
	MaxRecorded int
}

// Request is one request the emulator received, for tests.
type Request struct {
	Endpoint string
	Method   string
	Path     string
	Body     []byte
	Status   int
	At       time.Time
}

type serial struct {
	gtin, batch, expiry string
	status              string // Commissioned, Decommissioned
	reason              string
	parent              string
}

type container struct {
	parent   string
	children map[string]bool // "gtin/serial" for packs, SSCC for containers
}

type shipment struct {
	id       string
	parcel   int64
	order    *ShipOrder
	lookups  int
	tracking string
	// refused is the carrier's answer when the shipment was made: like a
	// real carrier's, a refused announcement stays refused; correcting the
	// address helps shipments made after.
	refused bool
}

// Sim is a running emulator.
type Sim struct {
	cfg Config
	ln  net.Listener
	srv *http.Server

	mu           sync.Mutex
	rng          *rand.Rand // seeded fault draws (Faults.Seed)
	rngSeed      uint64
	tokens       map[string]time.Time // dynamic token → expiry
	products     map[string]*Product
	labelOrders  map[string]cloud.LabelOrder
	packaging    map[string]cloud.PackagingOrder
	packOrder    []string
	serials      map[string]*serial // "gtin/serial"
	containers   map[string]*container
	shipOrders   map[string]*ShipOrder // by order_id and order_number
	lookups      map[*ShipOrder]int
	shipments    map[string]*shipment
	parcels      map[int64]*shipment
	nextShipment int
	received     []Request
	counts       map[string]int
	down         atomic.Bool
}

// New builds an emulator without listening (see Handler and Start).
func New(cfg Config) *Sim {
	s := &Sim{cfg: cfg, tokens: map[string]time.Time{}, products: map[string]*Product{}, labelOrders: map[string]cloud.LabelOrder{},
		packaging: map[string]cloud.PackagingOrder{}, serials: map[string]*serial{}, containers: map[string]*container{},
		shipOrders: map[string]*ShipOrder{}, lookups: map[*ShipOrder]int{}, shipments: map[string]*shipment{}, parcels: map[int64]*shipment{},
		counts: map[string]int{}, nextShipment: 510}
	if s.cfg.Faults.TokenTTL <= 0 {
		s.cfg.Faults.TokenTTL = cloud.TokenLifetime
	}
	if s.cfg.Faults.RetryAfter <= 0 {
		s.cfg.Faults.RetryAfter = time.Second
	}
	for i := range cfg.Seed.Products {
		p := cfg.Seed.Products[i]
		s.products[p.GTIN] = &p
	}
	for i := range cfg.Seed.Shipping.Orders {
		o := &s.cfg.Seed.Shipping.Orders[i]
		if o.OrderID != "" {
			s.shipOrders["id:"+o.OrderID] = o
		}
		if o.OrderNumber != "" {
			s.shipOrders["no:"+o.OrderNumber] = o
		}
	}
	return s
}

// Start listens and serves.
func Start(cfg Config) (*Sim, error) {
	s := New(cfg)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	h := s.Handler()
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			// An outage: the connection drops without an answer.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// SetFaults replaces the faults in effect.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	if f.TokenTTL <= 0 {
		f.TokenTTL = s.cfg.Faults.TokenTTL
	}
	s.cfg.Faults = f
}

// SetDown starts (true) or ends an outage: while it lasts every request's
// connection is dropped without an answer.
func (s *Sim) SetDown(down bool) { s.down.Store(down) }

// URL is the emulator's base URL.
func (s *Sim) URL() string { return "http://" + s.ln.Addr().String() }

// ShippingURL is the base URL of the shipping API.
func (s *Sim) ShippingURL() string { return s.URL() + "/api/v3" }

// Close stops the server.
func (s *Sim) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Received returns the requests received so far.
func (s *Sim) Received() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.received...)
}

// State is what the inspection endpoint shows.
type State struct {
	Requests        map[string]int `json:"requests"`
	LabelOrders     int            `json:"label_orders"`
	PackagingOrders int            `json:"packaging_orders"`
	Commissioned    int            `json:"commissioned"`
	Decommissioned  int            `json:"decommissioned"`
	Containers      int            `json:"containers"`
	Aggregated      int            `json:"aggregated"`
	Shipments       int            `json:"shipments"`
}

// Snapshot returns the state.
func (s *Sim) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Requests: map[string]int{}, LabelOrders: len(s.labelOrders), PackagingOrders: len(s.packaging),
		Containers: len(s.containers), Shipments: len(s.shipments)}
	for k, v := range s.counts {
		st.Requests[k] = v
	}
	for _, sr := range s.serials {
		switch sr.status {
		case "Commissioned":
			st.Commissioned++
		case "Decommissioned":
			st.Decommissioned++
		}
		if sr.parent != "" {
			st.Aggregated++
		}
	}
	return st
}

// SerialStatus reports a serial's status and parent, for tests.
func (s *Sim) SerialStatus(gtin, sn string) (status, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sr, ok := s.serials[gtin+"/"+sn]; ok {
		return sr.status, sr.parent
	}
	return "", ""
}

const apiPrefix = "/v1/manufacturer/v2/api"

// Handler is the emulator's HTTP handler.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	v2 := func(ep string, h func(w http.ResponseWriter, r *http.Request, body []byte) (int, any)) http.HandlerFunc {
		return s.wrap(ep, true, h)
	}
	mux.HandleFunc("POST /v1/api_auth", s.wrap("auth", false, s.auth))
	mux.HandleFunc("POST "+apiPrefix+"/label_orders/", v2("label_orders", s.labelOrder))
	mux.HandleFunc("POST "+apiPrefix+"/label_orders", v2("label_orders", s.labelOrder))
	mux.HandleFunc("POST "+apiPrefix+"/packaging_order", v2("packaging_order", s.packagingOrder))
	mux.HandleFunc("GET "+apiPrefix+"/packaging_order/open", v2("packaging_open", s.openOrders))
	mux.HandleFunc("GET "+apiPrefix+"/packaging_order/details", v2("packaging_details", s.orderDetails))
	mux.HandleFunc("POST "+apiPrefix+"/serials/commission", v2("commission", s.commission))
	mux.HandleFunc("POST "+apiPrefix+"/serials/decommission", v2("decommission", s.decommission))
	mux.HandleFunc("POST "+apiPrefix+"/aggregate/container", v2("aggregate", s.aggregate))
	mux.HandleFunc("DELETE "+apiPrefix+"/aggregate/container", v2("disaggregate", s.disaggregate))
	mux.HandleFunc("POST /api/v3/orders/create-labels-async", s.wrapShip("ship_create", s.createLabels))
	mux.HandleFunc("GET /api/v3/shipments/{id}", s.wrapShip("ship_shipment", s.shipment))
	mux.HandleFunc("GET /api/v3/parcels/{id}/documents/label", s.wrapShip("ship_label", s.label))
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Snapshot(), 0) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, cloud.ErrorBody{Message: "Route not found: " + r.Method + " " + r.URL.Path}, 0)
	})
	return mux
}

// maxRequest bounds request bodies.
const maxRequest = 8 << 20

// errBody answers a Manufacturer V2 error.
func errBody(status int, code, typ, msg string) (int, any) {
	return status, cloud.ErrorBody{Success: false, Code: code, Error: typ, Message: msg}
}

func validation(err error) (int, any) {
	return errBody(http.StatusBadRequest, "", cloud.TypeValidation, cloud.TypeValidation+": "+err.Error())
}

// wrap applies faults, authentication and the channel key, reads the body
// and records the request.
func (s *Sim) wrap(ep string, auth bool, h func(http.ResponseWriter, *http.Request, []byte) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.injected(w, ep) {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
		if err != nil {
			s.answer(w, r, ep, nil, http.StatusRequestEntityTooLarge, cloud.ErrorBody{Message: "Request body too large"})
			return
		}
		status, resp := http.StatusOK, any(nil)
		switch {
		case auth && s.tokenMissing(r):
			status, resp = errBody(http.StatusUnauthorized, cloud.CodeNoToken, cloud.TypeNoToken, cloud.MsgNoToken)
		case auth && !s.tokenValid(r):
			status, resp = errBody(http.StatusUnauthorized, cloud.CodeBadToken, cloud.TypeBadToken, cloud.MsgBadToken)
		case auth && !s.channelValid(r):
			status, resp = errBody(http.StatusBadRequest, "", "", cloud.MsgChannel)
		case r.Method == http.MethodPost || r.Method == http.MethodDelete:
			if !json.Valid(body) {
				status, resp = errBody(http.StatusBadRequest, "", "", cloud.MsgUnparsable)
				break
			}
			status, resp = h(w, r, body)
		default:
			status, resp = h(w, r, body)
		}
		s.answer(w, r, ep, body, status, resp)
	}
}

func (s *Sim) answer(w http.ResponseWriter, r *http.Request, ep string, body []byte, status int, resp any) {
	s.mu.Lock()
	s.counts[ep]++
	if len(s.received) < 100000 {
		s.received = append(s.received, Request{Endpoint: ep, Method: r.Method, Path: r.URL.Path, Body: body, Status: status, At: time.Now()})
		if m := s.cfg.MaxRecorded; m > 0 && len(s.received) > 2*m {
			s.received = append(s.received[:0], s.received[len(s.received)-m:]...)
		}
	}
	reset := s.draw() < rateFor(s.cfg.Faults.Reset, ep)
	slow := s.cfg.Faults.SlowBody
	s.mu.Unlock()
	if reset && status < 300 {
		// Applied, but the caller never hears: an ambiguous outcome.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				return
			}
		}
	}
	if b, ok := resp.([]byte); ok {
		w.Header().Set("Content-Type", "application/zpl")
		w.WriteHeader(status)
		w.Write(b)
		return
	}
	writeJSON(w, status, resp, slow)
}

// injected answers with a fault when one is due.
func (s *Sim) injected(w http.ResponseWriter, ep string) bool {
	s.mu.Lock()
	f := s.cfg.Faults
	s.mu.Unlock()
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	s.mu.Lock()
	throttle, fail := s.draw() < rateFor(f.Throttle, ep), s.draw() < rateFor(f.ErrorRate, ep)
	s.mu.Unlock()
	switch {
	case throttle:
		w.Header().Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds()+0.5)))
		writeJSON(w, http.StatusTooManyRequests, cloud.ErrorBody{Message: "Too many requests"}, 0)
		return true
	case fail:
		writeJSON(w, http.StatusServiceUnavailable, cloud.ErrorBody{Message: "Service temporarily unavailable"}, 0)
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any, slow time.Duration) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"success":false,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if slow <= 0 || len(data) < 4 {
		w.Write(data)
		return
	}
	step := slow / 4
	for i := 0; i < 4; i++ {
		w.Write(data[i*len(data)/4 : (i+1)*len(data)/4])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(step)
	}
}

func bearer(r *http.Request) string {
	if t := r.Header.Get("x-access-token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))
	}
	return ""
}

func (s *Sim) tokenMissing(r *http.Request) bool { return bearer(r) == "" }

func (s *Sim) tokenValid(r *http.Request) bool {
	t := bearer(r)
	for _, st := range s.cfg.Seed.StaticTokens {
		if t == st {
			return true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[t]
	return ok && time.Now().Before(exp)
}

func (s *Sim) channelValid(r *http.Request) bool {
	k := r.Header.Get("x-channel-key")
	for _, c := range s.cfg.Seed.ChannelKeys {
		if k == c {
			return true
		}
	}
	return false
}

// decode reads a JSON body into v; a type mismatch is a validation error
// naming the field.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &cloud.FieldError{Field: te.Field, Rule: "must be a " + te.Type.String()}
		}
		return &cloud.FieldError{Field: "body", Rule: "must be a JSON object"}
	}
	return nil
}

func (s *Sim) auth(w http.ResponseWriter, r *http.Request, body []byte) (int, any) {
	var req struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
	}
	if err := decode(body, &req); err != nil {
		return validation(err)
	}
	if req.APIKey == "" || req.APISecret == "" {
		return validation(&cloud.FieldError{Field: map[bool]string{true: "api_key", false: "api_secret"}[req.APIKey == ""], Rule: "is required"})
	}
	for _, k := range s.cfg.Seed.APIKeys {
		if k.Key == req.APIKey && k.Secret == req.APISecret {
			b := make([]byte, 24)
			rand2(b)
			tok := "dyn." + hex.EncodeToString(b)
			s.mu.Lock()
			s.tokens[tok] = time.Now().Add(s.cfg.Faults.TokenTTL)
			s.mu.Unlock()
			return http.StatusOK, map[string]any{"success": true, "message": "Authentication successful", "token": tok}
		}
	}
	return errBody(http.StatusUnauthorized, "", "", "Invalid API key or secret")
}

func rand2(b []byte) {
	if _, err := crand.Read(b); err != nil {
		panic(err)
	}
}

func ioReadAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

// Containers returns each container the emulator knows with its children
// (GTIN/serial for packs, the SSCC for containers), sorted; containers
// emptied by disaggregation have none.
func (s *Sim) Containers() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for sscc, c := range s.containers {
		kids := []string{}
		for k := range c.children {
			kids = append(kids, k)
		}
		sort.Strings(kids)
		out[sscc] = kids
	}
	return out
}

// draw is the next fault draw, from the seeded source when the faults name
// a seed. Called with s.mu held.
func (s *Sim) draw() float64 {
	if s.cfg.Faults.Seed == 0 {
		return rand.Float64()
	}
	if s.rng == nil || s.rngSeed != s.cfg.Faults.Seed {
		s.rng, s.rngSeed = rand.New(rand.NewPCG(s.cfg.Faults.Seed, 0x5eed)), s.cfg.Faults.Seed
	}
	return s.rng.Float64()
}
