package apitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const doc = `openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: /}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    V2Answer: {type: object, required: [success, message], properties: {success: {type: boolean}, message: {type: string}}}
    Error: {type: object, required: [error], properties: {error: {type: string}}}
security: [{bearer: []}]
paths:
  /api/v1/things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: state, in: query, schema: {type: string, enum: [open, closed]}}
      responses:
        "200": {description: a thing, content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: integer}}}}}}
        "400": {description: bad, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        "500": {description: fault, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
  /api/v1/empty:
    post:
      responses:
        "200": {description: nothing}
`

func exchange(method, target, auth string, status int, ct, body string) Exchange {
	r := httptest.NewRequest(method, target, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return Exchange{Request: r, Status: status, Header: h, Body: []byte(body)}
}

// Each rule of the check, passed and broken.
func TestCheck(t *testing.T) {
	v := MustNew(t, []byte(doc))
	const bearer = "Bearer x"
	for _, tc := range []struct {
		name string
		ex   Exchange
		err  string // "" = in the document
	}{
		{"documented", exchange("GET", "/api/v1/things/1", bearer, 200, "application/json", `{"id":1}`), ""},
		{"documented refusal", exchange("GET", "/api/v1/things/1?state=weird", bearer, 400, "application/json", `{"error":"state: …"}`), ""},
		{"undocumented status", exchange("GET", "/api/v1/things/1", bearer, 418, "application/json", `{"error":"x"}`),
			"GET /api/v1/things/1 answered 418: status 418 is not documented for GET /api/v1/things/{id} (it documents 200, 400, 500)"},
		{"body off the schema", exchange("GET", "/api/v1/things/1", bearer, 200, "application/json", `{"id":"one"}`), "answered 200: answer body: at /id:"},
		{"content type off", exchange("GET", "/api/v1/things/1", bearer, 200, "text/plain", `id 1`), `answered 200: response header Content-Type has unexpected value: "text/plain"`},
		{"a body where the document has none", exchange("POST", "/api/v1/empty", bearer, 200, "application/json", `{"ok":true}`), "the document gives no content for 200"},
		{"no such operation", exchange("GET", "/api/v1/nothing", bearer, 200, "application/json", `{}`), "GET /api/v1/nothing answered 200: no operation in the document"},
		{"no such operation, 404 in shape", exchange("GET", "/api/v1/nothing", bearer, 404, "application/json", `{"error":"no such endpoint"}`), ""},
		{"no such operation, 405 in shape", exchange("DELETE", "/api/v1/things/1", bearer, 405, "application/json", `{"error":"use GET"}`), ""},
		{"no such operation, 404 as text", exchange("GET", "/api/v1/nothing", bearer, 404, "text/plain", "404 page not found"), "not the API's JSON error"},
		{"no such V2 operation, /api/v1's shape", exchange("GET", "/v1/manufacturer/v2/api/x", bearer, 404, "application/json", `{"error":"x"}`), "not its API's error (V2Answer)"},
		{"a refused request taken", exchange("GET", "/api/v1/things/1?state=weird", bearer, 200, "application/json", `{"id":1}`),
			"the document refuses this request, the server took it: parameter state in query: at /: value is not one of the allowed values"},
		{"a refused request answered 500", exchange("GET", "/api/v1/things/x", bearer, 500, "application/json", `{"error":"x"}`), "a request the document refuses is the client's mistake"},
		{"no credentials, taken", exchange("GET", "/api/v1/things/1", "", 200, "application/json", `{"id":1}`), "credentials: none of the documented ones (no bearer)"},
		{"out of scope", exchange("GET", "/orders", "", 418, "text/html", `<p>`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(tc.ex)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			assert.True(t, strings.HasPrefix(err.Error(), "openapi.yaml: "), err.Error())
		})
	}
}

func TestNewRefusesABrokenDocument(t *testing.T) {
	_, err := New([]byte(strings.Replace(doc, "required: [id]", "required: id", 1)))
	assert.Error(t, err)
	_, err = New([]byte(strings.Replace(doc, "    V2Answer:", "    V2:", 1)))
	assert.ErrorContains(t, err, "no schema V2Answer", "the error shape of unknown V2 paths")
}

// spy is a test whose failures are kept.
type spy struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (s *spy) Error(args ...any) {
	s.mu.Lock()
	s.errs = append(s.errs, fmt.Sprint(args...))
	s.mu.Unlock()
}

func (s *spy) Errorf(format string, args ...any) {
	s.mu.Lock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *spy) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

// thing answers as the document says for id 1, and 418 for id 2.
var thing = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/v1/things/2" {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"error":"tea"}`)
		return
	}
	_, _ = io.WriteString(w, `{"id":1}`)
})

// Handler and Transport fail the test for an exchange off the document,
// and pass the answer on unchanged.
func TestHandlerAndTransportReportToTheTest(t *testing.T) {
	v := MustNew(t, []byte(doc))
	get := func(c *http.Client, url string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	server := &spy{TB: t}
	srv := httptest.NewServer(Handler(server, v, thing))
	defer srv.Close()
	code, body := get(http.DefaultClient, srv.URL+"/api/v1/things/1")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"id":1}`, body)
	assert.Empty(t, server.failures())
	code, _ = get(http.DefaultClient, srv.URL+"/api/v1/things/2")
	assert.Equal(t, 418, code)
	require.Len(t, server.failures(), 1)
	assert.Contains(t, server.failures()[0], "GET /api/v1/things/2 answered 418: status 418 is not documented")

	client := &spy{TB: t}
	plain := httptest.NewServer(thing)
	defer plain.Close()
	code, body = get(Client(client, v), plain.URL+"/api/v1/things/1")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"id":1}`, body, "the client reads the body the check read")
	assert.Empty(t, client.failures())
	get(Client(client, v), plain.URL+"/api/v1/things/2")
	require.Len(t, client.failures(), 1)
	assert.Contains(t, client.failures()[0], "GET /api/v1/things/2 answered 418")
}
