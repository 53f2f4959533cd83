package api

import (
	"errors"
	"net/http"

	"github.com/edgeagent/edgeagent/internal/orders"
)

// reconcileRoutes close label orders with their reconciliation and show
// it: as JSON under /api/v1, and as a page of the dashboard that prints on
// A4.
func (s *Server) reconcileRoutes(mux mux) {
	mux.HandleFunc("POST /api/v1/label-orders/{id}/close", s.agentResult(func(r *http.Request, _ string, req actionRequest) (map[string]any, error) {
		if req.Reason == "" {
			return nil, orders.ErrCloseReason
		}
		actor, err := s.signer(r, req.Signature, req.Reason)
		if err != nil {
			return nil, err
		}
		rec, err := s.cfg.Line.Orders.Close(r.Context(), actor, r.PathValue("id"), req.Reason)
		if err != nil {
			return nil, err
		}
		return map[string]any{"reconciliation": rec}, nil
	}))
	mux.HandleFunc("GET /api/v1/label-orders/{id}/reconciliation", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.cfg.Line.Orders.Reconciliation(r.Context(), r.PathValue("id"))
		if err != nil {
			s.agentError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("GET /orders/{id}/reconciliation", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.cfg.Line.Orders.Reconciliation(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, orders.ErrLabelOrderNotFound), errors.Is(err, orders.ErrNotReconciled):
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		case err != nil:
			s.log.Error().Err(err).Str("order", r.PathValue("id")).Msg("read a reconciliation")
			http.Error(w, "cannot read the reconciliation just now; try again", http.StatusServiceUnavailable)
			return
		}
		s.page(w, r, "reconciliation", "Reconciliation of label order "+rec.OrderID, rec)
	})
}
