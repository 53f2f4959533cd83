package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/containers"
	"github.com/edgeagent/edgeagent/internal/shipments"
	"github.com/edgeagent/edgeagent/internal/stations"
)

// stationRoutes serve the stations: the page's scan input, the state and
// the live verdict stream, and the supervisor's container actions. All
// take the local token.
func (s *Server) stationRoutes(mux mux) {
	mux.HandleFunc("GET /api/v1/stations", s.authed(func(w http.ResponseWriter, r *http.Request, _ string) {
		names := s.cfg.Line.Stations.Names()
		sort.Strings(names)
		out := []stations.StationState{}
		for _, n := range names {
			st, _ := s.cfg.Line.Stations.Get(n)
			state, err := st.State(r.Context(), 0)
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			out = append(out, state)
		}
		writeJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("GET /api/v1/stations/{name}", s.station(func(w http.ResponseWriter, r *http.Request, st *stations.Station, _ string) {
		state, err := st.State(r.Context(), 20)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, state)
	}))
	mux.HandleFunc("POST /api/v1/stations/{name}/scan", s.station(func(w http.ResponseWriter, r *http.Request, st *stations.Station, _ string) {
		var req struct {
			Data string `json:"data"`
		}
		if err := readJSON(w, r, &req); err != nil {
			s.agentError(w, r, err)
			return
		}
		if s.cfg.Scan == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "scans are not taken here"})
			return
		}
		actor := ""
		if id, _ := identityOf(r); id.kind != kindDevice {
			actor = id.actor()
		}
		v, err := s.cfg.Scan(r.Context(), st.Name(), req.Data, actor)
		if errors.Is(err, ErrBadScan) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": strings.TrimSuffix(err.Error(), ": "+ErrBadScan.Error())})
			return
		}
		if err != nil {
			s.log.Error().Err(err).Str("station", st.Name()).Msg("scan not recorded")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "scan not recorded (the line PC could not store it): scan again"})
			return
		}
		writeJSON(w, http.StatusOK, v)
	}))
	mux.HandleFunc("POST /api/v1/stations/{name}/order", s.station(func(w http.ResponseWriter, r *http.Request, st *stations.Station, actor string) {
		var req struct {
			OrderID string `json:"order_id"`
		}
		if err := readJSON(w, r, &req); err != nil {
			s.agentError(w, r, err)
			return
		}
		if err := st.SetOrder(r.Context(), actor, req.OrderID); err != nil {
			s.agentError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}))
	mux.HandleFunc("GET /api/v1/stations/{name}/ship-orders", s.station(func(w http.ResponseWriter, r *http.Request, st *stations.Station, _ string) {
		orders, err := s.cfg.Line.Shipments.Orders(r.Context(), st.Name())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if orders == nil {
			orders = []shipments.Order{}
		}
		writeJSON(w, http.StatusOK, orders)
	}))
	mux.HandleFunc("GET /api/v1/stations/{name}/events", s.station(s.events))
	mux.HandleFunc("GET /api/v1/containers", s.authed(func(w http.ResponseWriter, r *http.Request, _ string) {
		cs, err := s.cfg.Line.Containers.List(r.Context(), r.URL.Query().Get("state"))
		if err != nil {
			s.agentError(w, r, err)
			return
		}
		if cs == nil {
			cs = []containers.Tree{}
		}
		writeJSON(w, http.StatusOK, cs)
	}))
	mux.HandleFunc("POST /api/v1/containers/{sscc}/disaggregate", s.agentAction(func(r *http.Request, _ string, req actionRequest) error {
		actor, err := s.signer(r, req.Signature, req.Reason)
		if err != nil {
			return err
		}
		return s.cfg.Line.Containers.Disaggregate(r.Context(), actor, r.PathValue("sscc"), req.Reason)
	}))
	mux.HandleFunc("POST /api/v1/containers/remove", s.agentResult(func(r *http.Request, _ string, req actionRequest) (map[string]any, error) {
		it, err := containers.ParseItem(req.Item)
		if err != nil {
			return nil, err
		}
		actor, err := s.signer(r, req.Signature, req.Reason)
		if err != nil {
			return nil, err
		}
		in, err := s.cfg.Line.Containers.Remove(r.Context(), actor, it, req.Reason)
		return map[string]any{"container": in}, err
	}))
}

// ErrBadScan is a read the station API refuses as the client's mistake
// (empty, too long, several lines): sending it again would not help.
var ErrBadScan = errors.New("not a usable read")

// events streams a station's verdicts as Server-Sent Events.
func (s *Server) events(w http.ResponseWriter, r *http.Request, st *stations.Station, _ string) {
	if !s.streams.open() {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many live views are open: close some, or try again shortly"})
		return
	}
	defer s.streams.close()
	ch, stop := st.Subscribe()
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		case v := <-ch:
			b, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "event: verdict\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// authed requires the local token.
func (s *Server) authed(fn func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.who(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": errNeedToken})
			return
		}
		fn(w, r, actor)
	}
}

// station requires the local token and a known station.
func (s *Server) station(fn func(http.ResponseWriter, *http.Request, *stations.Station, string)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, actor string) {
		st, ok := s.cfg.Line.Stations.Get(r.PathValue("name"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no station %q", r.PathValue("name"))})
			return
		}
		fn(w, r, st, actor)
	})
}
