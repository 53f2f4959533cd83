// Package epcissim is an emulator of an EPCIS 2.0 repository, for tests
// and the demo: the capture interface and the events query of the EPCIS
// 2.0 REST binding, on an http.Handler.
//
// POST /capture takes an EPCISDocument (or EPCISQueryDocument) of
// schemaVersion 2.0 and answers 202 with the capture job's Location. Each
// event must carry as eventID its CBV 2.0 event hash, which the emulator
// computes again: an event without it, with another one, of a type it
// cannot read, or one the test refuses, is an error of the job. As the
// binding says, a job is all or nothing by default
// (GS1-Capture-Error-Behaviour: rollback); with "proceed" the good events
// are stored. Events are stored once per eventID: a second capture of one
// is accepted and counted as a duplicate. GET /capture/{id} is the job,
// running for Options.JobDelay; GET /capture lists the jobs. GET /events
// answers the stored events as an EPCISQueryDocument, filtered by
// eventType, GE_eventTime, LT_eventTime, EQ_bizStep, MATCH_epc and
// MATCH_anyEPC, paged by perPage and nextPageToken with a Link rel="next".
// OPTIONS /capture tells the versions and the capture limits.
//
// Served under a path prefix (http.StripPrefix), the Locations and Links
// it answers keep the prefix.
//
// For tests: a bearer token to require, capture limits, faults on the next
// captures or job looks (an HTTP status with Retry-After, or a dropped
// connection), a predicate that refuses events, and what it received.
package epcissim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
)

// Options set up the emulator.
type Options struct {
	// Token, when set, must come as "Authorization: Bearer Token" with
	// every request; without it the answer is 401.
	Token string
	// JobDelay is how long a capture job runs before its events are
	// stored; until then it answers running:true.
	JobDelay time.Duration
	// CaptureLimit is the most events one capture may hold and
	// CaptureFileSizeLimit the most bytes; larger documents are refused
	// with 413. Zero is no limit. They are told in OPTIONS /capture and in
	// the 413, unless QuietLimits.
	CaptureLimit         int
	CaptureFileSizeLimit int64
	QuietLimits          bool
	// MaxPerPage bounds perPage (default 1000).
	MaxPerPage int
}

// Fault is what the emulator does with a request instead of its answer.
type Fault struct {
	Status     int           // answer this status (500, 503, …; default 500) with a problem
	RetryAfter time.Duration // and a Retry-After of this many seconds
	// Drop takes the request (a capture is applied) and closes the
	// connection without an answer.
	Drop bool
}

// Job is a capture job as the binding writes it.
type Job struct {
	CaptureID             string    `json:"captureID"`
	CreatedAt             time.Time `json:"createdAt"`
	FinishedAt            time.Time `json:"finishedAt,omitzero"`
	Running               bool      `json:"running"`
	Success               bool      `json:"success"`
	CaptureErrorBehaviour string    `json:"captureErrorBehaviour"`
	Errors                []Problem `json:"errors"`
}

// Problem is an RFC 7807 problem.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// Capture is one POST /capture as the emulator received it.
type Capture struct {
	At      time.Time
	Status  int    // the answer, or what it would have been when Dropped
	Dropped bool   // the connection was closed without an answer
	Events  int    // events in the document (0 when it was not read)
	JobID   string // the job made, if any
	Body    []byte
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu         sync.Mutex
	seq        int
	jobs       []*job
	stored     []storedEvent
	byID       map[string]bool
	received   map[string]int // eventID → receipts
	duplicates int
	captures   []Capture
	failCap    []Fault
	failJob    []Fault
	refuse     func(epcis.Event) string
}

type job struct {
	Job
	due     time.Time
	take    []storedEvent // the events to store when it finishes
	settled bool
}

type storedEvent struct {
	raw json.RawMessage
	ev  epcis.Event
}

// The versions the emulator speaks.
const (
	epcisVersion = "2.0.0"
	cbvVersion   = "2.0.0"
)

// maxDocument bounds a capture's body without a file size limit.
const maxDocument = 16 << 20

// New returns an emulator.
func New(opts Options) *Server {
	if opts.MaxPerPage <= 0 {
		opts.MaxPerPage = 1000
	}
	s := &Server{opts: opts, byID: map[string]bool{}, received: map[string]int{}}
	m := http.NewServeMux()
	m.HandleFunc("OPTIONS /capture", s.discoverCapture)
	m.HandleFunc("POST /capture", s.capture)
	m.HandleFunc("GET /capture", s.listJobs)
	m.HandleFunc("GET /capture/{id}", s.job)
	m.HandleFunc("OPTIONS /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "OPTIONS, GET")
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /events", s.events)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "epcisException:NoSuchResourceException", "Resource not found",
			"the emulator has no "+r.Method+" "+r.URL.Path)
	})
	s.mux = m
	return s
}

// ServeHTTP answers the binding's requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("GS1-EPCIS-Version", epcisVersion)
	w.Header().Set("GS1-CBV-Version", cbvVersion)
	if s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		w.Header().Set("WWW-Authenticate", `Bearer realm="epcis"`)
		problem(w, http.StatusUnauthorized, "epcisException:SecurityException", "Unauthorised request",
			"give the repository's token as Authorization: Bearer")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// FailCaptures applies f to the next n captures.
func (s *Server) FailCaptures(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failCap = append(s.failCap, f)
	}
}

// FailJobs applies f to the next n looks at a capture job.
func (s *Server) FailJobs(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failJob = append(s.failJob, f)
	}
}

// Refuse makes every later capture refuse the events for which reason
// returns words (the problem's detail); nil refuses none.
func (s *Server) Refuse(reason func(epcis.Event) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = reason
}

// Events returns the stored events, as they were captured, in capture
// order.
func (s *Server) Events() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	out := make([]json.RawMessage, len(s.stored))
	for i, e := range s.stored {
		out[i] = slices.Clone(e.raw)
	}
	return out
}

// Count is how many times an eventID came in a capture the emulator
// accepted (202), stored, duplicate or refused.
func (s *Server) Count(eventID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[eventID]
}

// Duplicates is how many events were captured again after they had been
// stored: accepted, and not stored twice.
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.duplicates
}

// Jobs returns the capture jobs, oldest first.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	out := make([]Job, len(s.jobs))
	for i, j := range s.jobs {
		out[i] = j.view()
	}
	return out
}

// Captures returns every POST /capture received, in order.
func (s *Server) Captures() []Capture {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.captures)
}

func (j *job) view() Job {
	v := j.Job
	v.Running = !j.settled
	v.Errors = slices.Clone(j.Errors)
	return v
}

// settle finishes the jobs that are due, in order, storing their events
// once per eventID. s.mu is held.
func (s *Server) settle() {
	now := time.Now()
	for _, j := range s.jobs {
		if j.settled {
			continue
		}
		if now.Before(j.due) {
			return // later jobs wait for this one: events are stored in capture order
		}
		for _, e := range j.take {
			id := e.ev.Common().EventID
			if s.byID[id] {
				s.duplicates++
				continue
			}
			s.byID[id] = true
			s.stored = append(s.stored, e)
		}
		j.take, j.settled, j.FinishedAt = nil, true, j.due
	}
}

func (s *Server) discoverCapture(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "OPTIONS, POST, GET")
	h.Set("GS1-EPCIS-Min", epcisVersion)
	h.Set("GS1-EPCIS-Max", epcisVersion)
	h.Set("GS1-CBV-Min", cbvVersion)
	h.Set("GS1-CBV-Max", cbvVersion)
	h.Set("GS1-Capture-Error-Behaviour", "all")
	s.tellLimits(h)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) tellLimits(h http.Header) {
	if s.opts.QuietLimits {
		return
	}
	if s.opts.CaptureLimit > 0 {
		h.Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(s.opts.CaptureLimit))
	}
	if s.opts.CaptureFileSizeLimit > 0 {
		h.Set("GS1-EPCIS-Capture-File-Size-Limit", strconv.FormatInt(s.opts.CaptureFileSizeLimit, 10))
	}
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	limit := int64(maxDocument)
	if s.opts.CaptureFileSizeLimit > 0 {
		limit = s.opts.CaptureFileSizeLimit
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return // the client went away
	}
	rec := Capture{At: time.Now(), Body: body}
	s.mu.Lock()
	var fault *Fault
	if len(s.failCap) > 0 {
		fault = &s.failCap[0]
		s.failCap = s.failCap[1:]
	}
	s.mu.Unlock()
	var write func(http.ResponseWriter)
	if fault != nil && !fault.Drop {
		rec.Status, write = fault.status(), func(w http.ResponseWriter) { fail(w, *fault) }
	} else {
		rec.Status, rec.Events, rec.JobID, write = s.take(r, body, limit)
		rec.Dropped = fault != nil
	}
	// Recorded before the client hears anything, so that what it
	// does next finds the capture in Captures.
	s.mu.Lock()
	s.captures = append(s.captures, rec)
	s.mu.Unlock()
	if rec.Dropped {
		drop(w)
		return
	}
	write(w)
}

// take reads and checks a capture and makes its job. It returns the
// status, the events read, the job's id and the answer to write.
func (s *Server) take(r *http.Request, body []byte, limit int64) (int, int, string, func(http.ResponseWriter)) {
	answer := func(status int, typ, title, detail string) (int, int, string, func(http.ResponseWriter)) {
		return status, 0, "", func(w http.ResponseWriter) {
			if status == http.StatusRequestEntityTooLarge {
				s.tellLimits(w.Header())
			}
			problem(w, status, typ, title, detail)
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/json" && mt != "application/ld+json") {
		return answer(http.StatusUnsupportedMediaType, "epcisException:UnsupportedMediaTypeException", "Unsupported media type",
			"send the document as application/ld+json or application/json")
	}
	if v := r.Header.Get("GS1-EPCIS-Version"); v != "" && !strings.HasPrefix(v, "2.") {
		return answer(http.StatusNotAcceptable, "epcisException:NotAcceptableException", "EPCIS version not supported",
			"GS1-EPCIS-Version "+v+": this repository speaks EPCIS 2.0")
	}
	behaviour := r.Header.Get("GS1-Capture-Error-Behaviour")
	switch behaviour {
	case "":
		behaviour = "rollback"
	case "rollback", "proceed":
	default:
		return answer(http.StatusBadRequest, "epcisException:ValidationException", "Capture error behaviour not supported",
			"GS1-Capture-Error-Behaviour must be rollback or proceed, got "+behaviour)
	}
	if int64(len(body)) > limit {
		return answer(http.StatusRequestEntityTooLarge, "epcisException:CaptureLimitExceededException", "Capture Payload too large",
			fmt.Sprintf("the document is larger than the %d bytes this repository takes in one capture", limit))
	}
	events, ns, err := readDocument(body)
	if err != nil {
		return answer(http.StatusBadRequest, "epcisException:ValidationException", "Document refused", err.Error())
	}
	if n := s.opts.CaptureLimit; n > 0 && len(events) > n {
		st, _, _, write := answer(http.StatusRequestEntityTooLarge, "epcisException:CaptureLimitExceededException", "Capture Payload too large",
			fmt.Sprintf("the document holds %d events; this repository takes %d in one capture", len(events), n))
		return st, len(events), "", write
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	now := time.Now().UTC().Truncate(time.Millisecond)
	s.seq++
	j := &job{Job: Job{CaptureID: fmt.Sprintf("id%d", s.seq), CreatedAt: now, Success: true, CaptureErrorBehaviour: behaviour,
		Errors: []Problem{}}, due: now.Add(s.opts.JobDelay)}
	for i, raw := range events {
		e, p := s.check(i, raw, ns)
		if id := eventID(raw); id != "" {
			s.received[id]++
		}
		if p != nil {
			j.Errors = append(j.Errors, *p)
			continue
		}
		j.take = append(j.take, e)
	}
	if len(j.Errors) > 0 {
		j.Success = false
		if behaviour == "rollback" {
			j.take = nil
		}
	}
	s.jobs = append(s.jobs, j)
	s.settle()
	location := prefix(r) + "/capture/" + j.CaptureID
	return http.StatusAccepted, len(events), j.CaptureID, func(w http.ResponseWriter) {
		w.Header().Set("Location", location)
		w.WriteHeader(http.StatusAccepted)
	}
}

// check reads the i-th event of a document and returns it, or the problem
// that refuses it. s.mu is held.
func (s *Server) check(i int, raw json.RawMessage, ns epcis.Namespaces) (storedEvent, *Problem) {
	refused := func(id, why string) (storedEvent, *Problem) {
		p := &Problem{Type: "epcisException:ValidationException", Title: "Event refused", Status: http.StatusBadRequest,
			Detail: fmt.Sprintf("event %d: %s", i+1, why), Instance: id}
		if id != "" {
			p.Detail = fmt.Sprintf("event %d (%s): %s", i+1, id, why)
		}
		return storedEvent{}, p
	}
	ev, err := epcis.DecodeEvent(raw)
	if err != nil {
		return refused(eventID(raw), "the event cannot be read: "+err.Error())
	}
	id := ev.Common().EventID
	if id == "" {
		return refused("", "the event has no eventID; this repository takes events with their CBV 2.0 event hash as eventID")
	}
	want, err := epcis.EventHash(raw, ns)
	if err != nil {
		return refused(id, "its CBV 2.0 event hash cannot be computed: "+err.Error())
	}
	if want != id {
		return refused(id, "its eventID is not the CBV 2.0 hash of the event, which is "+want)
	}
	if s.refuse != nil {
		if why := s.refuse(ev); why != "" {
			return refused(id, why)
		}
	}
	return storedEvent{raw: raw, ev: ev}, nil
}

// readDocument returns the events of an EPCISDocument or
// EPCISQueryDocument, with the prefixes its @context declares.
func readDocument(body []byte) ([]json.RawMessage, epcis.Namespaces, error) {
	type list struct {
		EventList *[]json.RawMessage `json:"eventList"`
	}
	var d struct {
		Context       any    `json:"@context"`
		Type          string `json:"type"`
		SchemaVersion string `json:"schemaVersion"`
		Body          struct {
			list
			QueryResults struct {
				ResultsBody list `json:"resultsBody"`
			} `json:"queryResults"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, nil, fmt.Errorf("the document is not JSON this repository reads: %v", err)
	}
	var events *[]json.RawMessage
	switch d.Type {
	case "EPCISDocument":
		events = d.Body.EventList
	case "EPCISQueryDocument":
		events = d.Body.QueryResults.ResultsBody.EventList
	default:
		return nil, nil, fmt.Errorf("the document's type is %q; send an EPCISDocument", d.Type)
	}
	if d.SchemaVersion != "2.0" {
		return nil, nil, fmt.Errorf("the document's schemaVersion is %q; this repository takes 2.0", d.SchemaVersion)
	}
	if d.Context == nil {
		return nil, nil, errors.New("the document has no @context")
	}
	if events == nil {
		return nil, nil, errors.New("the document has no epcisBody with an eventList")
	}
	return *events, epcis.ContextNamespaces(d.Context), nil
}

// eventID is the eventID an event's JSON gives, if any.
func eventID(raw json.RawMessage) string {
	var e struct {
		EventID string `json:"eventID"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.EventID
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var fault *Fault
	if len(s.failJob) > 0 {
		fault = &s.failJob[0]
		s.failJob = s.failJob[1:]
	}
	s.settle()
	var found *Job
	for _, j := range s.jobs {
		if j.CaptureID == r.PathValue("id") {
			v := j.view()
			found = &v
		}
	}
	s.mu.Unlock()
	switch {
	case fault != nil && fault.Drop:
		drop(w)
	case fault != nil:
		fail(w, *fault)
	case found == nil:
		problem(w, http.StatusNotFound, "epcisException:NoSuchResourceException", "Capture job not found",
			"this repository has no capture job "+r.PathValue("id"))
	default:
		writeJSON(w, http.StatusOK, found)
	}
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.settle()
	jobs := make([]Job, len(s.jobs))
	for i, j := range s.jobs {
		jobs[i] = j.view()
	}
	s.mu.Unlock()
	q := r.URL.Query()
	for k := range q {
		if k != "perPage" && k != "nextPageToken" {
			problem(w, http.StatusBadRequest, "epcisException:QueryParameterException", "Query parameter not supported",
				"the emulator does not support the parameter "+k)
			return
		}
	}
	from, to, ok := s.page(w, q, len(jobs))
	if !ok {
		return
	}
	s.linkNext(w, r, q, to, len(jobs))
	writeJSON(w, http.StatusOK, jobs[from:to])
}

// problem answers an RFC 7807 problem.
func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: typ, Title: title, Status: status, Detail: detail})
}

// status is the status a fault answers.
func (f Fault) status() int {
	if f.Status == 0 {
		return http.StatusInternalServerError
	}
	return f.Status
}

// fail answers a fault's status.
func fail(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	problem(w, f.status(), "epcisException:ImplementationException", http.StatusText(f.status()), "a fault the test asked for")
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// prefix is the path the handler is served under, the part of the
// request's path that http.StripPrefix took away.
func prefix(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, r.URL.Path)
}
