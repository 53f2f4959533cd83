package gs1

import (
	"strings"
	"unsafe"
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

	// buf holds the bytes the values are read from: a copy of the input
	// when it came as bytes, and the values that had to be unescaped.
	// ParseInto reuses it, which is what makes a parse into a reused
	// Message free of allocations.
	buf []byte
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

// ownedMessage is a new Message with room for the elements of a typical
// read in the same allocation.
type ownedMessage struct {
	m   Message
	els [6]Element
}

func newMessage() *Message {
	o := new(ownedMessage)
	o.m.Elements = o.els[:0]
	return &o.m
}

// reset empties m for a new parse and keeps its storage. The old elements
// are cleared so that no value of ours still points at bytes about to be
// overwritten; every parse appends within the length it leaves, so the
// capacity beyond it holds nothing.
func (m *Message) reset() {
	clear(m.Elements)
	m.Elements = m.Elements[:0]
	m.Symbology, m.Plain, m.DigitalLink = "", "", false
	m.buf = m.buf[:0]
}

// load copies data into m's buffer and returns it as a string whose bytes m
// owns: the values are substrings of it.
func (m *Message) load(data []byte) string {
	m.buf = append(m.buf[:0], data...)
	if len(m.buf) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(m.buf), len(m.buf))
}

// keep returns m.buf[start:] as a string. The bytes are never written again
// before the next reset: later appends go after them (or, when the buffer
// grows, into a new array).
func (m *Message) keep(start int) string {
	if start == len(m.buf) {
		return ""
	}
	return unsafe.String(&m.buf[start], len(m.buf)-start)
}

// Parse detects the form of data and parses and validates it:
//   - an AIM symbology identifier ("]d2", "]C1", "]Q3", "]e0", "]J1", "]d1",
//     "]Q1", "]E0", "]E4") followed by the symbol's data, GS as FNC1;
//   - bracketed element strings, "(01)09506000134352(10)AB12";
//   - GS1 Digital Link URIs, "https://example.com/01/09506000134352/21/X";
//   - otherwise an unbracketed element string with GS (0x1D) separators
//     (an optional leading GS stands for FNC1 in first position).
//
// The Message is the caller's to keep; ParseInto parses into one the caller
// reuses instead.
func Parse(data []byte) (*Message, error) {
	m := newMessage()
	if err := ParseInto(m, data); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInto is Parse into a Message the caller owns and reuses: dst's
// element slice and buffer are reused, so a parse into a warmed-up Message
// does not allocate unless it fails. The values of an earlier parse into dst
// are valid only until this call: copy (strings.Clone) what must outlive the
// next parse. On error dst is left empty.
func ParseInto(dst *Message, data []byte) error {
	dst.reset()
	if err := dst.parse(dst.load(data)); err != nil {
		dst.reset()
		return err
	}
	return nil
}

func (m *Message) parse(s string) error {
	switch {
	case len(s) >= 1 && s[0] == ']':
		return m.parseScan(s)
	case len(s) >= 1 && s[0] == '(':
		return m.parseBracketed(s)
	case isDLScheme(s):
		return m.parseDigitalLink(s)
	}
	if len(s) > 0 && s[0] == GS {
		s = s[1:]
	}
	return m.parseElementString(s)
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
	m := newMessage()
	if err := ParseScanInto(m, data); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseScanInto is ParseScan into a Message the caller owns and reuses, on
// the terms of ParseInto.
func ParseScanInto(dst *Message, data []byte) error {
	dst.reset()
	if err := dst.parseScan(dst.load(data)); err != nil {
		dst.reset()
		return err
	}
	return nil
}

// symbologies are the identifiers the parser knows, as constants so that
// a Message's Symbology never points into the input.
var symbologies = [...]string{"]C1", "]e0", "]d2", "]Q3", "]J1", "]E0", "]E4", "]d1", "]Q1"}

func symbology(s string) string {
	for _, sym := range symbologies {
		if sym == s {
			return sym
		}
	}
	return strings.Clone(s)
}

func (m *Message) parseScan(s string) error {
	if len(s) < 3 || s[0] != ']' {
		return errorf("", 0, RuleSymbology, "missing AIM symbology identifier (such as ]d2)")
	}
	sym := s[:3]
	body := s[3:]
	switch sym[1:] {
	case "C1", "e0", "d2", "Q3", "J1":
		if err := m.parseScanAI(body); err != nil {
			return err
		}
		m.Symbology = symbology(sym)
		return nil
	case "E0", "E4":
		return m.parseEAN(symbology(sym), body)
	case "d1", "Q1":
		if isDLScheme(body) {
			if err := m.parseDigitalLink(body); err != nil {
				return err
			}
			m.Symbology = symbology(sym)
			return nil
		}
		return errorf("", -1, RuleNotGS1, "not GS1 data (symbology %s carries plain data)", sym)
	}
	return errorf("", 0, RuleSymbology, "unsupported symbology identifier %q: GS1 data comes as ]C1, ]e0, ]d2, ]Q3, ]J1 (or ]d1/]Q1 with a Digital Link URI, ]E0/]E4 for EAN)", sym)
}

func (m *Message) parseScanAI(body string) error {
	if i := strings.IndexByte(body, '^'); i >= 0 {
		return errorf("", i+3, RuleCharacter, "scan data holds a '^' character, which GS1 data cannot carry")
	}
	return m.parseElementString(body)
}

// parseEAN checks an EAN-13 or EAN-8 primary message with an optional
// composite component ("|]e0" followed by AI data).
func (m *Message) parseEAN(sym, s string) error {
	n, msgLength, msgDigits, msgCheck := 13, "EAN-13 data must be 13 digits", "EAN-13 data must be digits only", "EAN-13 check digit is incorrect"
	if sym == "]E4" {
		n, msgLength, msgDigits, msgCheck = 8, "EAN-8 data must be 8 digits", "EAN-8 data must be digits only", "EAN-8 check digit is incorrect"
	}
	if len(s) < n {
		return &Error{Pos: 3, Rule: RuleLength, Msg: msgLength}
	}
	primary, cc := s[:n], ""
	if len(s) > n {
		if !strings.HasPrefix(s[n:], "|]e0") {
			return &Error{Pos: 3 + n, Rule: RuleLength, Msg: msgLength}
		}
		cc = s[n+4:]
	}
	if !allDigits(primary) {
		return &Error{Pos: 3, Rule: RuleCharacter, Msg: msgDigits}
	}
	if checkDigitOf(primary[:n-1]) != primary[n-1] {
		return &Error{Pos: 3 + n - 1, Rule: RuleCheckDigit, Msg: msgCheck}
	}
	if cc != "" {
		if err := m.parseScanAI(cc); err != nil {
			return err
		}
	}
	m.Symbology, m.Plain = sym, primary
	return nil
}

// ParseElementString parses an unbracketed element string as carried in a
// symbol: AIs followed by their values, with GS (0x1D) after every value of
// variable length that is not last. FNC1 in first position is implied.
func ParseElementString(s string) (*Message, error) {
	m := newMessage()
	if err := m.parseElementString(s); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Message) parseElementString(s string) error {
	els, err := appendElements(m.Elements, s)
	m.Elements = els
	if err != nil {
		return err
	}
	return validateAssociations(m.Elements)
}

// parseElements splits an element string into valid elements, without the
// rules between AIs.
func parseElements(s string) ([]Element, error) {
	return appendElements(nil, s)
}

// appendElements appends the valid elements of an element string to els,
// without the rules between AIs.
func appendElements(els []Element, s string) ([]Element, error) {
	if s == "" {
		return els, errorf("", -1, RuleEmpty, "the AI data is empty")
	}
	p := 0
	for p < len(s) {
		d := lookupPrefix(s[p:])
		if d == nil {
			return els, errorf("", p, RuleUnknownAI, "no known AI starts the data %q", clip(s[p:], 4))
		}
		p += len(d.ai)
		r := len(s)
		if i := strings.IndexByte(s[p:], GS); i >= 0 {
			r = p + i
		}
		n, err := checkComponents(d, s[p:r])
		if err != nil {
			return els, err
		}
		els = append(els, Element{AI: d.ai, Value: s[p : p+n]})
		p += n
		if !d.fixed && p != r {
			return els, errorf(d.ai, -1, RuleLength, "value is too long: at most %d characters, or a GS separator is missing", d.maxLen())
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
	m := newMessage()
	if err := m.parseBracketed(s); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Message) parseBracketed(s string) error {
	if s == "" {
		return errorf("", -1, RuleEmpty, "the AI data is empty")
	}
	p := 0
	for p < len(s) {
		if s[p] != '(' {
			return errorf("", p, RuleSyntax, "expected '(' to start an AI")
		}
		end := strings.IndexByte(s[p+1:], ')')
		if end < 0 {
			return errorf("", p, RuleSyntax, "AI is not closed with ')'")
		}
		code := s[p+1 : p+1+end]
		d := lookupBracketAI(code)
		if d == nil {
			return errorf(strings.Clone(code), -1, RuleUnknownAI, "unrecognised AI")
		}
		p += end + 2
		if p >= len(s) {
			return errorf(d.ai, -1, RuleEmpty, "AI has no value")
		}
		// The value runs to the next "(" that is not written "\(".
		start, escaped := p, false
		for {
			q := strings.IndexByte(s[p:], '(')
			if q < 0 {
				p = len(s)
				break
			}
			if q > 0 && s[p+q-1] == '\\' {
				escaped = true
				p += q + 1
				continue
			}
			p += q
			break
		}
		val := s[start:p]
		if escaped {
			val = m.unescapeBracketed(val)
		}
		if err := checkLengthContent(d, val); err != nil {
			return err
		}
		m.Elements = append(m.Elements, Element{AI: d.ai, Value: val})
	}
	if err := checkElements(m.Elements); err != nil {
		return err
	}
	return validateAssociations(m.Elements)
}

// unescapeBracketed writes v with each "\(" as "(" into m's buffer. Every
// "(" in a bracketed value was written "\(".
func (m *Message) unescapeBracketed(v string) string {
	start := len(m.buf)
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && v[i+1] == '(' {
			continue
		}
		m.buf = append(m.buf, v[i])
	}
	return m.keep(start)
}

// lookupBracketAI finds an AI given in full, as in brackets or a URI path.
func lookupBracketAI(code string) *aiDef {
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
	for i := range d.parts {
		c := &d.parts[i]
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
		if f := checkCharset(c.set, comp); f != nil {
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

// checkCharset is the character-set linter of a component.
func checkCharset(c charset, s string) *lintFailure {
	switch c {
	case setN:
		return checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER")
	case setX:
		return checkSet(s, class82, "GS1_LINTER_INVALID_CSET82_CHARACTER")
	case setY:
		return checkSet(s, class39, "GS1_LINTER_INVALID_CSET39_CHARACTER")
	}
	return checkCset64(s)
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
