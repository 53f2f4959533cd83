package gs1

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The GS1 Barcode Syntax Engine (github.com/gs1/gs1-syntax-engine) is the
// reference this package follows. It is not part of the project: these
// tests and benchmarks reach a copy of it built outside the project through
// EDGEAGENT_GS1_ENGINE, the directory of its C library (src/c-lib, built
// with its own "make lib"), and skip when it is not there.
const engineEnv = "EDGEAGENT_GS1_ENGINE"

// engineFile returns a file of the engine's directory, or skips naming the
// variable and the missing path.
func engineFile(tb testing.TB, rel string) string {
	tb.Helper()
	dir := os.Getenv(engineEnv)
	if dir == "" {
		tb.Skipf("%s is not set: set it to the GS1 Barcode Syntax Engine's src/c-lib directory, built with make lib, to compare with the engine", engineEnv)
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s=%s: %s is missing (the engine's src/c-lib, built with make lib): %v", engineEnv, dir, p, err)
	}
	return p
}

// engine is the engine's setScanData behind testdata/enginebench.c, a
// program of ours compiled against the engine's static library.
type engine struct {
	in  *bufio.Writer
	out *bufio.Scanner
}

func startEngine(tb testing.TB) *engine {
	tb.Helper()
	header := engineFile(tb, "gs1encoders.h")
	lib := engineFile(tb, filepath.Join("build", "libgs1encoders.a"))
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		tb.Skipf("gcc is not installed: it compiles testdata/enginebench.c against %s", lib)
	}
	bin := filepath.Join(tb.TempDir(), "enginebench")
	// -O2, as the engine's own Makefile builds the library.
	build := exec.Command(gcc, "-O2", "-I", filepath.Dir(header), filepath.Join("testdata", "enginebench.c"), lib, "-o", bin)
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("compiling testdata/enginebench.c against %s: %v\n%s", lib, err, out)
	}
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	e := &engine{in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	e.out.Buffer(make([]byte, 1<<16), 1<<20)
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	return e
}

func (e *engine) ask(tb testing.TB, format string, args ...any) string {
	tb.Helper()
	fmt.Fprintf(e.in, format+"\n", args...)
	if err := e.in.Flush(); err != nil {
		tb.Fatalf("engine: %v", err)
	}
	if !e.out.Scan() {
		tb.Fatalf("engine: no answer: %v", e.out.Err())
	}
	line := e.out.Text()
	if strings.HasPrefix(line, "error ") {
		tb.Fatalf("engine: %s", line)
	}
	return line
}

// run calls setScanData n times on data and returns the loop's duration
// by the engine's own clock and how many calls succeeded.
func (e *engine) run(tb testing.TB, data []byte, n int) (time.Duration, int) {
	tb.Helper()
	ns, ok, _ := strings.Cut(e.ask(tb, "run %d %x", n, data), " ")
	d, err1 := strconv.ParseInt(ns, 10, 64)
	k, err2 := strconv.Atoi(ok)
	if err1 != nil || err2 != nil {
		tb.Fatalf("engine: bad answer to run: %q %q", ns, ok)
	}
	return time.Duration(d), k
}

// check returns the engine's verdict on data: its HRI lines when it accepts
// the data, its error message when it refuses it.
func (e *engine) check(tb testing.TB, data []byte) (bool, string) {
	tb.Helper()
	ok, text, _ := strings.Cut(e.ask(tb, "check %x", data), " ")
	b, err := hex.DecodeString(text)
	if err != nil {
		tb.Fatalf("engine: bad answer to check: %q", text)
	}
	return ok == "1", string(b)
}

// BenchmarkParseAgainstEngine parses each input with ParseScanInto into a
// reused Message and with the engine's gs1_encoder_setScanData (default
// options, embedded AI table), in the same run window: b.N parses of each,
// in 21 interleaved pairs of chunks, the order alternating, so that both see
// the same load. Only our chunks run under the benchmark timer, so ns/op,
// B/op and allocs/op are ours. It reports:
//
//	scans/s         ours, the median of the pairs' rates
//	engine-scans/s  the engine's, timed by its own clock around its loop alone
//	go/engine       the median of the pairs' ratios of ours to the engine's
//
// Both run on one core: the engine is one thread, and ours runs with
// GOMAXPROCS 1 (its parses do not allocate, so no collector runs beside it).
//
// engine-tests runs both over the scan strings of the engine's own unit
// tests of its scan-data parser (gs1_processScanData, setScanData) that
// both read the same way, by the engine's verdict now, and reports how many
// of all of them agree, differ in scope, or disagree (agree, out-of-scope,
// disagree; see TestEngineScanDataVectors for the differences in scope);
// engine-tests-accepted and engine-tests-refused split them by verdict,
// since a refusal costs the two parsers very different work: the engine
// sets an error code and a fixed message, ours builds an *Error that names
// the AI, the position and the rule, often with the value quoted.
func BenchmarkParseAgainstEngine(b *testing.B) {
	e := startEngine(b)
	for _, in := range scanInputs {
		data := []byte(in.data)
		var m Message
		ok, hri := e.check(b, data)
		if err := ParseScanInto(&m, data); err != nil || !ok || hri != strings.Join(m.HRILines(), "\n") {
			b.Fatalf("%s: the engine and we must read it the same way: engine %v %q, ours %v %q", in.name, ok, hri, err, m.HRILines())
		}
		b.Run(in.name, func(b *testing.B) {
			benchPairs(b, e, [][]byte{data}, true)
		})
	}
	vecs := engineVectors(b)
	var accepted, refused [][]byte
	var agree, scope, disagree int
	var reused Message
	for _, v := range vecs {
		ok, hri := e.check(b, []byte(v.scan))
		switch verdict, _ := judge(v, ok, hri, &reused); {
		case verdict == agreed && ok:
			accepted = append(accepted, []byte(v.scan))
		case verdict == agreed:
			refused = append(refused, []byte(v.scan))
		case verdict == outOfScope:
			scope++
		default:
			disagree++
		}
	}
	agree = len(accepted) + len(refused)
	b.Run("engine-tests", func(b *testing.B) {
		benchPairs(b, e, append(slices.Clone(accepted), refused...), false)
		b.ReportMetric(float64(agree), "agree")
		b.ReportMetric(float64(scope), "out-of-scope")
		b.ReportMetric(float64(disagree), "disagree")
	})
	b.Run("engine-tests-accepted", func(b *testing.B) {
		benchPairs(b, e, accepted, true)
	})
	b.Run("engine-tests-refused", func(b *testing.B) {
		benchPairs(b, e, refused, false)
	})
}

// benchPairs runs b.N parses of the inputs (round robin) with both parsers
// in interleaved pairs; valid says whether every parse must succeed.
func benchPairs(b *testing.B, e *engine, inputs [][]byte, valid bool) {
	const pairs = 21
	oneCore(b) // the engine is one thread
	var m Message
	var goRates, engineRates, ratios []float64
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for p := range pairs {
		n := b.N / pairs
		if p < b.N%pairs {
			n++
		}
		if n == 0 {
			continue
		}
		var ours, theirs time.Duration
		runOurs := func() {
			b.StartTimer()
			start := time.Now()
			for i := range n {
				err := ParseScanInto(&m, inputs[i%len(inputs)])
				if valid && err != nil {
					b.Fatal(err)
				}
			}
			ours = time.Since(start)
			b.StopTimer()
		}
		runTheirs := func() {
			for k, in := range inputs {
				c := n / len(inputs)
				if k < n%len(inputs) {
					c++
				}
				if c == 0 {
					continue
				}
				d, okCount := e.run(b, in, c)
				if valid && okCount != c {
					b.Fatalf("the engine refused %q", in)
				}
				theirs += d
			}
		}
		if p%2 == 0 {
			runOurs()
			runTheirs()
		} else {
			runTheirs()
			runOurs()
		}
		goRate, engineRate := float64(n)/ours.Seconds(), float64(n)/theirs.Seconds()
		goRates, engineRates = append(goRates, goRate), append(engineRates, engineRate)
		ratios = append(ratios, goRate/engineRate)
	}
	b.ReportMetric(median(goRates), "scans/s")
	b.ReportMetric(median(engineRates), "engine-scans/s")
	b.ReportMetric(median(ratios), "go/engine")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// engineVector is one scan-data case of the engine's own unit tests.
type engineVector struct {
	where string // file:line in the engine's source
	scan  string
	ok    bool // the test expects the engine to accept it
	// data is the data string the test expects ("^" for FNC1), when it
	// checks one; dlAIs the AI data it expects from a Digital Link URI.
	data, dlAIs       string
	hasData, hasDLAIs bool
}

var (
	vectorCall = regexp.MustCompile(`test_testProcessScanData\(|gs1_encoder_setScanData\(ctx, |strcmp\(ctx->dlAIbuffer, |strcmp\(gs1_encoder_getDataStr\(ctx\), `)
	cLiteral   = regexp.MustCompile(`^\s*"((?:[^"\\]|\\.)*)"`)
)

// engineVectors reads the scan-data cases of the engine's unit tests from
// its source: gs1_processScanData's (scandata.c) and
// gs1_encoder_setScanData's (gs1encoders.c). Cases whose scan data the C
// code builds in a buffer, not as a literal, are left out.
func engineVectors(tb testing.TB) []engineVector {
	tb.Helper()
	var vecs []engineVector
	// A check belongs to the case just before it, within a few lines:
	// other tests check the data string after other calls.
	last := -1
	for _, name := range []string{"scandata.c", "gs1encoders.c"} {
		path := engineFile(tb, name)
		src, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		text := string(src)
		last = -1
		for _, loc := range vectorCall.FindAllStringIndex(text, -1) {
			lineStart := strings.LastIndexByte(text[:loc[0]], '\n') + 1
			line := text[lineStart:]
			line = line[:strings.IndexByte(line, '\n')]
			if strings.HasPrefix(strings.TrimSpace(line), "#define") || strings.Contains(line, "do_test_") {
				continue // the macro's own definition
			}
			where := fmt.Sprintf("%s:%d", name, strings.Count(text[:loc[0]], "\n")+1)
			call, rest := text[loc[0]:loc[1]], text[loc[1]:]
			switch {
			case strings.HasPrefix(call, "test_testProcessScanData"):
				// (should_succeed, "scan" "data", SYM, "expected data string")
				okArg, rest, _ := strings.Cut(rest, ",")
				scan, rest, ok1 := cStrings(tb, rest)
				_, rest, _ = strings.Cut(rest, ",")
				data, _, ok2 := cStrings(tb, rest[strings.IndexByte(rest, ',')+1:])
				if !ok1 || !ok2 {
					tb.Fatalf("%s: cannot read the test case %q", where, line)
				}
				vecs = append(vecs, engineVector{where: where, scan: scan, ok: strings.TrimSpace(okArg) == "true", data: data, hasData: true})
				last = loc[0]
			case strings.HasPrefix(call, "gs1_encoder_setScanData"):
				scan, _, ok := cStrings(tb, rest)
				if !ok {
					continue // data built in a buffer
				}
				prefix := line[:loc[0]-lineStart]
				vecs = append(vecs, engineVector{where: where, scan: scan, ok: !strings.HasSuffix(prefix, "!")})
				last = loc[0]
			default:
				if last < 0 || strings.Count(text[last:loc[0]], "\n") > 3 {
					continue // not a check of a scan-data case
				}
				want, _, ok := cStrings(tb, rest)
				if !ok {
					tb.Fatalf("%s: cannot read the check %q", where, line)
				}
				v := &vecs[len(vecs)-1]
				if strings.HasPrefix(call, "strcmp(ctx->dlAIbuffer") {
					v.dlAIs, v.hasDLAIs = want, true
				} else {
					v.data, v.hasData = want, true
				}
			}
		}
	}
	if len(vecs) < 40 {
		tb.Fatalf("only %d scan-data cases found in the engine's tests: has their form changed?", len(vecs))
	}
	return vecs
}

// cStrings reads adjacent C string literals from the start of s (across
// lines) and returns their concatenated value and the rest of s.
func cStrings(tb testing.TB, s string) (string, string, bool) {
	tb.Helper()
	var out strings.Builder
	found := false
	for {
		m := cLiteral.FindStringSubmatchIndex(s)
		if m == nil {
			return out.String(), s, found
		}
		found = true
		out.WriteString(unquoteC(tb, s[m[2]:m[3]]))
		s = s[m[1]:]
	}
}

// unquoteC decodes the escapes of a C string literal's body.
func unquoteC(tb testing.TB, s string) string {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'x':
			// C reads every hex digit that follows.
			j := i + 1
			for j < len(s) && isHex(s[j]) {
				j++
			}
			v, err := strconv.ParseUint(s[i+1:j], 16, 8)
			if err != nil {
				tb.Fatalf("C escape \\x%s: %v", s[i+1:j], err)
			}
			b.WriteByte(byte(v))
			i = j - 1
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '\\', '"', '\'', '?':
			b.WriteByte(c)
		default:
			tb.Fatalf("C escape \\%c not understood", c)
		}
	}
	return b.String()
}

type verdict int

const (
	agreed verdict = iota
	outOfScope
	disagreed
)

// judge compares our reading of a vector with the engine's: ok is the
// engine's verdict and hri, when it accepts, its HRI lines (asked of the
// engine) or "" to use the data strings the vector expects (from the
// source). reused is parsed into as well, vector after vector, and must
// read each the same as a new Message.
func judge(v engineVector, ok bool, hri string, reused *Message) (verdict, string) {
	m, err := ParseScan([]byte(v.scan))
	if errInto := ParseScanInto(reused, []byte(v.scan)); (errInto == nil) != (err == nil) ||
		err == nil && (Bracketed(reused.Elements) != m.Bracketed() || reused.Plain != m.Plain || reused.Symbology != m.Symbology || reused.DigitalLink != m.DigitalLink) {
		return disagreed, fmt.Sprintf("ParseScanInto reads it differently from ParseScan: %v against %v", errInto, err)
	}
	if !ok {
		if err == nil {
			return disagreed, "the engine refuses it; we accept it as " + engineForm(m)
		}
		return agreed, ""
	}
	var ge *Error
	plain := hri == "" && !strings.HasPrefix(v.data, "^") && !(v.hasDLAIs && v.dlAIs != "") && !isEAN(v.scan)
	switch {
	case plain && err != nil && errors.As(err, &ge) && (ge.Rule == RuleNotGS1 || ge.Rule == RuleSymbology):
		return outOfScope, "plain data: the engine keeps it as the symbol's data; to us it is not GS1 data, and scanner.Decode passes it on as plain data"
	case strings.HasPrefix(v.scan, "]J0") && err != nil && errors.As(err, &ge) && ge.Rule == RuleSymbology:
		return outOfScope, "a Digital Link URI in plain DotCode (]J0): the engine reads it; we take GS1 data from DotCode only in GS1 mode (]J1)"
	case err != nil:
		return disagreed, "the engine accepts it; we refuse it: " + err.Error()
	}
	got := engineForm(m)
	switch {
	case hri != "":
		if got := strings.Join(m.HRILines(), "\n"); got != hri {
			return disagreed, fmt.Sprintf("the engine reads %q; we read %q", hri, got)
		}
	case v.hasDLAIs:
		if got != v.dlAIs {
			return disagreed, fmt.Sprintf("the engine's test expects the AIs %q; we read %q", v.dlAIs, got)
		}
	case v.hasData:
		if got != v.data {
			return disagreed, fmt.Sprintf("the engine's test expects %q; we read %q", v.data, got)
		}
	}
	return agreed, ""
}

func isEAN(scan string) bool { return strings.HasPrefix(scan, "]E0") || strings.HasPrefix(scan, "]E4") }

// engineForm writes a Message as the engine's data string: EAN primary
// data, then "|" before a composite, and AI data after "^" with "^" as FNC1.
func engineForm(m *Message) string {
	s := m.Plain
	if len(m.Elements) > 0 {
		if s != "" {
			s += "|"
		}
		s += "^" + strings.ReplaceAll(m.ElementString(), gsc, "^")
	}
	return s
}

// TestEngineScanDataVectors reads every scan string of the engine's own
// unit tests of its scan-data parser, with the outcome each test expects,
// and requires ours to accept and read the same data where the engine does
// and refuse what the engine refuses. The differences in scope are named.
func TestEngineScanDataVectors(t *testing.T) {
	vecs := engineVectors(t)
	counts := map[verdict]int{}
	same := 0 // accepted by both, with the same data
	var reused Message
	for _, v := range vecs {
		verdict, why := judge(v, v.ok, "", &reused)
		counts[verdict]++
		switch verdict {
		case agreed:
			if v.ok {
				same++
			}
		case disagreed:
			t.Errorf("%s %q: %s", v.where, v.scan, why)
		case outOfScope:
			t.Logf("%s %q: out of scope: %s", v.where, v.scan, why)
		}
	}
	t.Logf("%d scan-data cases of the engine's tests: %d agree (%d accepted with the same data), %d differ in scope, %d disagree",
		len(vecs), counts[agreed], same, counts[outOfScope], counts[disagreed])
	if same < 10 {
		t.Errorf("only %d cases accepted with the same data: the comparison has lost its cases", same)
	}
}

// stripComments removes the C comments of src, keeping string literals
// (which may hold "//", as in "https://") and line breaks.
func stripComments(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '"' || src[i] == '\'':
			q := src[i]
			b.WriteByte(q)
			for i++; i < len(src) && src[i] != q; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					b.WriteByte(src[i])
					i++
				}
				b.WriteByte(src[i])
			}
			if i < len(src) {
				b.WriteByte(q)
			}
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i < len(src) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			b.WriteString(strings.Repeat("\n", strings.Count(src[i:i+2+end], "\n")))
			i += 2 + end + 1
		default:
			b.WriteByte(src[i])
		}
	}
	return b.String()
}

var dataCall = regexp.MustCompile(`\btest_(processAIdata|parseDLuri)\(\s*(true|false)\s*,`)

// engineDataScans turns the inputs of the engine's unit tests of its AI
// data parser (ai.c) and Digital Link parser (dl.c) into scan data: AI data
// in a GS1 DataMatrix, a URI in a plain QR Code. Their tests run those
// parsers alone, some with options other than the defaults, so what the
// engine's setScanData makes of each scan is asked of the engine itself.
func engineDataScans(tb testing.TB) []engineVector {
	tb.Helper()
	var vecs []engineVector
	for _, name := range []string{"ai.c", "dl.c"} {
		src, err := os.ReadFile(engineFile(tb, name))
		if err != nil {
			tb.Fatal(err)
		}
		text := stripComments(string(src))
		for _, m := range dataCall.FindAllStringSubmatchIndex(text, -1) {
			data, _, ok := cStrings(tb, text[m[1]:])
			if !ok {
				continue // data built in a buffer
			}
			where := fmt.Sprintf("%s:%d", name, strings.Count(text[:m[0]], "\n")+1)
			var scan string
			switch text[m[2]:m[3]] {
			case "processAIdata":
				if !strings.HasPrefix(data, "^") || strings.Contains(data, "|") {
					continue // not what a scanner sends: no FNC1 in first, or a composite
				}
				scan = "]d2" + strings.ReplaceAll(data[1:], "^", gsc)
			default:
				scan = "]Q1" + data
			}
			vecs = append(vecs, engineVector{where: where, scan: scan})
		}
	}
	if len(vecs) < 100 {
		tb.Fatalf("only %d inputs found in the engine's AI data and Digital Link tests: has their form changed?", len(vecs))
	}
	return vecs
}

// TestEngineDataScans asks the engine, built, what its setScanData makes of
// the inputs of its own AI data and Digital Link tests sent as scans, and
// requires ours to read each the same way: the same verdict and, when both
// accept, the same AIs and values.
func TestEngineDataScans(t *testing.T) {
	e := startEngine(t)
	vecs := engineDataScans(t)
	counts := map[verdict]int{}
	same := 0 // accepted by both, with the same AIs and values
	var reused Message
	for _, v := range vecs {
		ok, hri := e.check(t, []byte(v.scan))
		verdict, why := judge(v, ok, hri, &reused)
		counts[verdict]++
		switch verdict {
		case agreed:
			if ok {
				same++
			}
		case disagreed:
			t.Errorf("%s %q: %s", v.where, v.scan, why)
		case outOfScope:
			t.Logf("%s %q: out of scope: %s", v.where, v.scan, why)
		}
	}
	t.Logf("%d inputs of the engine's AI data and Digital Link tests as scans: %d agree (%d accepted with the same data), %d differ in scope, %d disagree",
		len(vecs), counts[agreed], same, counts[outOfScope], counts[disagreed])
	if same < 50 {
		t.Errorf("only %d inputs accepted with the same data: the comparison has lost its cases", same)
	}
}
