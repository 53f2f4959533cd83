package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/journal"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
)

const (
	jGTIN  = "09506000134352"
	jSSCC1 = "095060000000000015"
	jSSCC2 = "095060000000000022"
)

// journalStart is a millisecond before the first journalled event: the
// line's events follow each other a millisecond apart.
var journalStart = time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))

// journalled is a line whose journal holds eight events, as the line
// writes them: packs S1 to S3 commissioned for ORDER-1, S1 and S2 packed
// into case 1, case 1 onto pallet 2, S2 taken out and destroyed, the
// pallet shipped.
func journalled(t *testing.T) *Server {
	s, l := v2Server(t, true)
	at := journalStart
	j, err := journal.New(l.Ledger.Outbox(), journal.Config{Site: "9506000000008", ReadPointExtension: "LINE1",
		Now: func() time.Time { at = at.Add(time.Millisecond); return at }})
	require.NoError(t, err)
	require.NoError(t, l.Ledger.DB().Write(context.Background(), func(tx *sql.Tx) error {
		for _, sn := range []string{"S1", "S2", "S3"} {
			if err := j.Commission(tx, "ORDER-1", jGTIN, sn, "AB12", "261231"); err != nil {
				return err
			}
		}
		return errors.Join(
			j.Pack(tx, jSSCC1, []journal.Pack{{GTIN: jGTIN, Serial: "S1"}, {GTIN: jGTIN, Serial: "S2"}}, nil),
			j.Pack(tx, jSSCC2, nil, []string{jSSCC1}),
			j.Unpack(tx, jSSCC1, []journal.Pack{{GTIN: jGTIN, Serial: "S2"}}, nil),
			j.Decommission(tx, "ORDER-1", "destroy", jGTIN, "S2"),
			j.Ship(tx, "DESADV-9", []string{jSSCC2}))
	}))
	return s
}

// answer is an EPCIS route's answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// epcisGet asks with the service token ("" asks with nothing).
func epcisGet(t *testing.T, s *Server, token, target string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.Addr()+target, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, b}
}

// events asks a query and returns its events, as bizStep@offset (the
// event's time in milliseconds after journalStart), and the answer.
func events(t *testing.T, s *Server, query string) ([]string, answer) {
	t.Helper()
	a := epcisGet(t, s, serviceToken, "/epcis/events"+query)
	require.Equal(t, 200, a.status, "%s: %s", query, a.body)
	var doc epcis.QueryDocument
	require.NoError(t, json.Unmarshal(a.body, &doc))
	require.Equal(t, "SimpleEventQuery", doc.Body.QueryResults.QueryName)
	require.NotNil(t, doc.Body.QueryResults.ResultsBody.EventList, "an empty result is an empty list: %s", a.body)
	out := []string{}
	for _, raw := range doc.Body.QueryResults.ResultsBody.EventList {
		ev, err := epcis.DecodeEvent(raw)
		require.NoError(t, err)
		b := ev.Common()
		out = append(out, b.BizStep+"@"+b.EventTime.Sub(journalStart).String())
	}
	return out, a
}

var everyEvent = []string{"commissioning@1ms", "commissioning@2ms", "commissioning@3ms", "packing@4ms", "packing@5ms",
	"unpacking@6ms", "destroying@7ms", "shipping@8ms"}

func TestEPCISEventsAnswersTheJournal(t *testing.T) {
	s := journalled(t)
	all, a := events(t, s, "")
	require.Equal(t, everyEvent, all)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	assert.Equal(t, "2.0.0", a.header.Get("GS1-EPCIS-Version"))
	assert.Equal(t, "2.0.0", a.header.Get("GS1-CBV-Version"))
	assert.Empty(t, a.header.Get("Link"), "one page holds them all")
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"), "serials are not cached")
	epcisschema.Load(t).Require(t, a.body, "the query document")
	var doc epcis.QueryDocument
	require.NoError(t, json.Unmarshal(a.body, &doc))
	assert.Equal(t, "EPCISQueryDocument", doc.Type)
	assert.Equal(t, "2.0", doc.SchemaVersion)
	// Each event as journalled: anyone recomputes its eventID.
	for _, raw := range doc.Body.QueryResults.ResultsBody.EventList {
		ev, err := epcis.DecodeEvent(raw)
		require.NoError(t, err)
		id, err := epcis.EventHash(raw, epcis.DefaultNamespaces)
		require.NoError(t, err)
		assert.Equal(t, ev.Common().EventID, id)
	}

	s2, err := epcis.IDs{}.SGTIN(jGTIN, "S2")
	require.NoError(t, err)
	case1, err := epcis.IDs{}.SSCC(jSSCC1)
	require.NoError(t, err)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// Time: GE takes its millisecond, LT leaves it out; an offset's +
		// as %2B, or left bare (a space when read).
		{"?GE_eventTime=2026-12-01T10:00:00.002%2B01:00&LT_eventTime=2026-12-01T09:00:00.004Z", everyEvent[1:3]},
		{"?GE_eventTime=2026-12-01T10:00:00.007+01:00", everyEvent[6:]},
		{"?LT_eventTime=2026-12-01T09:00:00.0015Z", everyEvent[:1]},
		{"?eventType=AggregationEvent", everyEvent[3:6]},
		{"?eventType=TransactionEvent", []string{}},
		{"?EQ_bizStep=packing", everyEvent[3:5]},
		{"?EQ_bizStep=https://ref.gs1.org/cbv/BizStep-packing", everyEvent[3:5]},
		{"?EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping", everyEvent[7:]},
		{"?EQ_bizStep=https://example.com/steps/gluing", []string{}},
		// By EPC: in epcList, childEPCs or parentID.
		{"?MATCH_anyEPC=" + url.QueryEscape(s2), []string{"commissioning@2ms", "packing@4ms", "unpacking@6ms", "destroying@7ms"}},
		{"?MATCH_epc=" + url.QueryEscape(case1), everyEvent[3:6]},
		{"?MATCH_anyEPC=" + url.QueryEscape(case1) + "&eventType=AggregationEvent&EQ_bizStep=unpacking", everyEvent[5:6]},
	} {
		got, _ := events(t, s, tc.query)
		assert.Equal(t, tc.want, got, tc.query)
	}

	var first struct {
		EventID string `json:"eventID"`
	}
	require.NoError(t, json.Unmarshal(doc.Body.QueryResults.ResultsBody.EventList[3], &first))
	got, _ := events(t, s, "?EQ_eventID="+url.QueryEscape(first.EventID))
	assert.Equal(t, everyEvent[3:4], got)
}

// A long answer comes a page at a time: each page's Link header leads to
// the next, with the query's other parameters, until the last has none.
func TestEPCISEventsPages(t *testing.T) {
	s := journalled(t)
	link := regexp.MustCompile(`^<(/epcis/events\?[^>]+)>; rel="next"$`)
	for _, tc := range []struct {
		query string
		pages [][]string
	}{
		{"?perPage=3", [][]string{everyEvent[:3], everyEvent[3:6], everyEvent[6:]}},
		{"?perPage=4", [][]string{everyEvent[:4], everyEvent[4:]}},
		{"?eventType=ObjectEvent&perPage=2", [][]string{everyEvent[:2], {everyEvent[2], everyEvent[6]}, everyEvent[7:]}},
	} {
		next := "/epcis/events" + tc.query
		for i, want := range tc.pages {
			got, a := events(t, s, strings.TrimPrefix(next, "/epcis/events"))
			require.Equal(t, want, got, "%s page %d", tc.query, i+1)
			m := link.FindStringSubmatch(a.header.Get("Link"))
			if i == len(tc.pages)-1 {
				require.Nil(t, m, "the last page has no next: %q", a.header.Get("Link"))
				break
			}
			require.NotNil(t, m, "%s page %d: Link %q", tc.query, i+1, a.header.Get("Link"))
			next = m[1]
			u, err := url.Parse(next)
			require.NoError(t, err)
			orig, err := url.ParseQuery(strings.TrimPrefix(tc.query, "?"))
			require.NoError(t, err)
			for k := range orig {
				assert.Equal(t, orig.Get(k), u.Query().Get(k), "the next page keeps %s", k)
			}
			assert.NotEmpty(t, u.Query().Get("nextPageToken"))
		}
	}
	// The default page holds them all; at most 1000 a page.
	got, _ := events(t, s, "?perPage=1000")
	assert.Equal(t, everyEvent, got)
}

// A parameter the agent does not answer, or a value that breaks its rule,
// is a QueryParameterException naming the parameter and the rule: never an
// answer that quietly ignores it.
func TestEPCISEventsRefusesBadParameters(t *testing.T) {
	s := journalled(t)
	for query, detail := range map[string]string{
		"?EQ_action=ADD":                    "EQ_action: not a parameter this agent answers; it answers GE_eventTime, LT_eventTime, eventType, EQ_bizStep, MATCH_anyEPC, MATCH_epc, EQ_eventID, perPage, nextPageToken",
		"?eventtype=ObjectEvent":            "eventtype: not a parameter this agent answers",
		"?GE_eventTime=yesterday":           `GE_eventTime: must be a time in RFC 3339 with its offset, e.g. 2026-12-01T10:00:00Z or 2026-12-01T10:00:00%2B01:00; got "yesterday"`,
		"?LT_eventTime=2026-12-01T10:00:00": "LT_eventTime: must be a time in RFC 3339 with its offset",
		"?GE_eventTime=2026-12-02T00:00:00Z&LT_eventTime=2026-12-01T00:00:00Z": "LT_eventTime: must be after GE_eventTime",
		"?eventType=objectevent":                            `eventType: must be one of ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent; got "objectevent"`,
		"?eventType=ObjectEvent|AggregationEvent":           "eventType: give one value; this agent does not take a list (a|b)",
		"?eventType=ObjectEvent&eventType=AggregationEvent": "eventType: give it once",
		"?EQ_bizStep=":       "EQ_bizStep: empty; give a value or leave the parameter out",
		"?EQ_bizStep=packng": `EQ_bizStep: "packng" is not a CBV 2.0 business step; give one such as commissioning, packing or shipping, or a URI`,
		"?EQ_bizStep=https://ref.gs1.org/cbv/BizStep-packng": `EQ_bizStep: "https://ref.gs1.org/cbv/BizStep-packng" is not a CBV 2.0 business step`,
		"?MATCH_anyEPC=S2": `MATCH_anyEPC: must be an EPC as the journal writes it, a GS1 Digital Link (https://id.gs1.org/01/…/21/…) or an EPC URN (urn:epc:id:…); got "S2"`,
		"?MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*": "MATCH_epc: EPC patterns are not answered; give one EPC",
		"?MATCH_anyEPC=urn:x:1&MATCH_epc=urn:x:2":         "MATCH_epc: give MATCH_anyEPC or MATCH_epc, not both",
		"?perPage=0":        `perPage: must be a whole number from 1 to 1000; got "0"`,
		"?perPage=1001":     `perPage: must be a whole number from 1 to 1000; got "1001"`,
		"?perPage=ten":      "perPage: must be a whole number from 1 to 1000",
		"?nextPageToken=42": "nextPageToken: not a token this agent gave; take it from the Link header of the page before",
		"?a=%zz":            "the query string is not well formed",
	} {
		a := epcisGet(t, s, serviceToken, "/epcis/events"+query)
		require.Equal(t, 400, a.status, "%s: %s", query, a.body)
		p := readProblem(t, a)
		assert.Equal(t, "epcisException:QueryParameterException", p.Type, query)
		assert.Equal(t, 400, p.Status, query)
		assert.NotEmpty(t, p.Title, query)
		assert.Contains(t, p.Detail, detail, query)
	}
}

func readProblem(t *testing.T, a answer) problem {
	t.Helper()
	assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
	var p problem
	require.NoError(t, json.Unmarshal(a.body, &p), string(a.body))
	assert.Equal(t, a.status, p.Status)
	return p
}

// The journal shows serials: a person or the service token, as the other
// reads of serials; the refusal is the binding's SecurityException.
func TestEPCISEventsNeedAPerson(t *testing.T) {
	s := journalled(t)
	for _, token := range []string{"", "erp-token-0123456789", "not-a-token-0123456789"} {
		for _, path := range []string{"/epcis/events", "/epcis/events/x"} {
			a := epcisGet(t, s, token, path)
			require.Equal(t, 401, a.status, "%s with %q: %s", path, token, a.body)
			p := readProblem(t, a)
			assert.Equal(t, "epcisException:SecurityException", p.Type)
			assert.Equal(t, "Unauthorised request", p.Title)
			assert.NotContains(t, string(a.body), "urn:", "no event leaks")
		}
	}
	oli := login(t, s, "oli", operatorPW)
	code, body := oli.get("/epcis/events?eventType=ObjectEvent")
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, `"bizStep":"commissioning"`, "an operator reads the journal")
}

// One event by its eventID, percent-encoded in the path; a path or method
// no route has is a problem too.
func TestEPCISEventByID(t *testing.T) {
	s := journalled(t)
	_, a := events(t, s, "?EQ_bizStep=shipping")
	var doc epcis.QueryDocument
	require.NoError(t, json.Unmarshal(a.body, &doc))
	shipping := doc.Body.QueryResults.ResultsBody.EventList[0]
	var ev struct {
		EventID string `json:"eventID"`
	}
	require.NoError(t, json.Unmarshal(shipping, &ev))
	require.True(t, strings.HasPrefix(ev.EventID, "ni:///sha-256;"), ev.EventID)

	one := epcisGet(t, s, serviceToken, "/epcis/events/"+url.PathEscape(ev.EventID))
	require.Equal(t, 200, one.status, string(one.body))
	epcisschema.Load(t).Require(t, one.body, "the event's query document")
	var got epcis.QueryDocument
	require.NoError(t, json.Unmarshal(one.body, &got))
	require.Len(t, got.Body.QueryResults.ResultsBody.EventList, 1)
	assert.JSONEq(t, string(shipping), string(got.Body.QueryResults.ResultsBody.EventList[0]))
	assert.Equal(t, "2.0.0", one.header.Get("GS1-EPCIS-Version"))

	for path, want := range map[string]struct {
		status int
		typ    string
		detail string
	}{
		"/epcis/events/" + url.PathEscape("ni:///sha-256;00?ver=CBV2.0"): {404, "epcisException:NoSuchNameException",
			`event "ni:///sha-256;00?ver=CBV2.0": the journal has no event with this eventID`},
		"/epcis/events/" + url.PathEscape(ev.EventID) + "?perPage=2": {400, "epcisException:QueryParameterException", "perPage: this route takes no query parameters"},
		"/epcis/capture": {404, "about:blank", "no such endpoint: GET /epcis/capture; this agent answers GET /epcis/events and GET /epcis/events/{eventID}"},
	} {
		a := epcisGet(t, s, serviceToken, path)
		require.Equal(t, want.status, a.status, "%s: %s", path, a.body)
		p := readProblem(t, a)
		assert.Equal(t, want.typ, p.Type, path)
		assert.Equal(t, want.detail, p.Detail, path)
	}

	req, err := http.NewRequest("POST", "http://"+s.Addr()+"/epcis/events", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+serviceToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 405, resp.StatusCode, string(b))
	assert.Equal(t, "GET", resp.Header.Get("Allow"))
	p := readProblem(t, answer{resp.StatusCode, resp.Header, b})
	assert.Equal(t, "POST is not allowed on /epcis/events: use GET", p.Detail)
}
