package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/edgeagent/edgeagent/internal/api/apitest"
	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/queue"
	"github.com/edgeagent/edgeagent/internal/stations"
	v2 "github.com/edgeagent/edgeagent/internal/v2"
	"github.com/edgeagent/edgeagent/internal/zpl"
)

// withWork gives the line a printed label order, a station with a case
// and the dashboard's other sources.
func withWork(t *testing.T) (*Server, *Line) {
	s, l := v2Server(t, true)
	ctx := context.Background()
	_, err := l.Stations.Add(ctx, stations.StationConfig{Name: "case-1"})
	require.NoError(t, err)
	_, err = l.Orders.CreatePackagingOrder(ctx, "erp", v2.PackagingOrder{OrderID: "PO-1", ProductCode: "09506000134352", ProductCodeSchema: "GTIN", Batch: "AB12", ExpiryDate: "261231"})
	require.NoError(t, err)
	q := 3
	require.NoError(t, l.Orders.CreateLabelOrder(ctx, "erp", v2.LabelOrder{OrderID: "LO-1", ProductCode: "09506000134352", ProductCodeSchema: "GTIN",
		Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack", Execute: true}))
	s.cfg.Printers = func() []PrinterStatus {
		return []PrinterStatus{{Tag: "p1", URL: "tcp://10.0.0.5:9100", State: "paused", Faults: []string{"media out"}, Printed: 40, PrintedSinceStart: 3}}
	}
	s.cfg.Templates = zpl.Builtin()
	s.cfg.Version = "1.2.3"
	return s, l
}

func TestMetricsParse(t *testing.T) {
	s, l := withWork(t)
	st, _ := l.Stations.Get("case-1")
	_, err := st.Handle(context.Background(), stations.Scan{Source: "t", Raw: []byte("x"), Plain: "x"})
	require.NoError(t, err)
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	for _, name := range []string{"edgeagent_build_info", "edgeagent_printer_up", "edgeagent_printer_state", "edgeagent_labels",
		"edgeagent_serials", "edgeagent_label_orders", "edgeagent_station_scans_total", "edgeagent_goroutines"} {
		require.Contains(t, fams, name)
	}
	allowed := map[string]bool{"version": true, "goversion": true, "state": true, "printer": true, "gtin": true, "level": true,
		"status": true, "station": true, "verdict": true, "line": true}
	for name, f := range fams {
		assert.True(t, strings.HasPrefix(name, "edgeagent_"), name)
		for _, m := range f.GetMetric() {
			line := ""
			for _, lp := range m.GetLabel() {
				assert.True(t, allowed[lp.GetName()], "%s has label %s: no serials or SSCCs as label values", name, lp.GetName())
				if lp.GetName() == "line" {
					line = lp.GetValue()
				}
			}
			assert.Equal(t, "line-1", line, "%s carries the line's name, so that a site's Prometheus tells the lines apart", name)
		}
	}
	var refused float64
	for _, m := range fams["edgeagent_station_scans_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetValue() == "refused" {
				refused = m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, 1.0, refused)
	assert.Equal(t, 3.0, fams["edgeagent_printer_labels_printed_total"].GetMetric()[0].GetCounter().GetValue())
}

// Every route of the local API is described in the OpenAPI document.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s, _ := withWork(t)
	code, body := get(t, "http://"+s.Addr()+"/api/openapi.yaml")
	require.Equal(t, 200, code)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(body), &doc))
	n := 0
	for _, r := range s.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if !apitest.InScope(path) {
			continue
		}
		n++
		ops, ok := doc.Paths[path]
		require.True(t, ok, "openapi.yaml has no path %s", path)
		assert.Contains(t, ops, strings.ToLower(method), "openapi.yaml has no %s %s", method, path)
	}
	assert.Greater(t, n, 25)
}

// session is a browser logged in as someone.
type session struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

// login logs a person in as a browser would (the form, from this site).
func login(t *testing.T, s *Server, name, password string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	se := &session{t: t, base: "http://" + s.Addr(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	code, loc := se.form("/login", url.Values{"user": {name}, "password": {password}, "next": {"/queue"}})
	require.Equal(t, 303, code, "login of %s", name)
	require.Equal(t, "/queue", loc)
	code, page := se.get("/")
	require.Equal(t, 200, code)
	m := regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`).FindStringSubmatch(page)
	require.NotNil(t, m, "the page carries the session's CSRF token")
	se.csrf = m[1]
	return se
}

// form posts a form from this site and returns the status and Location.
func (se *session) form(path string, v url.Values) (int, string) {
	req, _ := http.NewRequest("POST", se.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", se.base)
	resp, err := se.c.Do(req)
	require.NoError(se.t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func (se *session) get(path string) (int, string) {
	resp, err := se.c.Get(se.base + path)
	require.NoError(se.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends JSON with the session's CSRF token (csrf "" leaves it out).
func (se *session) post(path, body, csrf string) (int, string) {
	req, _ := http.NewRequest("POST", se.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := se.c.Do(req)
	require.NoError(se.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDashboardPagesAndLogin(t *testing.T) {
	s, _ := withWork(t)
	anon := &session{t: t, base: "http://" + s.Addr(), c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, p := range []string{"/", "/orders", "/printers", "/stations", "/queue", "/templates", "/audit", "/station/case-1", "/templates/pack.png", "/ui/live?page=overview"} {
		code, _ := anon.get(p)
		assert.Equal(t, 303, code, "%s shows serials, SSCCs or the audit trail: a login first", p)
	}
	for _, p := range []string{"/login", "/static/app.js", "/healthz"} {
		code, _ := anon.get(p)
		assert.Equal(t, 200, code, p)
	}
	se := login(t, s, "ana", supervisorPW)
	for _, p := range []string{"/", "/orders", "/printers", "/stations", "/queue", "/templates", "/audit", "/station/case-1", "/templates/pack.png"} {
		code, body := se.get(p)
		require.Equal(t, 200, code, p)
		assert.NotContains(t, body, serviceToken, p)
	}
	_, overview := se.get("/")
	assert.Contains(t, overview, "Printer p1 is paused: media out")
	assert.Contains(t, overview, "LO-1")
	assert.Contains(t, overview, "ana (supervisor)")

	code, _ := se.post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, "")
	assert.Equal(t, 403, code, "no CSRF token")
	code, _ = se.post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, "0000")
	assert.Equal(t, 403, code, "wrong CSRF token")
	code, _ = se.post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, se.csrf)
	assert.Equal(t, 400, code, "only close and cancel")
	code, _ = se.post("/api/v1/stations/case-1/command", `{"command":"CMD:CLOSE"}`, se.csrf)
	assert.Equal(t, 409, code, "nothing open")
	code, body := se.get("/audit")
	require.Equal(t, 200, code)
	assert.NotContains(t, body, "container.cancel", "refusals change nothing")
	st, _ := s.cfg.Line.Stations.Get("case-1")
	msg, err := gs1.Parse([]byte("(00)095060001343521236"))
	require.NoError(t, err)
	v, err := st.Handle(context.Background(), stations.Scan{Raw: []byte("x"), GS1: msg})
	require.NoError(t, err)
	require.Equal(t, "opened", v.Code, v.Message)
	code, _ = se.post("/api/v1/stations/case-1/command", `{"command":"CMD:CANCEL"}`, se.csrf)
	assert.Equal(t, 200, code)
	_, body = se.get("/audit")
	assert.Contains(t, body, "user:ana", "the audit log names the person")
	assert.Contains(t, body, "container.cancel")
	assert.Contains(t, body, `id="live" data-page="audit"`, "the whole log follows what happens")
	_, body = se.get("/audit?action=container.cancel")
	assert.Contains(t, body, "container.cancel")
	assert.NotContains(t, body, "label_order.create", "the filter keeps only the action asked for")
	assert.NotContains(t, body, `id="live"`, "a search is not replaced by the whole log a second later")
	_, body = se.get("/audit?user=user:nobody")
	assert.Contains(t, body, "Nothing matches.")
}

// A label order stored without execute is released from the dashboard.
func TestReleaseFromTheDashboard(t *testing.T) {
	s, l := withWork(t)
	q := 2
	require.NoError(t, l.Orders.CreateLabelOrder(context.Background(), "erp", v2.LabelOrder{OrderID: "LO-HOLD", ProductCode: "09506000134352",
		ProductCodeSchema: "GTIN", Batch: "AB12", Quantity: &q, DestinationTag: "p1", TemplateTag: "pack"}))
	se := login(t, s, "ana", supervisorPW)
	_, page := se.get("/orders")
	assert.Contains(t, page, `data-api="/api/v1/label-orders/LO-HOLD/resume"`, "a Release button")
	assert.Contains(t, page, `<a href="/api/openapi.yaml">`, "the footer links the API description")
	code, body := se.post("/api/v1/label-orders/LO-HOLD/resume", `{}`, se.csrf)
	require.Equal(t, 200, code, body)
	status, _, err := l.Orders.Status(context.Background(), "LO-HOLD")
	require.NoError(t, err)
	assert.NotEqual(t, "created", string(status))
}

// A retry from the queue page is followed to its outcome: the page reads
// the item after the retry (the cloud's answer, not a bare "Done.").
func TestRetryIsFollowedToItsOutcome(t *testing.T) {
	s, _ := withWork(t)
	ctx := context.Background()
	id, err := queue.New(s.cfg.DB).EnqueueNow(ctx, queue.Item{Kind: "commission", Stream: "x", Key: "09506000134352/RETRY1", Payload: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, queue.Park(ctx, s.cfg.DB, id, "ana", "held for the test"))
	se := login(t, s, "ana", supervisorPW)
	_, page := se.get("/queue")
	assert.Contains(t, page, fmt.Sprintf(`data-follow="/api/v1/queue/%d"`, id), "the Retry button follows the item")

	code, body := se.get(fmt.Sprintf("/api/v1/queue/%d", id))
	require.Equal(t, 200, code, body)
	var rec queue.Record
	require.NoError(t, json.Unmarshal([]byte(body), &rec))
	assert.Equal(t, queue.StateParked, rec.State)
	assert.Equal(t, "parked by ana: held for the test", rec.LastError)

	code, body = se.post(fmt.Sprintf("/api/v1/queue/%d/retry", id), `{"reason":"fixed"}`, se.csrf)
	require.Equal(t, 200, code, body)
	_, body = se.get(fmt.Sprintf("/api/v1/queue/%d", id))
	require.NoError(t, json.Unmarshal([]byte(body), &rec))
	assert.Equal(t, queue.StatePending, rec.State)
	assert.Equal(t, 0, rec.Attempts)

	code, body = se.get("/api/v1/queue/999999")
	assert.Equal(t, 404, code, body)
	code, body = se.get("/api/v1/queue/nope")
	assert.Equal(t, 400, code, "not a number: the client's mistake, naming the item: %s", body)
	assert.Contains(t, body, `item \"nope\": must be an outbox item number`)
	code, body = se.post("/api/v1/queue/999999/retry", `{}`, se.csrf)
	assert.Equal(t, 404, code, "an unknown item is not found, not a conflict: %s", body)
}
