package cloud

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgeagent/edgeagent/internal/v2"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxBody bounds what is read from any answer.
const maxBody = 1 << 20

// Paths are the endpoints under the API prefix. Defaults follow the fact
// sheet; those marked inferred there are configurable for that reason.
type Paths struct {
	Auth                  string // POST, on the host root
	LabelOrders           string // POST
	PackagingOrder        string // POST
	OpenPackagingOrders   string // GET
	PackagingOrderDetails string // GET ?order_id=
	Commission            string // POST [inferred]
	Decommission          string // POST
	Aggregate             string // POST [inferred]; DELETE disaggregates
}

// DefaultPaths are the documented and inferred paths.
var DefaultPaths = Paths{
	Auth:                  "/v1/api_auth",
	LabelOrders:           "/v1/manufacturer/v2/api/label_orders/",
	PackagingOrder:        "/v1/manufacturer/v2/api/packaging_order",
	OpenPackagingOrders:   "/v1/manufacturer/v2/api/packaging_order/open",
	PackagingOrderDetails: "/v1/manufacturer/v2/api/packaging_order/details",
	Commission:            "/v1/manufacturer/v2/api/serials/commission",
	Decommission:          "/v1/manufacturer/v2/api/serials/decommission",
	Aggregate:             "/v1/manufacturer/v2/api/aggregate/container",
}

// Config sets up a Manufacturer V2 client.
type Config struct {
	BaseURL    string // e.g. https://api.movilitas.cloud
	Paths      Paths  // zero fields take DefaultPaths
	ChannelKey string
	// A static token, or an API key and secret for dynamic tokens.
	Token             string
	APIKey, APISecret string
	// BearerToken sends "Authorization: Bearer T" instead of x-access-token.
	BearerToken bool
	Timeout     time.Duration // per request (default 30s)
	CAFile      string        // extra CA certificates (PEM) to trust
	HTTPClient  *http.Client  // tests may set it
}

// Client calls the Manufacturer V2 API. It is safe for concurrent use.
type Client struct {
	cfg   Config
	http  *http.Client
	base  *url.URL
	mu    sync.Mutex
	token string
	until time.Time // when a dynamic token should be renewed
}

// TokenLifetime is how long a dynamic token lives [doc]; it is renewed an
// hour early.
const TokenLifetime = 24 * time.Hour

// New checks the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("cloud base URL %q: must be https://host", cfg.BaseURL)
	}
	if cfg.ChannelKey == "" {
		return nil, errors.New("cloud channel key is required")
	}
	if cfg.Token == "" && (cfg.APIKey == "" || cfg.APISecret == "") {
		return nil, errors.New("cloud auth: give a static token, or an API key and secret")
	}
	fillPaths(&cfg.Paths)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc, err = httpClient(cfg.CAFile)
		if err != nil {
			return nil, err
		}
	}
	return &Client{cfg: cfg, http: sameOriginOnly(hc, u), base: u, token: cfg.Token}, nil
}

// RedirectError is a redirect the client refused to follow: every request
// carries the token and the channel key in its headers (and the auth call
// the API secret in its body, which a 307 or 308 sends again), so they go
// to the configured scheme, host and port and nowhere else.
type RedirectError struct {
	To *url.URL // where the service redirected to, without query or user
}

func (e *RedirectError) Error() string {
	return "the service redirected to " + e.To.String() + ": secrets are only sent to the configured host"
}

// maxRedirects is how many redirects one call follows, as net/http does.
const maxRedirects = 10

// sameOriginOnly returns a copy of hc that follows a redirect only to the
// scheme, host and port of base. A redirect to another host, another port
// or another scheme (https to http above all) ends the call with a
// *RedirectError before anything is sent there. A client's own redirect
// policy, if it has one, still applies to the redirects this one allows.
func sameOriginOnly(hc *http.Client, base *url.URL) *http.Client {
	c := *hc
	next := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(base, req.URL) {
			to := *req.URL
			to.User, to.RawQuery, to.ForceQuery, to.Fragment, to.RawFragment = nil, "", false, "", ""
			return &RedirectError{To: &to}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

// sameOrigin reports whether u has the scheme, host and port of base. Host
// names compare without regard to case; a missing port is the scheme's
// default (https://h and https://h:443 are the same).
func sameOrigin(base, u *url.URL) bool {
	return strings.EqualFold(base.Scheme, u.Scheme) &&
		strings.EqualFold(base.Hostname(), u.Hostname()) &&
		port(base) == port(u)
}

// port is the URL's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

func fillPaths(p *Paths) {
	d := DefaultPaths
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&p.Auth, d.Auth}, {&p.LabelOrders, d.LabelOrders}, {&p.PackagingOrder, d.PackagingOrder},
		{&p.OpenPackagingOrders, d.OpenPackagingOrders}, {&p.PackagingOrderDetails, d.PackagingOrderDetails},
		{&p.Commission, d.Commission}, {&p.Decommission, d.Decommission}, {&p.Aggregate, d.Aggregate},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
}

// maxIdleConns is how many connections to the service the client keeps
// open between requests. The outbox sends several requests at once (one
// per stream it serves, sync.workers), and net/http would keep only two:
// each request beyond them would open a connection, with its TLS
// handshake, and close it after.
const maxIdleConns = 16

// httpClient verifies TLS with the system roots plus caFile.
func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = maxIdleConns
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("cloud CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cloud CA file %s: no PEM certificates", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// Envelope is the success body: {"success":true,"message":…,"data":…}.
type Envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// CreateLabelOrder creates (and with Execute, releases) a label order.
func (c *Client) CreateLabelOrder(ctx context.Context, o LabelOrder) (Envelope, error) {
	if err := o.Validate(); err != nil {
		return Envelope{}, err
	}
	return c.call(ctx, "label order", http.MethodPost, c.cfg.Paths.LabelOrders, nil, o)
}

// CreatePackagingOrder creates a packaging order; it starts Open.
func (c *Client) CreatePackagingOrder(ctx context.Context, o PackagingOrder) (PackagingOrder, error) {
	if err := o.Validate(); err != nil {
		return PackagingOrder{}, err
	}
	env, err := c.call(ctx, "packaging order", http.MethodPost, c.cfg.Paths.PackagingOrder, nil, o)
	if err != nil {
		return PackagingOrder{}, err
	}
	var out PackagingOrder
	return out, c.decodeData("packaging order", env, &out)
}

// OpenPackagingOrders lists the orders in status Open.
func (c *Client) OpenPackagingOrders(ctx context.Context) ([]PackagingOrder, error) {
	env, err := c.call(ctx, "open packaging orders", http.MethodGet, c.cfg.Paths.OpenPackagingOrders, nil, nil)
	if err != nil {
		return nil, err
	}
	var out []PackagingOrder
	return out, c.decodeData("open packaging orders", env, &out)
}

// PackagingOrderDetails reads one order.
func (c *Client) PackagingOrderDetails(ctx context.Context, orderID string) (PackagingOrder, error) {
	var ck v2.Checker
	ck.Required("order_id", orderID)
	ck.Length("order_id", orderID, 255)
	if err := ck.Result(); err != nil {
		return PackagingOrder{}, err
	}
	env, err := c.call(ctx, "packaging order details", http.MethodGet, c.cfg.Paths.PackagingOrderDetails, url.Values{"order_id": {orderID}}, nil)
	if err != nil {
		return PackagingOrder{}, err
	}
	var out PackagingOrder
	return out, c.decodeData("packaging order details", env, &out)
}

// Commission reports serials as produced.
func (c *Client) Commission(ctx context.Context, r Commission) (Envelope, error) {
	if err := r.Validate(); err != nil {
		return Envelope{}, err
	}
	return c.call(ctx, "commission", http.MethodPost, c.cfg.Paths.Commission, nil, r)
}

// Decommission takes serials out of circulation with a reason.
func (c *Client) Decommission(ctx context.Context, r Decommission) ([]SerialStatus, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	env, err := c.call(ctx, "decommission", http.MethodPost, c.cfg.Paths.Decommission, nil, r)
	if err != nil {
		return nil, err
	}
	var out []SerialStatus
	return out, c.decodeData("decommission", env, &out)
}

// Aggregate puts packs or containers in a parent container.
func (c *Client) Aggregate(ctx context.Context, a Aggregation) (Envelope, error) {
	if err := a.Validate(); err != nil {
		return Envelope{}, err
	}
	return c.call(ctx, "aggregate", http.MethodPost, c.cfg.Paths.Aggregate, nil, a)
}

// Disaggregate takes packs or containers out of a parent container.
func (c *Client) Disaggregate(ctx context.Context, a Aggregation) (Envelope, error) {
	if err := a.Validate(); err != nil {
		return Envelope{}, err
	}
	return c.call(ctx, "disaggregate", http.MethodDelete, c.cfg.Paths.Aggregate, nil, a)
}

func (c *Client) decodeData(op string, env Envelope, v any) error {
	if len(env.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return &Error{Op: op, Message: "unexpected answer: " + err.Error()}
	}
	return nil
}

// call sends a request with the token and channel key. A 401 "Failed to
// authenticate token" with a dynamic token renews it and tries once more.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, body any) (Envelope, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return Envelope{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		token, err := c.currentToken(ctx)
		if err != nil {
			return Envelope{}, err
		}
		env, err := c.send(ctx, op, method, path, query, payload, token)
		var ce *Error
		if attempt == 0 && c.cfg.Token == "" && errors.As(err, &ce) && ce.Status == http.StatusUnauthorized && ce.Code == CodeBadToken {
			c.forgetToken(token)
			continue
		}
		return env, err
	}
}

func (c *Client) send(ctx context.Context, op, method, path string, query url.Values, payload []byte, token string) (Envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base.ResolveReference(&url.URL{Path: path})
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return Envelope{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-channel-key", c.cfg.ChannelKey)
	if c.cfg.BearerToken {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.Header.Set("x-access-token", token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Envelope{}, transportError(op, err, payload != nil)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Envelope{}, transportError(op, err, true)
	}
	if len(data) > maxBody {
		return Envelope{}, &Error{Op: op, Status: resp.StatusCode, Message: "answer larger than 1 MiB"}
	}
	if resp.StatusCode/100 == 2 {
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			return Envelope{}, &Error{Op: op, Status: resp.StatusCode, Message: "unexpected answer: " + err.Error()}
		}
		if !env.Success {
			return env, &Error{Op: op, Status: resp.StatusCode, Message: env.Message, Answer: answer(env.Message, env.Data)}
		}
		return env, nil
	}
	e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	// The error body, with the data some answers carry (the serials a
	// commission refused, each with its status).
	var eb struct {
		ErrorBody
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(data, &eb) == nil && (eb.Message != "" || eb.Code != "" || eb.Error != "") {
		e.Message, e.Code = eb.Message, eb.Code
		if e.Code == "" {
			e.Code = eb.ErrorBody.Error
		}
		e.Answer = answer(eb.Message, eb.Data)
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	classify(e)
	return Envelope{}, e
}

// transportError wraps a failure without an answer; it is always worth
// retrying. When the request carried a body and the failure came after the
// connection was made (a reset, a timeout, a closed connection), the body
// may have reached the service: the outcome is ambiguous.
//
// A refused redirect is told apart: the service answered, so nothing is
// ambiguous, and the fault lies in the configured base URL or at the
// service. It stays retryable so that the facts wait, not park, until the
// one or the other is put right.
func transportError(op string, err error, sent bool) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return &Error{Op: op, Err: re, Retryable: true}
	}
	connected, timeout := netFailure(err)
	return &Error{Op: op, Err: redact(err), Retryable: true, Ambiguous: sent && connected, Timeout: timeout}
}

// netFailure tells from the error's type whether a connection was made
// before it failed, and whether it failed because time ran out. Refused
// connections, unknown hosts, failed dials and refused certificates happen
// before anything is sent; everything else (a reset, a broken pipe, the end
// of the stream, a deadline) may come after the request went out.
func netFailure(err error) (connected, timeout bool) {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	timeout = errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout())
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dnsErr), errors.As(err, &certErr):
		return false, timeout
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return false, timeout
	}
	// syscall.ECONNRESET, syscall.EPIPE, io.EOF, a read or write
	// *net.OpError, a deadline: the request may have been sent.
	return true, timeout
}

// redact drops the URL's query from transport errors; none of ours carries
// a secret there, but a proxy's might.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = ""
			u.User = nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// currentToken returns the static token, or a cached dynamic one, renewing
// it an hour before its day ends.
func (c *Client) currentToken(ctx context.Context) (string, error) {
	if c.cfg.Token != "" {
		return c.cfg.Token, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.until) {
		return c.token, nil
	}
	tok, err := c.authenticate(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.until = tok, time.Now().Add(TokenLifetime-time.Hour)
	return tok, nil
}

func (c *Client) forgetToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// authenticate trades the API key and secret for a token. The token's field
// name is not documented: token, data.token and access_token are accepted.
func (c *Client) authenticate(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"api_key": c.cfg.APIKey, "api_secret": c.cfg.APISecret})
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base.ResolveReference(&url.URL{Path: c.cfg.Paths.Auth})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", transportError("auth", err, false)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode/100 != 2 {
		e := &Error{Op: "auth", Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil {
			e.Message, e.Code = eb.Message, eb.Code
			e.Answer = answer(eb.Message, nil)
		}
		classify(e)
		return "", e
	}
	var a struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		Data        struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return "", &Error{Op: "auth", Status: resp.StatusCode, Message: "unexpected answer"}
	}
	for _, t := range []string{a.Token, a.Data.Token, a.AccessToken} {
		if t != "" {
			return t, nil
		}
	}
	return "", &Error{Op: "auth", Status: resp.StatusCode, Message: "the answer holds no token"}
}
