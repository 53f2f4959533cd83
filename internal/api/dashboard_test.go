package api

import (
	"context"
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

	"github.com/edgeagent/edgeagent/internal/gs1"
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
		return []PrinterStatus{{Tag: "p1", URL: "tcp://10.0.0.5:9100", State: "paused", Faults: []string{"media out"}, Printed: 3}}
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
		"status": true, "station": true, "verdict": true}
	for name, f := range fams {
		assert.True(t, strings.HasPrefix(name, "edgeagent_"), name)
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				assert.True(t, allowed[lp.GetName()], "%s has label %s: no serials or SSCCs as label values", name, lp.GetName())
			}
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
		if !strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/api/v1/") && path != "/metrics" && path != "/healthz" && path != "/readyz" {
			continue
		}
		n++
		ops, ok := doc.Paths[path]
		require.True(t, ok, "openapi.yaml has no path %s", path)
		assert.Contains(t, ops, strings.ToLower(method), "openapi.yaml has no %s %s", method, path)
	}
	assert.Greater(t, n, 25)
}

func TestDashboardPagesAndLogin(t *testing.T) {
	s, _ := withWork(t)
	base := "http://" + s.Addr()
	for _, p := range []string{"/", "/orders", "/printers", "/stations", "/queue", "/templates", "/audit", "/station/case-1", "/login", "/static/app.js", "/templates/pack.png"} {
		code, body := get(t, base+p)
		require.Equal(t, 200, code, p)
		assert.NotContains(t, body, "erp-token-0123456789", p)
	}
	_, overview := get(t, base+"/")
	assert.Contains(t, overview, "Printer p1 is paused: media out")
	assert.Contains(t, overview, "LO-1")

	// An action without a session or token is refused; a session without
	// its CSRF token too.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path, body, csrf string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 401, post("/api/v1/stations/case-1/command", `{"command":"CMD:CANCEL"}`, ""))
	resp, err := c.PostForm(base+"/login", url.Values{"user": {"Ana"}, "token": {"wrong"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	resp, err = c.PostForm(base+"/login", url.Values{"user": {"Ana"}, "token": {"erp-token-0123456789"}, "next": {"/queue"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 303, resp.StatusCode)
	assert.Equal(t, "/queue", resp.Header.Get("Location"))
	resp, err = c.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<meta name="csrf" content="([0-9a-f]+)">`).FindSubmatch(page)
	require.NotNil(t, m, "the page carries the session's CSRF token")
	csrf := string(m[1])
	assert.Equal(t, 401, post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, ""), "no CSRF token")
	assert.Equal(t, 401, post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, "0000"), "wrong CSRF token")
	assert.Equal(t, 400, post("/api/v1/stations/case-1/command", `{"command":"CMD:NEW"}`, csrf), "only close and cancel")
	assert.Equal(t, 409, post("/api/v1/stations/case-1/command", `{"command":"CMD:CLOSE"}`, csrf), "nothing open")
	code, body := get(t, base+"/audit")
	require.Equal(t, 200, code)
	assert.NotContains(t, body, "user:Ana", "refusals change nothing")
	st, _ := s.cfg.Line.Stations.Get("case-1")
	msg, err := gs1.Parse([]byte("(00)095060001343521236"))
	require.NoError(t, err)
	v, err := st.Handle(context.Background(), stations.Scan{Raw: []byte("x"), GS1: msg})
	require.NoError(t, err)
	require.Equal(t, "opened", v.Code, v.Message)
	assert.Equal(t, 200, post("/api/v1/stations/case-1/command", `{"command":"CMD:CANCEL"}`, csrf))
	_, body = get(t, base+"/audit")
	assert.Contains(t, body, "user:Ana", "the audit log names the person")
	assert.Contains(t, body, "container.cancel")
}
