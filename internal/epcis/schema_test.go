package epcis_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
	"github.com/stretchr/testify/require"
)

// standalone is an event as sent alone: with its own @context.
func standalone(t *testing.T, ev epcis.Event) []byte {
	t.Helper()
	ev.Common().Context = epcis.DefaultContext()
	defer func() { ev.Common().Context = nil }()
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	return raw
}

// TestSchemaRejects makes sure the validation has teeth: broken events and
// documents fail it.
func TestSchemaRejects(t *testing.T) {
	sch := epcisschema.Load(t)
	line := testLine(t)
	ev, err := line.Commission(at, []string{pack(t, "A1")}, nil)
	require.NoError(t, err)
	good := standalone(t, ev)
	sch.Require(t, good, "the commissioning")
	for name, edit := range map[string]func(m map[string]any){
		"no eventTime":        func(m map[string]any) { delete(m, "eventTime") },
		"bad action":          func(m map[string]any) { m["action"] = "CREATE" },
		"unknown bizStep":     func(m map[string]any) { m["bizStep"] = "making" },
		"bad offset":          func(m map[string]any) { m["eventTimeZoneOffset"] = "+1:00" },
		"duplicate EPC":       func(m map[string]any) { m["epcList"] = []any{"urn:x:1", "urn:x:1"} },
		"no context":          func(m map[string]any) { delete(m, "@context") },
		"extension not a URI": func(m map[string]any) { m["my field"] = "x" },
	} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		edit(m)
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		require.Error(t, sch.Validate(raw), name)
	}
}

// TestBuildersValid validates each builder's event alone and a document of
// all of them, in both identifier syntaxes.
func TestBuildersValid(t *testing.T) {
	sch := epcisschema.Load(t)
	for _, syntax := range []epcis.Syntax{epcis.DigitalLink, epcis.URN} {
		evs := allBuilders(t, syntax)
		for i, ev := range evs {
			sch.Require(t, standalone(t, ev), ev.Type()+" "+ev.Common().BizStep+" #"+strconvI(i))
		}
		doc := epcis.NewDocument(at, evs...)
		raw, err := json.MarshalIndent(doc, "", "  ")
		require.NoError(t, err)
		sch.Require(t, raw, "the document")
		empty, err := json.Marshal(epcis.NewDocument(at))
		require.NoError(t, err)
		sch.Require(t, empty, "an empty document")
	}
}

// TestStandardExamples loads the standard's example documents through the
// agent's types, writes them again, and checks that what was written is
// valid, names the same things (same fields, same instants) and hashes
// the same.
func TestStandardExamples(t *testing.T) {
	sch := epcisschema.Load(t)
	dir := filepath.Dir(testutil.SharedFile(t, "data/epcis/examples/Example_9.6.1-ObjectEvent.jsonld"))
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonld"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := filepath.Base(f)
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		sch.Require(t, raw, name+" as published")

		var doc epcis.Document
		require.NoError(t, json.Unmarshal(raw, &doc), name)
		require.NotEmpty(t, doc.Events, name)
		out, err := json.MarshalIndent(&doc, "", "  ")
		require.NoError(t, err)
		sch.Require(t, out, name+" as re-encoded")
		require.Equal(t, normalized(t, raw), normalized(t, out), "%s: the re-encoded document says something else", name)

		// Same event hashes, read back or not.
		orig := rawEvents(t, raw)
		ns := doc.Namespaces()
		for i, ev := range doc.Events {
			want, err := epcis.EventHash(orig[i], ns)
			require.NoError(t, err)
			got, err := epcis.EventID(ev, ns)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s event %d", name, i)
			if ev.Common().EventID != got {
				t.Logf("%s event %d: the example's eventID %s is not its canonical hash %s", name, i, ev.Common().EventID, got)
			}
		}

		// The document's own eventIDs can be set, and stay valid.
		require.NoError(t, doc.SetEventIDs())
		out, err = json.Marshal(&doc)
		require.NoError(t, err)
		sch.Require(t, out, name+" with canonical eventIDs")
	}
}

// TestExamplesTyped checks that the examples land in the typed fields, not
// in Extra, and that their extensions are kept.
func TestExamplesTyped(t *testing.T) {
	var doc epcis.Document
	raw, err := os.ReadFile(testutil.SharedFile(t, "data/epcis/examples/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Events, 2)
	o := doc.Events[0].(*epcis.ObjectEvent)
	require.Equal(t, epcis.ActionObserve, o.Action)
	require.Equal(t, "shipping", o.BizStep)
	require.Equal(t, "in_transit", o.Disposition)
	require.Equal(t, []string{"urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"}, o.EPCList)
	require.Equal(t, "-06:00", o.EventTimeZoneOffset)
	require.True(t, o.EventTime.Equal(time.Date(2005, 4, 4, 2, 33, 31, 116e6, time.UTC)))
	require.Equal(t, "urn:epc:id:sgln:0614141.07346.1234", o.ReadPoint.ID)
	require.Equal(t, []epcis.BizTransaction{{Type: "po", BizTransaction: "http://transaction.acme.com/po/12345678"}}, o.BizTransactionList)
	require.NotNil(t, o.ErrorDeclaration)
	require.Equal(t, "incorrect_data", o.ErrorDeclaration.Reason)
	require.Len(t, o.ErrorDeclaration.CorrectiveEventIDs, 2)
	require.Empty(t, o.Extra)
	o2 := doc.Events[1].(*epcis.ObjectEvent)
	require.Equal(t, `"Example of a vendor/user extension"`, string(o2.Extra["example:myField"]))
	require.Equal(t, "urn:epc:id:sgln:0012345.11111.0", o2.BizLocation.ID)
	require.Equal(t, epcis.Namespaces{"example": "http://ns.example.com/epcis/"}, doc.Namespaces())

	raw, err = os.ReadFile(testutil.SharedFile(t, "data/epcis/examples/Example_9.6.3-AggregationEvent.jsonld"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	a := doc.Events[0].(*epcis.AggregationEvent)
	require.Equal(t, "urn:epc:id:sscc:0614141.1234567890", a.ParentID)
	require.Len(t, a.ChildEPCs, 2)
	require.Len(t, a.ChildQuantityList, 2)
	require.Equal(t, 200.5, *a.ChildQuantityList[1].Quantity)
	require.Equal(t, "KGM", a.ChildQuantityList[1].UOM)

	raw, err = os.ReadFile(testutil.SharedFile(t, "data/epcis/examples/Example_9.6.2-ObjectEvent.jsonld"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	o = doc.Events[0].(*epcis.ObjectEvent)
	require.Nil(t, o.EPCList)
	require.Len(t, o.QuantityList, 1)
	require.Equal(t, []epcis.Source{{Type: "possessing_party", Source: "urn:epc:id:sgln:4012345.00001.0"}, {Type: "location", Source: "urn:epc:id:sgln:4012345.00225.0"}}, o.SourceList)
	require.Len(t, o.DestinationList, 2)
}

// normalized decodes JSON for comparison: objects as maps (order
// irrelevant), numbers as numbers, and timestamps as the instant they name.
func normalized(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, x); err == nil && strings.Contains(x, "T") {
				return ts.UTC().Format(time.RFC3339Nano)
			}
		}
		return v
	}
	return walk(v)
}

// rawEvents returns the events of a document as written.
func rawEvents(t *testing.T, raw []byte) []json.RawMessage {
	var d struct {
		Body struct {
			EventList []json.RawMessage `json:"eventList"`
		} `json:"epcisBody"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	return d.Body.EventList
}
