package epcis_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/edgeagent/edgeagent/internal/testutil/epcisschema"
	"github.com/stretchr/testify/require"
)

var updateOwnVectors = flag.Bool("update-own-vectors", false,
	"rewrite testdata/own-vectors.jsonld from the builders; then recompute testdata/own-vectors.hashes with the reference implementation (testdata/README.md)")

// ownVectorDoc is the document of our own hash vectors: every kind of
// event the line writes, in both identifier syntaxes, and a few events
// that exercise the canonical form further.
func ownVectorDoc(t *testing.T) *epcis.Document {
	t.Helper()
	evs := append(allBuilders(t, epcis.DigitalLink), allBuilders(t, epcis.URN)...)

	// Serial characters an EPC URN leaves bare and a Digital Link escapes:
	// the two syntaxes hash apart.
	for _, s := range []epcis.Syntax{epcis.DigitalLink, epcis.URN} {
		ev, err := lineFor(t, s).Commission(at.Add(2*time.Hour), []string{packIn(t, s, "a'b;c=d")}, nil)
		require.NoError(t, err)
		evs = append(evs, ev)
	}

	// A commissioning by quantity with a numeric-looking lot, a negative
	// offset, an extension at event level and one in the read point.
	q := 12.50
	west := time.Date(2025, 3, 14, 4, 26, 53, 1_000_000, time.FixedZone("", -5*3600))
	ev := &epcis.ObjectEvent{
		QuantityList: []epcis.QuantityElement{{EPCClass: "https://id.gs1.org/01/04012345123456/10/0042", Quantity: &q, UOM: "KGM"}},
		ILMD:         &epcis.ILMD{LotNumber: "0042", ItemExpirationDate: "2027-11-30"},
	}
	ev.EventTime, ev.EventTimeZoneOffset = epcis.Time{Time: west}, "-05:00"
	ev.Action, ev.BizStep, ev.Disposition = epcis.ActionAdd, epcis.BizStepCommissioning, epcis.DispActive
	ev.ReadPoint = &epcis.Location{ID: lineFor(t, epcis.DigitalLink).ReadPoint, Extra: map[string]json.RawMessage{"example:station": json.RawMessage(`"S2"`)}}
	ev.Extra = map[string]json.RawMessage{
		"example:operator": json.RawMessage(`{"example:id": "op-7", "example:shift": 2}`),
		"example:checked":  json.RawMessage(`true`),
	}
	evs = append(evs, ev)

	doc := epcis.NewDocument(at, evs...)
	doc.Context = []any{epcis.ContextURL, map[string]any{"cbvmda": "urn:epcglobal:cbv:mda:", "example": "https://ns.example.com/epcis/"}}
	require.NoError(t, doc.SetEventIDs())
	return doc
}

// TestOwnVectors checks the event IDs of our own events against the hashes
// that the reference implementation computed for them.
func TestOwnVectors(t *testing.T) {
	doc := ownVectorDoc(t)
	raw, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	raw = append(raw, '\n')
	path := filepath.Join("testdata", "own-vectors.jsonld")
	if *updateOwnVectors {
		require.NoError(t, os.WriteFile(path, raw, 0o644))
	}
	stored, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(stored), string(raw),
		"the builders no longer write the events of the vectors: rerun with -update-own-vectors and recompute the hashes (testdata/README.md)")

	want := lines(t, filepath.Join("testdata", "own-vectors.hashes"))
	require.Len(t, want, len(doc.Events))
	ns := doc.Namespaces()
	for i, ev := range rawEvents(t, stored) {
		got, err := epcis.EventHash(ev, ns)
		require.NoError(t, err)
		require.Equal(t, want[i], got, "event %d", i)
		require.Equal(t, want[i], doc.Events[i].Common().EventID, "event %d", i)
	}
	n := len(allBuilders(t, epcis.DigitalLink))
	require.Equal(t, want[:n], want[n:2*n], "Digital Links and EPC URNs hash alike")
	require.NotEqual(t, want[2*n], want[2*n+1], "a serial with ' ; = hashes apart in the two syntaxes")
}

// TestOwnVectorsValid validates the vector document against the schema.
func TestOwnVectorsValid(t *testing.T) {
	sch := epcisschema.Load(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "own-vectors.jsonld"))
	require.NoError(t, err)
	sch.Require(t, raw, "testdata/own-vectors.jsonld")
}
