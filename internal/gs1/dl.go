package gs1

import (
	"strings"
)

const uriCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
const badDomainCharacters = "_~?#@!$&'()*+,;=%"

// uriChar and badDomainChar mark the bytes a URI may hold and those its
// domain name may not, looked up once per byte.
var uriChar, badDomainChar = byteSet(uriCharacters), byteSet(badDomainCharacters)

func byteSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

// validKeySequence reports whether path AIs form a primary key followed by
// qualifiers in one of the key's permitted orders (any may be omitted).
func validKeySequence(seq []string) bool {
	if len(seq) == 0 {
		return false
	}
	d := lookupExact(seq[0])
	if d == nil || !d.dlKey {
		return false
	}
	if len(seq) == 1 {
		return true
	}
	for _, alt := range d.dlQualifiers {
		i := 0
		for _, q := range alt {
			if i+1 < len(seq) && seq[i+1] == q {
				i++
			}
		}
		if i == len(seq)-1 {
			return true
		}
	}
	return false
}

func isDLKey(ai string) bool {
	d := lookupExact(ai)
	return d != nil && d.dlKey
}

// unescapeURI reverses percent-encoding; in query values '+' is a space.
// It reports false when the result would hold a NUL byte. A value with
// escapes is written into m's buffer; one without is s itself.
func (m *Message) unescapeURI(s string, query bool) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && (!query || strings.IndexByte(s, '+') < 0) {
		return s, true
	}
	start := len(m.buf)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if v == 0 {
				m.buf = m.buf[:start]
				return "", false
			}
			m.buf = append(m.buf, v)
			i += 2
		case c == '+' && query:
			m.buf = append(m.buf, ' ')
		default:
			m.buf = append(m.buf, c)
		}
	}
	return m.keep(start), true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// ParseDigitalLink parses a GS1 Digital Link URI with any domain and stem:
// the rightmost primary key in the path and its qualifiers, then AIs given as
// query parameters. Non-numeric query parameters are ignored.
func ParseDigitalLink(uri string) (*Message, error) {
	m := newMessage()
	if err := m.parseDigitalLink(uri); err != nil {
		return nil, err
	}
	return m, nil
}

// maxPathAIs bounds the AIs of a valid URI path: a key and its qualifiers.
const maxPathAIs = 8

func (m *Message) parseDigitalLink(uri string) error {
	for i := 0; i < len(uri); i++ {
		if !uriChar[uri[i]] {
			return errorf("", i, RuleDigitalLink, "the URI holds a character that URIs do not allow")
		}
	}
	var rest string
	switch {
	case strings.HasPrefix(uri, "https://"), strings.HasPrefix(uri, "HTTPS://"):
		rest = uri[8:]
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "HTTP://"):
		rest = uri[7:]
	default:
		return errorf("", 0, RuleDigitalLink, "a Digital Link URI must start with http:// or https://")
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 1 {
		return errorf("", -1, RuleDigitalLink, "the URI has no domain or no path")
	}
	for i := 0; i < slash; i++ {
		if badDomainChar[rest[i]] {
			return errorf("", -1, RuleDigitalLink, "the domain name holds an invalid character")
		}
	}
	path := rest[slash:]
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}

	// Walk back from the end of the path over "/AI/value" pairs to the
	// primary key; the path starts with '/', so every segment has one before it.
	key := -1
	for end := len(path); ; {
		v := strings.LastIndexByte(path[:end], '/')
		if v <= 0 {
			break // one segment left: no pair
		}
		c := strings.LastIndexByte(path[:v], '/')
		d := lookupBracketAI(path[c+1 : v])
		if d == nil {
			break
		}
		if d.dlKey {
			key = c
			break
		}
		end = c
	}
	if key < 0 {
		return errorf("", -1, RuleDigitalLink, "no GS1 Digital Link primary key found in the URI path")
	}

	m.DigitalLink = true
	first := len(m.Elements)
	for p := key; p < len(path); {
		c := p + 1 + strings.IndexByte(path[p+1:], '/') // a pair: the code has a '/' after it
		d := lookupBracketAI(path[p+1 : c])
		e := len(path)
		if i := strings.IndexByte(path[c+1:], '/'); i >= 0 {
			e = c + 1 + i
		}
		seg := path[c+1 : e]
		p = e
		if seg == "" {
			return errorf(d.ai, -1, RuleEmpty, "the URI path gives no value for this AI")
		}
		v, ok := m.unescapeURI(seg, false)
		if !ok {
			return errorf(d.ai, -1, RuleCharacter, "the decoded value holds a NUL character")
		}
		if err := checkLengthContent(d, v); err != nil {
			return err
		}
		m.Elements = append(m.Elements, Element{AI: d.ai, Value: v})
	}
	nPath := len(m.Elements) - first

	for query != "" {
		param := query
		if i := strings.IndexByte(query, '&'); i >= 0 {
			param, query = query[:i], query[i+1:]
		} else {
			query = ""
		}
		if param == "" {
			continue
		}
		eq := strings.IndexByte(param, '=')
		if eq < 0 {
			continue // a parameter without a value is not an AI
		}
		key := param[:eq]
		if !allDigits(key) {
			continue // other query parameters are allowed and ignored
		}
		d := lookupBracketAI(key)
		if d == nil {
			return errorf(strings.Clone(key), -1, RuleUnknownAI, "unknown AI in the URI query parameters")
		}
		if eq == len(param)-1 {
			return errorf(d.ai, -1, RuleEmpty, "the URI query gives no value for this AI")
		}
		v, ok := m.unescapeURI(param[eq+1:], true)
		if !ok {
			return errorf(d.ai, -1, RuleCharacter, "the decoded value holds a NUL character")
		}
		// A zero-suppressed GTIN (13, 12 or 8 digits) is refused here as in
		// the path: the engine accepts one only when told to, for legacy URIs.
		if err := checkLengthContent(d, v); err != nil {
			return err
		}
		m.Elements = append(m.Elements, Element{AI: d.ai, Value: v})
	}

	var seq [maxPathAIs + 1]string
	if nPath > maxPathAIs || !validKeySequence(pathSeq(seq[:0], m.Elements[first:first+nPath])) {
		pathAIs := pathSeq(nil, m.Elements[first:first+nPath])
		return errorf(pathAIs[0], -1, RuleDigitalLink, "the URI path AIs %s are not a valid key and qualifier sequence", strings.Join(pathAIs, "/"))
	}
	pathAIs := seq[:nPath]
	els := m.Elements[first:]
	for i := nPath; i < len(els); i++ {
		e := els[i]
		for _, prev := range els[:i] {
			if prev.AI == e.AI {
				return errorf(e.AI, -1, RuleDigitalLink, "the AI appears more than once in the URI")
			}
		}
		if !lookupExact(e.AI).dlAttr {
			return errorf(e.AI, -1, RuleDigitalLink, "the AI is not allowed as a Digital Link data attribute")
		}
		// A qualifier of the key belongs in the path: the AI must not make
		// a valid sequence when put anywhere after the key.
		for j := 1; j <= nPath; j++ {
			trial := seq[:nPath+1]
			copy(trial[j+1:], pathAIs[j:])
			trial[j] = e.AI
			ok := validKeySequence(trial)
			copy(trial[j:], trial[j+1:]) // put the path back
			if ok {
				return errorf(e.AI, -1, RuleDigitalLink, "the AI is a key qualifier and belongs in the URI path, not the query")
			}
		}
	}
	if err := checkElements(els); err != nil {
		return err
	}
	return validateAssociations(els)
}

// pathSeq appends the AIs of els to seq.
func pathSeq(seq []string, els []Element) []string {
	for _, e := range els {
		seq = append(seq, e.AI)
	}
	return seq
}
