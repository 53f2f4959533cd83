package epcis_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeagent/edgeagent/internal/epcis"
	"github.com/stretchr/testify/require"
)

// VectorsEnv names the directory of the public test vectors of the CBV 2.0
// event hash (RalphTro/epcis-event-hash-generator, its tests/examples or the
// repository itself). Nothing of that repository is part of this one.
const VectorsEnv = "EDGEAGENT_EPCIS_HASH_VECTORS"

// vectorDoc is one EPCIS document of the vectors as JSON: its events, the
// prefixes of its context and the fields a repository asked to be left out
// of the hash ("…:ignoreFields" in the https://repository-x.example.com/
// namespace, a convention of those vectors).
type vectorDoc struct {
	events []json.RawMessage
	ns     epcis.Namespaces
	ignore []string
}

func readVectorDoc(t *testing.T, path string) vectorDoc {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &doc), path)
	var ctx any
	if c, ok := doc["@context"]; ok {
		require.NoError(t, json.Unmarshal(c, &ctx))
	}
	out := vectorDoc{ns: epcis.ContextNamespaces(ctx)}
	var body struct {
		EventList    []json.RawMessage `json:"eventList"`
		Event        json.RawMessage   `json:"event"`
		QueryResults *struct {
			ResultsBody struct {
				EventList []json.RawMessage `json:"eventList"`
			} `json:"resultsBody"`
		} `json:"queryResults"`
	}
	require.NoError(t, json.Unmarshal(doc["epcisBody"], &body), path)
	ignoreFrom := doc
	switch {
	case body.EventList != nil:
		out.events = body.EventList
	case body.QueryResults != nil:
		out.events = body.QueryResults.ResultsBody.EventList
		var qr struct {
			QueryResults map[string]json.RawMessage `json:"queryResults"`
		}
		require.NoError(t, json.Unmarshal(doc["epcisBody"], &qr))
		ignoreFrom = qr.QueryResults
	case body.Event != nil:
		out.events = []json.RawMessage{body.Event}
	}
	for prefix, iri := range out.ns {
		if iri == "https://repository-x.example.com/" {
			if f, ok := ignoreFrom[prefix+":ignoreFields"]; ok {
				require.NoError(t, json.Unmarshal(f, &out.ignore))
			}
		}
	}
	return out
}

// without drops top-level fields from an event.
func without(t *testing.T, ev json.RawMessage, fields []string) []byte {
	if len(fields) == 0 {
		return ev
	}
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(ev, &m))
	for _, f := range fields {
		delete(m, f)
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func lines(t *testing.T, path string) []string {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimRight(string(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))), "\n"), "\n")
}

// TestReferenceVectors hashes every event of every JSON-LD vector document
// and compares with the published hashes (and pre-hash strings, where the
// vectors have them). The XML vectors are out of scope: the agent reads
// and writes JSON-LD only.
func TestReferenceVectors(t *testing.T) {
	dir := os.Getenv(VectorsEnv)
	if dir == "" {
		t.Skipf("set %s to the tests/examples directory of RalphTro/epcis-event-hash-generator to check the hash against its published vectors", VectorsEnv)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tests", "examples")); err == nil && fi.IsDir() {
		dir = filepath.Join(dir, "tests", "examples")
	}
	var files []string
	for _, ext := range []string{"*.jsonld", "*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, ext))
		require.NoError(t, err)
		files = append(files, m...)
	}
	total, matched, docs := 0, 0, 0
	for _, f := range files {
		base := strings.TrimSuffix(f, filepath.Ext(f))
		want := lines(t, base+".hashes")
		if want == nil {
			continue
		}
		docs++
		pre := lines(t, base+".prehashes")
		doc := readVectorDoc(t, f)
		require.Len(t, doc.events, len(want), "%s: events and hashes", filepath.Base(f))
		for i, ev := range doc.events {
			total++
			ev := without(t, ev, doc.ignore)
			got, err := epcis.EventHash(ev, doc.ns)
			require.NoError(t, err)
			if got == want[i] {
				matched++
				continue
			}
			p, _ := epcis.PreHash(ev, doc.ns)
			if i < len(pre) {
				t.Errorf("%s event %d: hash %s, want %s\n pre-hash %s\n want     %s", filepath.Base(f), i, got, want[i], p, pre[i])
			} else {
				t.Errorf("%s event %d: hash %s, want %s\n pre-hash %s", filepath.Base(f), i, got, want[i], p)
			}
		}
	}
	require.NotZero(t, docs, "no vector documents (*.jsonld with .hashes) in %s", dir)
	t.Logf("%d of %d published vector events match (%d JSON-LD documents)", matched, total, docs)

	// expected_equal: every event of such a document has the same hash.
	eq, _ := filepath.Glob(filepath.Join(dir, "..", "expected_equal", "*.json*"))
	for _, f := range eq {
		doc := readVectorDoc(t, f)
		var first string
		for i, ev := range doc.events {
			got, err := epcis.EventHash(ev, doc.ns)
			require.NoError(t, err)
			if i == 0 {
				first = got
				continue
			}
			require.Equal(t, first, got, "%s: event %d differs from event 0", filepath.Base(f), i)
		}
		t.Logf("%s: %d events, one hash", filepath.Base(f), len(doc.events))
	}
}
