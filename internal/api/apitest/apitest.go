// Package apitest checks, in tests, that the local API answers as its
// OpenAPI document (internal/api/openapi.yaml) says: every request a test
// sends to /v1/manufacturer/v2/api/…, /api/v1/…, /epcis/…, /healthz,
// /readyz or /metrics and the answer it gets are validated against the document with
// kin-openapi's openapi3filter. A test fails, naming the method, the path
// and the status, when
//
//   - the answer's operation is not in the document: a path or method no
//     operation has may only be answered 404 or 405, in the error shape of
//     its API (the V2 answer under the V2 prefix, {"error"} under /api/v1);
//   - the status is not one the operation documents;
//   - the content type or the body does not match what the document gives
//     for that status (an answer with a body where the document gives
//     none fails too);
//   - the request breaks the document (a parameter, the body, the
//     credentials) and yet was answered 2xx (the server takes what the
//     document refuses: one of them is wrong) or 5xx (a client's mistake
//     answered as the agent's fault).
//
// Other paths (the dashboard's HTML pages, /login, /logout, /static/…,
// /station/…, /templates/…, /ui/live and /api/openapi.yaml itself) are not
// operations of the document and are let through unchecked, by their path
// prefix (see InScope).
//
// Handler wraps a server's handler, so that every request any client of a
// test makes is checked; Transport wraps a client's, for servers a test
// does not build itself (the agent's).
package apitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The document's error shapes, for the answers to paths it has no
// operation for.
const (
	v2Prefix    = "/v1/manufacturer/v2/api/"
	v2ErrSchema = "V2Answer"
	v1ErrSchema = "Error"
)

// InScope reports whether a path is one the document describes: the V2
// API, /api/v1, the EPCIS query routes under /epcis/ and the health and
// metrics endpoints. The dashboard's pages and assets are not.
func InScope(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/epcis/")
}

// Validator checks requests and answers against one document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	cacheMu sync.Mutex
	cache   = map[[32]byte]*Validator{}
)

// New loads and validates the document (YAML or JSON). Validators are
// kept by the document's content: a test suite loads it once.
func New(doc []byte) (*Validator, error) {
	key := sha256.Sum256(doc)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if v, ok := cache[key]; ok {
		return v, nil
	}
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml does not load: %w", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	for _, name := range []string{v2ErrSchema, v1ErrSchema} {
		if t.Components == nil || t.Components.Schemas[name] == nil {
			return nil, fmt.Errorf("openapi.yaml has no schema %s in components", name)
		}
	}
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	v := &Validator{doc: t, router: r}
	cache[key] = v
	return v, nil
}

// MustNew is New for a test: it fails the test when the document does not
// load.
func MustNew(t testing.TB, doc []byte) *Validator {
	t.Helper()
	v, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Exchange is one request and the answer it got.
type Exchange struct {
	Request     *http.Request // its URL path and query, method and headers
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
	// Streamed: the answer is a stream (text/event-stream) whose body was
	// not kept; only its status and content type are checked.
	Streamed bool
}

// Check validates one exchange; nil when it is in the document, or out of
// its scope. The error names the method, the path and the status.
func (v *Validator) Check(ex Exchange) error {
	r := ex.Request
	if !InScope(r.URL.Path) {
		return nil
	}
	if err := v.check(ex); err != nil {
		return fmt.Errorf("openapi.yaml: %s %s answered %d: %w", r.Method, r.URL.RequestURI(), ex.Status, err)
	}
	return nil
}

func (v *Validator) check(ex Exchange) error {
	ctx := context.Background()
	req := routable(ex.Request, ex.RequestBody)
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return v.checkUnrouted(ex, err)
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    credentialsPresent,
		SkipSettingDefaults:   true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.DisableSchemaErrorDetails(),
		},
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	switch {
	case reqErr != nil && ex.Status < 300:
		return fmt.Errorf("the document refuses this request, the server took it: %s", brief(reqErr))
	case reqErr != nil && ex.Status >= 500:
		return fmt.Errorf("a request the document refuses is the client's mistake, not a fault of the agent (%s)", brief(reqErr))
	}
	if ref := route.Operation.Responses.Status(ex.Status); ref == nil {
		return fmt.Errorf("status %d is not documented for %s %s (it documents %s)", ex.Status, route.Method, route.Path, documented(route.Operation))
	} else if ref.Value != nil && len(ref.Value.Content) == 0 && len(ex.Body) > 0 {
		return fmt.Errorf("the document gives no content for %d, the answer has %d bytes of %s", ex.Status, len(ex.Body), ex.Header.Get("Content-Type"))
	}
	respOpts := *opts
	respOpts.ExcludeResponseBody = ex.Streamed
	if ex.Streamed {
		if ref := route.Operation.Responses.Status(ex.Status); ref.Value != nil && len(ref.Value.Content) > 0 &&
			ref.Value.Content.Get(ex.Header.Get("Content-Type")) == nil {
			return fmt.Errorf("content type %q is not documented for %d", ex.Header.Get("Content-Type"), ex.Status)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.Status, Header: ex.Header, Options: &respOpts}
	out.SetBodyBytes(ex.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return errors.New(brief(err))
	}
	return nil
}

// checkUnrouted: a path or method the document has no operation for may
// only be answered 404 or 405 in its API's error shape.
func (v *Validator) checkUnrouted(ex Exchange, routeErr error) error {
	if ex.Status != http.StatusNotFound && ex.Status != http.StatusMethodNotAllowed {
		return fmt.Errorf("no operation in the document (%v)", routeErr)
	}
	if !strings.HasPrefix(ex.Request.URL.Path, "/v1/") && !strings.HasPrefix(ex.Request.URL.Path, "/api/v1/") {
		return nil // /healthz and its kin: the server's plain 404 and 405
	}
	name := v1ErrSchema
	if strings.HasPrefix(ex.Request.URL.Path, v2Prefix) {
		name = v2ErrSchema
	}
	if ct := ex.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("no operation in the document, and the answer is %q, not the API's JSON error", ct)
	}
	var body any
	if err := json.Unmarshal(ex.Body, &body); err != nil {
		return fmt.Errorf("no operation in the document, and the answer is not JSON: %v", err)
	}
	if err := v.doc.Components.Schemas[name].Value.VisitJSON(body, openapi3.VisitAsResponse(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return fmt.Errorf("no operation in the document, and the answer is not its API's error (%s): %s", name, brief(err))
	}
	return nil
}

// routable is the request as the router and the validators need it: an
// absolute URL, and a body that can be read again.
func routable(r *http.Request, body []byte) *http.Request {
	u := *r.URL
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	if u.Host == "" {
		u.Host = r.Host
	}
	out := r.Clone(context.Background())
	out.URL = &u
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return out
}

// credentialsPresent checks that the request carries the credential a
// security scheme names (not whether it is valid: the server says that,
// with a documented 401).
func credentialsPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	s := in.SecurityScheme
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return nil
		}
	case s.Type == "apiKey" && s.In == "header":
		if r.Header.Get(s.Name) != "" {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if c, err := r.Cookie(s.Name); err == nil && c.Value != "" {
			return nil
		}
	case s.Type == "apiKey" && s.In == "query":
		if r.URL.Query().Get(s.Name) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s", in.SecuritySchemeName)
}

// documented lists an operation's statuses.
func documented(op *openapi3.Operation) string {
	var out []string
	for code := range op.Responses.Map() {
		out = append(out, code)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// brief is an error of openapi3filter in one line: what broke, where.
func brief(err error) string {
	var parts []string
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(prefix, x)
			}
		case *openapi3filter.SecurityRequirementsError:
			var alts []string
			for _, x := range e.Errors {
				var re *openapi3filter.RequestError
				if errors.As(x, &re) && re.Err != nil {
					alts = append(alts, re.Err.Error())
				} else {
					alts = append(alts, x.Error())
				}
			}
			parts = append(parts, prefix+"credentials: none of the documented ones ("+strings.Join(alts, "; or ")+")")
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				prefix += fmt.Sprintf("parameter %s in %s: ", e.Parameter.Name, e.Parameter.In)
			case e.RequestBody != nil:
				prefix += "request body: "
			}
			if e.Err == nil {
				parts = append(parts, prefix+e.Reason)
				return
			}
			walk(prefix, e.Err)
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				parts = append(parts, prefix+e.Reason)
				return
			}
			walk(prefix+"answer body: ", e.Err)
		case *openapi3.SchemaError:
			parts = append(parts, fmt.Sprintf("%sat /%s: %s", prefix, strings.Join(e.JSONPointer(), "/"), e.Reason))
		default:
			parts = append(parts, prefix+err.Error())
		}
	}
	walk("", err)
	return strings.Join(parts, "; ")
}

// Handler checks every exchange h serves against the document and fails t
// for each one that is not in it. Wrap a server's whole handler (outside
// its rate limiter, so that 429 answers are checked too).
func Handler(t testing.TB, v *Validator, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !InScope(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("apitest: %s %s: reading the request: %v", r.Method, r.URL.Path, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.WriteHeader(http.StatusOK)
		}
		ex := Exchange{Request: r, RequestBody: body, Status: rec.status, Header: rec.header, Body: rec.body.Bytes(), Streamed: rec.streamed}
		if err := v.Check(ex); err != nil {
			t.Error(err)
		}
	})
}

// recorder keeps what a handler answers, and passes it on.
type recorder struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     bytes.Buffer
	streamed bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
		r.streamed = strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream")
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.streamed {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Transport checks every exchange of a client against the document and
// fails t for each one that is not in it; base nil is
// http.DefaultTransport. The answer's body is read before the client gets
// it, except a stream's (text/event-stream).
func Transport(t testing.TB, v *Validator, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{t: t, v: v, base: base}
}

// Client is an http.Client whose exchanges are checked.
func Client(t testing.TB, v *Validator) *http.Client {
	return &http.Client{Transport: Transport(t, v, nil)}
}

type roundTripper struct {
	t    testing.TB
	v    *Validator
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !InScope(req.URL.Path) {
		return rt.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ex := Exchange{Request: withPath(req), RequestBody: body, Status: resp.StatusCode, Header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		ex.Streamed = true
	} else {
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
		ex.Body = data
	}
	if err := rt.v.Check(ex); err != nil {
		rt.t.Error(err)
	}
	return resp, nil
}

// withPath is a client's request as a server sees it (Host from the URL).
func withPath(r *http.Request) *http.Request {
	out := r.Clone(context.Background())
	if out.Host == "" {
		out.Host = r.URL.Host
	}
	u := *r.URL
	out.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	return out
}
