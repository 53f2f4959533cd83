package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/journal"
)

// The line's EPCIS journal over the EPCIS 2.0 REST binding: GET
// /epcis/events answers a subset of the SimpleEventQuery from the URI
// query string, GET /epcis/events/{eventID} one event, both as an
// EPCISQueryDocument. Errors are RFC 7807 problems (application/problem+json)
// with the binding's exception types. The events show serials: the routes
// need a person or the service token, as /api/v1/labels/unknown does.

// EPCIS exception types of the REST binding, and the HTTP default for
// statuses it has none for.
const (
	problemQueryParameter = "epcisException:QueryParameterException"
	problemSecurity       = "epcisException:SecurityException"
	problemNoSuchName     = "epcisException:NoSuchNameException"
	problemImplementation = "epcisException:ImplementationException"
	problemHTTP           = "about:blank"
)

// epcisPrefix is where the EPCIS routes are.
const epcisPrefix = "/epcis/"

// Paging: perPage when none is given, and the most a page holds.
const (
	epcisPerPage    = 100
	epcisMaxPerPage = 1000
)

// epcisVersion is the version of EPCIS and of the CBV the answers follow
// (the GS1-EPCIS-Version and GS1-CBV-Version headers).
const epcisVersion = "2.0.0"

// epcisParams are the query parameters GET /epcis/events answers.
var epcisParams = []string{"GE_eventTime", "LT_eventTime", "eventType", "EQ_bizStep", "MATCH_anyEPC", "MATCH_epc", "EQ_eventID",
	"perPage", "nextPageToken"}

// eventTypes are the event types of EPCIS 2.0; the journal holds the first
// two, a query for the others finds nothing.
var eventTypes = []string{epcis.TypeObjectEvent, epcis.TypeAggregationEvent, "TransactionEvent", "TransformationEvent", "AssociationEvent"}

func (s *Server) epcisRoutes(mux mux) {
	mux.HandleFunc("GET /epcis/events", s.epcisEvents)
	mux.HandleFunc("GET /epcis/events/{eventID}", s.epcisEvent)
}

// epcisEvents answers a query of the journal, a page at a time: a Link
// header with rel="next" leads to the next page while there is one.
func (s *Server) epcisEvents(w http.ResponseWriter, r *http.Request) {
	q, err := epcisQuery(r.URL.RawQuery, epcisParams)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, problemQueryParameter, err.Error())
		return
	}
	f, perPage, err := epcisFilter(q)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, problemQueryParameter, err.Error())
		return
	}
	f.Limit = perPage + 1
	entries, err := journal.Query(r.Context(), s.cfg.Line.Ledger.DB().Reader(), f)
	if err != nil {
		s.epcisFault(w, r, err)
		return
	}
	if len(entries) > perPage {
		entries = entries[:perPage]
		next := url.Values{}
		for k, v := range q {
			next[k] = []string{v}
		}
		next.Set("nextPageToken", pageToken(entries[len(entries)-1].Seq))
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	writeQueryDocument(w, entries)
}

// epcisEvent answers one event by its eventID, as an EPCISQueryDocument
// of that event.
func (s *Server) epcisEvent(w http.ResponseWriter, r *http.Request) {
	if _, err := epcisQuery(r.URL.RawQuery, nil); err != nil {
		writeProblem(w, http.StatusBadRequest, problemQueryParameter, err.Error())
		return
	}
	id := r.PathValue("eventID")
	entries, err := journal.Query(r.Context(), s.cfg.Line.Ledger.DB().Reader(), journal.Filter{EventID: id})
	if err != nil {
		s.epcisFault(w, r, err)
		return
	}
	if len(entries) == 0 {
		writeProblem(w, http.StatusNotFound, problemNoSuchName, fmt.Sprintf("event %q: the journal has no event with this eventID", id))
		return
	}
	writeQueryDocument(w, entries)
}

func (s *Server) epcisFault(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("read the EPCIS journal")
	writeProblem(w, http.StatusInternalServerError, problemImplementation, "the journal could not be read: see the agent's log")
}

// epcisQuery reads the query string: each parameter once, with a value,
// and only those the route answers.
func epcisQuery(raw string, allowed []string) (map[string]string, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("the query string is not well formed: %v", err)
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	q := map[string]string{}
	for _, k := range names {
		v := vals[k]
		switch {
		case len(allowed) == 0:
			return nil, fmt.Errorf("%s: this route takes no query parameters", k)
		case !slices.Contains(allowed, k):
			return nil, fmt.Errorf("%s: not a parameter this agent answers; it answers %s", k, strings.Join(allowed, ", "))
		case len(v) > 1:
			return nil, fmt.Errorf("%s: give it once", k)
		case v[0] == "":
			return nil, fmt.Errorf("%s: empty; give a value or leave the parameter out", k)
		}
		q[k] = v[0]
	}
	return q, nil
}

// epcisFilter turns the parameters into a query of the journal and the
// page size.
func epcisFilter(q map[string]string) (journal.Filter, int, error) {
	var f journal.Filter
	var err error
	for _, k := range []string{"eventType", "EQ_bizStep", "MATCH_anyEPC", "MATCH_epc"} {
		if strings.Contains(q[k], "|") {
			return f, 0, fmt.Errorf("%s: give one value; this agent does not take a list (a|b)", k)
		}
	}
	if f.From, err = queryTime(q, "GE_eventTime"); err != nil {
		return f, 0, err
	}
	if f.To, err = queryTime(q, "LT_eventTime"); err != nil {
		return f, 0, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, 0, errors.New("LT_eventTime: must be after GE_eventTime")
	}
	if t := q["eventType"]; t != "" {
		if !slices.Contains(eventTypes, t) {
			return f, 0, fmt.Errorf("eventType: must be one of %s; got %q", strings.Join(eventTypes, ", "), t)
		}
		f.EventType = t
	}
	if step := q["EQ_bizStep"]; step != "" {
		if f.BizStep, err = bizStep(step); err != nil {
			return f, 0, err
		}
	}
	for _, k := range []string{"MATCH_anyEPC", "MATCH_epc"} {
		epc := q[k]
		switch {
		case epc == "":
			continue
		case !strings.Contains(epc, ":"):
			return f, 0, fmt.Errorf("%s: must be an EPC as the journal writes it, a GS1 Digital Link (https://id.gs1.org/01/…/21/…) or an EPC URN (urn:epc:id:…); got %q", k, epc)
		case strings.HasPrefix(epc, "urn:epc:idpat:") || strings.Contains(epc, "*"):
			return f, 0, fmt.Errorf("%s: EPC patterns are not answered; give one EPC", k)
		case f.EPC != "" && f.EPC != epc:
			return f, 0, fmt.Errorf("%s: give MATCH_anyEPC or MATCH_epc, not both (this agent takes both as any EPC an event names)", k)
		}
		f.EPC = epc
	}
	f.EventID = q["EQ_eventID"]
	perPage := epcisPerPage
	if v, ok := q["perPage"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > epcisMaxPerPage {
			return f, 0, fmt.Errorf("perPage: must be a whole number from 1 to %d; got %q", epcisMaxPerPage, v)
		}
		perPage = n
	}
	if tok, ok := q["nextPageToken"]; ok {
		if f.After, err = pageAfter(tok); err != nil {
			return f, 0, err
		}
	}
	return f, perPage, nil
}

// queryTime reads a time parameter. A "+" in a query string stands for a
// space; an offset written +01:00 unescaped is taken as meant.
func queryTime(q map[string]string, k string) (time.Time, error) {
	v, ok := q[k]
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: must be a time in RFC 3339 with its offset, e.g. 2026-12-01T10:00:00Z or 2026-12-01T10:00:00%%2B01:00; got %q", k, v)
	}
	return t, nil
}

// CBV business step URIs: the Web URI of CBV 2.0, its CURIE, and the URN
// of CBV 1.x.
var bizStepPrefixes = []string{"https://ref.gs1.org/cbv/BizStep-", "cbv:BizStep-", "urn:epcglobal:cbv:bizstep:"}

// bizStep reads EQ_bizStep: a CBV business step, short or as a URI. A URI
// outside the CBV is a step of someone else's, which the journal does not
// hold; it is taken, and finds nothing.
func bizStep(v string) (string, error) {
	for _, p := range bizStepPrefixes {
		if term, ok := strings.CutPrefix(v, p); ok {
			if !epcis.IsBizStep(term) {
				return "", fmt.Errorf("EQ_bizStep: %q is not a CBV 2.0 business step", v)
			}
			return term, nil
		}
	}
	if !strings.Contains(v, ":") && !epcis.IsBizStep(v) {
		return "", fmt.Errorf("EQ_bizStep: %q is not a CBV 2.0 business step; give one such as commissioning, packing or shipping, or a URI", v)
	}
	return v, nil
}

// pageToken is the opaque token of the page after the journal position
// seq; pageAfter reads it back.
func pageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(seq, 10)))
}

func pageAfter(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	n, perr := strconv.ParseInt(strings.TrimPrefix(string(b), "s"), 10, 64)
	if err != nil || perr != nil || !strings.HasPrefix(string(b), "s") || n < 1 {
		return 0, errors.New("nextPageToken: not a token this agent gave; take it from the Link header of the page before")
	}
	return n, nil
}

func writeQueryDocument(w http.ResponseWriter, entries []journal.Entry) {
	events := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		events[i] = e.Event
	}
	doc := epcis.NewQueryDocument(time.Now(), events)
	w.Header().Set("GS1-EPCIS-Version", epcisVersion)
	w.Header().Set("GS1-CBV-Version", epcisVersion)
	writeJSON(w, http.StatusOK, doc)
}

// problem is an RFC 7807 answer, as the EPCIS REST binding gives its
// errors.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

var problemTitles = map[string]string{
	problemQueryParameter: "A query parameter is not valid",
	problemNoSuchName:     "Resource not found",
	problemImplementation: "A server-side error occurred",
}

// writeProblem answers with a problem; detail names the parameter or thing
// and the rule.
func writeProblem(w http.ResponseWriter, status int, typ, detail string) {
	title := problemTitles[typ]
	switch {
	case typ == problemSecurity && status == http.StatusUnauthorized:
		title = "Unauthorised request"
	case typ == problemSecurity:
		title = "Access to resource forbidden"
	case title == "":
		title = http.StatusText(status)
	}
	data, _ := json.Marshal(problem{Type: typ, Title: title, Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
