package epcissim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
)

// defaultPerPage is the binding's default page size.
const defaultPerPage = 30

// filter is one query parameter of GET /events.
type filter func(values []string, e epcis.Event) (bool, error)

// filters are the query parameters the emulator answers. EPCs match as
// written, whole: the emulator knows no EPC patterns.
var filters = map[string]filter{
	"eventType": func(v []string, e epcis.Event) (bool, error) { return slices.Contains(v, e.Type()), nil },
	"GE_eventTime": func(v []string, e epcis.Event) (bool, error) {
		t, err := queryTime("GE_eventTime", v)
		return !e.Common().EventTime.Before(t), err
	},
	"LT_eventTime": func(v []string, e epcis.Event) (bool, error) {
		t, err := queryTime("LT_eventTime", v)
		return e.Common().EventTime.Before(t), err
	},
	"EQ_bizStep": func(v []string, e epcis.Event) (bool, error) {
		step := bareBizStep(e.Common().BizStep)
		return step != "" && slices.ContainsFunc(v, func(s string) bool { return bareBizStep(s) == step }), nil
	},
	"MATCH_epc": func(v []string, e epcis.Event) (bool, error) { return anyOf(v, epcsOf(e, false)), nil },
	"MATCH_anyEPC": func(v []string, e epcis.Event) (bool, error) {
		return anyOf(v, epcsOf(e, true)), nil
	},
}

// queryError is a query parameter the emulator refuses.
type queryError string

func (e queryError) Error() string { return string(e) }

func queryTime(name string, v []string) (time.Time, error) {
	if len(v) != 1 {
		return time.Time{}, queryError(name + " takes one time")
	}
	t, err := time.Parse(time.RFC3339Nano, v[0])
	if err != nil {
		return time.Time{}, queryError(name + " must be a date-time such as 2024-05-01T08:00:00Z, got " + v[0])
	}
	return t, nil
}

// bareBizStep is a CBV business step's bare word, whichever way it is
// written; another vocabulary's step is left as it is.
func bareBizStep(s string) string {
	for _, p := range []string{"https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest
		}
	}
	return s
}

// epcsOf is an event's epcList or childEPCs, and with parent its parentID.
func epcsOf(e epcis.Event, parent bool) []string {
	switch x := e.(type) {
	case *epcis.ObjectEvent:
		return x.EPCList
	case *epcis.AggregationEvent:
		if parent && x.ParentID != "" {
			return append([]string{x.ParentID}, x.ChildEPCs...)
		}
		return x.ChildEPCs
	}
	return nil
}

func anyOf(want, have []string) bool {
	return slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) })
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	type use struct {
		f      filter
		values []string
	}
	var uses []use
	for k, vs := range q {
		if k == "perPage" || k == "nextPageToken" {
			continue
		}
		f, ok := filters[k]
		if !ok {
			problem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Query parameter not supported",
				"the emulator does not support the query parameter "+k)
			return
		}
		var values []string
		for _, v := range vs {
			values = append(values, strings.Split(v, "|")...) // the binding's pipeDelimited lists
		}
		uses = append(uses, use{f, values})
	}
	s.mu.Lock()
	s.settle()
	all := slices.Clone(s.stored)
	s.mu.Unlock()
	var hits []json.RawMessage
	for _, e := range all {
		keep := true
		for _, u := range uses {
			ok, err := u.f(u.values, e.ev)
			if err != nil {
				problem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Query parameter refused", err.Error())
				return
			}
			keep = keep && ok
		}
		if keep {
			hits = append(hits, e.raw)
		}
	}
	from, to, ok := s.page(w, q, len(hits))
	if !ok {
		return
	}
	doc := epcis.NewQueryDocument(time.Now().UTC(), append([]json.RawMessage{}, hits[from:to]...))
	s.linkNext(w, r, q, to, len(hits))
	writeJSON(w, http.StatusOK, doc)
}

// page reads perPage and nextPageToken (the offset of the page, as the
// emulator wrote it in the previous page's Link) and returns the page's
// bounds among n results.
func (s *Server) page(w http.ResponseWriter, q url.Values, n int) (from, to int, ok bool) {
	per := defaultPerPage
	if v := q.Get("perPage"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			problem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Query parameter refused",
				"perPage must be a whole number from 1, got "+v)
			return 0, 0, false
		}
		per = min(p, s.opts.MaxPerPage)
	}
	if v := q.Get("nextPageToken"); v != "" {
		f, err := strconv.Atoi(v)
		if err != nil || f < 0 || f > n {
			problem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Query parameter refused",
				"nextPageToken "+v+" is not one this repository gave")
			return 0, 0, false
		}
		from = f
	}
	return from, min(from+per, n), true
}

// linkNext sets the Link rel="next" to the page from to, when there is
// one: the same query with the next token.
func (s *Server) linkNext(w http.ResponseWriter, r *http.Request, q url.Values, to, n int) {
	if to >= n {
		return
	}
	next := url.Values{}
	for k, v := range q {
		next[k] = v
	}
	next.Set("nextPageToken", strconv.Itoa(to))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: prefix(r) + r.URL.Path, RawQuery: next.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
}
