package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Event types.
const (
	TypeObjectEvent      = "ObjectEvent"
	TypeAggregationEvent = "AggregationEvent"
)

// Event is an EPCIS 2.0 event: *ObjectEvent or *AggregationEvent.
type Event interface {
	// Type is the event's "type".
	Type() string
	// Common returns the fields that every event has.
	Common() *Base
	json.Marshaler
	json.Unmarshaler
}

// Time is an EPCIS timestamp. It is written as RFC 3339 with its own
// offset and milliseconds (more digits only when it has them), so that
// what is written reads back to the same instant.
type Time struct{ time.Time }

// MarshalJSON writes the time as an xsd:dateTimeStamp.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// String is the time as MarshalJSON writes it, unquoted.
func (t Time) String() string {
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return t.Format(time.RFC3339Nano)
}

// UnmarshalJSON reads an RFC 3339 timestamp with any number of decimals.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("epcis: time %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// Location is a readPoint or bizLocation: an identifier, usually an SGLN,
// and any extension fields it carries.
type Location struct {
	ID    string
	Extra map[string]json.RawMessage
}

// MarshalJSON writes {"id": …} and the extensions.
func (l Location) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.field("id", l.ID)
	w.extra(l.Extra, "id")
	return w.bytes()
}

// UnmarshalJSON reads a location.
func (l *Location) UnmarshalJSON(b []byte) error {
	r, err := readObject(b)
	if err != nil {
		return err
	}
	*l = Location{}
	r.take("id", &l.ID)
	l.Extra = r.rest()
	return r.err
}

// QuantityElement is an amount of a class of objects (EPC class URI).
type QuantityElement struct {
	EPCClass string   `json:"epcClass"`
	Quantity *float64 `json:"quantity,omitempty"`
	UOM      string   `json:"uom,omitempty"`
}

// BizTransaction names a business transaction (order, despatch advice…).
type BizTransaction struct {
	Type           string `json:"type,omitempty"`
	BizTransaction string `json:"bizTransaction"`
}

// Source is where objects come from in a transfer.
type Source struct {
	Type   string `json:"type"`
	Source string `json:"source"`
}

// Destination is where objects go in a transfer.
type Destination struct {
	Type        string `json:"type"`
	Destination string `json:"destination"`
}

// PersistentDisposition sets or unsets dispositions that last beyond the event.
type PersistentDisposition struct {
	Set   []string `json:"set,omitempty"`
	Unset []string `json:"unset,omitempty"`
}

// ErrorDeclaration says that an earlier event was in error.
type ErrorDeclaration struct {
	DeclarationTime    Time
	Reason             string
	CorrectiveEventIDs []string
	Extra              map[string]json.RawMessage
}

// MarshalJSON writes the declaration.
func (e ErrorDeclaration) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.field("declarationTime", e.DeclarationTime)
	w.optional("reason", e.Reason)
	w.optional("correctiveEventIDs", e.CorrectiveEventIDs)
	w.extra(e.Extra, "declarationTime", "reason", "correctiveEventIDs")
	return w.bytes()
}

// UnmarshalJSON reads a declaration.
func (e *ErrorDeclaration) UnmarshalJSON(b []byte) error {
	r, err := readObject(b)
	if err != nil {
		return err
	}
	*e = ErrorDeclaration{}
	r.take("declarationTime", &e.DeclarationTime)
	r.take("reason", &e.Reason)
	r.take("correctiveEventIDs", &e.CorrectiveEventIDs)
	e.Extra = r.rest()
	return r.err
}

// ILMD keys of the CBV master data the agent writes on commissioning.
const (
	KeyLotNumber          = "cbvmda:lotNumber"
	KeyItemExpirationDate = "cbvmda:itemExpirationDate"
)

// ILMD is the instance/lot master data of a commissioning: batch and
// expiry of the packs, and any other master data attributes.
type ILMD struct {
	LotNumber          string // cbvmda:lotNumber, the batch (AI 10)
	ItemExpirationDate string // cbvmda:itemExpirationDate, xsd:date YYYY-MM-DD
	Extra              map[string]json.RawMessage
}

// MarshalJSON writes the ILMD object.
func (m ILMD) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.optional(KeyLotNumber, m.LotNumber)
	w.optional(KeyItemExpirationDate, m.ItemExpirationDate)
	w.extra(m.Extra, KeyLotNumber, KeyItemExpirationDate)
	return w.bytes()
}

// UnmarshalJSON reads an ILMD object.
func (m *ILMD) UnmarshalJSON(b []byte) error {
	r, err := readObject(b)
	if err != nil {
		return err
	}
	*m = ILMD{}
	r.take(KeyLotNumber, &m.LotNumber)
	r.take(KeyItemExpirationDate, &m.ItemExpirationDate)
	m.Extra = r.rest()
	return r.err
}

// Base holds what ObjectEvent and AggregationEvent have in common.
// Short CBV names ("commissioning", "active", "po", "owning_party") are
// written as the standard's examples write them; a URI is written as is.
type Base struct {
	// Context is the event's own "@context", for an event sent alone;
	// events inside a Document leave it nil.
	Context             any
	EventID             string
	EventTime           Time
	EventTimeZoneOffset string
	RecordTime          *Time
	ErrorDeclaration    *ErrorDeclaration
	Action              string
	BizStep             string
	Disposition         string
	ReadPoint           *Location
	BizLocation         *Location
	BizTransactionList  []BizTransaction
	SourceList          []Source
	DestinationList     []Destination
	// SensorElementList is kept as written: the agent writes none.
	SensorElementList json.RawMessage
	// Extra holds every other field, extensions such as "example:myField"
	// and standard fields this model has no place for, exactly as they came.
	Extra map[string]json.RawMessage
}

// Common returns the event's common fields.
func (b *Base) Common() *Base { return b }

// ObjectEvent is something that happened to objects: commissioned,
// observed, decommissioned.
type ObjectEvent struct {
	Base
	EPCList               []string
	QuantityList          []QuantityElement
	PersistentDisposition *PersistentDisposition
	ILMD                  *ILMD
}

// Type returns "ObjectEvent".
func (*ObjectEvent) Type() string { return TypeObjectEvent }

// AggregationEvent is children packed into (ADD), seen in (OBSERVE) or
// taken out of (DELETE) a parent container.
type AggregationEvent struct {
	Base
	ParentID          string
	ChildEPCs         []string
	ChildQuantityList []QuantityElement
}

// Type returns "AggregationEvent".
func (*AggregationEvent) Type() string { return TypeAggregationEvent }

var (
	baseKeys        = []string{"@context", "type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "errorDeclaration", "action", "bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList"}
	objectKeys      = append([]string{"epcList", "quantityList", "persistentDisposition", "ilmd"}, baseKeys...)
	aggregationKeys = append([]string{"parentID", "childEPCs", "childQuantityList"}, baseKeys...)
)

// MarshalJSON writes the event as EPCIS 2.0 JSON-LD.
func (e ObjectEvent) MarshalJSON() ([]byte, error) {
	var w objectWriter
	e.head(&w, TypeObjectEvent)
	if e.EPCList != nil || e.QuantityList == nil {
		w.field("epcList", nonNil(e.EPCList))
	}
	w.optional("quantityList", e.QuantityList)
	e.middle(&w)
	if e.PersistentDisposition != nil {
		w.field("persistentDisposition", e.PersistentDisposition)
	}
	e.tail(&w)
	if e.ILMD != nil {
		w.field("ilmd", e.ILMD)
	}
	w.extra(e.Extra, objectKeys...)
	return w.bytes()
}

// UnmarshalJSON reads an ObjectEvent.
func (e *ObjectEvent) UnmarshalJSON(b []byte) error {
	r, err := readEvent(b, TypeObjectEvent)
	if err != nil {
		return err
	}
	*e = ObjectEvent{}
	r.take("epcList", &e.EPCList)
	r.take("quantityList", &e.QuantityList)
	r.take("persistentDisposition", &e.PersistentDisposition)
	r.take("ilmd", &e.ILMD)
	e.Base.read(r)
	return r.err
}

// MarshalJSON writes the event as EPCIS 2.0 JSON-LD.
func (e AggregationEvent) MarshalJSON() ([]byte, error) {
	var w objectWriter
	e.head(&w, TypeAggregationEvent)
	w.optional("parentID", e.ParentID)
	w.optional("childEPCs", e.ChildEPCs)
	w.optional("childQuantityList", e.ChildQuantityList)
	e.middle(&w)
	e.tail(&w)
	w.extra(e.Extra, aggregationKeys...)
	return w.bytes()
}

// UnmarshalJSON reads an AggregationEvent.
func (e *AggregationEvent) UnmarshalJSON(b []byte) error {
	r, err := readEvent(b, TypeAggregationEvent)
	if err != nil {
		return err
	}
	*e = AggregationEvent{}
	r.take("parentID", &e.ParentID)
	r.take("childEPCs", &e.ChildEPCs)
	r.take("childQuantityList", &e.ChildQuantityList)
	e.Base.read(r)
	return r.err
}

func (b *Base) head(w *objectWriter, typ string) {
	if b.Context != nil {
		w.field("@context", b.Context)
	}
	w.field("type", typ)
	w.optional("eventID", b.EventID)
	w.field("eventTime", b.EventTime)
	w.field("eventTimeZoneOffset", b.EventTimeZoneOffset)
	if b.RecordTime != nil {
		w.field("recordTime", b.RecordTime)
	}
	if b.ErrorDeclaration != nil {
		w.field("errorDeclaration", b.ErrorDeclaration)
	}
}

func (b *Base) middle(w *objectWriter) {
	w.field("action", b.Action)
	w.optional("bizStep", b.BizStep)
	w.optional("disposition", b.Disposition)
}

func (b *Base) tail(w *objectWriter) {
	if b.ReadPoint != nil {
		w.field("readPoint", b.ReadPoint)
	}
	if b.BizLocation != nil {
		w.field("bizLocation", b.BizLocation)
	}
	w.optional("bizTransactionList", b.BizTransactionList)
	w.optional("sourceList", b.SourceList)
	w.optional("destinationList", b.DestinationList)
	if len(b.SensorElementList) > 0 {
		w.field("sensorElementList", b.SensorElementList)
	}
}

func (b *Base) read(r *objectReader) {
	r.take("@context", &b.Context)
	r.take("eventID", &b.EventID)
	r.take("eventTime", &b.EventTime)
	r.take("eventTimeZoneOffset", &b.EventTimeZoneOffset)
	r.take("recordTime", &b.RecordTime)
	r.take("errorDeclaration", &b.ErrorDeclaration)
	r.take("action", &b.Action)
	r.take("bizStep", &b.BizStep)
	r.take("disposition", &b.Disposition)
	r.take("readPoint", &b.ReadPoint)
	r.take("bizLocation", &b.BizLocation)
	r.take("bizTransactionList", &b.BizTransactionList)
	r.take("sourceList", &b.SourceList)
	r.take("destinationList", &b.DestinationList)
	r.take("sensorElementList", &b.SensorElementList)
	delete(r.fields, "type")
	b.Extra = r.rest()
}

// UnsupportedTypeError is returned for an event type this package has no
// model for (TransactionEvent, TransformationEvent, AssociationEvent, an
// extension type).
type UnsupportedTypeError struct{ Type string }

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("epcis: event type %q is not supported (ObjectEvent and AggregationEvent are)", e.Type)
}

// DecodeEvent reads one event of a supported type.
func DecodeEvent(b []byte) (Event, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("epcis: reading an event: %w", err)
	}
	var ev Event
	switch head.Type {
	case TypeObjectEvent:
		ev = &ObjectEvent{}
	case TypeAggregationEvent:
		ev = &AggregationEvent{}
	case "":
		return nil, ErrNoType
	default:
		return nil, &UnsupportedTypeError{head.Type}
	}
	if err := ev.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return ev, nil
}

// EventID computes the CBV 2.0 canonical hash of an event, for a document
// whose @context declares the prefixes ns (DefaultNamespaces for the
// agent's own documents). The event's current eventID, recordTime and
// errorDeclaration take no part in it.
func EventID(ev Event, ns Namespaces) (string, error) {
	raw, err := ev.MarshalJSON() // compact already: json.Marshal would only check it again
	if err != nil {
		return "", err
	}
	return EventHash(raw, ns)
}

// SetEventID sets the event's eventID to its canonical hash.
func SetEventID(ev Event, ns Namespaces) error {
	id, err := EventID(ev, ns)
	if err != nil {
		return err
	}
	ev.Common().EventID = id
	return nil
}

// objectWriter writes a JSON object field by field, in the order given.
type objectWriter struct {
	buf bytes.Buffer
	n   int
	err error
}

func (w *objectWriter) field(key string, v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("epcis: %s: %w", key, err)
		return
	}
	w.raw(key, b)
}

func (w *objectWriter) raw(key string, b []byte) {
	if w.n == 0 {
		w.buf.WriteByte('{')
	} else {
		w.buf.WriteByte(',')
	}
	w.n++
	k, _ := json.Marshal(key)
	w.buf.Write(k)
	w.buf.WriteByte(':')
	w.buf.Write(b)
}

// optional writes a field unless it is an empty string or list.
func (w *objectWriter) optional(key string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case []string:
		if len(x) == 0 {
			return
		}
	case []QuantityElement:
		if len(x) == 0 {
			return
		}
	case []BizTransaction:
		if len(x) == 0 {
			return
		}
	case []Source:
		if len(x) == 0 {
			return
		}
	case []Destination:
		if len(x) == 0 {
			return
		}
	}
	w.field(key, v)
}

// extra writes the extra fields sorted by key; a key that is one of the
// object's own fields is an error.
func (w *objectWriter) extra(m map[string]json.RawMessage, own ...string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, o := range own {
			if k == o {
				w.err = fmt.Errorf("epcis: extra field %q is a standard field: set it in its own place", k)
				return
			}
		}
		if !json.Valid(m[k]) {
			w.err = fmt.Errorf("epcis: extra field %q is not valid JSON", k)
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, m[k]); err != nil {
			w.err = err
			return
		}
		w.raw(k, c.Bytes())
	}
}

func (w *objectWriter) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.n == 0 {
		return []byte("{}"), nil
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// objectReader takes the known fields out of a JSON object; the rest are
// extras.
type objectReader struct {
	fields map[string]json.RawMessage
	err    error
}

func readObject(b []byte) (*objectReader, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("epcis: expected a JSON object")
	}
	return &objectReader{fields: m}, nil
}

func readEvent(b []byte, typ string) (*objectReader, error) {
	r, err := readObject(b)
	if err != nil {
		return nil, err
	}
	var t string
	if raw, ok := r.fields["type"]; ok {
		_ = json.Unmarshal(raw, &t)
	}
	if t != typ {
		return nil, fmt.Errorf("epcis: a %s has type %q", typ, t)
	}
	return r, nil
}

func (r *objectReader) take(key string, dst any) {
	raw, ok := r.fields[key]
	if !ok {
		return
	}
	delete(r.fields, key)
	if r.err == nil {
		if err := decodeInto(raw, dst); err != nil {
			r.err = fmt.Errorf("epcis: %s: %w", key, err)
		}
	}
}

// decodeInto decodes JSON, numbers in an any as json.Number.
func decodeInto(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}

func (r *objectReader) rest() map[string]json.RawMessage {
	if len(r.fields) == 0 {
		return nil
	}
	return r.fields
}
