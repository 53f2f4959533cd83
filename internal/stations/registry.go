package stations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/store"
)

// Config sets up the stations.
type Config struct {
	// People signs operators on; nil: no station takes sign-ons.
	People People
	// Capacities are the packing configuration by GTIN.
	Capacities map[string]Capacity
	// Printers are the configured printers' tags.
	Printers []string
}

// Registry is the line's stations.
type Registry struct {
	db         *store.DB
	ledger     *ledger.Ledger
	containers *containers.Containers
	shipments  *shipments.Shipments
	cfg        Config

	mu       sync.Mutex
	stations map[string]*Station

	// orders are the packaging orders stations have read, by ID: an order
	// is stored once and never changed, so a pack scan checks against it
	// without reading it again.
	omu    sync.Mutex
	orders map[string]orders.Packaging
}

// New returns a registry without stations; Add adds them. c must be the
// line's containers, through which every change to a container made away
// from its station goes (see containers.Changes).
func New(l *ledger.Ledger, c *containers.Containers, s *shipments.Shipments, cfg Config) *Registry {
	r := &Registry{db: l.DB(), ledger: l, containers: c, shipments: s, cfg: cfg, stations: map[string]*Station{},
		orders: map[string]orders.Packaging{}}
	s.OnNews(func(n shipments.News) {
		if st, ok := r.Get(n.Station); ok {
			st.publish(Verdict{Station: n.Station, At: time.Now(), OK: n.OK, Code: n.Code, Message: n.Message, Mode: ModeShip})
		}
	})
	return r
}

func nowMS() int64 { return time.Now().UnixMilli() }

// Add registers a station; a station seen before keeps its state.
func (r *Registry) Add(ctx context.Context, cfg StationConfig) (*Station, error) {
	if cfg.Name == "" {
		return nil, errors.New("station: name is required")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeCase
	}
	switch cfg.Mode {
	case ModeCase, ModePallet, ModeShip:
	case ModeDecommission:
		if !validReason(cfg.Reason) {
			return nil, fmt.Errorf("station %s: reason must be one of %s, got %q", cfg.Name, strings.Join(reasons, ", "), cfg.Reason)
		}
	default:
		return nil, fmt.Errorf("station %s: mode must be case, pallet, decommission or ship, got %q", cfg.Name, cfg.Mode)
	}
	if cfg.Reason != "" && !validReason(cfg.Reason) {
		return nil, fmt.Errorf("station %s: reason must be one of %s, got %q", cfg.Name, strings.Join(reasons, ", "), cfg.Reason)
	}
	if cfg.Printer != "" && !slices.Contains(r.cfg.Printers, cfg.Printer) {
		return nil, fmt.Errorf("station %s: printer %q is not a configured printer", cfg.Name, cfg.Printer)
	}
	if cfg.CaseCapacity < 0 || cfg.PalletCapacity < 0 {
		return nil, fmt.Errorf("station %s: capacities must not be negative", cfg.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.stations[cfg.Name]; ok {
		return nil, fmt.Errorf("station %s: configured twice", cfg.Name)
	}
	err := r.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO stations (name, mode, reason, order_id, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			cfg.Name, cfg.Mode, cfg.Reason, cfg.Order, nowMS())
		return err
	})
	if err != nil {
		return nil, err
	}
	s := &Station{reg: r, cfg: cfg, subs: map[chan Verdict]struct{}{}}
	r.stations[cfg.Name] = s
	if cfg.Mode == ModeShip || cfg.IntegrationID > 0 {
		r.shipments.SetPrinter(cfg.Name, cfg.Printer)
	}
	return s, nil
}

// Get returns a station by name.
func (r *Registry) Get(name string) (*Station, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.stations[name]
	return s, ok
}

// Names lists the stations' names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.stations))
	for n := range r.stations {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// People signs operators on at stations; the registry asks it who is
// signed on when a scan needs a person.
type People interface {
	// SignOn signs on the holder of a badge code or PIN and returns their name.
	SignOn(ctx context.Context, station, code string) (string, error)
	// Operator is who is signed on at the station (and keeps them signed
	// on); ok is false when nobody is.
	Operator(ctx context.Context, station string) (name string, ok bool, err error)
}

// order is a packaging order a station read before.
func (r *Registry) order(id string) (orders.Packaging, bool) {
	r.omu.Lock()
	defer r.omu.Unlock()
	o, ok := r.orders[id]
	return o, ok
}

// remember keeps packaging orders read by a scan that committed.
func (r *Registry) remember(os []orders.Packaging) {
	if len(os) == 0 {
		return
	}
	r.omu.Lock()
	defer r.omu.Unlock()
	for _, o := range os {
		r.orders[o.ID] = o
	}
}
