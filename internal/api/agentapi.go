package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/ledger"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// errNeedToken answers a request without valid credentials.
const errNeedToken = "a valid token is required: Authorization: Bearer TOKEN, or log in to the dashboard"

// Agent endpoints under /api/v1 for supervisors' actions. They take the
// local token (Authorization: Bearer) and write every action to the audit
// log with the client's name.
func (s *Server) agentRoutes(mux mux) {
	s.reconcileRoutes(mux)
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
		for i, sn := range req.Serials {
			if err := ledger.CheckSerial(sn); err != nil {
				return nil, v2.Refuse(http.StatusBadRequest, fmt.Sprintf("serials[%d]: %v", i, err))
			}
		}
		n, err := s.cfg.Line.Ledger.ImportSerials(r.Context(), actor, r.PathValue("gtin"), req.Serials)
		if errors.Is(err, ledger.ErrProductNotFound) {
			return nil, fmt.Errorf("product %s: %w", r.PathValue("gtin"), err)
		}
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
		if err := readJSON(w, r, &req); err != nil {
			s.agentError(w, r, err)
			return
		}
		out, err := fn(r, actor, req)
		if err != nil {
			s.agentError(w, r, err)
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		out["ok"] = true
		writeJSON(w, http.StatusOK, out)
	}
}

// agentError answers an /api/v1 action's error: a refusal with its status
// (agentRefusal), anything else as a fault of the agent, logged.
func (s *Server) agentError(w http.ResponseWriter, r *http.Request, err error) {
	if status, msg, ok := agentRefusal(err); ok {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("action failed")
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error: see the agent's log"})
}

// maxAgentBody bounds the bodies of /api/v1.
const maxAgentBody = 64 << 10

// readJSON reads an /api/v1 body (none is {}) into v; what is wrong with it
// is said in plain words, naming the field where there is one.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAgentBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &accessError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body: at most %d KiB", maxAgentBody>>10)}
	} else if err != nil {
		return &accessError{status: http.StatusBadRequest, msg: "body: could not be read"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &accessError{status: http.StatusBadRequest, msg: jsonFault(err)}
	}
	return nil
}

// jsonFault says what json.Unmarshal found, in an integrator's words.
func jsonFault(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s: must be %s, got %s", te.Field, jsonKind(te.Type.Kind()), jsonValue(te.Value))
	case errors.As(err, &te):
		return "body: must be a JSON object, got " + jsonValue(te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("body: not valid JSON (at byte %d)", se.Offset)
	}
	return "body: not valid JSON"
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16,
		reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// jsonValue names the kind of JSON value json.UnmarshalTypeError saw.
func jsonValue(v string) string {
	switch {
	case v == "string":
		return "text"
	case v == "bool":
		return "true or false"
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case strings.HasPrefix(v, "number"):
		return "a number"
	}
	return v
}

// labelID reads the label ID of the path.
func labelID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, v2.Refuse(http.StatusBadRequest, fmt.Sprintf("label id %q: must be a label number", r.PathValue("id")))
	}
	return id, nil
}
