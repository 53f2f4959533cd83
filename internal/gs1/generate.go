package gs1

import (
	"strings"
)

// Bracketed returns the elements as "(01)09506000134352(10)AB12"; a "(" in a
// value is written "\(" so that the text parses back to the same elements.
func (m *Message) Bracketed() string { return Bracketed(m.Elements) }

// Bracketed renders elements in bracketed form.
func Bracketed(els []Element) string {
	var b strings.Builder
	for _, e := range els {
		b.WriteByte('(')
		b.WriteString(e.AI)
		b.WriteByte(')')
		if strings.IndexByte(e.Value, '(') < 0 {
			b.WriteString(e.Value)
			continue
		}
		for i := 0; i < len(e.Value); i++ {
			if e.Value[i] == '(' {
				b.WriteByte('\\')
			}
			b.WriteByte(e.Value[i])
		}
	}
	return b.String()
}

// HRILines returns one human-readable line per element, "(01) 09506000134352".
func (m *Message) HRILines() []string {
	out := make([]string, len(m.Elements))
	for i, e := range m.Elements {
		out[i] = "(" + e.AI + ") " + e.Value
	}
	return out
}

// ElementString returns the data as carried in a symbol, without the leading
// FNC1: a GS (0x1D) follows every variable-length value that is not last.
func (m *Message) ElementString() string { return ElementString(m.Elements) }

// ElementString renders elements with GS separators where they are required.
func ElementString(els []Element) string {
	return string(AppendElementString(nil, els, GS))
}

// AppendElementString appends the element string to dst, writing sep where a
// separator is required (GS for scanner data; a printer's FNC1 escape
// sequence is written by the caller instead).
func AppendElementString(dst []byte, els []Element, sep byte) []byte {
	for i, e := range els {
		dst = append(dst, e.AI...)
		dst = append(dst, e.Value...)
		if i < len(els)-1 && NeedsSeparator(e.AI) {
			dst = append(dst, sep)
		}
	}
	return dst
}

// NeedsSeparator reports whether a value of this AI must be followed by FNC1
// when another AI comes after it. Unknown AIs are treated as variable-length.
func NeedsSeparator(ai string) bool {
	d := lookupExact(ai)
	return d == nil || !d.fixed
}

// DigitalLinkURI renders the elements as a GS1 Digital Link URI under stem
// (for example "https://id.gs1.org"): the first primary key and the
// qualifiers that best match in the path, the other AIs as query parameters,
// fixed-length ones first.
func (m *Message) DigitalLinkURI(stem string) (string, error) {
	if stem == "" {
		stem = "https://id.gs1.org"
	}
	key := -1
	for i, e := range m.Elements {
		if isDLKey(e.AI) {
			key = i
			break
		}
	}
	if key < 0 {
		return "", errorf("", -1, RuleDigitalLink, "no AI in the data is a Digital Link primary key")
	}
	d := lookupExact(m.Elements[key].AI)
	var best []string
	for _, alt := range d.dlQualifiers {
		var got []string
		for _, q := range alt {
			if _, ok := m.Get(q); ok {
				got = append(got, q)
			}
		}
		if len(got) > len(best) {
			best = got
		}
	}
	inPath := map[string]bool{d.ai: true}
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(stem, "/"))
	for _, ai := range append([]string{d.ai}, best...) {
		v, _ := m.Get(ai)
		inPath[ai] = true
		b.WriteByte('/')
		b.WriteString(ai)
		b.WriteByte('/')
		b.WriteString(escapeURI(v, false))
	}
	sep := byte('?')
	seen := map[string]bool{}
	for _, fixedFirst := range []bool{true, false} {
		for _, e := range m.Elements {
			ed := lookupExact(e.AI)
			if inPath[e.AI] || seen[e.AI] || ed == nil || ed.fixed != fixedFirst {
				continue
			}
			if !ed.dlAttr {
				return "", errorf(e.AI, -1, RuleDigitalLink, "the AI is not allowed as a Digital Link data attribute")
			}
			seen[e.AI] = true
			b.WriteByte(sep)
			sep = '&'
			b.WriteString(e.AI)
			b.WriteByte('=')
			b.WriteString(escapeURI(e.Value, true))
		}
	}
	return b.String(), nil
}

func escapeURI(s string, query bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~':
			b.WriteByte(c)
		case c == ' ' && query:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	return b.String()
}

// CheckDigit returns the GS1 mod-10 check digit for a string of digits
// (GTIN, SSCC, GLN, … without their check digit).
func CheckDigit(digits string) (byte, error) {
	if digits == "" || !allDigits(digits) {
		return 0, errorf("", -1, RuleBadArgument, "check digit: %q must be one or more digits", clip(digits, 30))
	}
	return checkDigitOf(digits), nil
}

// ValidCheckDigit reports whether the last digit of s is the check digit of the rest.
func ValidCheckDigit(s string) bool {
	return len(s) >= 2 && allDigits(s) && checkDigitOf(s[:len(s)-1]) == s[len(s)-1]
}

// SSCC builds an 18-digit Serial Shipping Container Code from its extension
// digit, GS1 Company Prefix (4 to 12 digits) and serial reference; the serial
// reference is zero-padded on the left to fill the 17 digits before the check digit.
func SSCC(ext int, companyPrefix string, serialRef uint64) (string, error) {
	if ext < 0 || ext > 9 {
		return "", errorf("00", -1, RuleBadArgument, "extension digit must be 0 to 9, got %d", ext)
	}
	if len(companyPrefix) < 4 || len(companyPrefix) > 12 || !allDigits(companyPrefix) {
		return "", errorf("00", -1, RuleBadArgument, "company prefix must be 4 to 12 digits, got %q", clip(companyPrefix, 20))
	}
	refLen := 16 - len(companyPrefix)
	ref := utoa(serialRef)
	if len(ref) > refLen {
		return "", errorf("00", -1, RuleBadArgument, "serial reference %s does not fit in %d digits after a %d-digit company prefix", ref, refLen, len(companyPrefix))
	}
	body := itoa(ext) + companyPrefix + strings.Repeat("0", refLen-len(ref)) + ref
	return body + string(checkDigitOf(body)), nil
}

// GTIN14 normalises a GTIN-8, -12, -13 or -14 (with its check digit) to 14 digits.
func GTIN14(gtin string) (string, error) {
	switch len(gtin) {
	case 8, 12, 13, 14:
	default:
		return "", errorf("01", -1, RuleLength, "a GTIN has 8, 12, 13 or 14 digits, got %d", len(gtin))
	}
	if !allDigits(gtin) {
		return "", errorf("01", -1, RuleCharacter, "a GTIN has digits only")
	}
	if !ValidCheckDigit(gtin) {
		return "", errorf("01", len(gtin)-1, RuleCheckDigit, "incorrect check digit, expected %c", checkDigitOf(gtin[:len(gtin)-1]))
	}
	return strings.Repeat("0", 14-len(gtin)) + gtin, nil
}

// ExpiryDayZero reports whether a YYMMDD date uses day 00, which GS1 defines
// as the last day of the month. Such dates are valid when read but should not
// be printed on regulated healthcare products.
func ExpiryDayZero(yymmdd string) bool {
	return len(yymmdd) == 6 && yymmdd[4:] == "00"
}

func utoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
