package gs1

import (
	"bytes"
	"strings"
)

// GS is the ASCII group separator that scanners transmit for FNC1.
const GS = 0x1D

// Element is one AI and its value.
type Element struct {
	AI    string `json:"ai"`
	Value string `json:"value"`
}

// Message is a parsed and validated GS1 read.
type Message struct {
	// Symbology is the AIM symbology identifier that came with the data
	// (for example "]d2"), or "" when there was none.
	Symbology string
	// Elements in the order they were read.
	Elements []Element
	// Plain holds the primary data of an EAN-13 or EAN-8 read ("]E0",
	// "]E4"); Elements then holds only its composite component, if any.
	Plain string
	// DigitalLink is true when the elements came from a GS1 Digital Link URI.
	DigitalLink bool
}

// Get returns the value of the first element with the AI.
func (m *Message) Get(ai string) (string, bool) {
	for _, e := range m.Elements {
		if e.AI == ai {
			return e.Value, true
		}
	}
	return "", false
}

// Parse detects the form of data and parses and validates it:
//   - an AIM symbology identifier ("]d2", "]C1", "]Q3", "]e0", "]J1", "]d1",
//     "]Q1", "]E0", "]E4") followed by the symbol's data, GS as FNC1;
//   - bracketed element strings, "(01)09506000134352(10)AB12";
//   - GS1 Digital Link URIs, "https://example.com/01/09506000134352/21/X";
//   - otherwise an unbracketed element string with GS (0x1D) separators
//     (an optional leading GS stands for FNC1 in first position).
func Parse(data []byte) (*Message, error) {
	switch {
	case len(data) >= 1 && data[0] == ']':
		return ParseScan(data)
	case len(data) >= 1 && data[0] == '(':
		return ParseBracketed(string(data))
	case isDLScheme(string(data)):
		return ParseDigitalLink(string(data))
	}
	s := string(data)
	if len(s) > 0 && s[0] == GS {
		s = s[1:]
	}
	return ParseElementString(s)
}

func isDLScheme(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "HTTPS://") ||
		strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "HTTP://")
}

// ParseScan parses what a scanner sends when it is set to transmit the AIM
// symbology identifier. GS1 DataMatrix ("]d2"), GS1-128 ("]C1"), GS1 QR
// Code ("]Q3"), GS1 DataBar ("]e0") and GS1 DotCode ("]J1") carry AI data;
// a plain Data Matrix or QR Code ("]d1", "]Q1") is GS1 data only when it
// holds a Digital Link URI, and is otherwise refused as not GS1 data
// (RuleNotGS1); "]E0" and "]E4" are EAN-13 and EAN-8.
func ParseScan(data []byte) (*Message, error) {
	if len(data) < 3 || data[0] != ']' {
		return nil, errorf("", 0, RuleSymbology, "missing AIM symbology identifier (such as ]d2)")
	}
	sym := string(data[:3])
	body := data[3:]
	switch sym[1:] {
	case "C1", "e0", "d2", "Q3", "J1":
		msg, err := parseScanAI(body)
		if err != nil {
			return nil, err
		}
		msg.Symbology = sym
		return msg, nil
	case "E0", "E4":
		return parseEAN(sym, body)
	case "d1", "Q1":
		s := string(body)
		if isDLScheme(s) {
			msg, err := ParseDigitalLink(s)
			if err != nil {
				return nil, err
			}
			msg.Symbology = sym
			return msg, nil
		}
		return nil, errorf("", -1, RuleNotGS1, "not GS1 data (symbology %s carries plain data)", sym)
	}
	return nil, errorf("", 0, RuleSymbology, "unsupported symbology identifier %q: GS1 data comes as ]C1, ]e0, ]d2, ]Q3, ]J1 (or ]d1/]Q1 with a Digital Link URI, ]E0/]E4 for EAN)", sym)
}

func parseScanAI(body []byte) (*Message, error) {
	if i := bytes.IndexByte(body, '^'); i >= 0 {
		return nil, errorf("", i+3, RuleCharacter, "scan data holds a '^' character, which GS1 data cannot carry")
	}
	return ParseElementString(string(body))
}

// parseEAN checks an EAN-13 or EAN-8 primary message with an optional
// composite component ("|]e0" followed by AI data).
func parseEAN(sym string, body []byte) (*Message, error) {
	n := 13
	if sym == "]E4" {
		n = 8
	}
	s := string(body)
	if len(s) < n {
		return nil, errorf("", 3, RuleLength, "EAN-%d data must be %d digits", n, n)
	}
	primary, cc := s[:n], ""
	if len(s) > n {
		if !strings.HasPrefix(s[n:], "|]e0") {
			return nil, errorf("", 3+n, RuleLength, "EAN-%d data must be %d digits", n, n)
		}
		cc = s[n+4:]
	}
	if !allDigits(primary) {
		return nil, errorf("", 3, RuleCharacter, "EAN-%d data must be digits only", n)
	}
	if checkDigitOf(primary[:n-1]) != primary[n-1] {
		return nil, errorf("", 3+n-1, RuleCheckDigit, "EAN-%d check digit is incorrect", n)
	}
	msg := &Message{Symbology: sym, Plain: primary}
	if cc != "" {
		m, err := parseScanAI([]byte(cc))
		if err != nil {
			return nil, err
		}
		msg.Elements = m.Elements
	}
	return msg, nil
}

// ParseElementString parses an unbracketed element string as carried in a
// symbol: AIs followed by their values, with GS (0x1D) after every value of
// variable length that is not last. FNC1 in first position is implied.
func ParseElementString(s string) (*Message, error) {
	els, err := parseElements(s)
	if err != nil {
		return nil, err
	}
	if err := validateAssociations(els); err != nil {
		return nil, err
	}
	return &Message{Elements: els}, nil
}

// parseElements splits an element string into valid elements, without the
// rules between AIs.
func parseElements(s string) ([]Element, error) {
	if s == "" {
		return nil, errorf("", -1, RuleEmpty, "the AI data is empty")
	}
	var els []Element
	p := 0
	for p < len(s) {
		d := lookupPrefix(s[p:])
		if d == nil {
			return nil, errorf("", p, RuleUnknownAI, "no known AI starts the data %q", clip(s[p:], 4))
		}
		p += len(d.ai)
		r := p
		for r < len(s) && s[r] != GS {
			r++
		}
		n, err := checkComponents(d, s[p:r])
		if err != nil {
			return nil, err
		}
		els = append(els, Element{AI: d.ai, Value: s[p : p+n]})
		p += n
		if !d.fixed && p != r {
			return nil, errorf(d.ai, -1, RuleLength, "value is too long: at most %d characters, or a GS separator is missing", d.maxLen())
		}
		if p < len(s) && s[p] == GS {
			p++
		}
	}
	return els, nil
}

// ParseBracketed parses the human-readable form "(01)09506000134352(21)ABC".
// A literal "(" inside a value is written "\(".
func ParseBracketed(s string) (*Message, error) {
	if s == "" {
		return nil, errorf("", -1, RuleEmpty, "the AI data is empty")
	}
	msg := &Message{}
	p := 0
	for p < len(s) {
		if s[p] != '(' {
			return nil, errorf("", p, RuleSyntax, "expected '(' to start an AI")
		}
		end := strings.IndexByte(s[p+1:], ')')
		if end < 0 {
			return nil, errorf("", p, RuleSyntax, "AI is not closed with ')'")
		}
		code := s[p+1 : p+1+end]
		d := lookupBracketAI(code)
		if d == nil {
			return nil, errorf(code, -1, RuleUnknownAI, "unrecognised AI")
		}
		p += end + 2
		if p >= len(s) {
			return nil, errorf(d.ai, -1, RuleEmpty, "AI has no value")
		}
		var v strings.Builder
		for p < len(s) {
			q := strings.IndexByte(s[p:], '(')
			if q < 0 {
				v.WriteString(s[p:])
				p = len(s)
				break
			}
			if q > 0 && s[p+q-1] == '\\' {
				v.WriteString(s[p : p+q-1])
				v.WriteByte('(')
				p += q + 1
				continue
			}
			v.WriteString(s[p : p+q])
			p += q
			break
		}
		val := v.String()
		if err := checkLengthContent(d, val); err != nil {
			return nil, err
		}
		msg.Elements = append(msg.Elements, Element{AI: d.ai, Value: val})
	}
	if err := checkElements(msg.Elements); err != nil {
		return nil, err
	}
	if err := validateAssociations(msg.Elements); err != nil {
		return nil, err
	}
	return msg, nil
}

// lookupBracketAI finds an AI given in full, as in brackets or a URI path.
func lookupBracketAI(code string) *aiDef {
	if len(code) < 2 || len(code) > 4 || !allDigits(code) {
		return nil
	}
	return lookupExact(code)
}

// checkLengthContent rejects a value whose length is outside the AI's bounds.
func checkLengthContent(d *aiDef, v string) error {
	if len(v) < d.minLen() {
		return errorf(d.ai, -1, RuleLength, "value %q is too short: at least %d characters", v, d.minLen())
	}
	if len(v) > d.maxLen() {
		return errorf(d.ai, -1, RuleLength, "value %q is too long: at most %d characters", clip(v, 40), d.maxLen())
	}
	if i := strings.IndexByte(v, '^'); i >= 0 {
		return errorf(d.ai, i, RuleCharacter, "value holds '^', which GS1 data cannot carry")
	}
	return nil
}

// checkElements runs the component checks over whole values.
func checkElements(els []Element) error {
	for _, e := range els {
		d := lookupExact(e.AI)
		n, err := checkComponents(d, e.Value)
		if err != nil {
			return err
		}
		if n != len(e.Value) {
			return errorf(d.ai, -1, RuleLength, "value is too long: at most %d characters", d.maxLen())
		}
	}
	return nil
}

// checkComponents validates the start of v against the AI's components and
// returns how many bytes the components consumed.
func checkComponents(d *aiDef, v string) (int, error) {
	if v == "" {
		return 0, errorf(d.ai, -1, RuleEmpty, "AI has no value")
	}
	p := 0
	for _, c := range d.parts {
		n := min(len(v)-p, c.max)
		if c.opt && n == 0 {
			continue
		}
		if n < c.min {
			if c.min == c.max {
				return 0, errorf(d.ai, -1, RuleLength, "value %q has the wrong length: %s needs %d characters", clip(v, 40), d.format(), d.maxLen())
			}
			return 0, errorf(d.ai, -1, RuleLength, "value %q is too short for %s", clip(v, 40), d.format())
		}
		comp := v[p : p+n]
		if f := charsetLint(c.set).check(comp); f != nil {
			return 0, lintError(d, p, f)
		}
		for _, l := range c.lints {
			if f := l.check(comp); f != nil {
				return 0, lintError(d, p, f)
			}
		}
		p += n
	}
	return p, nil
}

func charsetLint(c charset) lint {
	switch c {
	case setN:
		return lintCsetnumeric
	case setX:
		return lintCset82
	case setY:
		return lintCset39
	}
	return lintCset64
}

func lintError(d *aiDef, offset int, f *lintFailure) *Error {
	rule := RuleCharacter
	switch f.code {
	case "GS1_LINTER_NON_DIGIT_CHARACTER", "GS1_LINTER_INVALID_CSET82_CHARACTER",
		"GS1_LINTER_INVALID_CSET39_CHARACTER", "GS1_LINTER_INVALID_CSET64_CHARACTER":
	default:
		rule = Rule(f.code)
	}
	return &Error{AI: d.ai, Pos: offset + f.pos, Rule: rule, Msg: lintMessage(f.code)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
