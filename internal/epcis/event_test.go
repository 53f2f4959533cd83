package epcis_test

import (
	"encoding/json"
	"testing"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/stretchr/testify/require"
)

// TestDocumentRoundTrip: a document of every builder's event reads back to
// the same events and writes the same bytes again.
func TestDocumentRoundTrip(t *testing.T) {
	doc := epcis.NewDocument(at, allBuilders(t, epcis.DigitalLink)...)
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var back epcis.Document
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Len(t, back.Events, len(doc.Events))
	for i := range doc.Events {
		require.Equal(t, doc.Events[i].Type(), back.Events[i].Type())
		require.Equal(t, doc.Events[i].Common().EventID, back.Events[i].Common().EventID)
		require.True(t, doc.Events[i].Common().EventTime.Equal(back.Events[i].Common().EventTime.Time))
	}
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	require.Equal(t, string(raw), string(again))
	require.Equal(t, epcis.DefaultNamespaces, back.Namespaces())

	// An event writes the same by value and by pointer.
	ev := doc.Events[0].(*epcis.ObjectEvent)
	byValue, err := json.Marshal(*ev)
	require.NoError(t, err)
	byPointer, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Equal(t, string(byPointer), string(byValue))
}

func TestDecodeEvent(t *testing.T) {
	_, err := epcis.DecodeEvent([]byte(`{"type":"TransactionEvent","eventTime":"2025-01-01T00:00:00Z"}`))
	var ute *epcis.UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	require.Equal(t, "TransactionEvent", ute.Type)
	_, err = epcis.DecodeEvent([]byte(`{"eventTime":"2025-01-01T00:00:00Z"}`))
	require.ErrorIs(t, err, epcis.ErrNoType)
	_, err = epcis.DecodeEvent([]byte(`{"type":"ObjectEvent","eventTime":"yesterday"}`))
	require.ErrorContains(t, err, "eventTime")
	var doc epcis.Document
	require.ErrorContains(t, json.Unmarshal([]byte(`{"type":"EPCISQueryDocument"}`), &doc), "EPCISDocument")

	// Unknown fields come back where they were.
	ev, err := epcis.DecodeEvent([]byte(`{"type":"AggregationEvent","eventTime":"2025-01-01T00:00:00.1234Z","eventTimeZoneOffset":"+00:00",` +
		`"action":"OBSERVE","parentID":"urn:epc:id:sscc:4012345.3000000001","certificationInfo":"https://cert.example/1",` +
		`"readPoint":{"id":"urn:epc:id:sgln:4012345.00000.0","ex:door":"3"},"ex:note":{"ex:a":[1,2.50]}}`))
	require.NoError(t, err)
	a := ev.(*epcis.AggregationEvent)
	require.Equal(t, `"https://cert.example/1"`, string(a.Extra["certificationInfo"]))
	require.Equal(t, `"3"`, string(a.ReadPoint.Extra["ex:door"]))
	raw, err := json.Marshal(a)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"eventTime":"2025-01-01T00:00:00.1234Z"`)
	require.Contains(t, string(raw), `"readPoint":{"id":"urn:epc:id:sgln:4012345.00000.0","ex:door":"3"}`)
	require.Contains(t, string(raw), `"ex:note":{"ex:a":[1,2.50]}`)
	require.Contains(t, string(raw), `"certificationInfo":"https://cert.example/1"`)
}

func TestExtraMayNotShadow(t *testing.T) {
	ev := commissioning(t)
	ev.Extra = map[string]json.RawMessage{"bizStep": json.RawMessage(`"x"`)}
	_, err := json.Marshal(ev)
	require.ErrorContains(t, err, `extra field "bizStep" is a standard field`)
	ev.Extra = map[string]json.RawMessage{"ex:x": json.RawMessage(`{`)}
	_, err = json.Marshal(ev)
	require.Error(t, err)
}
