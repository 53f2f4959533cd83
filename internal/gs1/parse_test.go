package gs1

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const gsc = "\x1d"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // bracketed form of the elements; "" for a plain read
		err  Rule   // expected rule when parsing must fail
	}{
		{"bracketed pack", "(01)09506000134352(17)261231(10)AB-12(21)SN0001", "(01)09506000134352(17)261231(10)AB-12(21)SN0001", ""},
		{"bracketed escaped paren", `(01)09506000134352(10)AB\(1`, `(01)09506000134352(10)AB\(1`, ""},
		{"bracketed unknown AI", "(01)09506000134352(99999)X", "", RuleUnknownAI},
		{"bracketed AI too short", "(1)2", "", RuleUnknownAI},
		{"bracketed no value", "(10)", "", RuleEmpty},
		{"bracketed empty value", "(10)(01)09506000134352", "", RuleLength},
		{"bracketed no paren", "0109506000134352", "(01)09506000134352", ""},
		{"bad check digit", "(01)09506000134353", "", "GS1_LINTER_INCORRECT_CHECK_DIGIT"},
		{"day 00 accepted", "(01)09506000134352(17)261200", "(01)09506000134352(17)261200", ""},
		{"bad day", "(01)09506000134352(17)260231", "", "GS1_LINTER_ILLEGAL_DAY"},
		{"bad month", "(01)09506000134352(17)261301", "", "GS1_LINTER_ILLEGAL_MONTH"},
		{"serial needs gtin", "(21)ABC", "", RuleRequires},
		{"batch needs gtin", "(10)ABC", "", RuleRequires},
		{"01 with 02 excluded", "(01)09506000134352(02)09506000134352(37)5", "", RuleExcludes},
		{"repeated differing", "(01)09506000134352(21)A(21)B", "", RuleRepeated},
		{"repeated equal", "(01)09506000134352(21)A(21)A", "(01)09506000134352(21)A(21)A", ""},
		{"net weight excl", "(01)09506000134352(3100)000100(3101)000100", "", RuleExcludes},
		{"cset82 quote ok", `(01)09506000134352(21)"%&'\()*+,-./:;<=>?_`, `(01)09506000134352(21)"%&'\()*+,-./:;<=>?_`, ""},
		{"cset82 space", "(01)09506000134352(21)A B", "", RuleCharacter},
		{"serial too long", "(01)09506000134352(21)123456789012345678901", "", RuleLength},
		{"sscc", "(00)095060001343522217", "", "GS1_LINTER_INCORRECT_CHECK_DIGIT"},
		{"sscc ok", "(00)106141411234567897", "(00)106141411234567897", ""},
		{"scan dm", "]d2010950600013435217261231" + "10AB-12" + gsc + "21SN0001", "(01)09506000134352(17)261231(10)AB-12(21)SN0001", ""},
		{"scan dm trailing gs", "]d20109506000134352" + "21SN1" + gsc, "(01)09506000134352(21)SN1", ""},
		{"scan dm fixed then gs", "]d20109506000134352" + gsc + "21SN1", "(01)09506000134352(21)SN1", ""},
		{"scan leading gs rejected", "]d2" + gsc + "0109506000134352", "", RuleUnknownAI},
		{"scan double gs rejected", "]d20109506000134352" + "10A" + gsc + gsc + "21B", "", RuleUnknownAI},
		{"scan gs1-128", "]C1" + "00106141411234567897", "(00)106141411234567897", ""},
		{"scan qr gs1", "]Q30109506000134352" + "10X", "(01)09506000134352(10)X", ""},
		{"scan databar", "]e00109506000134352", "(01)09506000134352", ""},
		{"scan empty", "]d2", "", RuleEmpty},
		{"scan caret", "]d20109506000134352" + "10A^B", "", RuleCharacter},
		{"scan C0 unsupported", "]C0ORDER-1", "", RuleSymbology},
		{"scan d1 plain", "]d1HELLO", "", RuleNotGS1},
		{"scan q1 plain", "]Q1ORDER-17", "", RuleNotGS1},
		{"scan q1 dl", "]Q1https://example.com/01/09506000134352/10/AB12", "(01)09506000134352(10)AB12", ""},
		{"scan dotcode", "]J1010950600013435217261231" + "10AB-12" + gsc + "21SN0001", "(01)09506000134352(17)261231(10)AB-12(21)SN0001", ""},
		{"scan dotcode bad check digit", "]J10109506000134353", "", "GS1_LINTER_INCORRECT_CHECK_DIGIT"},
		{"scan dotcode plain", "]J0HELLO", "", RuleSymbology},
		{"scan ean13", "]E09506000134352", "", ""},
		{"scan ean13 bad", "]E09506000134353", "", RuleCheckDigit},
		{"scan d1 dl", "]d1https://example.com/01/09506000134352/21/SN1", "(01)09506000134352(21)SN1", ""},
		{"fixed too short at end", "]d2010950600013435", "", RuleLength},
		{"variable too long", "0109506000134352" + "10123456789012345678901", "", RuleLength},
		{"raw leading gs", gsc + "0109506000134352", "(01)09506000134352", ""},
		{"dl basic", "https://id.gs1.org/01/09506000134352/10/AB12/21/SN1?17=261231", "(01)09506000134352(10)AB12(21)SN1(17)261231", ""},
		{"dl stem", "https://example.com/some/stem/01/09506000134352", "(01)09506000134352", ""},
		{"dl fake ai in stem", "https://a/00/faux/00/106141411234567897", "(00)106141411234567897", ""},
		{"dl bad order", "https://a/01/09506000134352/21/SN1/10/AB", "", RuleDigitalLink},
		{"dl qualifier in query", "https://a/01/09506000134352?21=SN1", "", RuleDigitalLink},
		{"dl not attribute", "https://a/01/09506000134352/21/S?8200=X", "", RuleDigitalLink},
		{"dl unknown numeric", "https://a/01/09506000134352?9999=X", "", RuleUnknownAI},
		{"dl other params ignored", "https://a/01/09506000134352?foo=bar&flag", "(01)09506000134352", ""},
		{"dl percent", "https://a/01/09506000134352/10/A%2FB", "(01)09506000134352(10)A/B", ""},
		{"dl gtin13 in path", "https://a/01/9506000134352", "", RuleLength},
		{"dl gtin13 in query", "https://a/00/106141411234567897?01=9506000134352", "", RuleLength},
		{"dl gtin14 in query", "https://a/00/106141411234567897?01=09506000134352", "(00)106141411234567897(01)09506000134352", ""},
		{"dl no key", "https://a/10/AB", "", RuleDigitalLink},
		{"dl no path", "https://a", "", RuleDigitalLink},
		{"dl mixed case scheme", "HtTp://a/01/09506000134352", "", RuleUnknownAI},
		{"dl bad domain", "https://a$b/01/09506000134352", "", RuleDigitalLink},
		{"dl space", "https://a/01/0950600013435 2", "", RuleDigitalLink},
		{"dl duplicate", "https://a/01/09506000134352?17=261231&17=261231", "", RuleDigitalLink},
		{"dl fragment", "https://a/01/09506000134352#frag", "(01)09506000134352", ""},
		{"dl empty value", "https://a/01/", "", RuleEmpty},
		{"dl 414 with 254", "https://a/414/9506000134352/254/1", "(414)9506000134352(254)1", ""},
		{"dl 414 bad gln", "https://a/414/9506000134353/254/1", "", "GS1_LINTER_INCORRECT_CHECK_DIGIT"},
		{"dl 8030 needs serial", "https://a/8003/09506000134352?8030=AB", "", RuleSerialNeeded},
		{"req group 01+21", "(01)09506000134352(21)X(8040)123456789012345", "(01)09506000134352(21)X(8040)123456789012345", ""},
		{"req group missing", "(01)09506000134352(8040)123456789012345", "", RuleRequires},
		{"iso3166 ok", "(01)09506000134352(422)276", "(01)09506000134352(422)276", ""},
		{"iso3166 bad", "(01)09506000134352(422)999", "", "GS1_LINTER_NOT_ISO3166"},
		{"gmn", "(8013)1987654Ad4X4bL5ttr2310c2K", "(8013)1987654Ad4X4bL5ttr2310c2K", ""},
		{"gmn bad pair", "(8013)1987654Ad4X4bL5ttr2310cXK", "", "GS1_LINTER_INCORRECT_CHECK_PAIR"},
		{"optional component", "(253)9506000134352ABC", "(253)9506000134352ABC", ""},
		{"empty", "", "", RuleEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if tc.err != "" {
				require.Error(t, err)
				var ge *Error
				require.True(t, errors.As(err, &ge))
				require.Equal(t, tc.err, ge.Rule, "error: %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, m.Bracketed())
			if tc.want != "" {
				again, err := ParseBracketed(m.Bracketed())
				require.NoError(t, err, "bracketed form must parse back")
				require.Equal(t, m.Elements, again.Elements)
				raw, err := ParseElementString(m.ElementString())
				require.NoError(t, err, "element string must parse back")
				require.Equal(t, m.Elements, raw.Elements)
			}
		})
	}
}

// Plain data handed to the GS1 parser says so, and names the symbology; it
// is never an empty success.
func TestParsePlainSymbologyIsNotGS1(t *testing.T) {
	for _, in := range []string{"]d1HELLO", "]Q1ORDER-17", "]d1", "]d1" + gsc + "0109506000134352"} {
		m, err := Parse([]byte(in))
		require.Nil(t, m, in)
		require.EqualError(t, err, "not GS1 data (symbology "+in[:3]+" carries plain data)", in)
	}
	m, err := ParseScan([]byte("]J10109506000134352" + "21SN1"))
	require.NoError(t, err)
	require.Equal(t, "]J1", m.Symbology)
	require.Equal(t, "(01)09506000134352(21)SN1", m.Bracketed())
}

func TestElementStringSeparators(t *testing.T) {
	m, err := ParseBracketed("(01)09506000134352(10)AB(17)261231(21)X")
	require.NoError(t, err)
	// GS only after the variable-length batch, which is not last; none after 01, 17 or the last AI.
	require.Equal(t, "0109506000134352"+"10AB"+gsc+"17261231"+"21X", m.ElementString())
}

func TestDigitalLinkRoundTrip(t *testing.T) {
	_, err := ParseBracketed("(01)09506000134352(17)261231(10)AB/1(21)SN 1")
	require.Error(t, err, "space is not CSET 82")
	m, err := ParseBracketed("(01)09506000134352(17)261231(10)AB/1(21)SN1")
	require.NoError(t, err)
	uri, err := m.DigitalLinkURI("https://example.com/")
	require.NoError(t, err)
	require.Equal(t, "https://example.com/01/09506000134352/10/AB%2F1/21/SN1?17=261231", uri)
	back, err := ParseDigitalLink(uri)
	require.NoError(t, err)
	require.ElementsMatch(t, m.Elements, back.Elements)
}

func TestSSCCAndCheckDigit(t *testing.T) {
	s, err := SSCC(1, "0614141", 123456789)
	require.NoError(t, err)
	require.Equal(t, "106141411234567897", s)
	require.True(t, ValidCheckDigit(s))
	_, err = SSCC(10, "0614141", 1)
	require.Error(t, err)
	_, err = SSCC(0, "061", 1)
	require.Error(t, err)
	_, err = SSCC(0, "061414112345", 99999)
	require.ErrorContains(t, err, "does not fit")

	c, err := CheckDigit("950600013435")
	require.NoError(t, err)
	require.Equal(t, byte('2'), c)
	_, err = CheckDigit("12a")
	require.Error(t, err)

	for in, want := range map[string]string{
		"9506000134352": "09506000134352", "02345680": "00000002345680",
		"416000336108": "00416000336108", "09506000134352": "09506000134352",
	} {
		got, err := GTIN14(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	_, err = GTIN14("9506000134353")
	require.Error(t, err)
}

func TestErrorMessagesNameTheRule(t *testing.T) {
	_, err := Parse([]byte("(01)09506000134352(17)260231"))
	require.EqualError(t, err, "AI (17): day does not exist in that month (position 5 of the value)")
	_, err = Parse([]byte("(21)ABC"))
	require.ErrorContains(t, err, "AI (21): needs one of AI (01) or (03) or (8006)")
	require.False(t, strings.Contains(err.Error(), "%!"))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"(01)09506000134352(17)261231(10)AB(21)X", "]d20109506000134352" + "10A" + gsc + "21B",
		"https://id.gs1.org/01/09506000134352/10/A?17=261200", "]C100106141411234567897", "]E09506000134352",
		"(8013)1987654Ad4X4bL5ttr2310c2K", `(10)A\(`, "]Q1https://a/00/106141411234567897?3103=000100",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(m.Elements) == 0 {
			return
		}
		// Whatever parses must render and parse back to the same elements.
		back, err := ParseBracketed(m.Bracketed())
		if err != nil {
			t.Fatalf("bracketed %q of %q does not parse back: %v", m.Bracketed(), data, err)
		}
		if len(back.Elements) != len(m.Elements) {
			t.Fatalf("round trip changed the elements: %v vs %v", m.Elements, back.Elements)
		}
	})
}

// A Message parsed into again reuses its storage: once warmed up, the scan
// path allocates nothing, a failed parse leaves it empty, and messages from
// Parse are each the caller's own.
func TestParseIntoReuses(t *testing.T) {
	var m Message
	for _, in := range append(scanInputs, struct{ name, data string }{"escaped", "https://a/01/09506000134352/10/A%2FB?99=x%2By"}) {
		data := []byte(in.data)
		require.NoError(t, ParseInto(&m, data), in.name)
		want := m.Bracketed()
		allocs := testing.AllocsPerRun(100, func() {
			if err := ParseInto(&m, data); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, in.name)
		require.Equal(t, want, m.Bracketed(), in.name)
	}

	require.NoError(t, ParseScanInto(&m, []byte(scanInputs[0].data)))
	kept := strings.Clone(m.Elements[3].Value)
	err := ParseScanInto(&m, []byte("]d20109506000134353"))
	require.ErrorContains(t, err, "check digit")
	require.Empty(t, m.Elements)
	require.Empty(t, m.Symbology)
	require.Equal(t, "SN00012345678", kept)

	require.NoError(t, ParseScanInto(&m, []byte("]E02112345678900|]e099COMPOSITE"+gsc+"98XYZ")))
	require.Equal(t, "]E0", m.Symbology)
	require.Equal(t, "2112345678900", m.Plain)
	require.Equal(t, "(99)COMPOSITE(98)XYZ", m.Bracketed())
	require.NoError(t, ParseScanInto(&m, []byte("]C100106141411234567897")))
	require.Equal(t, "", m.Plain, "nothing of the last read stays")
	require.Equal(t, "(00)106141411234567897", m.Bracketed())

	for _, bad := range []string{"(98765)X", "https://a/01/09506000134352?9876=X"} {
		err = ParseInto(&m, []byte(bad))
		require.Error(t, err, bad)
		text := err.Error()
		require.NoError(t, ParseInto(&m, []byte("(01)09506000134352(10)ABCDEFGHIJKLMNOPQRST")))
		require.Equal(t, text, err.Error(), "an error shares no bytes with the reused message")
	}

	first, err := Parse([]byte(scanInputs[0].data))
	require.NoError(t, err)
	second, err := Parse([]byte(scanInputs[2].data))
	require.NoError(t, err)
	require.Equal(t, "(01)09506000134352(17)261231(10)AB-12345(21)SN00012345678", first.Bracketed())
	require.True(t, second.DigitalLink)
	require.False(t, first.DigitalLink)
}

var benchSink *Message

// scanInputs are what a line's scanners send, the inputs of BenchmarkParse
// and BenchmarkParseAgainstEngine.
var scanInputs = []struct{ name, data string }{
	// The pack's GS1 DataMatrix: GTIN, expiry, batch, serial.
	{"pack-datamatrix", "]d2010950600013435217261231" + "10AB-12345" + gsc + "21SN00012345678"},
	// The case's GS1-128 SSCC label.
	{"sscc-gs1-128", "]C100106141411234567897"},
	// The same pack as a GS1 Digital Link URI in a plain QR Code.
	{"digital-link", "]Q1https://id.gs1.org/01/09506000134352/10/AB-12345/21/SN00012345678?17=261231"},
}

// oneCore runs a benchmark on one core, as its figure says, and puts
// GOMAXPROCS back after it.
func oneCore(b *testing.B) {
	prev := runtime.GOMAXPROCS(1)
	b.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// BenchmarkParse is the parser alone, on one core, over scanInputs:
// reused parses with ParseInto into one Message, as the scan path does
// (0 allocations); owned with Parse, a new Message each time, for a caller
// that keeps it. It reports scans/s.
func BenchmarkParse(b *testing.B) {
	for _, mode := range []string{"reused", "owned"} {
		for _, in := range scanInputs {
			b.Run(mode+"/"+in.name, func(b *testing.B) {
				oneCore(b)
				data := []byte(in.data)
				var m Message
				b.ReportAllocs()
				for b.Loop() {
					if mode == "owned" {
						msg, err := Parse(data)
						if err != nil {
							b.Fatal(err)
						}
						benchSink = msg
						continue
					}
					if err := ParseInto(&m, data); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
			})
		}
	}
}

func TestValidateElement(t *testing.T) {
	require.NoError(t, ValidateElement("01", "09506000134352"))
	require.NoError(t, ValidateElement("10", "AB_1CD\"%&()/"))
	require.ErrorContains(t, ValidateElement("01", "09506000134353"), "check digit")
	require.ErrorContains(t, ValidateElement("17", "261332"), "AI (17)")
	require.ErrorContains(t, ValidateElement("10", "ABCDEFGHIJKLMNOPQRSTU"), "too long")
	require.ErrorContains(t, ValidateElement("99999", "x"), "unrecognised AI")
	allocs := testing.AllocsPerRun(100, func() { _ = ValidateElement("21", "SN-0001/A") })
	require.Zero(t, allocs)
	require.ErrorContains(t, CheckAssociations([]Element{{AI: "21", Value: "1"}}), "01")
}

func TestAmbiguous(t *testing.T) {
	msg, err := ParseElementString("010950600013435217261231" + "10AB1221SN1")
	require.NoError(t, err)
	alt, ok := Ambiguous(msg)
	require.True(t, ok)
	require.Equal(t, "(01)09506000134352(17)261231(10)AB12(21)SN1", Bracketed(alt))

	// A value with no second reading, and data with a fixed-length last AI.
	for _, s := range []string{"0109506000134352" + "21SN-X", "10ABC\x1d0109506000134352", "0109506000134352" + "10L"} {
		msg, err := ParseElementString(s)
		require.NoError(t, err, s)
		_, ok := Ambiguous(msg)
		require.False(t, ok, s)
	}
}
