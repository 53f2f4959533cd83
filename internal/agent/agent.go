// Package agent assembles the edge agent from its parts: the database, the
// label templates, one runner per printer, the line, the outbox dispatcher
// with its cloud sender, and the HTTP server. The run command and the
// end-to-end tests start it the same way.
package agent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/api"
	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/cloudsync"
	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/facts"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/ledger"
	"github.com/edgeagent/edgeagent/internal/orders"
	"github.com/edgeagent/edgeagent/internal/printer"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/scanner"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/users"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// PrinterConfig names a printer: the destination tag label orders use, and
// its URL.
type PrinterConfig struct {
	Tag string
	URL string
}

// Product is master data: a GTIN, its market and its batches with their
// expiry dates (YYMMDD).
type Product struct {
	GTIN    string
	Market  string
	Batches map[string]string
}

// Config is everything the agent needs.
type Config struct {
	DB        store.Config
	LineName  string
	Templates *zpl.Set
	Printers  []PrinterConfig
	Products  []Product
	Serials   ledger.SerialConfig
	Extra     orders.Extra
	// API
	Listen      string
	Tokens      map[string]string // V2 API clients, by name
	ChannelKeys []string
	// ServiceToken is the line PC's own credential (http.token);
	// MetricsToken lets another machine scrape /metrics.
	ServiceToken, MetricsToken string
	// People tunes sessions and station sign-ons.
	People users.Config
	// Cloud is nil when the line works without a cloud: facts stay queued.
	Cloud *cloud.Config
	Queue queue.Config
	// PullEvery is how often open packaging orders are read from the cloud
	// (default 5m).
	PullEvery time.Duration
	// Stations and what they need: SSCCs for new containers, packing
	// capacities by GTIN, and the shipping service (nil: shipping label
	// requests wait).
	Stations   []StationConfig
	SSCC       containers.SSCCConfig
	Capacities map[string]stations.Capacity
	Shipping   *cloud.ShippingConfig
	// Journal names the line's places and identifiers in its EPCIS 2.0
	// journal (nil: Digital Links, no readPoint or bizLocation).
	Journal *journal.Config
	// EPCIS is the repository that captures the journal (nil: none; the
	// journal is kept all the same). With it, every event also goes into
	// the outbox, on its own stream.
	EPCIS *cloud.CaptureConfig
	// ShipPoll is the pause between looks at a shipment (default 2s).
	ShipPoll time.Duration
	// StopTimeout bounds how long a clean stop waits for the label each
	// printer has in flight to be confirmed (default 10s).
	StopTimeout time.Duration
	// people signs operators on at stations (set by Start).
	people stations.People
	// Version is shown on the dashboard and in the metrics.
	Version string
}

// StationConfig is a station with its scanners.
type StationConfig struct {
	stations.StationConfig
	// Scanners are scanner URLs (see scanner.Open).
	Scanners []string
	// Layout is the keyboard layout of wedge scanners (evdev).
	Layout string
	// GS is the character the station page's wedge scanner types for GS
	// (0: none).
	GS byte
}

// Agent is a running agent.
type Agent struct {
	DB         *store.DB
	Line       *api.Line // the domain: ledger, orders, containers, stations, shipments
	People     *api.People
	Printers   map[string]*printer.Printer
	Dispatcher *queue.Dispatcher
	API        *api.Server
	log        zerolog.Logger
	stations   map[string]StationConfig
	lock       *store.DirLock
	sources    []stationSource
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// printerLedger adapts the ledger to the printer runners: the ledger's
// "no longer queued" is the runner's. It keeps the odometer values the
// runner reads (printer.OdometerLedger), which the ledger writes into the
// labels the runner moves.
type printerLedger struct {
	l   *ledger.Ledger
	odo *ledger.Odometers
}

func (p printerLedger) Next(ctx context.Context, printerTag string) (label.Label, error) {
	return p.l.Next(ctx, printerTag)
}
func (p printerLedger) Printing(ctx context.Context, printerTag string, r label.Ref) error {
	err := p.l.Printing(ctx, printerTag, r)
	if errors.Is(err, ledger.ErrNotQueued) {
		return fmt.Errorf("%w: %v", printer.ErrNotQueued, err)
	}
	return err
}
func (p printerLedger) Printed(ctx context.Context, printerTag string, r label.Ref) error {
	return p.l.Printed(ctx, printerTag, r)
}
func (p printerLedger) Odometer(printerTag string, count int64) { p.odo.Saw(printerTag, count) }
func (p printerLedger) Unknown(ctx context.Context, printerTag string, r label.Ref, reason string) error {
	return p.l.Unknown(ctx, printerTag, r, reason)
}
func (p printerLedger) Handover(ctx context.Context, printerTag string, done label.Ref) (label.Label, bool, error) {
	return p.l.Handover(ctx, printerTag, done)
}

// newPrinter is the runner of one configured printer, recording into the
// ledger with the odometers it reads (odo, one for all the printers: see
// Ledger.TrackOdometers). The agent and its benchmarks wire printers the
// same way.
func newPrinter(pc PrinterConfig, cfg Config, led *ledger.Ledger, odo *ledger.Odometers, log zerolog.Logger) (*printer.Printer, error) {
	return printer.New(printer.Config{Name: pc.Tag, URL: pc.URL, StopTimeout: cfg.StopTimeout}, printerLedger{led, odo},
		log.With().Str("component", "printer").Str("printer", pc.Tag).Logger())
}

// NewLine assembles the line's domain on a database from the agent's
// configuration: ledger, containers, shipments, orders and stations, with
// nothing written. The agent and the CLI's local
// commands build it the same way; notify wakes the outbox dispatcher.
func NewLine(ctx context.Context, db *store.DB, cfg Config, notify func(), log zerolog.Logger) (*api.Line, error) {
	var tags []string
	for _, pc := range cfg.Printers {
		tags = append(tags, pc.Tag)
	}
	jc := journal.Config{}
	if cfg.Journal != nil {
		jc = *cfg.Journal
	}
	jc.Log = log.With().Str("component", "journal").Logger()
	jc.Capture = jc.Capture || cfg.EPCIS != nil
	led, err := ledger.New(db, ledger.Config{Templates: cfg.Templates, Serials: cfg.Serials, Notify: notify,
		Log: log.With().Str("component", "ledger").Logger(), Journal: &jc})
	if err != nil {
		return nil, err
	}
	sc := cfg.SSCC
	sc.Log = log.With().Str("component", "containers").Logger()
	cs, err := containers.New(led, sc)
	if err != nil {
		return nil, err
	}
	ships := shipments.New(led)
	l := &api.Line{Name: cfg.LineName, Ledger: led, Containers: cs, Shipments: ships,
		Orders:   orders.New(led, orders.Config{Line: cfg.LineName, Printers: tags, Extra: cfg.Extra, Log: log.With().Str("component", "orders").Logger()}),
		Stations: stations.New(led, cs, ships, stations.Config{Capacities: cfg.Capacities, Printers: tags, People: cfg.people})}
	return l, nil
}

// RegisterProducts stores the configured products and batches.
func RegisterProducts(ctx context.Context, l *api.Line, products []Product) error {
	for _, p := range products {
		if err := l.Ledger.AddProduct(ctx, p.GTIN, p.Market, p.Batches); err != nil {
			return fmt.Errorf("product %s: %w", p.GTIN, err)
		}
	}
	return nil
}

// CheckRanges refuses SSCC ranges and a serial prefix that do not cover
// what the line has already allocated (containers.CheckRanges,
// ledger.CheckPrefix): each fault names its setting.
func CheckRanges(ctx context.Context, l *api.Line) error {
	return errors.Join(l.Containers.CheckRanges(ctx), l.Ledger.CheckPrefix(ctx))
}

// Start opens everything and serves until Stop.
func Start(ctx context.Context, cfg Config, log zerolog.Logger) (*Agent, error) {
	// One agent per data directory: a second one would recover labels
	// the first is printing.
	lock, err := store.Lock(filepath.Dir(cfg.DB.Path))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DB, log.With().Str("component", "store").Logger())
	if err != nil {
		lock.Release()
		return nil, err
	}
	a := &Agent{DB: db, Printers: map[string]*printer.Printer{}, log: log, lock: lock, stations: map[string]StationConfig{}}
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	client, err := a.assemble(ctx, cfg)
	if err != nil {
		cancel()
		db.Close()
		lock.Release()
		return nil, err
	}
	for _, p := range a.Printers {
		a.wg.Add(1)
		go func(p *printer.Printer) { defer a.wg.Done(); p.Run(runCtx) }(p)
	}
	for _, ss := range a.sources {
		a.wg.Add(1)
		go func(ss stationSource) { defer a.wg.Done(); a.readScanner(runCtx, ss) }(ss)
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.Line.Orders.Run(runCtx) }()
	if cfg.Cloud != nil {
		// Without a cloud the facts wait in the outbox, untouched: no
		// attempts are spent, and they go once a cloud is configured.
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.Dispatcher.Run(runCtx) }()
	}
	if client != nil {
		every := cfg.PullEvery
		if every <= 0 {
			every = 5 * time.Minute
		}
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.pullOrders(runCtx, client, every) }()
	}
	return a, nil
}

// assemble builds the parts in dependency order — the cloud sender and the
// outbox dispatcher, the line, printers, stations and scanners — recovers
// what the last stop left in flight, and starts the HTTP server. It
// returns the cloud client (nil without a cloud).
func (a *Agent) assemble(ctx context.Context, cfg Config) (*cloud.Client, error) {
	sender, client, err := a.sender(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Queue.MaxBatch == nil {
		cfg.Queue.MaxBatch = map[string]int{}
	}
	if _, ok := cfg.Queue.MaxBatch[facts.KindShipLabel]; !ok {
		cfg.Queue.MaxBatch[facts.KindShipLabel] = shipments.MaxOrders
	}
	// The cloud, the shipping service and the EPCIS repository answer
	// apart: one down is not shown as another.
	cfg.Queue.Service = serviceOf
	// A delivered commission moves its serial to commissioned, in the
	// transaction that records the delivery.
	cfg.Queue.OnDelivered = func(tx *sql.Tx, items []queue.Pending) error { return a.Line.Ledger.Delivered(tx, items) }
	a.Dispatcher = queue.NewDispatcher(a.DB, sender, cfg.Queue, a.log.With().Str("component", "sync").Logger())
	a.People = &api.People{Users: users.New(a.DB, cfg.People, a.log.With().Str("component", "users").Logger()),
		Sessions: users.NewSessions(a.DB, cfg.People), Devices: users.NewDevices(a.DB, cfg.People)}
	cfg.people = stationPeople{a.People.Users}
	if a.Line, err = NewLine(ctx, a.DB, cfg, a.Dispatcher.Notify, a.log); err != nil {
		return nil, err
	}
	if err := RegisterProducts(ctx, a.Line, cfg.Products); err != nil {
		return nil, err
	}
	// The line's ranges must cover what it has used, before a station
	// allocates an SSCC or an order is released.
	if err := CheckRanges(ctx, a.Line); err != nil {
		return nil, err
	}
	odo := a.Line.Ledger.TrackOdometers()
	for _, pc := range cfg.Printers {
		p, err := newPrinter(pc, cfg, a.Line.Ledger, odo, a.log)
		if err != nil {
			return nil, fmt.Errorf("printer %s: %w", pc.Tag, err)
		}
		a.Printers[pc.Tag] = p
	}
	if err := a.addStations(ctx, cfg.Stations); err != nil {
		return nil, err
	}
	if unknown, err := a.Line.Ledger.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover labels: %w", err)
	} else if unknown > 0 {
		a.log.Warn().Int("unknown", unknown).Msg("labels in flight at the last stop: their outcome is unknown and waits for a person")
	}
	a.Line.Orders.Recover(ctx)
	if cfg.Listen == "" {
		return client, nil
	}
	a.API, err = api.New(api.Config{Listen: cfg.Listen, Ready: a.ready, Line: a.Line, Tokens: cfg.Tokens, ChannelKeys: cfg.ChannelKeys,
		ServiceToken: cfg.ServiceToken, MetricsToken: cfg.MetricsToken, People: a.People,
		Scan: a.PageScan, DB: a.DB, Dispatcher: a.Dispatcher, CloudConfigured: cfg.Cloud != nil, Services: services(cfg), Printers: a.printerStatus, Scanners: a.scannerStatus, TestPrint: a.testPrint,
		Templates: cfg.Templates, Version: cfg.Version}, a.log.With().Str("component", "http").Logger())
	if err != nil {
		return nil, err
	}
	return client, a.API.Start()
}

// sender is what delivers the outbox: the cloud, or (without one) nothing.
func (a *Agent) sender(cfg Config) (queue.Sender, *cloud.Client, error) {
	var capture *cloud.Capture
	if cfg.EPCIS != nil {
		var err error
		if capture, err = cloud.NewCapture(*cfg.EPCIS); err != nil {
			return nil, nil, fmt.Errorf("epcis: %w", err)
		}
	}
	if cfg.Cloud == nil {
		if capture != nil {
			return epcisOnly{&cloudsync.Sender{EPCIS: capture}}, nil, nil
		}
		return offline{}, nil, nil
	}
	client, err := cloud.New(*cfg.Cloud)
	if err != nil {
		return nil, nil, err
	}
	cs := &cloudsync.Sender{Client: client, Ship: shipRecorder{a}, ShipPoll: cfg.ShipPoll, EPCIS: capture}
	if cfg.Shipping != nil {
		if cs.Shipping, err = cloud.NewShipping(*cfg.Shipping); err != nil {
			return nil, nil, fmt.Errorf("shipping: %w", err)
		}
	}
	return cs, client, nil
}

// addStations registers the stations and opens their scanners.
func (a *Agent) addStations(ctx context.Context, scs []StationConfig) error {
	for _, sc := range scs {
		st, err := a.Line.Stations.Add(ctx, sc.StationConfig)
		if err != nil {
			return err
		}
		a.stations[sc.Name] = sc
		for _, u := range sc.Scanners {
			src, err := scanner.Open(u, scanner.Options{Layout: sc.Layout,
				Log: a.log.With().Str("component", "scanner").Str("station", sc.Name).Logger()})
			if err != nil {
				return fmt.Errorf("station %s: %w", sc.Name, err)
			}
			a.sources = append(a.sources, stationSource{st, src})
		}
	}
	return nil
}

// pullOrders reads the cloud's open packaging orders now and then, while
// the cloud can be reached.
func (a *Agent) pullOrders(ctx context.Context, c *cloud.Client, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		orders, err := c.OpenPackagingOrders(ctx)
		if err == nil {
			if n, err := a.Line.Orders.AddCloudPackagingOrders(ctx, orders); err != nil {
				a.log.Warn().Err(err).Msg("store packaging orders from the cloud")
			} else if n > 0 {
				a.log.Info().Int("new", n).Msg("packaging orders from the cloud")
			}
		} else if ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("cannot read open packaging orders from the cloud")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// offline is the sender of a line without a cloud: items wait.
type offline struct{}

// serviceOf names the service the outbox sends a kind of item to.
func serviceOf(kind string) string {
	switch kind {
	case facts.KindEPCIS:
		return "epcis"
	case facts.KindShipLabel:
		return "shipping"
	}
	return ""
}

// services names, for the dashboard, the configured services besides the cloud.
func services(cfg Config) map[string]string {
	m := map[string]string{}
	if cfg.EPCIS != nil {
		m["epcis"] = "EPCIS repository"
	}
	if cfg.Shipping != nil {
		m["shipping"] = "Shipping service"
	}
	return m
}

// epcisOnly captures the journal in an EPCIS repository on a line
// without a cloud; the cloud's facts wait.
type epcisOnly struct{ s *cloudsync.Sender }

func (e epcisOnly) Send(ctx context.Context, kind string, items []queue.Pending) []queue.Outcome {
	if kind == facts.KindEPCIS {
		return e.s.Send(ctx, kind, items)
	}
	return offline{}.Send(ctx, kind, items)
}

func (offline) Send(_ context.Context, _ string, items []queue.Pending) []queue.Outcome {
	out := make([]queue.Outcome, len(items))
	for i := range out {
		out[i].Failure = &queue.Failure{Class: queue.Temporary, RetryAfter: time.Minute, Message: "no cloud configured"}
	}
	return out
}

// Stop stops serving and the printers (each finishes the label it has in
// flight), lets queued writes commit and closes the database. When ctx
// ends first, Stop returns its error without waiting longer; the database
// is then closed by the process's exit, and what was committed stays.
func (a *Agent) Stop(ctx context.Context) error {
	var errs []error
	if a.API != nil {
		errs = append(errs, a.API.Shutdown(ctx))
	}
	a.cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(append(errs, fmt.Errorf("stop: %w", ctx.Err()))...)
	}
	errs = append(errs, a.DB.Close(), a.lock.Release())
	return errors.Join(errs...)
}

// stationPeople signs operators on at stations for the stations package.
type stationPeople struct{ u *users.Users }

func (p stationPeople) SignOn(ctx context.Context, station, code string) (string, error) {
	u, err := p.u.SignOn(ctx, station, code)
	return u.Name, err
}

func (p stationPeople) Operator(ctx context.Context, station string) (string, bool, error) {
	su, err := p.u.Touch(ctx, station)
	if errors.Is(err, users.ErrNotSignedOn) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return su.User, true, nil
}
