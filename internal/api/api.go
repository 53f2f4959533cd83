// Package api serves the agent's HTTP surface on the line PC: the health
// endpoints used by service managers and load balancers (/healthz, /readyz),
// and, as the product grows, the local Manufacturer V2 API, the dashboard and
// the metrics.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	"github.com/edgeagent/edgeagent/internal/store"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// Config configures the server.
type Config struct {
	// Listen is the host:port to bind; port 0 picks a free port.
	Listen string
	// Ready reports whether the agent can take work; nil means always ready.
	Ready func(ctx context.Context) error
	// Line serves the local Manufacturer V2 API when set.
	Line *Line
	// Tokens are the V2 API clients' tokens by name (the name goes to the
	// audit log); ChannelKeys are the accepted x-channel-key values.
	Tokens map[string]string
	// ServiceToken (http.token) is the line PC's own credential: the
	// command line beside the agent uses it as admin; it reaches the V2
	// API too.
	ServiceToken string
	// MetricsToken lets a Prometheus elsewhere scrape /metrics; without it
	// only this machine may.
	MetricsToken string
	// People are the users, their sessions and the paired station screens.
	People      *People
	ChannelKeys []string
	// Scan hands a read typed into a station page to the station and
	// returns its verdict.
	// actor is who typed it ("" for a paired screen: the operator signed
	// on at the station).
	Scan func(ctx context.Context, station, data, actor string) (stations.Verdict, error)

	// The dashboard's other sources: the database and dispatcher (the
	// outbox), the printers, the label templates, and the version.
	DB         *store.DB
	Dispatcher *queue.Dispatcher
	Printers   func() []PrinterStatus
	Scanners   func() []ScannerStatus
	TestPrint  func(ctx context.Context, printer string) error
	Templates  *zpl.Set
	Version    string

	// RateLimit bounds requests to the local API per client address and
	// second (default 200, burst twice as many); logins get 5 a minute.
	RateLimit float64
	// CloudConfigured says whether the line syncs to a cloud at all;
	// Services names the other services the outbox delivers to (as the
	// dispatcher's Config.Service names them) with how the dashboard calls
	// them, e.g. "epcis": "EPCIS repository".
	CloudConfigured bool
	Services        map[string]string
	// MaxStreams bounds the live streams (dashboard pages and station
	// screens) open at once (default 128).
	MaxStreams int
}

// ScannerStatus is a station's scanner, for the metrics.
type ScannerStatus struct {
	Station string
	Scanner string // its URL
	Dropped uint64 // reads dropped (too long, or unfinished)
	State   string // starting, open, listening or unavailable
}

// PrinterStatus is a printer as the dashboard shows it.
type PrinterStatus struct {
	Tag    string   `json:"tag"`
	URL    string   `json:"url"`
	State  string   `json:"state"`
	Faults []string `json:"faults,omitempty"`
	// Printed, Unknown and Queued are the ledger's: all time, so a
	// restart does not reset them.
	Printed int64 `json:"printed"`
	Unknown int64 `json:"unknown"`
	Queued  int   `json:"queued"`
	// Last is the last label it printed (0 for none).
	Last int64 `json:"last_label,omitempty"`
	// Since the agent started, for the metrics' counters.
	PrintedSinceStart int64  `json:"printed_since_start"`
	UnknownSinceStart int64  `json:"unknown_since_start"`
	LastErr           string `json:"last_error,omitempty"`
}

// parts lists the printers and scanners for /readyz, one a line.
func (s *Server) parts() string {
	var b strings.Builder
	for _, p := range s.printers() {
		fmt.Fprintf(&b, "printer %s: %s", p.Tag, p.State)
		if len(p.Faults) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(p.Faults, ", "))
		}
		b.WriteByte('\n')
	}
	if s.cfg.Scanners != nil {
		for _, sc := range s.cfg.Scanners() {
			fmt.Fprintf(&b, "scanner %s of station %s: %s\n", sc.Scanner, sc.Station, sc.State)
		}
	}
	return b.String()
}

// Server is the HTTP server. New never touches the network; Start binds.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	srv     *http.Server
	ln      net.Listener
	errc    chan error
	routes  []string // every pattern served, for the route tests
	started time.Time
	// base is the context of every request; Shutdown cancels it so that
	// long-lived streams (Server-Sent Events) end.
	base       context.Context
	cancelBase context.CancelFunc
	apiLimit   *limiter
	previews   previewCache
	streams    *streamCap
	hub        *liveHub // the dashboard pages' live fragments
}

// New validates the configuration and builds the handlers.
func New(cfg Config, log zerolog.Logger) (*Server, error) {
	if cfg.Listen == "" {
		return nil, errors.New("api: listen address is required")
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 128
	}
	s := &Server{cfg: cfg, log: log, errc: make(chan error, 1), started: time.Now(), streams: &streamCap{max: cfg.MaxStreams}}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.hub = newLiveHub(s, time.Second)
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 200
		s.cfg.RateLimit = 200
	}
	s.apiLimit = newLimiter(cfg.RateLimit, int(2*cfg.RateLimit))
	s.srv = &http.Server{
		BaseContext:       func(net.Listener) context.Context { return s.base },
		Handler:           s.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// Routes lists every pattern the server answers (method and path).
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// mux records the patterns it serves.
type mux struct {
	*http.ServeMux
	s *Server
}

func (m mux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Handle serves an exact pattern ("{$}" ends a path with a slash exactly)
// and records it as clients write it.
func (m mux) Handle(pattern string, h http.Handler) {
	route := strings.TrimSuffix(pattern, "{$}")
	m.s.routes = append(m.s.routes, route)
	m.ServeMux.Handle(pattern, m.s.guard(route, h))
}

func (s *Server) handler() http.Handler {
	mux := mux{http.NewServeMux(), s}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.cfg.Ready(ctx); err != nil {
				// The caller reads why in the answer; while the agent
				// starts, a service manager polling would fill the log.
				s.log.Debug().Err(err).Msg("not ready")
				writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n"+s.parts())
				return
			}
		}
		writeText(w, http.StatusOK, "ready\n"+s.parts())
	})
	if s.cfg.Line != nil {
		s.v2Routes(mux)
		s.agentRoutes(mux)
		s.stationRoutes(mux)
		s.dashboardRoutes(mux)
		s.peopleRoutes(mux)
		s.epcisRoutes(mux)
	}
	// What no route takes is answered in the shape of its API, not as
	// text; these are not routes of their own.
	mux.ServeMux.Handle(v2Prefix+"/", s.notFound(true))
	mux.ServeMux.Handle("/api/v1/", s.notFound(false))
	mux.ServeMux.Handle("/epcis/", s.epcisNotFound())
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /api/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiYAML)
	})
	return securityHeaders(s.limited(mux))
}

// securityHeaders keeps the pages from being framed or sniffed, and their
// scripts to the ones served here.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// Start binds the listen address and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
		close(s.errc)
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("http listening")
	return nil
}

// Addr returns the bound address (after Start).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Err delivers a serving failure; it is closed when the server stops.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting connections and waits for requests in flight,
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelBase()
	return s.srv.Shutdown(ctx)
}
