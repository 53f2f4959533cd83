package epcis

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// canonicalValue writes a value as the pre-hash string has it: CBV URNs as
// CBV Web URIs, numbers without trailing zeros, and EPC URIs and GS1
// Digital Link URIs as constrained canonical Digital Link URIs.
func canonicalValue(s string) string {
	for _, r := range cbvURNs {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	s = canonicalNumber(s)
	if dl, ok := canonicalDL(s); ok {
		return dl
	}
	return s
}

var cbvURNs = [][2]string{
	{"urn:epcglobal:cbv:bizstep:", cbvBase + "BizStep-"},
	{"urn:epcglobal:cbv:disp:", cbvBase + "Disp-"},
	{"urn:epcglobal:cbv:btt:", cbvBase + "BTT-"},
	{"urn:epcglobal:cbv:sdt:", cbvBase + "SDT-"},
	{"urn:epcglobal:cbv:er:", cbvBase + "ER-"},
}

// canonicalNumber writes a value that reads as a number (as Python's
// float() reads it, which is what the reference implementation does) in its
// shortest form: 1.0 → 1, 0.50 → 0.5, 1e3 → 1000. Other values stay.
func canonicalNumber(s string) string {
	if !pyFloatSyntax(s) {
		return s
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if (err != nil && !isRange(err)) || math.IsNaN(f) || math.IsInf(f, 0) {
		return s
	}
	if f == math.Trunc(f) {
		if f == 0 {
			return "0"
		}
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return pyRepr(f)
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// pyNumber writes a JSON number as Python's json module reads and str()
// writes it: an integer as its digits, anything else as a float.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if strings.TrimLeft(lit, "-0") == "" {
			return "0"
		}
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !isRange(err) {
		return lit
	}
	return pyRepr(f)
}

// pyRepr writes a float64 as Python's repr does: the shortest digits that
// read back to it, in positional notation from 1e-4 up to 1e16, otherwise
// in exponent notation with at least two exponent digits.
func pyRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	sign := ""
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(exps)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		x := strconv.Itoa(exp)
		if len(x) < 2 {
			x = "0" + x
		}
		return sign + m + "e" + es + x
	}
	point := exp + 1 // digits before the decimal point
	switch {
	case point <= 0:
		return sign + "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return sign + digits + strings.Repeat("0", point-len(digits)) + ".0"
	}
	return sign + digits[:point] + "." + digits[point:]
}

// pyFloatSyntax reports whether Python's float() accepts s: a decimal with
// optional sign, fraction, exponent and single underscores between digits,
// or inf, infinity, nan.
func pyFloatSyntax(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	switch strings.ToLower(s) {
	case "inf", "infinity", "nan":
		return true
	}
	digits := func(s string) (int, bool) { // digitpart at the start: its length
		n := 0
		for n < len(s) && isDigit(s[n]) {
			n++
			if n+1 < len(s) && s[n] == '_' && isDigit(s[n+1]) {
				n++
			}
		}
		return n, n > 0
	}
	n, whole := digits(s)
	s = s[n:]
	frac := false
	if s != "" && s[0] == '.' {
		s = s[1:]
		n, frac = digits(s)
		s = s[n:]
	}
	if !whole && !frac {
		return false
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		n, ok := digits(s)
		if !ok {
			return false
		}
		s = s[n:]
	}
	return s == ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pyStrip trims what Python's str.strip() trims.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

var timestampRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$`)

// canonicalTime writes a timestamp in UTC to the millisecond, with Z: the
// third decimal is rounded up when the fourth is 5 to 9. A value that is
// no timestamp stays as it is; one without a zone is taken as UTC.
func canonicalTime(s string) string {
	// The short way for times as this package writes them: to the
	// millisecond, with a zone, which the long way would leave unrounded.
	for _, layout := range [...]string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000Z"} {
		if len(s) == len(layout) || len(s) == len("2006-01-02T15:04:05.000-07:00") {
			if t, err := time.Parse(layout, s); err == nil && t.Format(layout) == s {
				return t.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
	}
	return canonicalTimeLong(s)
}

// canonicalTimeLong is canonicalTime for any timestamp the reference reads.
func canonicalTimeLong(s string) string {
	m := timestampRE.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	num := func(x string) int { n, _ := strconv.Atoi(x); return n }
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" && z != "z" {
		zz := strings.ReplaceAll(z[1:], ":", "")
		off := num(zz[:2]) * 3600
		if len(zz) > 2 {
			off += num(zz[2:]) * 60
		}
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	frac := m[7] + "0000"
	ms := num(frac[:3])
	if frac[3] >= '5' {
		ms++
	}
	mon, day, hour, min, sec := num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6])
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		return s
	}
	t := time.Date(num(m[1]), time.Month(mon), day, hour, min, sec, 0, loc)
	if t.Day() != day {
		return s
	}
	return t.Add(time.Duration(ms) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
}

// canonicalDL returns the constrained canonical GS1 Digital Link URI of an
// EPC URI, EPC class URI, EPC pattern URI or GS1 Digital Link URI: on
// https://id.gs1.org, without query string, with only the finest level of
// identification. ok is false for any other value.
func canonicalDL(s string) (string, bool) {
	if !strings.Contains(s, ".") {
		return "", false
	}
	for _, p := range []struct {
		prefix string
		conv   func(string) (string, bool)
	}{{"urn:epc:id:", epcIDToDL}, {"urn:epc:class:lgtin:", lgtinToDL}, {"urn:epc:idpat:", epcPatternToDL}} {
		if body, ok := strings.CutPrefix(s, p.prefix); ok {
			if dl, ok := p.conv(body); ok {
				return dl, true
			}
			return "", false
		}
	}
	return digitalLinkToCanonical(s)
}

const dlBase = "https://id.gs1.org/"

// gcp splits an EPC URI's body at its first dot: a GS1 Company Prefix of 6
// to 12 digits and the rest.
func gcp(body string) (string, string, bool) {
	cp, rest, ok := strings.Cut(body, ".")
	return cp, rest, ok && len(cp) >= 6 && len(cp) <= 12 && allDigits(cp)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// digitsOf reports whether s is exactly n digits (n may be 0).
func digitsOf(s string, n int) bool { return len(s) == n && allDigits(s) }

// withCheck appends the GS1 mod-10 check digit.
func withCheck(digits string) string {
	c, err := gs1.CheckDigit(digits)
	if err != nil {
		return digits
	}
	return digits + string(c)
}

// epcChars counts the characters of an EPC URI component (GS1 AI
// encodable character set 82, %-escapes counting as one) and reports
// whether all are allowed.
func epcChars(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !allowedEscape(s[i+1], s[i+2]) {
				return 0, false
			}
			i += 2
		case isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || strings.IndexByte("!')(*+,.:;=_-", c) >= 0:
		default:
			return 0, false
		}
		n++
	}
	return n, true
}

func allowedEscape(h, l byte) bool {
	hex := func(b byte) bool { return isDigit(b) || (b >= 'A' && b <= 'F') || (b >= 'a' && b <= 'f') }
	if !hex(l) {
		return false
	}
	switch h {
	case '2':
		return l != '0' && l != '3' && l != '4'
	case '3':
		return true
	case '4', '6':
		return l != '0'
	case '5':
		return isDigit(l) || l == 'A' || l == 'a' || l == 'F' || l == 'f'
	case '7':
		return isDigit(l) || l == 'A' || l == 'a'
	}
	return false
}

// cpiChars is epcChars for a component/part reference: digits, capitals,
// '-', and the escapes of '#', '-', '/' and of digits and capitals.
func cpiChars(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return 0, false
			}
			h, l := s[i+1], s[i+2]
			ok := (h == '2' && strings.IndexByte("3dfDF", l) >= 0) || (h == '3' && isDigit(l)) ||
				(h == '4' && l != '0' && (isDigit(l) || (l >= 'A' && l <= 'F') || (l >= 'a' && l <= 'f'))) ||
				(h == '5' && (isDigit(l) || l == 'A' || l == 'a'))
			if !ok {
				return 0, false
			}
			i += 2
		case isDigit(c) || (c >= 'A' && c <= 'Z') || c == '-':
		default:
			return 0, false
		}
		n++
	}
	return n, true
}

func epcLen(s string, min, max int) bool {
	n, ok := epcChars(s)
	return ok && n >= min && n <= max
}

// dlEscape escapes what an EPC URI leaves bare but a Digital Link path
// segment may not hold.
var dlEscape = strings.NewReplacer("!", "%21", "(", "%28", ")", "%29", "*", "%2A", "+", "%2B", ",", "%2C", ":", "%3A")

// gtinOf builds the GTIN (without check digit) of an SGTIN-like body:
// company prefix and indicator digit + item reference, 13 digits together.
func gtinOf(cp, ir string) (string, bool) {
	if len(cp)+len(ir) != 13 || !allDigits(ir) || ir == "" {
		return "", false
	}
	return ir[:1] + cp + ir[1:], true
}

func epcIDToDL(s string) (string, bool) {
	scheme, body, _ := strings.Cut(s, ":")
	cp, rest, ok := gcp(body)
	if !ok {
		return "", false
	}
	switch scheme {
	case "sgtin", "upui":
		ir, ser, ok := strings.Cut(rest, ".")
		g, gok := gtinOf(cp, ir)
		if scheme == "sgtin" && ok && gok && epcLen(ser, 1, 20) {
			return dlBase + "01/" + withCheck(g) + "/21/" + dlEscape.Replace(ser), true
		}
		if scheme == "upui" && ok && gok && epcLen(ser, 1, 28) {
			return dlBase + "01/" + withCheck(g) + "/235/" + dlEscape.Replace(ser), true
		}
	case "sscc":
		if allDigits(rest) && len(cp)+len(rest) == 17 {
			return dlBase + "00/" + withCheck(rest[:1]+cp+rest[1:]), true
		}
	case "sgln":
		lr, ext, ok := strings.Cut(rest, ".")
		if ok && digitsOf(lr, 12-len(cp)) && epcLen(ext, 1, 20) {
			dl := dlBase + "414/" + withCheck(cp+lr)
			if ext != "0" {
				dl += "/254/" + dlEscape.Replace(ext)
			}
			return dl, true
		}
	case "grai":
		at, ser, ok := strings.Cut(rest, ".")
		if ok && digitsOf(at, 12-len(cp)) && epcLen(ser, 1, 16) {
			return dlBase + "8003/" + withCheck("0"+cp+at) + dlEscape.Replace(ser), true
		}
	case "giai", "ginc":
		if epcLen(rest, 1, 30-len(cp)) {
			ai := map[string]string{"giai": "8004/", "ginc": "401/"}[scheme]
			return dlBase + ai + cp + dlEscape.Replace(rest), true
		}
	case "gsrn", "gsrnp":
		if allDigits(rest) && len(cp)+len(rest) == 17 {
			ai := map[string]string{"gsrn": "8018/", "gsrnp": "8017/"}[scheme]
			return dlBase + ai + withCheck(cp+rest), true
		}
	case "gdti":
		dt, ser, ok := strings.Cut(rest, ".")
		if ok && digitsOf(dt, 12-len(cp)) && epcLen(ser, 0, 19) {
			return dlBase + "253/" + withCheck(cp+dt) + dlEscape.Replace(ser), true
		}
	case "cpi":
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			break
		}
		ref, ser := rest[:i], rest[i+1:]
		if n, ok := cpiChars(ref); ok && n >= 1 && n <= 30-len(cp) && len(ser) >= 1 && len(ser) <= 12 && allDigits(ser) {
			return dlBase + "8010/" + dlEscape.Replace(cp+ref) + "/8011/" + ser, true
		}
	case "sgcn":
		cr, ser, ok := strings.Cut(rest, ".")
		if ok && digitsOf(cr, 12-len(cp)) && len(ser) >= 1 && len(ser) <= 12 && allDigits(ser) {
			return dlBase + "255/" + withCheck(cp+cr) + ser, true
		}
	case "gsin":
		if allDigits(rest) && len(cp)+len(rest) == 16 {
			return dlBase + "402/" + withCheck(cp+rest), true
		}
	case "itip":
		p := strings.SplitN(rest, ".", 4)
		if len(p) == 4 && digitsOf(p[1], 2) && digitsOf(p[2], 2) && epcLen(p[3], 1, 20) {
			if g, ok := gtinOf(cp, p[0]); ok {
				return dlBase + "8006/" + withCheck(g) + p[1] + p[2] + "/21/" + dlEscape.Replace(p[3]), true
			}
		}
	case "pgln":
		if digitsOf(rest, 12-len(cp)) {
			return dlBase + "417/" + withCheck(cp+rest), true
		}
	}
	return "", false
}

func lgtinToDL(body string) (string, bool) {
	cp, rest, ok := gcp(body)
	if !ok {
		return "", false
	}
	ir, lot, ok := strings.Cut(rest, ".")
	if g, gok := gtinOf(cp, ir); ok && gok && epcLen(lot, 1, 20) {
		return dlBase + "01/" + withCheck(g) + "/10/" + dlEscape.Replace(lot), true
	}
	return "", false
}

func epcPatternToDL(s string) (string, bool) {
	scheme, body, _ := strings.Cut(s, ":")
	cp, rest, ok := gcp(body)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, ".*")
	if !ok {
		return "", false
	}
	switch scheme {
	case "sgtin", "upui":
		if g, ok := gtinOf(cp, rest); ok {
			return dlBase + "01/" + withCheck(g), true
		}
	case "grai":
		if digitsOf(rest, 12-len(cp)) {
			return dlBase + "8003/" + withCheck("0"+cp+rest), true
		}
	case "gdti":
		if digitsOf(rest, 12-len(cp)) {
			return dlBase + "253/" + withCheck(cp+rest), true
		}
	case "sgcn":
		if digitsOf(rest, 12-len(cp)) {
			return dlBase + "255/" + withCheck(cp+rest), true
		}
	case "cpi":
		if n, ok := cpiChars(rest); ok && n >= 1 && n <= 30-len(cp) {
			return dlBase + "8010/" + dlEscape.Replace(cp+rest), true
		}
	case "itip":
		p := strings.Split(rest, ".")
		if len(p) == 3 && digitsOf(p[1], 2) && digitsOf(p[2], 2) {
			if g, ok := gtinOf(cp, p[0]); ok {
				return dlBase + "8006/" + withCheck(g) + p[1] + p[2], true
			}
		}
	}
	return "", false
}

// Characters the reference implementation accepts in the text parts of a
// canonical Digital Link (serial, lot, extension): " ' - . 0-9 ; < = > ?
// A-Z _ a-z. A '%' is not among them, so a Digital Link with a
// percent-escape is left as written.
const dlText = `["'\-.0-9;<=>?A-Z_a-z]`

var (
	dlKeyRE    = regexp.MustCompile(`^https?:[^?#]*/(01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai)/\d{4}[^/]`)
	dlCanonRE  = regexp.MustCompile(`^https://id\.gs1\.org/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)/\d{4}[^/]`)
	dlCPV1RE   = regexp.MustCompile(`^https://id\.gs1\.org/(8006/\d{18}|01/\d{14})/22/` + dlText + `{0,20}$`)
	dlCPV2RE   = regexp.MustCompile(`^https://id\.gs1\.org/(8006/\d{18}|01/\d{14})/22/["'\-./0-9;<=>?A-Z_a-z]{0,20}$`)
	dlLotSerRE = regexp.MustCompile(`^https://id\.gs1\.org/(8006/\d{18}|01/\d{14})/10/` + dlText + `{0,20}/21/` + dlText + `{0,20}$`)
	dlFinalRE  = regexp.MustCompile(`^https://id\.gs1\.org/(00/\d{18}|01/\d{14}(/21/` + dlText + `{0,20}|/10/` + dlText + `{0,20}|/235/` + dlText + `{0,28})?|253/\d{13}` + dlText + `{0,17}|255/\d{13}\d{0,12}|401/` + dlText + `{0,30}|402/\d{17}|414/\d{13}(/254/` + dlText + `{0,20})?|417/\d{13}|8003/\d{14}` + dlText + `{0,16}|8004/` + dlText + `{0,30}|8006/\d{18}(/21/` + dlText + `{0,20}|/10/` + dlText + `{0,20})?|8010/[#\-/0-9A-Z]{0,30}(/8011/\d{0,12})?|8017/\d{18}|8018/\d{18})$`)
	dlGTIN14RE = regexp.MustCompile(`^https://id\.gs1\.org/01/\d{14}`)
	dlGTIN13RE = regexp.MustCompile(`^https://id\.gs1\.org/01/\d{13}`)
	dlGTIN12RE = regexp.MustCompile(`^https://id\.gs1\.org/01/\d{12}`)
	dlGTIN8RE  = regexp.MustCompile(`^https://id\.gs1\.org/01/\d{8}`)
)

// dlShortNames are the Digital Link short names and their AIs, replaced in
// this order.
var dlShortNames = [][2]string{
	{"/gtin/", "/01/"}, {"/itip/", "/8006/"}, {"/cpid/", "/8010/"}, {"/gln/", "/414/"}, {"/party/", "/417/"},
	{"/gsrnp/", "/8017/"}, {"/gsrn/", "/8018/"}, {"/gcn/", "/255/"}, {"/sscc/", "/00/"}, {"/gdti/", "/253/"},
	{"/ginc/", "/401/"}, {"/gsin/", "/402/"}, {"/grai/", "/8003/"}, {"/giai/", "/8004/"}, {"/cpv/", "/22/"},
	{"/lot/", "/10/"}, {"/ser/", "/21/"},
}

// canonicalAlready recognises, without the regular expressions, the
// Digital Links the agent writes itself when they are already in the
// constrained canonical form, which the steps of digitalLinkToCanonical
// would leave as they are: a GTIN-14 with or without a serial, an SSCC, a
// GLN with or without its extension, on id.gs1.org, serial and extension
// of GS1 Digital Link text without '?'. Every other URI takes the long way.
func canonicalAlready(uri string) bool {
	rest, ok := strings.CutPrefix(uri, dlBase)
	if !ok {
		return false
	}
	key, rest, _ := strings.Cut(rest, "/")
	switch key {
	case "00":
		return len(rest) == 18 && allDigits(rest)
	case "01":
		return keyThen(rest, 14, "/21/")
	case "414":
		return keyThen(rest, 13, "/254/")
	}
	return false
}

// keyThen reports whether s is n digits, alone or followed by qualifier
// and up to 20 characters of Digital Link text other than '?'.
func keyThen(s string, n int, qualifier string) bool {
	if len(s) < n || !allDigits(s[:n]) {
		return false
	}
	if len(s) == n {
		return true
	}
	v, ok := strings.CutPrefix(s[n:], qualifier)
	if !ok || len(v) > 20 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(`"'-.;<=>_`, c) >= 0) {
			return false
		}
	}
	return true
}

// dlPrimaryKeys in the order the canonical domain is looked for.
var dlPrimaryKeys = []string{"/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/", "/8004/",
	"/8006/", "/8010/", "/8017/", "/8018/"}

func digitalLinkToCanonical(uri string) (string, bool) {
	if canonicalAlready(uri) {
		return uri, true
	}
	return digitalLinkCanonical(uri)
}

// digitalLinkCanonical is digitalLinkToCanonical's long way: the steps of
// the reference implementation.
func digitalLinkCanonical(uri string) (string, bool) {
	if !dlKeyRE.MatchString(uri) {
		return "", false
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	for _, r := range dlShortNames {
		uri = strings.ReplaceAll(uri, r[0], r[1])
	}
	if !dlCanonRE.MatchString(uri) {
		for _, k := range dlPrimaryKeys {
			if i := strings.Index(uri, k); i >= 0 {
				uri = "https://id.gs1.org" + uri[i:]
				break
			}
		}
	}
	if !dlGTIN14RE.MatchString(uri) {
		switch {
		case dlGTIN13RE.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/0")
		case dlGTIN12RE.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/00")
		case dlGTIN8RE.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/000000")
		}
	}
	// Drop a consumer product variant (22): "…/22/cpv" or "…/22/cpv/21/serial".
	if i := strings.Index(uri, "/22/"); i >= 0 {
		cpv := uri[i+4:]
		switch {
		case dlCPV1RE.MatchString(uri):
			uri = uri[:i]
		case dlCPV2RE.MatchString(uri):
			uri = uri[:i] + cpv[strings.IndexByte(cpv, '/'):]
		}
	}
	// Keep only the finest level: a serial makes the lot redundant.
	if dlLotSerRE.MatchString(uri) {
		i := strings.Index(uri, "/10/")
		rest := uri[i+4:]
		uri = uri[:i] + rest[strings.IndexByte(rest, '/'):]
	}
	if dlFinalRE.MatchString(uri) {
		return uri, true
	}
	return "", false
}
