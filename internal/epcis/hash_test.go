package epcis_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/stretchr/testify/require"
)

// commissioning is a fixed event as the builders write it.
func commissioning(t *testing.T) *epcis.ObjectEvent {
	t.Helper()
	ev, err := testLine(t).Commission(at, []string{pack(t, "A1"), pack(t, "A2")}, &epcis.ILMD{LotNumber: "B1", ItemExpirationDate: "2027-11-30"})
	require.NoError(t, err)
	return ev
}

func asMap(t *testing.T, ev any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func hashOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	h, err := epcis.EventHash(raw, epcis.DefaultNamespaces)
	require.NoError(t, err)
	return h
}

func TestPreHashOfCommissioning(t *testing.T) {
	ev := commissioning(t)
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	pre, err := epcis.PreHash(raw, epcis.DefaultNamespaces)
	require.NoError(t, err)
	require.Equal(t, "eventType=ObjectEvent"+
		"eventTime=2025-03-14T08:26:53.589Z"+
		"eventTimeZoneOffset=+01:00"+
		"epcList"+
		"epc=https://id.gs1.org/01/04012345123456/21/A1"+
		"epc=https://id.gs1.org/01/04012345123456/21/A2"+
		"action=ADD"+
		"bizStep=https://ref.gs1.org/cbv/BizStep-commissioning"+
		"disposition=https://ref.gs1.org/cbv/Disp-active"+
		"readPointid=https://id.gs1.org/414/4012345000009/254/LINE1"+
		"bizLocationid=https://id.gs1.org/414/4012345000009"+
		"ilmd"+
		"{urn:epcglobal:cbv:mda:}itemExpirationDate=2027-11-30"+
		"{urn:epcglobal:cbv:mda:}lotNumber=B1", pre)
	require.Equal(t, epcis.HashOf(pre), ev.EventID)
}

// TestEventIDStable: the same event, however written, has one ID.
func TestEventIDStable(t *testing.T) {
	ev := commissioning(t)
	again := commissioning(t)
	require.Equal(t, ev.EventID, again.EventID)

	m := asMap(t, ev)
	require.Equal(t, ev.EventID, hashOf(t, m), "a map writes its keys sorted: another field order")

	// Lists in another order, a time in UTC or with more digits.
	m = asMap(t, ev)
	l := m["epcList"].([]any)
	l[0], l[1] = l[1], l[0]
	require.Equal(t, ev.EventID, hashOf(t, m), "EPCs in another order")
	m["eventTime"] = "2025-03-14T08:26:53.589Z"
	require.Equal(t, ev.EventID, hashOf(t, m), "the time in UTC")
	m["eventTime"] = "2025-03-14T09:26:53.58900+01:00"
	require.Equal(t, ev.EventID, hashOf(t, m), "the time with more digits")
	m["eventTime"] = "2025-03-14T09:26:53.5894+01:00"
	require.Equal(t, ev.EventID, hashOf(t, m), "the time rounds to the millisecond")

	// A business transaction's keys in either order; transactions in either order.
	sh, err := testLine(t).Ship(at, []string{ssccIn(t, epcis.DigitalLink, testPallet)}, epcis.Shipment{
		BizTransactions: []epcis.BizTransaction{{Type: "po", BizTransaction: "urn:epcglobal:cbv:bt:4012345000009:PO1"}, {Type: "desadv", BizTransaction: "urn:epcglobal:cbv:bt:4012345000009:D1"}},
	})
	require.NoError(t, err)
	raw, err := json.Marshal(sh)
	require.NoError(t, err)
	swapped := []byte(`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit",` +
		`"bizTransactionList":[{"bizTransaction":"urn:epcglobal:cbv:bt:4012345000009:D1","type":"desadv"},{"bizTransaction":"urn:epcglobal:cbv:bt:4012345000009:PO1","type":"po"}],` +
		`"readPoint":{"id":"https://id.gs1.org/414/4012345000009/254/LINE1"},"epcList":["https://id.gs1.org/00/340123450000000031"],` +
		`"eventTimeZoneOffset":"+01:00","eventTime":"2025-03-14T08:26:53.589Z"}`)
	a, err := epcis.EventHash(raw, nil)
	require.NoError(t, err)
	b, err := epcis.EventHash(swapped, nil)
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Equal(t, sh.EventID, a)

	// Short CBV names and their URNs and Web URIs are one and the same.
	m = asMap(t, ev)
	m["bizStep"] = "urn:epcglobal:cbv:bizstep:commissioning"
	m["disposition"] = "https://ref.gs1.org/cbv/Disp-active"
	require.Equal(t, ev.EventID, hashOf(t, m))
}

// TestEventIDIgnores: eventID, recordTime, errorDeclaration and comments
// take no part in the hash.
func TestEventIDIgnores(t *testing.T) {
	ev := commissioning(t)
	id := ev.EventID
	ev.EventID = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
	rt := epcis.Time{Time: at.Add(time.Hour)}
	ev.RecordTime = &rt
	ev.ErrorDeclaration = &epcis.ErrorDeclaration{DeclarationTime: rt, Reason: "incorrect_data"}
	ev.Extra = map[string]json.RawMessage{"rdfs:comment": json.RawMessage(`"a note"`)}
	got, err := epcis.EventID(ev, epcis.DefaultNamespaces)
	require.NoError(t, err)
	require.Equal(t, id, got)
}

// TestEventIDChanges: any meaningful change gives another ID.
func TestEventIDChanges(t *testing.T) {
	base := commissioning(t)
	seen := map[string]string{base.EventID: "the event"}
	for name, edit := range map[string]func(e *epcis.ObjectEvent){
		"time +1 ms":     func(e *epcis.ObjectEvent) { e.EventTime = epcis.Time{Time: e.EventTime.Add(time.Millisecond)} },
		"offset":         func(e *epcis.ObjectEvent) { e.EventTimeZoneOffset = "+02:00" },
		"one EPC less":   func(e *epcis.ObjectEvent) { e.EPCList = e.EPCList[:1] },
		"another EPC":    func(e *epcis.ObjectEvent) { e.EPCList = []string{e.EPCList[0], pack(t, "A3")} },
		"action":         func(e *epcis.ObjectEvent) { e.Action = epcis.ActionObserve },
		"bizStep":        func(e *epcis.ObjectEvent) { e.BizStep = "encoding" },
		"disposition":    func(e *epcis.ObjectEvent) { e.Disposition = "encoded" },
		"no disposition": func(e *epcis.ObjectEvent) { e.Disposition = "" },
		"readPoint": func(e *epcis.ObjectEvent) {
			e.ReadPoint = &epcis.Location{ID: "https://id.gs1.org/414/4012345000009/254/LINE2"}
		},
		"bizLocation": func(e *epcis.ObjectEvent) { e.BizLocation = nil },
		"lot":         func(e *epcis.ObjectEvent) { e.ILMD = &epcis.ILMD{LotNumber: "B2", ItemExpirationDate: "2027-11-30"} },
		"expiry":      func(e *epcis.ObjectEvent) { e.ILMD = &epcis.ILMD{LotNumber: "B1", ItemExpirationDate: "2027-11-29"} },
		"no ILMD":     func(e *epcis.ObjectEvent) { e.ILMD = nil },
		"extension": func(e *epcis.ObjectEvent) {
			e.Extra = map[string]json.RawMessage{"example:station": json.RawMessage(`"S1"`)}
		},
		"transaction": func(e *epcis.ObjectEvent) {
			e.BizTransactionList = []epcis.BizTransaction{{Type: "po", BizTransaction: "urn:epcglobal:cbv:bt:4012345000009:PO1"}}
		},
		"source": func(e *epcis.ObjectEvent) {
			e.SourceList = []epcis.Source{{Type: "owning_party", Source: testOwner}}
		},
	} {
		ev := commissioning(t)
		edit(ev)
		id, err := epcis.EventID(ev, epcis.DefaultNamespaces)
		require.NoError(t, err)
		if other, dup := seen[id]; dup {
			t.Errorf("%s: same ID as %s", name, other)
		}
		seen[id] = name
	}

	// Aggregations: parent and children count.
	l := testLine(t)
	c := ssccIn(t, epcis.DigitalLink, testCase)
	a, err := l.Pack(at, c, []string{pack(t, "A1"), pack(t, "A2")})
	require.NoError(t, err)
	b, err := l.Pack(at, ssccIn(t, epcis.DigitalLink, testCase2), []string{pack(t, "A1"), pack(t, "A2")})
	require.NoError(t, err)
	d, err := l.Pack(at, c, []string{pack(t, "A1")})
	require.NoError(t, err)
	u, err := l.Unpack(at, c, []string{pack(t, "A1"), pack(t, "A2")})
	require.NoError(t, err)
	require.Len(t, map[string]bool{a.EventID: true, b.EventID: true, d.EventID: true, u.EventID: true}, 4)
}

func TestEventHashErrors(t *testing.T) {
	_, err := epcis.EventHash([]byte(`{"eventTime":"2025-01-01T00:00:00Z"}`), nil)
	require.ErrorIs(t, err, epcis.ErrNoType)
	_, err = epcis.EventHash([]byte(`[1,2]`), nil)
	require.Error(t, err)
	_, err = epcis.EventHash([]byte(`{"type":`), nil)
	require.Error(t, err)
}

// TestNamespacesMatter: a prefix is hashed as its namespace, so the same
// extension under another prefix of the same namespace hashes alike, and
// under an undeclared prefix does not.
func TestNamespacesMatter(t *testing.T) {
	ev := []byte(`{"type":"ObjectEvent","eventTime":"2025-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":[],"a:f":"1"}`)
	other := []byte(`{"type":"ObjectEvent","eventTime":"2025-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":[],"b:f":"1"}`)
	h1, err := epcis.EventHash(ev, epcis.Namespaces{"a": "https://ns.example.com/x/"})
	require.NoError(t, err)
	h2, err := epcis.EventHash(other, epcis.Namespaces{"b": "https://ns.example.com/x/"})
	require.NoError(t, err)
	require.Equal(t, h1, h2)
	h3, err := epcis.EventHash(ev, nil)
	require.NoError(t, err)
	require.NotEqual(t, h1, h3)
	pre, err := epcis.PreHash(ev, epcis.Namespaces{"a": "https://ns.example.com/x/"})
	require.NoError(t, err)
	require.Equal(t, "eventType=ObjectEventeventTime=2025-01-01T00:00:00.000ZeventTimeZoneOffset=+00:00action=OBSERVE{https://ns.example.com/x/}f=1", pre)
}
