package cloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

type shipErr = cloud.APIError

func shipError(status int, code, detail, pointer string) shipErr {
	e := shipErr{Status: strconv.Itoa(status), Code: code, Detail: detail}
	e.Source.Pointer = pointer
	return e
}

func shipErrors(status int, errs ...shipErr) (int, any) {
	return status, map[string]any{"errors": errs}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// wrapShip applies faults and Basic authentication to the shipping API.
func (s *Sim) wrapShip(ep string, h func(*http.Request, []byte) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.injected(w, ep) {
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			st, b := shipErrors(http.StatusRequestEntityTooLarge, shipError(413, "invalid", "Request body too large", ""))
			s.answer(w, r, ep, nil, st, b)
			return
		}
		user, pass, ok := r.BasicAuth()
		var status int
		var resp any
		switch {
		case !ok || user != s.cfg.Seed.Shipping.PublicKey || pass != s.cfg.Seed.Shipping.SecretKey:
			status, resp = shipErrors(http.StatusUnauthorized, shipError(401, "authentication_failed", "Invalid username/password.", ""))
		case r.Header.Get("Sendcloud-Partner-Id") != "" && (!uuidRE.MatchString(r.Header.Get("Sendcloud-Partner-Id")) ||
			!contains(s.cfg.Seed.Shipping.PartnerIDs, r.Header.Get("Sendcloud-Partner-Id"))):
			status, resp = shipErrors(http.StatusBadRequest, shipError(400, "invalid", "Unknown or invalid Sendcloud-Partner-Id.", "/headers/Sendcloud-Partner-Id"))
		default:
			status, resp = h(r, body)
		}
		s.answer(w, r, ep, body, status, resp)
	}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return ioReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
}

func (s *Sim) createLabels(_ *http.Request, body []byte) (int, any) {
	var req struct {
		IntegrationID *int              `json:"integration_id"`
		Orders        []json.RawMessage `json:"orders"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return shipErrors(http.StatusBadRequest, shipError(400, "invalid", "Request body could not be parsed: "+jsonProblem(err), ""))
	}
	switch {
	case req.IntegrationID == nil:
		return shipErrors(http.StatusBadRequest, shipError(400, "required", "This field is required.", "/data/attributes/integration_id"))
	case !containsInt(s.cfg.Seed.Shipping.IntegrationIDs, *req.IntegrationID):
		return shipErrors(http.StatusNotFound, shipError(404, "not_found", "Integration not found.", "/data/attributes/integration_id"))
	case len(req.Orders) < 1 || len(req.Orders) > cloud.MaxOrdersPerCall:
		return shipErrors(http.StatusBadRequest, shipError(400, "validation_error", fmt.Sprintf("Ensure this list has 1 to 20 elements, it has %d.", len(req.Orders)), "/data/attributes/orders"))
	}
	data := []cloud.LabelRef{}
	errs := []shipErr{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, raw := range req.Orders {
		ptr := "/data/attributes/orders/" + strconv.Itoa(i)
		var o cloud.ShipOrder
		if err := json.Unmarshal(raw, &o); err != nil {
			errs = append(errs, shipError(400, "invalid", "Order must be an object: "+jsonProblem(err), ptr))
			continue
		}
		switch {
		case o.OrderID == "" && o.OrderNumber == "":
			errs = append(errs, shipError(400, "required", "Either order_id or order_number is required.", ptr))
			continue
		case len(o.OrderID) > 64:
			errs = append(errs, shipError(400, "validation_error", "Ensure order_id has at most 64 characters.", ptr+"/order_id"))
			continue
		case len(o.OrderNumber) > 255:
			errs = append(errs, shipError(400, "validation_error", "Ensure order_number has at most 255 characters.", ptr+"/order_number"))
			continue
		}
		so := s.shipOrders["id:"+o.OrderID]
		if so == nil {
			so = s.shipOrders["no:"+o.OrderNumber]
		}
		if so != nil && s.lookups[so] < so.NotFoundFor {
			s.lookups[so]++
			so = nil
		}
		if so == nil {
			errs = append(errs, shipError(404, "not_found", "Order not found.", ptr))
			continue
		}
		s.nextShipment++
		sh := &shipment{id: strconv.Itoa(s.nextShipment), parcel: int64(4400 + s.nextShipment), order: so, tracking: fmt.Sprintf("3SEDGE%07d", s.nextShipment), refused: so.Fail}
		s.shipments[sh.id] = sh
		s.parcels[sh.parcel] = sh
		data = append(data, cloud.LabelRef{ParcelID: sh.parcel, ParcelsIDs: []int64{sh.parcel}, ShipmentID: sh.id, OrderID: so.OrderID, OrderNumber: so.OrderNumber})
	}
	return http.StatusAccepted, map[string]any{"data": data, "errors": errs}
}

// CorrectAddress is a person correcting a shipping order's address in the
// shipping service: labels asked for from now on are announced. It reports
// whether the order is known.
func (s *Sim) CorrectAddress(orderNumber string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.shipOrders["no:"+orderNumber]
	if ok {
		o.Fail = false
	}
	return ok
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func jsonProblem(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}

func (s *Sim) shipment(r *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shipments[r.PathValue("id")]
	if !ok {
		return shipErrors(http.StatusNotFound, shipError(404, "not_found", "Shipment not found.", ""))
	}
	parcel := map[string]any{"id": sh.parcel, "tracking_number": sh.tracking, "documents": []any{}}
	var annErrs []shipErr
	switch {
	case sh.refused:
		parcel["status"] = map[string]string{"code": "ANNOUNCEMENT_FAILED", "message": "Announcement failed"}
		annErrs = append(annErrs, shipError(400, "parcel_announcement_error", "The carrier rejected the address: postal code missing.", ""))
	case sh.lookups < sh.order.ReadyAfter:
		// The label exists after ReadyAfter looks that find it being announced.
		sh.lookups++
		parcel["status"] = map[string]string{"code": "ANNOUNCING", "message": "Being announced"}
	default:
		parcel["status"] = map[string]string{"code": "READY_TO_SEND", "message": "Ready to send"}
		parcel["documents"] = []map[string]string{{"type": "label", "size": "a6", "link": fmt.Sprintf("/api/v3/parcels/%d/documents/label", sh.parcel)}}
	}
	data := map[string]any{"id": sh.id, "parcels": []any{parcel}}
	if annErrs != nil {
		data["errors"] = annErrs
	}
	return http.StatusOK, map[string]any{"data": data}
}

func (s *Sim) label(r *http.Request, _ []byte) (int, any) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.parcels[id]
	switch {
	case err != nil || !ok:
		return shipErrors(http.StatusNotFound, shipError(404, "not_found", "Parcel not found.", ""))
	case sh.refused || sh.lookups < sh.order.ReadyAfter:
		return shipErrors(http.StatusNotFound, shipError(404, "not_found", "No label document for this parcel yet.", ""))
	case !strings.Contains(r.Header.Get("Accept"), "application/zpl"):
		return shipErrors(http.StatusNotAcceptable, shipError(406, "invalid", "The emulator serves labels as application/zpl.", "/headers/Accept"))
	}
	ref := sh.order.OrderNumber
	if ref == "" {
		ref = sh.order.OrderID
	}
	zpl := fmt.Sprintf("^XA^CI28^PW812^LL1218^FO40,40^A0N,50,50^FDedgeagent parcel^FS^FO40,120^GB730,4,4^FS"+
		"^FO60,160^BY3^BCN,200,Y,N,N^FD%s^FS^FO60,460^A0N,36,30^FDOrder %s^FS^PQ1^XZ", sh.tracking, ref)
	return http.StatusOK, []byte(zpl)
}
