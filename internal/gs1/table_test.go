package gs1

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/edgeagent/edgeagent/internal/testutil"
	"github.com/stretchr/testify/require"
)

var specRE = regexp.MustCompile(`^\[?[NXYZ]`)

// TestTableMatchesDictionary reads the GS1 Barcode Syntax Dictionary and
// checks that every AI in it is in the table with the same flags, format,
// pairing rules, Digital Link keys and title, and that the table has no others.
func TestTableMatchesDictionary(t *testing.T) {
	path := testutil.SharedFile(t, "data/gs1/gs1-syntax-dictionary.txt")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		title := ""
		if i := strings.Index(line, "#"); i >= 0 {
			line, title = line[:i], strings.TrimSpace(line[i+1:])
		}
		toks := strings.Fields(line)
		ais, toks := toks[0], toks[1:]
		flags := ""
		if len(toks) > 0 && !specRE.MatchString(toks[0]) && !strings.Contains(toks[0], "=") && toks[0] != "dlpkey" {
			flags, toks = toks[0], toks[1:]
		}
		var spec, attrs []string
		for _, tok := range toks {
			if specRE.MatchString(tok) {
				spec = append(spec, tok)
			} else {
				attrs = append(attrs, tok)
			}
		}
		var req, ex []string
		dlpkey := "-"
		for _, a := range attrs {
			switch {
			case strings.HasPrefix(a, "req="):
				req = append(req, a[4:])
			case strings.HasPrefix(a, "ex="):
				ex = append(ex, strings.Split(a[3:], ",")...)
			case a == "dlpkey":
				dlpkey = ""
			case strings.HasPrefix(a, "dlpkey="):
				dlpkey = a[7:]
			default:
				t.Fatalf("unknown attribute %q", a)
			}
		}
		for _, ai := range expandRange(t, ais) {
			seen[ai] = true
			d := lookupExact(ai)
			require.NotNil(t, d, "AI (%s) of the dictionary is missing from the table", ai)
			require.Equal(t, strings.Contains(flags, "*"), d.fixed, "AI (%s) fixed-length flag", ai)
			require.Equal(t, strings.Contains(flags, "?"), d.dlAttr, "AI (%s) DL attribute flag", ai)
			require.Equal(t, normaliseSpec(spec), d.format(), "AI (%s) format", ai)
			require.Equal(t, req, renderReq(d.req), "AI (%s) req", ai)
			if ex == nil {
				ex = []string{}
			}
			require.Equal(t, ex, append([]string{}, d.ex...), "AI (%s) ex", ai)
			require.Equal(t, dlpkey, renderDLKey(d), "AI (%s) dlpkey", ai)
			require.Equal(t, title, d.title, "AI (%s) title", ai)
		}
	}
	require.NoError(t, sc.Err())
	for i := range table {
		require.True(t, seen[table[i].ai], "AI (%s) is in the table but not in the dictionary", table[i].ai)
		if i > 0 {
			require.Less(t, table[i-1].ai, table[i].ai, "table must be sorted")
		}
	}
}

func expandRange(t *testing.T, s string) []string {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return []string{s}
	}
	var lo, hi int
	_, err := fmt.Sscanf(a+" "+b, "%d %d", &lo, &hi)
	require.NoError(t, err)
	var out []string
	for v := lo; v <= hi; v++ {
		out = append(out, fmt.Sprintf("%0*d", len(a), v))
	}
	return out
}

// normaliseSpec writes the dictionary's components as aiDef.format does:
// "[N3],iso3166" becomes "[N3],iso3166" and "N..20" stays.
func normaliseSpec(spec []string) string {
	out := make([]string, len(spec))
	for i, s := range spec {
		s = strings.Replace(s, "],", "]\x00", 1)
		base, lints, _ := strings.Cut(s, "\x00")
		if !strings.HasPrefix(base, "[") {
			base, lints, _ = strings.Cut(s, ",")
		}
		base = strings.Trim(base, "[]")
		cs, n := base[:1], strings.TrimPrefix(base[1:], "..")
		r := cs
		if strings.HasPrefix(base[1:], "..") {
			r += ".."
		}
		r += n
		if strings.HasPrefix(s, "[") {
			r = "[" + r + "]"
		}
		if lints != "" {
			r += "," + lints
		}
		out[i] = r
	}
	return strings.Join(out, " ")
}

func renderReq(req [][][]string) []string {
	var out []string
	for _, rule := range req {
		groups := make([]string, len(rule))
		for i, g := range rule {
			groups[i] = strings.Join(g, "+")
		}
		out = append(out, strings.Join(groups, ","))
	}
	return out
}

func renderDLKey(d *aiDef) string {
	if !d.dlKey {
		return "-"
	}
	alts := make([]string, len(d.dlQualifiers))
	for i, q := range d.dlQualifiers {
		alts[i] = strings.Join(q, ",")
	}
	return strings.Join(alts, "|")
}

// TestLinterVectors runs the GS1 syntax-dictionary linter test vectors.
// The gcppos linters need a company-prefix lookup service for some vectors;
// only their offline checks are run.
func TestLinterVectors(t *testing.T) {
	path := testutil.SharedFile(t, "data/gs1/gs1-linter-vectors.jsonl")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var v struct {
			Linter string          `json:"linter"`
			Data   json.RawMessage `json:"data"`
			OK     bool            `json:"ok"`
			Err    string          `json:"err"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &v), "line %d", i+1)
		var data string
		if json.Unmarshal(v.Data, &data) != nil {
			continue // a vector generated in C from a variable, not a literal
		}
		if (v.Linter == "gcppos1" || v.Linter == "gcppos2") && (v.Err == "GS1_LINTER_GCP_DATASOURCE_OFFLINE" || (!v.OK && len(data) >= 7)) {
			continue // needs the company-prefix lookup service
		}
		l, ok := lintByName(v.Linter)
		require.True(t, ok, "unknown linter %q", v.Linter)
		f := l.check(data)
		if v.OK {
			require.Nil(t, f, "line %d: %s(%q) should pass", i+1, v.Linter, data)
		} else {
			require.NotNil(t, f, "line %d: %s(%q) should fail with %s", i+1, v.Linter, data, v.Err)
			require.Equal(t, v.Err, f.code, "line %d: %s(%q)", i+1, v.Linter, data)
		}
		n++
	}
	require.Greater(t, n, 1000, "too few vectors ran")
}
