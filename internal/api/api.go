// Package api serves the agent's HTTP surface on the line PC: the health
// endpoints used by service managers and load balancers (/healthz, /readyz),
// and, as the product grows, the local Manufacturer V2 API, the dashboard and
// the metrics.
package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/line"
)

// Config configures the server.
type Config struct {
	// Listen is the host:port to bind; port 0 picks a free port.
	Listen string
	// Ready reports whether the agent can take work; nil means always ready.
	Ready func(ctx context.Context) error
	// Line serves the local Manufacturer V2 API when set.
	Line *line.Line
	// Tokens are the API clients' tokens by name (the name goes to the
	// audit log); ChannelKeys are the accepted x-channel-key values.
	Tokens      map[string]string
	ChannelKeys []string
	// Scan hands a read typed into a station page to the station and
	// returns its verdict.
	Scan func(ctx context.Context, station, data string) (line.Verdict, error)
}

// Server is the HTTP server. New never touches the network; Start binds.
type Server struct {
	cfg  Config
	log  zerolog.Logger
	srv  *http.Server
	ln   net.Listener
	errc chan error
}

// New validates the configuration and builds the handlers.
func New(cfg Config, log zerolog.Logger) (*Server, error) {
	if cfg.Listen == "" {
		return nil, errors.New("api: listen address is required")
	}
	s := &Server{cfg: cfg, log: log, errc: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.cfg.Ready(ctx); err != nil {
				s.log.Warn().Err(err).Msg("not ready")
				writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
				return
			}
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	if s.cfg.Line != nil {
		s.v2Routes(mux)
		s.agentRoutes(mux)
		s.stationRoutes(mux)
	}
	return mux
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
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
