package cloudsim

import (
	"fmt"
	"net/http"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

func productError() (int, any) {
	return errBody(http.StatusNotFound, "", cloud.TypeProduct, "ProductError: the product does not exist")
}

func conflict(msg string) (int, any) { return errBody(http.StatusConflict, "", "", msg) }

// alreadyDone refuses a commission or decommission because serials are in
// a state already: the message names the first, data lists each with its
// status, so that one answer settles every one of them [inferred shape:
// the data[] of serial_number and status of the decommission answer].
func alreadyDone(serials []cloud.SerialStatus) (int, any) {
	return http.StatusConflict, serialsRefused{cloud.ErrorBody{Message: fmt.Sprintf("Serial %s is already %s", serials[0].SerialNumber, serials[0].Status)}, serials}
}

// serialsRefused is an error body with the serials it is about.
type serialsRefused struct {
	cloud.ErrorBody
	Data []cloud.SerialStatus `json:"data"`
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Sim) labelOrder(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var o cloud.LabelOrder
	if err := decode(body, &o); err != nil {
		return validation(err)
	}
	if err := o.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[o.ProductCode]
	switch {
	case !ok:
		return productError()
	case !contains(p.Batches, o.Batch):
		return errBody(http.StatusNotFound, "", "", cloud.MsgBatchNotFound)
	case s.labelOrders[o.OrderID].OrderID != "":
		return conflict(cloud.MsgLabelOrderExists)
	case !contains(s.cfg.Seed.Templates, o.TemplateTag):
		return errBody(http.StatusNotFound, "", "", cloud.MsgTemplateMissing)
	case !contains(s.cfg.Seed.Destinations, o.DestinationTag):
		return errBody(http.StatusNotFound, "", "", cloud.MsgDestinationAbsent)
	}
	need := *o.Quantity
	if o.ExtraLabelAmount != nil {
		if o.ExtraLabelType == "percentage" {
			need += (*o.Quantity**o.ExtraLabelAmount + 99) / 100
		} else {
			need += *o.ExtraLabelAmount
		}
	}
	if need > p.SerialPool {
		if p.Replenish {
			p.SerialPool += 2 * need // refilled in the background
			return http.StatusServiceUnavailable, cloud.ErrorBody{Message: cloud.MsgSerialsRequested}
		}
		return conflict(cloud.MsgNoSerialsAssigned)
	}
	p.SerialPool -= need
	s.labelOrders[o.OrderID] = o
	return http.StatusOK, map[string]any{"success": true, "message": "Label order created successfully"}
}

func (s *Sim) packagingOrder(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var o cloud.PackagingOrder
	if err := decode(body, &o); err != nil {
		return validation(err)
	}
	if err := o.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[o.ProductCode]
	switch {
	case !ok:
		return productError()
	case o.Market != "" && o.Market != p.Market:
		return validation(&cloud.FieldError{Field: "market", Rule: fmt.Sprintf("the product is registered for market %s", p.Market)})
	case o.PackagingLineTag != "" && !contains(s.cfg.Seed.PackagingLines, o.PackagingLineTag):
		return errBody(http.StatusNotFound, "", "", "Packaging line not found")
	case s.packaging[o.OrderID].OrderID != "":
		return conflict("Packaging order already exists!")
	}
	o.Status = "Open"
	s.packaging[o.OrderID] = o
	s.packOrder = append(s.packOrder, o.OrderID)
	return http.StatusOK, map[string]any{"success": true, "message": "Packaging order created", "data": o}
}

func (s *Sim) openOrders(_ http.ResponseWriter, _ *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []cloud.PackagingOrder{}
	for _, id := range s.packOrder {
		if o := s.packaging[id]; o.Status == "Open" {
			out = append(out, o)
		}
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Open packaging orders", "data": out}
}

func (s *Sim) orderDetails(_ http.ResponseWriter, r *http.Request, _ []byte) (int, any) {
	id := r.URL.Query().Get("order_id")
	if id == "" || len([]rune(id)) > 255 {
		return validation(&cloud.FieldError{Field: "order_id", Rule: "must be 1-255 characters"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.packaging[id]
	if !ok {
		return errBody(http.StatusNotFound, "", "", "Packaging order not found")
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Packaging order details", "data": o}
}

func key(gtin, sn string) string { return gtin + "/" + sn }

func (s *Sim) commission(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var req cloud.Commission
	if err := decode(body, &req); err != nil {
		return validation(err)
	}
	if err := req.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[req.ProductCode]
	if !ok {
		return productError()
	}
	if req.Batch != "" && !contains(p.Batches, req.Batch) {
		return errBody(http.StatusNotFound, "", "", cloud.MsgBatchNotFound)
	}
	var known []cloud.SerialStatus
	for _, sn := range req.Serials {
		if sr, ok := s.serials[key(req.ProductCode, sn)]; ok {
			known = append(known, cloud.SerialStatus{SerialNumber: sn, Status: sr.status})
		}
	}
	if len(known) > 0 {
		return alreadyDone(known)
	}
	for _, sn := range req.Serials {
		s.serials[key(req.ProductCode, sn)] = &serial{gtin: req.ProductCode, batch: req.Batch, expiry: req.ExpiryDate, status: "Commissioned"}
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Serials commissioned"}
}

func (s *Sim) decommission(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var req cloud.Decommission
	if err := decode(body, &req); err != nil {
		return validation(err)
	}
	if err := req.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[req.ProductCode]
	if !ok {
		return productError()
	}
	if req.MarketID != "" && req.MarketID != p.Market {
		return validation(&cloud.FieldError{Field: "market_id", Rule: fmt.Sprintf("the product is registered for market %s", p.Market)})
	}
	var done []cloud.SerialStatus
	for _, sn := range req.Serials {
		sr, ok := s.serials[key(req.ProductCode, sn)]
		switch {
		case !ok:
			return errBody(http.StatusNotFound, "", "", fmt.Sprintf("Serial %s not found", sn))
		case sr.status == "Decommissioned":
			done = append(done, cloud.SerialStatus{SerialNumber: sn, Status: sr.status})
		case sr.parent != "":
			return conflict(fmt.Sprintf("Serial %s is aggregated in %s: disaggregate it first", sn, sr.parent))
		}
	}
	if len(done) > 0 {
		return alreadyDone(done)
	}
	out := make([]cloud.SerialStatus, len(req.Serials))
	for i, sn := range req.Serials {
		sr := s.serials[key(req.ProductCode, sn)]
		sr.status, sr.reason = "Decommissioned", req.Reason
		// The documented sample answers with the serial's pool status.
		out[i] = cloud.SerialStatus{SerialNumber: sn, Status: "Assigned"}
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Serials decommissioned", "data": out}
}

// children validates an aggregation's children against the state and
// returns their keys.
func (s *Sim) children(a cloud.Aggregation, adding bool) ([]string, int, any) {
	var keys []string
	for _, it := range a.ChildTradeItems {
		if _, ok := s.products[it.ProductCode]; !ok {
			st, b := productError()
			return nil, st, b
		}
		k := key(it.ProductCode, it.SerialNumber)
		sr, ok := s.serials[k]
		switch {
		case !ok || (adding && sr.status != "Commissioned"):
			st, b := conflict(fmt.Sprintf("Serial %s is not commissioned", it.SerialNumber))
			return nil, st, b
		case adding && sr.parent != "":
			st, b := conflict(fmt.Sprintf("Serial %s is already aggregated in %s", it.SerialNumber, sr.parent))
			return nil, st, b
		case !adding && sr.parent != a.Parent:
			st, b := conflict(fmt.Sprintf("Serial %s is not in container %s", it.SerialNumber, a.Parent))
			return nil, st, b
		}
		keys = append(keys, k)
	}
	for _, c := range a.ChildContainers {
		ch, ok := s.containers[c]
		switch {
		case !ok:
			st, b := conflict(fmt.Sprintf("Container %s has no aggregation: aggregate its items first", c))
			return nil, st, b
		case adding && ch.parent != "":
			st, b := conflict(fmt.Sprintf("Container %s is already aggregated in %s", c, ch.parent))
			return nil, st, b
		case !adding && ch.parent != a.Parent:
			st, b := conflict(fmt.Sprintf("Container %s is not in container %s", c, a.Parent))
			return nil, st, b
		case adding && s.isAncestor(c, a.Parent):
			st, b := conflict(fmt.Sprintf("Container %s cannot hold %s: it is inside it", a.Parent, c))
			return nil, st, b
		}
		keys = append(keys, c)
	}
	return keys, 0, nil
}

// isAncestor reports whether a contains b, directly or further down.
func (s *Sim) isAncestor(a, b string) bool {
	for c := s.containers[b]; c != nil && c.parent != ""; c = s.containers[c.parent] {
		if c.parent == a {
			return true
		}
	}
	return false
}

func (s *Sim) aggregate(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var a cloud.Aggregation
	if err := decode(body, &a); err != nil {
		return validation(err)
	}
	if err := a.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, st, b := s.children(a, true)
	if keys == nil {
		return st, b
	}
	parent := s.containers[a.Parent]
	if parent == nil {
		parent = &container{children: map[string]bool{}}
		s.containers[a.Parent] = parent
	}
	for _, k := range keys {
		parent.children[k] = true
		if sr, ok := s.serials[k]; ok {
			sr.parent = a.Parent
		} else {
			s.containers[k].parent = a.Parent
		}
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Aggregated on container"}
}

func (s *Sim) disaggregate(_ http.ResponseWriter, _ *http.Request, body []byte) (int, any) {
	var a cloud.Aggregation
	if err := decode(body, &a); err != nil {
		return validation(err)
	}
	if err := a.Validate(); err != nil {
		return validation(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.containers[a.Parent]
	if parent == nil {
		return errBody(http.StatusNotFound, "", "", fmt.Sprintf("Container %s not found", a.Parent))
	}
	keys, st, b := s.children(a, false)
	if keys == nil {
		return st, b
	}
	for _, k := range keys {
		delete(parent.children, k)
		if sr, ok := s.serials[k]; ok {
			sr.parent = ""
		} else {
			s.containers[k].parent = ""
		}
	}
	return http.StatusOK, map[string]any{"success": true, "message": "Disaggregated from container"}
}
