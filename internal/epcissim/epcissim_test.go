package epcissim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/cloud"
	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/epcissim"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
)

const (
	gtin   = "04012345123456"
	gln    = "4012345000009"
	sscc   = "340123450000000017"
	pallet = "340123450000000031"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.FixedZone("CET", 3600))

// lineEvents builds a line's events with the epcis builders: n packs
// commissioned a minute apart, then packed into a case, the case onto a
// pallet, and the pallet shipped.
func lineEvents(t *testing.T, n int) []epcis.Event {
	t.Helper()
	var ids epcis.IDs
	rp, err := ids.SGLN(gln, "LINE1")
	require.NoError(t, err)
	site, err := ids.SGLN(gln, "")
	require.NoError(t, err)
	line := epcis.Line{ReadPoint: rp, BizLocation: site}
	var out, packs []epcis.Event
	var epcs []string
	for i := range n {
		p, err := ids.SGTIN(gtin, fmt.Sprintf("S%03d", i))
		require.NoError(t, err)
		ev, err := line.Commission(t0.Add(time.Duration(i)*time.Minute), []string{p}, &epcis.ILMD{LotNumber: "AB12", ItemExpirationDate: "2026-12-31"})
		require.NoError(t, err)
		packs = append(packs, ev)
		epcs = append(epcs, p)
	}
	c, err := ids.SSCC(sscc)
	require.NoError(t, err)
	pl, err := ids.SSCC(pallet)
	require.NoError(t, err)
	end := t0.Add(time.Duration(n) * time.Minute)
	packed, err := line.Pack(end, c, epcs)
	require.NoError(t, err)
	onPallet, err := line.Pack(end.Add(time.Minute), pl, []string{c})
	require.NoError(t, err)
	shipped, err := line.Ship(end.Add(2*time.Minute), []string{pl}, epcis.Shipment{})
	require.NoError(t, err)
	out = append(out, packs...)
	return append(out, packed, onPallet, shipped)
}

func document(t *testing.T, evs ...epcis.Event) []byte {
	t.Helper()
	raw, err := json.Marshal(epcis.NewDocument(time.Now(), evs...))
	require.NoError(t, err)
	return raw
}

// post sends a capture as a client would.
func post(t *testing.T, base string, doc []byte, h map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/capture", bytes.NewReader(doc))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/ld+json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// getJSON reads an answer into v, as the agent's client types read it.
func getJSON(t *testing.T, u string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if v != nil {
		require.NoError(t, json.Unmarshal(body, v), "%s", body)
	}
	return resp
}

// captureJob posts a document and reads its job once it has finished.
func captureJob(t *testing.T, base string, doc []byte, h map[string]string) cloud.CaptureJob {
	t.Helper()
	resp := post(t, base, doc, h)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	var job cloud.CaptureJob
	require.Eventually(t, func() bool {
		getJSON(t, loc.String(), &job)
		return !job.Running
	}, 5*time.Second, 5*time.Millisecond)
	return job
}

func TestCaptureStoresEachEventOnce(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 3)

	job := captureJob(t, srv.URL, document(t, evs[:4]...), nil)
	require.True(t, job.Success, job.Reason())
	require.Equal(t, "rollback", job.CaptureErrorBehaviour, "all or nothing by default")
	require.Empty(t, job.Errors)
	require.False(t, job.CreatedAt.IsZero())
	require.False(t, job.FinishedAt.Before(job.CreatedAt))

	// The same events again, with the rest: accepted, stored once.
	job = captureJob(t, srv.URL, document(t, evs...), nil)
	require.True(t, job.Success)
	require.Equal(t, 4, sim.Duplicates())
	stored := sim.Events()
	require.Len(t, stored, len(evs))
	for i, raw := range stored {
		ev, err := epcis.DecodeEvent(raw)
		require.NoError(t, err)
		require.Equal(t, evs[i].Common().EventID, ev.Common().EventID, "stored in capture order")
	}
	require.Equal(t, 2, sim.Count(evs[0].Common().EventID))
	require.Equal(t, 1, sim.Count(evs[len(evs)-1].Common().EventID))
	require.Len(t, sim.Jobs(), 2)
}

func TestCaptureRefusesAWrongOrMissingEventID(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 3)
	want := evs[1].Common().EventID
	evs[1].Common().EventID = evs[0].Common().EventID // another event's hash
	evs[2].Common().EventID = ""

	job := captureJob(t, srv.URL, document(t, evs...), nil)
	require.False(t, job.Success)
	require.Len(t, job.Errors, 2)
	require.Contains(t, job.Errors[0].Detail, "event 2 ("+evs[0].Common().EventID+"): its eventID is not the CBV 2.0 hash of the event, which is "+want)
	require.Equal(t, "epcisException:ValidationException", job.Errors[0].Type)
	require.Contains(t, job.Errors[1].Detail, "event 3: the event has no eventID")
	require.Empty(t, sim.Events(), "rollback: nothing of a failed job is stored")

	job = captureJob(t, srv.URL, document(t, evs...), map[string]string{"GS1-Capture-Error-Behaviour": "proceed"})
	require.False(t, job.Success)
	require.Equal(t, "proceed", job.CaptureErrorBehaviour)
	require.Len(t, sim.Events(), len(evs)-2, "proceed stores the good events")
}

func TestCaptureRefusesWhatATestRefuses(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 2)
	sim.Refuse(func(ev epcis.Event) string {
		if ev.Type() == epcis.TypeAggregationEvent {
			return "the case is not known to this repository"
		}
		return ""
	})
	job := captureJob(t, srv.URL, document(t, evs...), nil)
	require.False(t, job.Success)
	require.Len(t, job.Errors, 2)
	require.Equal(t, evs[2].Common().EventID, job.Errors[0].Instance)
	require.Contains(t, job.Errors[0].Detail, "the case is not known to this repository")
	require.Contains(t, job.Reason(), "the case is not known")
}

func TestJobRunsForItsDelay(t *testing.T) {
	sim := epcissim.New(epcissim.Options{JobDelay: 300 * time.Millisecond})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	resp := post(t, srv.URL, document(t, lineEvents(t, 1)...), nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Regexp(t, `^/capture/id\d+$`, resp.Header.Get("Location"))
	var job cloud.CaptureJob
	getJSON(t, srv.URL+resp.Header.Get("Location"), &job)
	require.True(t, job.Running)
	require.True(t, job.Success, "no error so far")
	require.Empty(t, sim.Events(), "stored when the job finishes")
	require.Eventually(t, func() bool {
		getJSON(t, srv.URL+resp.Header.Get("Location"), &job)
		return !job.Running
	}, 5*time.Second, 10*time.Millisecond)
	require.GreaterOrEqual(t, job.FinishedAt.Sub(job.CreatedAt), 300*time.Millisecond)
	require.Len(t, sim.Events(), 4)

	var jobs []cloud.CaptureJob
	getJSON(t, srv.URL+"/capture", &jobs)
	require.Len(t, jobs, 1)
	require.Equal(t, job.CaptureID, jobs[0].CaptureID)

	var p cloud.Problem
	r := getJSON(t, srv.URL+"/capture/nope", &p)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Equal(t, "this repository has no capture job nope", p.Detail)
}

func TestCaptureRefusesWhatTheBindingRefuses(t *testing.T) {
	sim := epcissim.New(epcissim.Options{CaptureLimit: 2})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 1)
	doc := document(t, evs[:2]...)
	old := bytes.Replace(doc, []byte(`"schemaVersion":"2.0"`), []byte(`"schemaVersion":"1.2"`), 1)
	for name, c := range map[string]struct {
		body    []byte
		headers map[string]string
		status  int
		detail  string
	}{
		"EPCIS 1.2 document": {old, nil, http.StatusBadRequest, `the document's schemaVersion is "1.2"; this repository takes 2.0`},
		"not JSON":           {[]byte("<epcis/>"), nil, http.StatusBadRequest, "the document is not JSON this repository reads"},
		"XML":                {doc, map[string]string{"Content-Type": "application/xml"}, http.StatusUnsupportedMediaType, "send the document as application/ld+json"},
		"EPCIS 1.2 header":   {doc, map[string]string{"GS1-EPCIS-Version": "1.2.0"}, http.StatusNotAcceptable, "this repository speaks EPCIS 2.0"},
		"unknown behaviour":  {doc, map[string]string{"GS1-Capture-Error-Behaviour": "all"}, http.StatusBadRequest, "GS1-Capture-Error-Behaviour must be rollback or proceed, got all"},
		"over the limit":     {document(t, evs...), nil, http.StatusRequestEntityTooLarge, "the document holds 4 events; this repository takes 2 in one capture"},
	} {
		resp := post(t, srv.URL, c.body, c.headers)
		require.Equal(t, c.status, resp.StatusCode, name)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), name)
		var p cloud.Problem
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p), name)
		require.Contains(t, p.Detail, c.detail, name)
		require.Equal(t, c.status, p.Status, name)
		if c.status == http.StatusRequestEntityTooLarge {
			require.Equal(t, "2", resp.Header.Get("GS1-EPCIS-Capture-Limit"))
		}
	}
	require.Empty(t, sim.Jobs(), "no job for a document refused on receipt")
	require.Len(t, sim.Captures(), 6)

	req, err := http.NewRequest(http.MethodOptions, srv.URL+"/capture", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "2", resp.Header.Get("GS1-EPCIS-Capture-Limit"))
	require.Equal(t, "all", resp.Header.Get("GS1-Capture-Error-Behaviour"))
	require.Equal(t, "2.0.0", resp.Header.Get("GS1-EPCIS-Version"))
}

func TestTokenIsRequiredWhenSet(t *testing.T) {
	sim := epcissim.New(epcissim.Options{Token: "repo-token"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	doc := document(t, lineEvents(t, 1)...)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer other"}} {
		resp := post(t, srv.URL, doc, h)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		var p cloud.Problem
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
		require.Equal(t, "epcisException:SecurityException", p.Type)
	}
	require.Empty(t, sim.Captures(), "refused before the capture is read")
	resp := post(t, srv.URL, doc, map[string]string{"Authorization": "Bearer repo-token"})
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

// queryPage reads one page of GET /events: the events decoded, and the
// next page's URL from the Link header ("" on the last page).
func queryPage(t *testing.T, sch *epcisschema.Schema, u string) ([]epcis.Event, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	if sch != nil {
		sch.Require(t, raw, "the query answer")
	}
	var doc struct {
		Type string `json:"type"`
		Body struct {
			QueryResults struct {
				QueryName   string `json:"queryName"`
				ResultsBody struct {
					EventList []json.RawMessage `json:"eventList"`
				} `json:"resultsBody"`
			} `json:"queryResults"`
		} `json:"epcisBody"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "EPCISQueryDocument", doc.Type)
	require.Equal(t, "SimpleEventQuery", doc.Body.QueryResults.QueryName)
	var out []epcis.Event
	for _, e := range doc.Body.QueryResults.ResultsBody.EventList {
		ev, err := epcis.DecodeEvent(e)
		require.NoError(t, err)
		out = append(out, ev)
	}
	next := ""
	if l := resp.Header.Get("Link"); l != "" {
		m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(l)
		require.NotNil(t, m, "Link %q", l)
		next = m[1]
	}
	return out, next
}

// query returns the events a query answers, following every page.
func query(t *testing.T, sch *epcisschema.Schema, base string, q url.Values) ([]epcis.Event, int) {
	t.Helper()
	var all []epcis.Event
	pages := 0
	for u := base + "/events?" + q.Encode(); u != ""; pages++ {
		var evs []epcis.Event
		evs, u = queryPage(t, sch, u)
		all = append(all, evs...)
	}
	return all, pages
}

func ids(evs []epcis.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Common().EventID)
	}
	return out
}

func TestEventsQuery(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 5) // 5 commissionings, 2 packings, 1 shipping
	captureJob(t, srv.URL, document(t, evs...), nil)
	commissioned, packing, shipping := evs[:5], evs[5:7], evs[7:]
	case1 := evs[5].(*epcis.AggregationEvent).ParentID
	pack2 := evs[1].(*epcis.ObjectEvent).EPCList[0]

	for name, c := range map[string]struct {
		q    url.Values
		want []epcis.Event
	}{
		"everything":        {url.Values{}, evs},
		"object events":     {url.Values{"eventType": {"ObjectEvent"}}, append(append([]epcis.Event{}, commissioned...), shipping...)},
		"both types":        {url.Values{"eventType": {"ObjectEvent|AggregationEvent"}}, evs},
		"a time window":     {url.Values{"GE_eventTime": {t0.Add(time.Minute).Format(time.RFC3339)}, "LT_eventTime": {t0.Add(3 * time.Minute).Format(time.RFC3339)}}, evs[1:3]},
		"a step":            {url.Values{"EQ_bizStep": {"packing"}}, packing},
		"a step as its URI": {url.Values{"EQ_bizStep": {"https://ref.gs1.org/cbv/BizStep-shipping|receiving"}}, shipping},
		"a pack":            {url.Values{"MATCH_epc": {pack2}}, []epcis.Event{evs[1], evs[5]}},
		"a case by epc":     {url.Values{"MATCH_epc": {case1}}, []epcis.Event{evs[6]}},
		"a case, any role":  {url.Values{"MATCH_anyEPC": {case1}}, packing},
		"combined":          {url.Values{"MATCH_anyEPC": {pack2}, "eventType": {"AggregationEvent"}}, []epcis.Event{evs[5]}},
	} {
		got, _ := query(t, nil, srv.URL, c.q)
		require.Equal(t, ids(c.want), ids(got), name)
	}

	got, pages := query(t, nil, srv.URL, url.Values{"perPage": {"3"}})
	require.Equal(t, ids(evs), ids(got), "the pages hold every event once, in order")
	require.Equal(t, 3, pages)
	got, pages = query(t, nil, srv.URL, url.Values{"perPage": {"2"}, "eventType": {"ObjectEvent"}})
	require.Equal(t, 3, pages, "6 object events, 2 a page")
	require.Len(t, got, 6)

	for q, words := range map[string]string{
		"GE_eventTime=yesterday": "GE_eventTime must be a date-time",
		"perPage=0":              "perPage must be a whole number from 1",
		"nextPageToken=99":       "nextPageToken 99 is not one this repository gave",
		"EQ_readPoint=x":         "does not support the query parameter EQ_readPoint",
	} {
		var p cloud.Problem
		resp := getJSON(t, srv.URL+"/events?"+q, &p)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
		require.Contains(t, p.Detail, words, q)
	}
}

// The query answers are valid EPCIS 2.0 query documents.
func TestEventsQueryIsValidEPCIS(t *testing.T) {
	sch := epcisschema.Load(t)
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	evs := lineEvents(t, 4)
	captureJob(t, srv.URL, document(t, evs...), nil)
	got, _ := query(t, sch, srv.URL, url.Values{"perPage": {"5"}})
	require.Equal(t, ids(evs), ids(got))
	empty, _ := query(t, sch, srv.URL, url.Values{"EQ_bizStep": {"receiving"}})
	require.Empty(t, empty)
}

// Under a path prefix the job's Location and the next page's Link keep
// it.
func TestServedUnderAPrefix(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	mux := http.NewServeMux()
	mux.Handle("/epcis/", http.StripPrefix("/epcis", sim))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	evs := lineEvents(t, 2)
	resp := post(t, srv.URL+"/epcis", document(t, evs...), nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/epcis/capture/id"), resp.Header.Get("Location"))
	var job cloud.CaptureJob
	require.Equal(t, http.StatusOK, getJSON(t, srv.URL+resp.Header.Get("Location"), &job).StatusCode)
	got, pages := query(t, nil, srv.URL+"/epcis", url.Values{"perPage": {"2"}})
	require.Equal(t, ids(evs), ids(got))
	require.Equal(t, 3, pages)
}

func TestFaults(t *testing.T) {
	sim := epcissim.New(epcissim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	doc := document(t, lineEvents(t, 1)...)
	sim.FailCaptures(1, epcissim.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second})
	sim.FailCaptures(1, epcissim.Fault{Drop: true})
	resp := post(t, srv.URL, doc, nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "3", resp.Header.Get("Retry-After"))

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/capture", bytes.NewReader(doc))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err, "the connection is dropped")
	require.Len(t, sim.Events(), 4, "the dropped capture was taken")

	resp = post(t, srv.URL, doc, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	sim.FailJobs(1, epcissim.Fault{Status: http.StatusInternalServerError})
	r, err := http.Get(srv.URL + resp.Header.Get("Location"))
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusInternalServerError, r.StatusCode)
	require.Equal(t, 4, sim.Duplicates())

	caps := sim.Captures()
	require.Len(t, caps, 3)
	require.Equal(t, http.StatusServiceUnavailable, caps[0].Status)
	require.True(t, caps[1].Dropped)
	require.Equal(t, 4, caps[1].Events)
	require.Equal(t, http.StatusAccepted, caps[2].Status)
}
