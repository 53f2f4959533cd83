package api

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	v2 "github.com/edgeagent/edgeagent/internal/v2"
)

// v2Prefix is where the local Manufacturer V2 API lives, as in the cloud.
const v2Prefix = "/v1/manufacturer/v2/api"

// maxV2Body bounds request bodies.
const maxV2Body = 8 << 20

func (s *Server) v2Routes(mux mux) {
	h := func(fn func(r *http.Request, actor string, body []byte) (int, any)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { s.v2(w, r, fn) }
	}
	mux.Handle("POST "+v2Prefix+"/label_orders/{$}", h(s.labelOrder))
	mux.Handle("POST "+v2Prefix+"/label_orders", h(s.labelOrder))
	mux.Handle("POST "+v2Prefix+"/packaging_order", h(s.packagingOrder))
	mux.Handle("GET "+v2Prefix+"/packaging_order/open", h(s.openOrders))
	mux.Handle("GET "+v2Prefix+"/packaging_order/details", h(s.orderDetails))
	mux.Handle("POST "+v2Prefix+"/serials/decommission", h(s.decommission))
	mux.Handle("POST "+v2Prefix+"/serials/commission", h(s.commission))
	mux.Handle("POST "+v2Prefix+"/aggregate/container", h(s.aggregate))
	mux.Handle("DELETE "+v2Prefix+"/aggregate/container", h(s.disaggregate))
}

// tokenName returns the client's name for a valid token; the comparison
// takes the same time whatever the token.
func (s *Server) tokenName(tok string) (string, bool) {
	found := ""
	for name, t := range s.cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			found = name
		}
	}
	return found, found != ""
}

// v2 authenticates, checks the channel key, reads the body and answers in
// the dialect: {"success":…,"message":…,"data":…}.
func (s *Server) v2(w http.ResponseWriter, r *http.Request, fn func(*http.Request, string, []byte) (int, any)) {
	tok := r.Header.Get("x-access-token")
	if a := r.Header.Get("Authorization"); tok == "" && strings.HasPrefix(a, "Bearer ") {
		tok = strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))
	}
	if tok == "" {
		refuse(w, v2.RefuseNoToken)
		return
	}
	name, ok := s.tokenName(tok)
	if !ok && s.cfg.ServiceToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.ServiceToken)) == 1 {
		name, ok = "local", true
	}
	if !ok {
		refuse(w, v2.RefuseBadToken)
		return
	}
	ch := r.Header.Get("x-channel-key")
	okCh := false
	for _, k := range s.cfg.ChannelKeys {
		okCh = okCh || subtle.ConstantTimeCompare([]byte(k), []byte(ch)) == 1
	}
	if !okCh {
		refuse(w, v2.RefuseChannel)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxV2Body))
	if err != nil {
		refuse(w, v2.Refuse(http.StatusRequestEntityTooLarge, "Request body too large: at most 8 MiB"))
		return
	}
	if r.Method == http.MethodPost && !json.Valid(body) {
		refuse(w, v2.RefuseUnparsed)
		return
	}
	status, resp := fn(r, "api:"+name, body)
	writeJSON(w, status, resp)
}

func refuse(w http.ResponseWriter, r *v2.Refusal) { writeJSON(w, r.Status, r.Body) }

// answer turns the line's error into the dialect's answer. An error that
// is no refusal is a fault of the agent: logged, and answered 500.
func (s *Server) answer(err error, ok any) (int, any) {
	if err == nil {
		return http.StatusOK, ok
	}
	if rf, found := refusal(err); found {
		return rf.Status, rf.Body
	}
	s.log.Error().Err(err).Msg("request not served")
	return http.StatusInternalServerError, v2.ErrorBody{Message: "Internal error: see the agent's log"}
}

// decode reads a request body strictly (v2.Decode): every fault comes
// back at once, each naming its field.
func decode(body []byte, v any) error { return v2.Decode(body, v) }

func (s *Server) labelOrder(r *http.Request, actor string, body []byte) (int, any) {
	var o v2.LabelOrder
	if err := decode(body, &o); err != nil {
		return s.answer(err, nil)
	}
	err := s.cfg.Line.Orders.CreateLabelOrder(r.Context(), actor, o)
	return s.answer(err, map[string]any{"success": true, "message": "Label order created successfully"})
}

func (s *Server) packagingOrder(r *http.Request, actor string, body []byte) (int, any) {
	var o v2.PackagingOrder
	if err := decode(body, &o); err != nil {
		return s.answer(err, nil)
	}
	o.Status = ""
	created, err := s.cfg.Line.Orders.CreatePackagingOrder(r.Context(), actor, o)
	return s.answer(err, map[string]any{"success": true, "message": "Packaging order created", "data": created})
}

func (s *Server) openOrders(r *http.Request, _ string, _ []byte) (int, any) {
	orders, err := s.cfg.Line.Orders.OpenPackagingOrders(r.Context())
	return s.answer(err, map[string]any{"success": true, "message": "Open packaging orders", "data": orders})
}

func (s *Server) orderDetails(r *http.Request, _ string, _ []byte) (int, any) {
	o, err := s.cfg.Line.Orders.PackagingOrderDetails(r.Context(), r.URL.Query().Get("order_id"))
	return s.answer(err, map[string]any{"success": true, "message": "Packaging order details", "data": o})
}

func (s *Server) decommission(r *http.Request, actor string, body []byte) (int, any) {
	var d v2.Decommission
	if err := decode(body, &d); err != nil {
		return s.answer(err, nil)
	}
	out, err := s.cfg.Line.Orders.Decommission(r.Context(), actor, d)
	return s.answer(err, map[string]any{"success": true, "message": "Serials decommissioned", "data": out})
}

func (s *Server) commission(r *http.Request, actor string, body []byte) (int, any) {
	var c v2.Commission
	if err := decode(body, &c); err != nil {
		return s.answer(err, nil)
	}
	err := s.cfg.Line.Ledger.Commission(r.Context(), actor, c)
	out := make([]v2.SerialStatus, len(c.Serials))
	for i, sn := range c.Serials {
		out[i] = v2.SerialStatus{SerialNumber: sn, Status: "Commissioned"}
	}
	return s.answer(err, map[string]any{"success": true, "message": "Serials commissioned", "data": out})
}

func (s *Server) aggregate(r *http.Request, actor string, body []byte) (int, any) {
	var a v2.Aggregation
	if err := decode(body, &a); err != nil {
		return s.answer(err, nil)
	}
	err := s.cfg.Line.Containers.Aggregate(r.Context(), actor, a)
	return s.answer(err, map[string]any{"success": true, "message": "Aggregated on container"})
}

func (s *Server) disaggregate(r *http.Request, actor string, body []byte) (int, any) {
	var a v2.Aggregation
	if err := decode(body, &a); err != nil {
		return s.answer(err, nil)
	}
	err := s.cfg.Line.Containers.DisaggregateItems(r.Context(), actor, a)
	return s.answer(err, map[string]any{"success": true, "message": "Disaggregated from container"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"success":false,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
