package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CaptureConfig sets up the client of an EPCIS 2.0 repository's capture
// interface (the REST binding of EPCIS 2.0).
type CaptureConfig struct {
	// URL is the base of the repository's EPCIS interface, e.g.
	// https://repo.example/epcis: documents go to {URL}/capture.
	URL string
	// Token is sent as "Authorization: Bearer T"; Username and Password as
	// Basic authentication instead. Give one of them, or neither for a
	// repository that asks for none.
	Token              string
	Username, Password string
	Timeout            time.Duration // per request (default 30s)
	CAFile             string        // extra CA certificates (PEM) to trust
	HTTPClient         *http.Client  // tests may set it
}

// Capture sends EPCIS documents to a repository and reads its capture
// jobs. It is safe for concurrent use.
type Capture struct {
	cfg     CaptureConfig
	http    *http.Client
	base    *url.URL
	capture string // {base}/capture

	mu         sync.Mutex
	limits     CaptureLimits
	discovered bool // the repository answered the discovery (OPTIONS)
}

// CaptureLimits are what the repository says one capture may hold; zero
// is no limit told.
type CaptureLimits struct {
	Events int   // GS1-EPCIS-Capture-Limit: events per document
	Bytes  int64 // GS1-EPCIS-Capture-File-Size-Limit: bytes per document
}

// Versions the client speaks, sent in the GS1-EPCIS-Version and
// GS1-CBV-Version headers.
const (
	EPCISVersion = "2.0.0"
	CBVVersion   = "2.0.0"
)

// NewCapture checks the configuration and returns a client. TLS is
// verified, and the credentials are sent to the configured scheme, host
// and port only: a redirect elsewhere is refused, as for the cloud.
func NewCapture(cfg CaptureConfig) (*Capture, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("epcis capture URL %q: must be https://host/path, without query", cfg.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("epcis capture URL %q: give the username and password as settings, not in the URL", u.Redacted())
	}
	switch {
	case cfg.Token != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, errors.New("epcis auth: give a token or a username and password, not both")
	case cfg.Username != "" && cfg.Password == "":
		return nil, errors.New("epcis auth: a username needs its password")
	case cfg.Password != "" && cfg.Username == "":
		return nil, errors.New("epcis auth: a password needs its username")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		if hc, err = httpClient(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	return &Capture{cfg: cfg, http: sameOriginOnly(hc, u), base: u, capture: strings.TrimSuffix(u.String(), "/") + "/capture"}, nil
}

// CaptureJob is the repository's account of one capture: while Running,
// the events are being captured; then Success says whether all of them
// were (the agent asks for rollback: on failure none was stored).
type CaptureJob struct {
	CaptureID             string    `json:"captureID"`
	CreatedAt             time.Time `json:"createdAt,omitzero"`
	FinishedAt            time.Time `json:"finishedAt,omitzero"`
	Running               bool      `json:"running"`
	Success               bool      `json:"success"`
	CaptureErrorBehaviour string    `json:"captureErrorBehaviour,omitempty"`
	Errors                []Problem `json:"errors"`
	ErrorFile             string    `json:"errorFile,omitempty"`
}

// Reason is why the job failed, in the repository's words: the detail
// (or title) of each problem, or where its error file is.
func (j CaptureJob) Reason() string {
	var parts []string
	for _, p := range j.Errors {
		if s := p.Words(); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 && j.ErrorFile != "" {
		return "the errors are in " + j.ErrorFile
	}
	if len(parts) == 0 {
		return "the repository gave no reason"
	}
	return strings.Join(parts, "; ")
}

// Problem is an RFC 7807 problem, as EPCIS repositories answer errors.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// Words is the problem's detail, or its title when it has no detail.
func (p Problem) Words() string {
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// ErrCaptureRefusedCredentials is the answer to credentials the repository
// refused (HTTP 401) or that may not capture (403); errors.Is finds it.
var ErrCaptureRefusedCredentials = errors.New("the EPCIS repository refused the credentials")

// CaptureTooLargeError is a document the repository refused as too large
// (HTTP 413). Limits are what the answer said one capture may hold, zero
// where it did not say.
type CaptureTooLargeError struct {
	Limits CaptureLimits
}

func (e *CaptureTooLargeError) Error() string {
	var b strings.Builder
	b.WriteString("the document holds more than the repository takes in one capture")
	if e.Limits.Events > 0 {
		fmt.Fprintf(&b, " (at most %d events)", e.Limits.Events)
	}
	if e.Limits.Bytes > 0 {
		fmt.Fprintf(&b, " (at most %d bytes)", e.Limits.Bytes)
	}
	return b.String()
}

// Limits returns what one capture may hold: the repository's discovery
// answer (OPTIONS {URL}/capture), asked for the first time it is needed,
// and what its later answers said since. A repository that does not
// answer the discovery tells no limit; one that cannot be reached is asked
// again next time.
func (c *Capture) Limits(ctx context.Context) CaptureLimits {
	c.mu.Lock()
	done := c.discovered
	c.mu.Unlock()
	if !done {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		if req, err := c.request(ctx, http.MethodOptions, c.capture, nil); err == nil {
			if resp, err := c.http.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
				resp.Body.Close()
				c.mu.Lock()
				c.discovered = true
				c.mu.Unlock()
				if resp.StatusCode/100 == 2 {
					c.noteLimits(resp.Header)
				}
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits
}

// noteLimits keeps the limits an answer's headers tell.
func (c *Capture) noteLimits(h http.Header) CaptureLimits {
	var l CaptureLimits
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("GS1-EPCIS-Capture-Limit"))); err == nil && n > 0 {
		l.Events = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("GS1-EPCIS-Capture-File-Size-Limit")), 10, 64); err == nil && n > 0 {
		l.Bytes = n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.Events > 0 {
		c.limits.Events = l.Events
	}
	if l.Bytes > 0 {
		c.limits.Bytes = l.Bytes
	}
	return l
}

// Capture sends one EPCISDocument (EPCIS 2.0 JSON-LD) and returns the URL
// of its capture job. The repository is asked for all or nothing
// (GS1-Capture-Error-Behaviour: rollback). A refusal is an *Error: its
// Answer is ErrCaptureRefusedCredentials for 401 and 403, a
// *CaptureTooLargeError for 413; Retryable is set for 408, 429 and 5xx,
// with the repository's Retry-After.
func (c *Capture) Capture(ctx context.Context, document []byte) (string, error) {
	const op = "EPCIS capture"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := c.request(ctx, http.MethodPost, c.capture, document)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("GS1-CBV-Version", CBVVersion)
	req.Header.Set("GS1-Capture-Error-Behaviour", "rollback")
	resp, data, err := c.do(op, req, true)
	if err != nil {
		return "", err
	}
	limits := c.noteLimits(resp.Header)
	if resp.StatusCode != http.StatusAccepted {
		e := answerError(op, resp, data)
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			e.Answer = &CaptureTooLargeError{Limits: limits}
		}
		if resp.StatusCode/100 == 2 {
			e.Message = fmt.Sprintf("the repository answered HTTP %d, not 202 Accepted with the capture job", resp.StatusCode)
			e.Retryable = true // it may have taken the events: sent again, it drops those it has
		}
		return "", e
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", &Error{Op: op, Status: resp.StatusCode, Retryable: true,
			Message: "the repository accepted the document but named no capture job (no Location header)"}
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", &Error{Op: op, Status: resp.StatusCode, Retryable: true, Message: fmt.Sprintf("the capture job's Location %q is not a URL", loc)}
	}
	job := resp.Request.URL.ResolveReference(ref)
	if !sameOrigin(c.base, job) {
		to := *job
		to.User, to.RawQuery, to.Fragment = nil, "", ""
		return "", &Error{Op: op, Status: resp.StatusCode, Retryable: true,
			Message: "the repository named its capture job on another host, " + to.String() + ": credentials are only sent to the configured host"}
	}
	return job.String(), nil
}

// Job reads a capture job by the URL Capture returned.
func (c *Capture) Job(ctx context.Context, jobURL string) (CaptureJob, error) {
	const op = "EPCIS capture job"
	u, err := url.Parse(jobURL)
	if err != nil || !sameOrigin(c.base, u) {
		return CaptureJob{}, &Error{Op: op, Message: fmt.Sprintf("the capture job %q is not on the configured host: credentials are only sent there", jobURL)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := c.request(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return CaptureJob{}, err
	}
	resp, data, err := c.do(op, req, false)
	if err != nil {
		return CaptureJob{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return CaptureJob{}, answerError(op, resp, data)
	}
	var job CaptureJob
	if err := json.Unmarshal(data, &job); err != nil {
		return CaptureJob{}, &Error{Op: op, Status: resp.StatusCode, Retryable: true, Message: "the capture job is not JSON the client reads: " + err.Error()}
	}
	return job, nil
}

// request builds a request with the credentials and the version headers.
func (c *Capture) request(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("GS1-EPCIS-Version", EPCISVersion)
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	return req, nil
}

// do sends a request and reads the answer, bounded.
func (c *Capture) do(op string, req *http.Request, sent bool) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, transportError(op, err, sent)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, transportError(op, err, true)
	}
	if len(data) > maxBody {
		return nil, nil, &Error{Op: op, Status: resp.StatusCode, Retryable: true, Message: "answer larger than 1 MiB"}
	}
	return resp, data, nil
}

// answerError is a refusal with the RFC 7807 problem the repository gave:
// its type as the code, its detail (or title) as the message.
func answerError(op string, resp *http.Response, data []byte) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	var p Problem
	if json.Unmarshal(data, &p) == nil && (p.Type != "" || p.Title != "" || p.Detail != "") {
		e.Code, e.Message = p.Type, p.Words()
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		e.Answer = ErrCaptureRefusedCredentials
	}
	classify(e)
	return e
}
