package gs1

import (
	"strings"
)

const uriCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
const badDomainCharacters = "_~?#@!$&'()*+,;=%"

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
// It reports false when the result would hold a NUL byte.
func unescapeURI(s string, query bool) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if v == 0 {
				return "", false
			}
			b.WriteByte(v)
			i += 2
		case c == '+' && query:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
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
	for i := 0; i < len(uri); i++ {
		if strings.IndexByte(uriCharacters, uri[i]) < 0 {
			return nil, errorf("", i, RuleDigitalLink, "the URI holds a character that URIs do not allow")
		}
	}
	var rest string
	switch {
	case strings.HasPrefix(uri, "https://"), strings.HasPrefix(uri, "HTTPS://"):
		rest = uri[8:]
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "HTTP://"):
		rest = uri[7:]
	default:
		return nil, errorf("", 0, RuleDigitalLink, "a Digital Link URI must start with http:// or https://")
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 1 {
		return nil, errorf("", -1, RuleDigitalLink, "the URI has no domain or no path")
	}
	if strings.ContainsAny(rest[:slash], badDomainCharacters) {
		return nil, errorf("", -1, RuleDigitalLink, "the domain name holds an invalid character")
	}
	path := rest[slash:]
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}

	// Walk back from the end of the path over "/AI/value" pairs to the primary key.
	segs := strings.Split(path, "/")[1:]
	start := -1
	for end := len(segs); end >= 2; end -= 2 {
		code := segs[end-2]
		d := lookupBracketAI(code)
		if d == nil {
			break
		}
		if d.dlKey {
			start = end - 2
			break
		}
	}
	if start < 0 {
		return nil, errorf("", -1, RuleDigitalLink, "no GS1 Digital Link primary key found in the URI path")
	}

	msg := &Message{DigitalLink: true}
	var pathAIs []string
	for i := start; i+1 < len(segs); i += 2 {
		d := lookupBracketAI(segs[i])
		if segs[i+1] == "" {
			return nil, errorf(d.ai, -1, RuleEmpty, "the URI path gives no value for this AI")
		}
		v, ok := unescapeURI(segs[i+1], false)
		if !ok {
			return nil, errorf(d.ai, -1, RuleCharacter, "the decoded value holds a NUL character")
		}
		if err := checkLengthContent(d, v); err != nil {
			return nil, err
		}
		msg.Elements = append(msg.Elements, Element{AI: d.ai, Value: v})
		pathAIs = append(pathAIs, d.ai)
	}

	for _, param := range strings.Split(query, "&") {
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
			return nil, errorf(key, -1, RuleUnknownAI, "unknown AI in the URI query parameters")
		}
		if eq == len(param)-1 {
			return nil, errorf(d.ai, -1, RuleEmpty, "the URI query gives no value for this AI")
		}
		v, ok := unescapeURI(param[eq+1:], true)
		if !ok {
			return nil, errorf(d.ai, -1, RuleCharacter, "the decoded value holds a NUL character")
		}
		if d.ai == "01" && (len(v) == 13 || len(v) == 12 || len(v) == 8) {
			v = strings.Repeat("0", 14-len(v)) + v
		}
		if err := checkLengthContent(d, v); err != nil {
			return nil, err
		}
		msg.Elements = append(msg.Elements, Element{AI: d.ai, Value: v})
	}

	if !validKeySequence(pathAIs) {
		return nil, errorf(pathAIs[0], -1, RuleDigitalLink, "the URI path AIs %s are not a valid key and qualifier sequence", strings.Join(pathAIs, "/"))
	}
	for i := len(pathAIs); i < len(msg.Elements); i++ {
		e := msg.Elements[i]
		for _, prev := range msg.Elements[:i] {
			if prev.AI == e.AI {
				return nil, errorf(e.AI, -1, RuleDigitalLink, "the AI appears more than once in the URI")
			}
		}
		if !lookupExact(e.AI).dlAttr {
			return nil, errorf(e.AI, -1, RuleDigitalLink, "the AI is not allowed as a Digital Link data attribute")
		}
		for j := 1; j <= len(pathAIs); j++ {
			trial := make([]string, 0, len(pathAIs)+1)
			trial = append(trial, pathAIs[:j]...)
			trial = append(trial, e.AI)
			trial = append(trial, pathAIs[j:]...)
			if validKeySequence(trial) {
				return nil, errorf(e.AI, -1, RuleDigitalLink, "the AI is a key qualifier and belongs in the URI path, not the query")
			}
		}
	}
	if err := checkElements(msg.Elements); err != nil {
		return nil, err
	}
	if err := validateAssociations(msg.Elements); err != nil {
		return nil, err
	}
	return msg, nil
}
