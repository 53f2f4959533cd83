package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// errNeedToken answers a request without valid credentials.
const errNeedToken = "a valid token is required: Authorization: Bearer TOKEN, or log in to the dashboard"

// Agent endpoints under /api/v1 for supervisors' actions. They take the
// local token (Authorization: Bearer) and write every action to the audit
// log with the client's name.
func (s *Server) agentRoutes(mux mux) {
	mux.HandleFunc("POST /api/v1/label-orders/{id}/resume", s.agentAction(func(r *http.Request, actor string, req actionRequest) error {
		return s.cfg.Line.Orders.Resume(r.Context(), actor, r.PathValue("id"))
	}))
	mux.HandleFunc("POST /api/v1/labels/{id}/reprint", s.agentAction(func(r *http.Request, _ string, req actionRequest) error {
		id, err := labelID(r)
		if err != nil {
			return err
		}
		actor, err := s.signer(r, req.Signature, req.Reason)
		if err != nil {
			return err
		}
		return s.cfg.Line.Ledger.Reprint(r.Context(), actor, id, req.Reason)
	}))
	mux.HandleFunc("POST /api/v1/labels/{id}/resolve", s.agentAction(func(r *http.Request, _ string, req actionRequest) error {
		id, err := labelID(r)
		if err != nil {
			return err
		}
		if req.Printed == nil {
			return v2.Refuse(http.StatusBadRequest, "printed: give true (the label is on the line) or false (it is not: void it and its serial)")
		}
		actor, err := s.signer(r, req.Signature, req.Reason)
		if err != nil {
			return err
		}
		return s.cfg.Line.Ledger.Resolve(r.Context(), actor, id, *req.Printed, req.Reason)
	}))
	mux.HandleFunc("POST /api/v1/products/{gtin}/serials", s.agentResult(func(r *http.Request, actor string, req actionRequest) (map[string]any, error) {
		if len(req.Serials) == 0 {
			return nil, v2.Refuse(http.StatusBadRequest, "serials: give at least one serial number")
		}
		n, err := s.cfg.Line.Ledger.ImportSerials(r.Context(), actor, r.PathValue("gtin"), req.Serials)
		if err != nil {
			return nil, err
		}
		pool, err := s.cfg.Line.Ledger.PoolLevel(r.Context(), r.PathValue("gtin"))
		return map[string]any{"added": n, "available": pool}, err
	}))
	mux.HandleFunc("GET /api/v1/labels/unknown", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.who(r); !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": errNeedToken})
			return
		}
		labels, err := s.cfg.Line.Ledger.UnknownLabels(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if labels == nil {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		writeJSON(w, http.StatusOK, labels)
	})
}

type actionRequest struct {
	Reason  string   `json:"reason"`
	Printed *bool    `json:"printed"` // resolve: required, true or false
	Item    string   `json:"item"`    // an SSCC or GTIN/serial
	Command string   `json:"command"` // a station command barcode
	Serials []string `json:"serials"` // serial numbers to import
	// Signature signs an act that needs one (reprint, resolve, disaggregate, remove, users).
	Signature *signature `json:"signature"`
}

func (s *Server) agentAction(fn func(*http.Request, string, actionRequest) error) http.HandlerFunc {
	return s.agentResult(func(r *http.Request, actor string, req actionRequest) (map[string]any, error) {
		return nil, fn(r, actor, req)
	})
}

// agentResult is agentAction for actions that answer with figures: they
// are sent beside "ok".
func (s *Server) agentResult(fn func(*http.Request, string, actionRequest) (map[string]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.who(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": errNeedToken})
			return
		}
		var req actionRequest
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
			return
		}
		out, err := fn(r, actor, req)
		if err != nil {
			if rf, found := refusal(err); found {
				writeJSON(w, rf.Status, map[string]string{"error": rf.Body.Message})
				return
			}
			s.log.Error().Err(err).Str("path", r.URL.Path).Msg("action failed")
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error: see the agent's log"})
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		out["ok"] = true
		writeJSON(w, http.StatusOK, out)
	}
}

// labelID reads the label ID of the path.
func labelID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, v2.Refuse(http.StatusBadRequest, fmt.Sprintf("label id %q: must be a label number", r.PathValue("id")))
	}
	return id, nil
}
