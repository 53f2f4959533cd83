package epcis_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/stretchr/testify/require"
)

// The line of the tests: company prefix 4012345 (7 digits).
const (
	testGTIN    = "04012345123456"
	testGLN     = "4012345000009"
	testCase    = "340123450000000017"
	testCase2   = "340123450000000024"
	testPallet  = "340123450000000031"
	testCPLen   = 7
	testOwner   = "https://id.gs1.org/417/4012345000009"
	testCarrier = "https://id.gs1.org/417/4000001000005"
)

var at = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.FixedZone("CET", 3600))

func strconvI(i int) string { return strconv.Itoa(i) }

func idsFor(s epcis.Syntax) epcis.IDs { return epcis.IDs{Syntax: s, CompanyPrefixLength: testCPLen} }

func lineFor(t *testing.T, s epcis.Syntax) epcis.Line {
	t.Helper()
	rp, err := idsFor(s).SGLN(testGLN, "LINE1")
	require.NoError(t, err)
	bl, err := idsFor(s).SGLN(testGLN, "")
	require.NoError(t, err)
	return epcis.Line{ReadPoint: rp, BizLocation: bl}
}

func testLine(t *testing.T) epcis.Line { return lineFor(t, epcis.DigitalLink) }

func packIn(t *testing.T, s epcis.Syntax, serial string) string {
	t.Helper()
	id, err := idsFor(s).SGTIN(testGTIN, serial)
	require.NoError(t, err)
	return id
}

func pack(t *testing.T, serial string) string { return packIn(t, epcis.DigitalLink, serial) }

func ssccIn(t *testing.T, s epcis.Syntax, sscc string) string {
	t.Helper()
	id, err := idsFor(s).SSCC(sscc)
	require.NoError(t, err)
	return id
}

// allBuilders returns one event of every kind the line writes.
func allBuilders(t *testing.T, s epcis.Syntax) []epcis.Event {
	t.Helper()
	l := lineFor(t, s)
	p1, p2, p3 := packIn(t, s, "A1"), packIn(t, s, "A2"), packIn(t, s, "X-9.b_c")
	c1, c2, pal := ssccIn(t, s, testCase), ssccIn(t, s, testCase2), ssccIn(t, s, testPallet)
	var out []epcis.Event
	add := func(ev epcis.Event, err error) {
		t.Helper()
		require.NoError(t, err)
		out = append(out, ev)
	}
	exp, err := epcis.ExpiryDate("271100", at)
	require.NoError(t, err)
	add(l.Commission(at, []string{p1, p2, p3}, &epcis.ILMD{LotNumber: "B2025-03", ItemExpirationDate: exp}))
	add(l.Pack(at.Add(time.Minute), c1, []string{p1, p2}))
	add(l.Pack(at.Add(2*time.Minute), pal, []string{c1, c2}))
	add(l.Unpack(at.Add(3*time.Minute), c1, []string{p2}))
	add(l.Unpack(at.Add(4*time.Minute), c2, nil))
	for i, reason := range []string{"destroy", "sample", "free_sample", "check_out", "lock", "export"} {
		add(l.Decommission(at.Add(time.Duration(5+i)*time.Minute), reason, []string{p3}))
	}
	bt, err := epcis.BizTransactionID(testGLN, "SO-4711")
	require.NoError(t, err)
	add(l.Ship(at.Add(time.Hour), []string{pal}, epcis.Shipment{
		BizTransactions: []epcis.BizTransaction{{Type: epcis.BTTDespatchAdvice, BizTransaction: bt}},
		Sources:         []epcis.Source{{Type: epcis.SDTOwningParty, Source: testOwner}, {Type: epcis.SDTLocation, Source: l.BizLocation}},
		Destinations:    []epcis.Destination{{Type: epcis.SDTPossessingParty, Destination: testCarrier}},
	}))
	return out
}

func TestCommission(t *testing.T) {
	l := testLine(t)
	exp, err := epcis.ExpiryDate("271100", at)
	require.NoError(t, err)
	ev, err := l.Commission(at, []string{pack(t, "A1"), pack(t, "AB/12")}, &epcis.ILMD{LotNumber: "B1", ItemExpirationDate: exp})
	require.NoError(t, err)
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"type": "ObjectEvent",
		"eventID": "`+ev.EventID+`",
		"eventTime": "2025-03-14T09:26:53.589+01:00",
		"eventTimeZoneOffset": "+01:00",
		"epcList": ["https://id.gs1.org/01/04012345123456/21/A1", "https://id.gs1.org/01/04012345123456/21/AB%2F12"],
		"action": "ADD",
		"bizStep": "commissioning",
		"disposition": "active",
		"readPoint": {"id": "https://id.gs1.org/414/4012345000009/254/LINE1"},
		"bizLocation": {"id": "https://id.gs1.org/414/4012345000009"},
		"ilmd": {"cbvmda:lotNumber": "B1", "cbvmda:itemExpirationDate": "2027-11-30"}
	}`, string(raw))
	require.True(t, strings.HasPrefix(ev.EventID, epcis.HashPrefix) && strings.HasSuffix(ev.EventID, epcis.HashVersion), ev.EventID)
	id, err := epcis.EventID(ev, epcis.DefaultNamespaces)
	require.NoError(t, err)
	require.Equal(t, id, ev.EventID)

	// The field order of the JSON is the standard examples' order.
	require.Less(t, strings.Index(string(raw), `"eventTime"`), strings.Index(string(raw), `"epcList"`))
	require.Less(t, strings.Index(string(raw), `"action"`), strings.Index(string(raw), `"readPoint"`))

	// Without ILMD there is none.
	ev, err = l.Commission(at, []string{pack(t, "A1")}, nil)
	require.NoError(t, err)
	require.Nil(t, ev.ILMD)
	raw, err = json.Marshal(ev)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "ilmd")
}

func TestAggregation(t *testing.T) {
	l := testLine(t)
	c := ssccIn(t, epcis.DigitalLink, testCase)
	ev, err := l.Pack(at, c, []string{pack(t, "A1"), pack(t, "A2")})
	require.NoError(t, err)
	require.Equal(t, epcis.ActionAdd, ev.Action)
	require.Equal(t, "packing", ev.BizStep)
	require.Equal(t, "in_progress", ev.Disposition)
	require.Equal(t, "https://id.gs1.org/00/340123450000000017", ev.ParentID)
	require.Len(t, ev.ChildEPCs, 2)
	require.Equal(t, l.BizLocation, ev.BizLocation.ID)

	ev, err = l.Unpack(at, c, []string{pack(t, "A1")})
	require.NoError(t, err)
	require.Equal(t, epcis.ActionDelete, ev.Action)
	require.Equal(t, "unpacking", ev.BizStep)
	require.Empty(t, ev.Disposition)

	// Unpacking everything names no children.
	ev, err = l.Unpack(at, c, nil)
	require.NoError(t, err)
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "childEPCs")
	require.Contains(t, string(raw), `"parentID":"https://id.gs1.org/00/340123450000000017"`)
}

func TestDecommissionEveryReason(t *testing.T) {
	l := testLine(t)
	ids := map[string]bool{}
	for reason, want := range epcis.DecommissionReasons {
		ev, err := l.Decommission(at, reason, []string{pack(t, "A1")})
		require.NoError(t, err, reason)
		require.Equal(t, want.Action, ev.Action, reason)
		require.Equal(t, want.BizStep, ev.BizStep, reason)
		require.Equal(t, want.Disposition, ev.Disposition, reason)
		require.False(t, ids[ev.EventID], "%s: two reasons give one event ID", reason)
		ids[ev.EventID] = true
	}
	_, err := l.Decommission(at, "lost", []string{pack(t, "A1")})
	require.ErrorContains(t, err, `unknown decommission reason "lost"`)
}

func TestShip(t *testing.T) {
	l := testLine(t)
	pal := ssccIn(t, epcis.DigitalLink, testPallet)
	ev, err := l.Ship(at, []string{pal}, epcis.Shipment{
		BizTransactions: []epcis.BizTransaction{{Type: "po", BizTransaction: "urn:epcglobal:cbv:bt:4012345000009:PO1"}},
		Destinations:    []epcis.Destination{{Type: "owning_party", Destination: testCarrier}},
	})
	require.NoError(t, err)
	require.Equal(t, epcis.ActionObserve, ev.Action)
	require.Equal(t, "shipping", ev.BizStep)
	require.Equal(t, "in_transit", ev.Disposition)
	require.Nil(t, ev.BizLocation, "goods in transit are at no business location")
	require.Equal(t, l.ReadPoint, ev.ReadPoint.ID)
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:4012345000009:PO1"}]`)
	require.Contains(t, string(raw), `"destinationList":[{"type":"owning_party","destination":"https://id.gs1.org/417/4000001000005"}]`)
	require.NotContains(t, string(raw), "sourceList")
}

func TestBuilderErrors(t *testing.T) {
	l := testLine(t)
	p := pack(t, "A1")
	c := ssccIn(t, epcis.DigitalLink, testCase)
	for name, f := range map[string]func() error{
		"no EPCs":   func() error { _, err := l.Commission(at, nil, nil); return err },
		"EPC twice": func() error { _, err := l.Commission(at, []string{p, p}, nil); return err },
		"not a URI": func() error { _, err := l.Commission(at, []string{"A1"}, nil); return err },
		"no time":   func() error { _, err := l.Commission(time.Time{}, []string{p}, nil); return err },
		"bad lot": func() error {
			_, err := l.Commission(at, []string{p}, &epcis.ILMD{LotNumber: "lot with spaces"})
			return err
		},
		"bad expiry": func() error {
			_, err := l.Commission(at, []string{p}, &epcis.ILMD{ItemExpirationDate: "271130"})
			return err
		},
		"pack no parent": func() error { _, err := l.Pack(at, "", []string{p}); return err },
		"pack no child":  func() error { _, err := l.Pack(at, c, nil); return err },
		"unpack twice":   func() error { _, err := l.Unpack(at, c, []string{p, p}); return err },
		"no reason":      func() error { _, err := l.Decommission(at, "", []string{p}); return err },
		"ship nothing":   func() error { _, err := l.Ship(at, nil, epcis.Shipment{}); return err },
		"source no type": func() error {
			_, err := l.Ship(at, []string{c}, epcis.Shipment{Sources: []epcis.Source{{Source: testOwner}}})
			return err
		},
		"transaction no id": func() error {
			_, err := l.Ship(at, []string{c}, epcis.Shipment{BizTransactions: []epcis.BizTransaction{{Type: "po"}}})
			return err
		},
	} {
		require.Error(t, f(), name)
	}
}

func TestEventTimeAndOffset(t *testing.T) {
	l := testLine(t)
	for _, c := range []struct {
		at           time.Time
		time, offset string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 6_789_123, time.FixedZone("", -5*3600)), "2025-01-02T03:04:05.006-05:00", "-05:00"},
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "2025-01-02T03:04:05.000Z", "+00:00"},
		{time.Date(2025, 7, 1, 12, 0, 0, 0, time.FixedZone("", 5*3600+45*60)), "2025-07-01T12:00:00.000+05:45", "+05:45"},
	} {
		ev, err := l.Commission(c.at, []string{pack(t, "A1")}, nil)
		require.NoError(t, err)
		require.Equal(t, c.offset, ev.EventTimeZoneOffset)
		require.Equal(t, c.time, ev.EventTime.String())
	}
}

func TestExpiryDate(t *testing.T) {
	for in, want := range map[string]string{
		"271130": "2027-11-30",
		"271100": "2027-11-30", // day 00: the last day of the month
		"280200": "2028-02-29",
		"270200": "2027-02-28",
		"991231": "1999-12-31", // 74 years ahead is 26 years ago
		"750101": "2075-01-01", // 50 years ahead
		"760101": "1976-01-01",
	} {
		got, err := epcis.ExpiryDate(in, at)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"2711", "27113", "271301", "270230", "27ab30"} {
		_, err := epcis.ExpiryDate(bad, at)
		require.Error(t, err, bad)
	}
}
