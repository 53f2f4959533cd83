package epcis

import (
	"encoding/json"
	"fmt"
	"time"
)

// ContextURL is the JSON-LD context of EPCIS 2.0 that every document names.
const ContextURL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// SchemaVersion is the EPCIS version the documents declare.
const SchemaVersion = "2.0"

// DefaultNamespaces are the prefixes the agent's documents declare inline
// beside the standard context: cbvmda for the ILMD of commissioning. The
// standard context defines it too, but the reference implementation of the
// event hash expands only prefixes that a document declares, so declaring
// it is what makes "cbvmda:lotNumber" hash as
// "{urn:epcglobal:cbv:mda:}lotNumber" everywhere.
var DefaultNamespaces = Namespaces{"cbvmda": cbvMasterDataPrefix}

// DefaultContext returns the @context of the agent's documents: the
// standard context and DefaultNamespaces.
func DefaultContext() []any {
	inline := map[string]any{}
	for k, v := range DefaultNamespaces {
		inline[k] = v
	}
	return []any{ContextURL, inline}
}

// Document is an EPCISDocument: a list of events with its context.
type Document struct {
	Context       any // "@context": DefaultContext() for the agent's documents
	ID            string
	SchemaVersion string
	CreationDate  Time
	// Header is the epcisHeader, kept as written.
	Header json.RawMessage
	Events []Event
	// Extra holds the document's other fields (sender, receiver,
	// instanceIdentifier, extensions) as they came.
	Extra map[string]json.RawMessage
}

// NewDocument returns a document of the events with the agent's context.
func NewDocument(created time.Time, events ...Event) *Document {
	return &Document{
		Context:       DefaultContext(),
		SchemaVersion: SchemaVersion,
		CreationDate:  Time{created.Truncate(time.Millisecond)},
		Events:        events,
	}
}

// Namespaces returns the prefixes the document's context declares inline.
func (d *Document) Namespaces() Namespaces { return ContextNamespaces(d.Context) }

// SetEventIDs sets the eventID of every event to its canonical hash, with
// the document's prefixes.
func (d *Document) SetEventIDs() error {
	ns := d.Namespaces()
	for i, ev := range d.Events {
		if err := SetEventID(ev, ns); err != nil {
			return fmt.Errorf("epcis: event %d: %w", i, err)
		}
	}
	return nil
}

var documentKeys = []string{"@context", "type", "schemaVersion", "creationDate", "id", "epcisHeader", "epcisBody"}

// MarshalJSON writes the document as EPCIS 2.0 JSON-LD.
func (d *Document) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.field("@context", d.Context)
	w.field("type", "EPCISDocument")
	v := d.SchemaVersion
	if v == "" {
		v = SchemaVersion
	}
	w.field("schemaVersion", v)
	w.field("creationDate", d.CreationDate)
	w.optional("id", d.ID)
	if len(d.Header) > 0 {
		w.field("epcisHeader", d.Header)
	}
	w.extra(d.Extra, documentKeys...)
	events := d.Events
	if events == nil {
		events = []Event{}
	}
	w.field("epcisBody", struct {
		EventList []Event `json:"eventList"`
	}{events})
	return w.bytes()
}

// UnmarshalJSON reads an EPCISDocument of ObjectEvents and
// AggregationEvents.
func (d *Document) UnmarshalJSON(b []byte) error {
	r, err := readObject(b)
	if err != nil {
		return err
	}
	var typ string
	r.take("type", &typ)
	if r.err == nil && typ != "EPCISDocument" {
		return fmt.Errorf("epcis: a document has type %q, want EPCISDocument", typ)
	}
	*d = Document{}
	r.take("@context", &d.Context)
	r.take("id", &d.ID)
	r.take("schemaVersion", &d.SchemaVersion)
	r.take("creationDate", &d.CreationDate)
	r.take("epcisHeader", &d.Header)
	var body struct {
		EventList []json.RawMessage `json:"eventList"`
	}
	r.take("epcisBody", &body)
	if r.err != nil {
		return r.err
	}
	d.Extra = r.rest()
	for i, raw := range body.EventList {
		ev, err := DecodeEvent(raw)
		if err != nil {
			return fmt.Errorf("epcis: event %d: %w", i, err)
		}
		d.Events = append(d.Events, ev)
	}
	return nil
}

// ContextNamespaces returns the prefixes that a JSON-LD @context (as
// decoded by encoding/json: a string, an object or a list of them)
// declares inline. The standard context's own prefixes are not included:
// the reference implementation of the event hash expands only the prefixes
// a document declares.
func ContextNamespaces(ctx any) Namespaces {
	ns := Namespaces{}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				add(e)
			}
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok {
					ns[k] = s
				}
			}
		}
	}
	add(ctx)
	return ns
}

// QueryDocument is an EPCISQueryDocument: the answer of a repository's
// SimpleEventQuery, its events as raw JSON, written exactly as they were
// stored so that each eventID recomputes.
type QueryDocument struct {
	Context       any    `json:"@context"`
	Type          string `json:"type"`
	SchemaVersion string `json:"schemaVersion"`
	CreationDate  Time   `json:"creationDate"`
	Body          struct {
		QueryResults struct {
			QueryName   string `json:"queryName"`
			ResultsBody struct {
				EventList []json.RawMessage `json:"eventList"`
			} `json:"resultsBody"`
		} `json:"queryResults"`
	} `json:"epcisBody"`
}

// NewQueryDocument returns the answer of a SimpleEventQuery with the
// agent's context; events may be empty, never nil in the answer.
func NewQueryDocument(created time.Time, events []json.RawMessage) *QueryDocument {
	d := &QueryDocument{Context: DefaultContext(), Type: "EPCISQueryDocument", SchemaVersion: SchemaVersion,
		CreationDate: Time{created.Truncate(time.Millisecond)}}
	d.Body.QueryResults.QueryName = "SimpleEventQuery"
	if events == nil {
		events = []json.RawMessage{}
	}
	d.Body.QueryResults.ResultsBody.EventList = events
	return d
}
