package zpl

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Data holds the values for one label, by key.
type Data map[string]string

// Template is a compiled label template. It is immutable and safe for
// concurrent use; Render never re-parses it.
type Template struct {
	Tag         string
	Description string
	WidthMM     float64 // label width from the header, 0 when not given
	HeightMM    float64
	DPMM        int      // dots per millimetre the template is laid out for
	Keys        []string // the data keys it takes, in header order
	Sample      Data     // example data from the header, may be nil
	File        string   // where it came from ("builtin:pack.zpl" for built-ins)

	ops    []op
	fields []fieldInfo
	keyIdx map[string]int
	pairs  map[gs1Part]int
	raw    bool // the body is one raw placeholder: the data is a whole label
}

// PassThrough reports whether the template prints its data as a whole
// label (a carrier's label, checked and passed through).
func (t *Template) PassThrough() bool { return t.raw }

// Error is a template fault at a position in its file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return e.File + ": " + e.Msg
}

type opKind uint8

const (
	opLiteral opKind = iota
	opHex            // before ^FD of a field with placeholders: "^FH<c>" when a value needs it
	opValue          // one data value, escaped for its field
	opGS1            // GS1 data from several keys, encoded for its field
)

type op struct {
	kind  opKind
	lit   string
	field int
	key   int
	gs1   []gs1Part
}

type gs1Part struct {
	ai   string
	spec gs1.Spec
	key  int
	pair int // index of this (AI, key) pair in the template: validated once per label
}

// fieldKind is what a field draws, which decides how data is escaped.
type fieldKind uint8

const (
	fieldText       fieldKind = iota
	fieldDataMatrix           // ^BX
	fieldCode128              // ^BC in normal mode: invocation codes apply
	fieldQR                   // ^BQ
	fieldBarcode              // any other barcode, or ^BC in an automatic mode
)

type fieldInfo struct {
	kind     fieldKind
	esc      byte // ^BX escape sequence control character, 0 when not set
	hexInd   byte // hex indicator to use when a value needs escaping
	fixedHex bool // the template wrote ^FH itself: always escape with hexInd
	block    bool // ^FB: lines of human-readable text are joined with \&
	utf8     bool // ^CI28 is in effect
	qrECL    byte // ^BQ error-correction level
	values   []int
}

var (
	tagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// Compile parses a template file. name is used in error messages.
func Compile(name string, src []byte) (*Template, error) {
	text := string(src)
	t := &Template{File: name, DPMM: 8, keyIdx: map[string]int{}}
	start := strings.Index(text, "^XA")
	if start < 0 {
		if i := strings.Index(text, "{{"); i >= 0 {
			start = i
		} else {
			return nil, &Error{File: name, Msg: "no ^XA: a template holds one label format, ^XA … ^XZ"}
		}
	}
	if err := t.parseHeader(text[:start]); err != nil {
		return nil, err
	}
	c := compiler{t: t, src: text, base: start}
	if err := c.body(text[start:]); err != nil {
		return nil, err
	}
	for _, k := range t.Keys {
		if !c.used[k] {
			return nil, &Error{File: name, Msg: fmt.Sprintf("key %q is declared but no placeholder uses it", k)}
		}
	}
	if t.Sample != nil {
		if _, err := t.Render(nil, t.Sample); err != nil {
			return nil, &Error{File: name, Msg: "sample data does not render: " + err.Error()}
		}
	}
	return t, nil
}

func (t *Template) parseHeader(h string) error {
	cmds, strays := lex(h)
	if len(strays) > 0 {
		s := strays[0]
		line := 1 + strings.Count(h[:s.off], "\n")
		col := s.off - strings.LastIndexByte(h[:s.off], '\n')
		return &Error{File: t.File, Line: line, Col: col, Msg: fmt.Sprintf("unexpected text %q before ^XA: header lines are ^FX key: value", clipText(s.text))}
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		errAt := func(format string, a ...any) error {
			return &Error{File: t.File, Line: c.line, Col: c.col, Msg: fmt.Sprintf(format, a...)}
		}
		if !c.is("FX") {
			return errAt("%s before ^XA: only ^FX header lines may come first", c)
		}
		k, v, ok := strings.Cut(strings.TrimSpace(c.params), ":")
		if !ok {
			continue // a plain comment
		}
		k, v = strings.TrimSpace(strings.ToLower(k)), strings.TrimSpace(v)
		if seen[k] {
			return errAt("header %q given twice", k)
		}
		seen[k] = true
		switch k {
		case "tag":
			if !tagRE.MatchString(v) {
				return errAt("tag %q: must be lower-case letters, digits, '_', '.' or '-', at most 64", v)
			}
			t.Tag = v
		case "description":
			t.Description = v
		case "width", "height":
			mm, err := parseMM(v)
			if err != nil {
				return errAt("%s: %v", k, err)
			}
			if k == "width" {
				t.WidthMM = mm
			} else {
				t.HeightMM = mm
			}
		case "dpmm":
			n, err := strconv.Atoi(v)
			if err != nil || !validDPMM(n) {
				return errAt("dpmm %q: must be 6, 8, 12 or 24", v)
			}
			t.DPMM = n
		case "keys":
			for _, key := range strings.Fields(v) {
				if !keyRE.MatchString(key) {
					return errAt("key %q: must start with a lower-case letter, then letters, digits or '_'", key)
				}
				if _, dup := t.keyIdx[key]; dup {
					return errAt("key %q declared twice", key)
				}
				if len(t.Keys) == maxKeys {
					return errAt("at most %d keys", maxKeys)
				}
				t.keyIdx[key] = len(t.Keys)
				t.Keys = append(t.Keys, key)
			}
		case "sample":
			t.Sample = Data{}
			for _, kv := range strings.Fields(v) {
				key, val, ok := strings.Cut(kv, "=")
				if !ok {
					return errAt("sample %q: write key=value", kv)
				}
				t.Sample[key] = val
			}
		default:
			return errAt("unknown header %q: use tag, description, width, height, dpmm, keys or sample", k)
		}
	}
	if t.Tag == "" {
		return &Error{File: t.File, Line: 1, Col: 1, Msg: "missing header ^FX tag: NAME"}
	}
	return nil
}

func validDPMM(n int) bool { return n == 6 || n == 8 || n == 12 || n == 24 }

func parseMM(v string) (float64, error) {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "mm"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 2000 {
		return 0, fmt.Errorf("%q: must be a length in millimetres, e.g. 50mm", v)
	}
	return f, nil
}

func clipText(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

// compiler turns the body into ops.
type compiler struct {
	t    *Template
	src  string
	base int
	used map[string]bool
	lit  strings.Builder
	utf8 bool
}

func (c *compiler) flush() {
	if c.lit.Len() > 0 {
		c.t.ops = append(c.t.ops, op{kind: opLiteral, lit: c.lit.String()})
		c.lit.Reset()
	}
}

func (c *compiler) body(body string) error {
	c.used = map[string]bool{}
	t := c.t
	if strings.HasPrefix(strings.TrimSpace(body), "{{") {
		return c.rawBody(strings.TrimSpace(body))
	}
	end := strings.LastIndex(body, "^XZ")
	if end < 0 {
		return &Error{File: t.File, Msg: "missing ^XZ at the end of the label format"}
	}
	if rest := strings.TrimSpace(body[end+3:]); rest != "" {
		return c.errAt(c.base+end+3, "text after ^XZ: a template holds exactly one label format")
	}
	body = body[:end+3]
	cmds, strays := lex(body)
	if len(strays) > 0 {
		s := strays[0]
		return c.errAt(c.base+s.off, fmt.Sprintf("text %q outside any command", clipText(s.text)))
	}
	f := fieldInfo{hexInd: '_'}
	for i, cmd := range cmds {
		switch {
		case cmd.is("XA") && i > 0:
			return c.errCmd(cmd, "a second ^XA: a template holds exactly one label format")
		case cmd.is("XZ") && i != len(cmds)-1:
			return c.errCmd(cmd, "^XZ before the end of the template")
		case cmd.is("CI"):
			c.utf8 = strings.HasPrefix(strings.TrimSpace(cmd.params), "28")
		case cmd.is("SN"), cmd.is("SF"), cmd.is("JZ"):
			return c.errCmd(cmd, fmt.Sprintf("%s is not allowed: one serial per format, and no automatic reprint", cmd))
		case cmd.is("PQ"):
			if q := param(splitParams(cmd.params), 0); q != "" && q != "1" {
				return c.errCmd(cmd, "^PQ quantity must be 1: each label carries its own serial")
			}
		case cmd.is("BX"):
			ps := splitParams(cmd.params)
			f.kind = fieldDataMatrix
			if g := param(ps, 6); g != "" {
				f.esc = g[0]
			}
		case cmd.is("BC"):
			mode := strings.ToUpper(param(splitParams(cmd.params), 5))
			f.kind = fieldCode128
			if mode != "" && mode != "N" {
				f.kind = fieldBarcode
			}
		case cmd.is("BQ"):
			f.kind = fieldQR
			f.qrECL = 'Q'
			if e := strings.ToUpper(param(splitParams(cmd.params), 3)); e != "" {
				if !strings.Contains("HQML", e[:1]) {
					return c.errCmd(cmd, fmt.Sprintf("^BQ error correction %q: must be H, Q, M or L", e))
				}
				f.qrECL = e[0]
			}
		case cmd.prefix == '^' && len(cmd.name) == 2 && cmd.name[0] == 'B' && cmd.name != "BY":
			f.kind = fieldBarcode
		case cmd.is("FB"):
			f.block = true
		case cmd.is("FH"):
			f.fixedHex = true
			f.hexInd = '_'
			if p := strings.TrimSpace(cmd.params); p != "" {
				f.hexInd = p[0]
			}
		case cmd.is("FD"):
			if err := c.fieldData(cmd, &f); err != nil {
				return err
			}
			continue
		case cmd.is("FS"):
			c.lit.WriteString(body[cmd.off:cmd.end])
			f = fieldInfo{hexInd: '_'}
			continue
		}
		if strings.Contains(cmd.params, "{{") && !cmd.is("FX") {
			return c.errCmd(cmd, fmt.Sprintf("placeholder in %s: placeholders belong in ^FD field data", cmd))
		}
		c.lit.WriteString(body[cmd.off:cmd.end])
	}
	c.flush()
	return nil
}

// fieldData compiles one ^FD, splitting literal text from placeholders.
func (c *compiler) fieldData(cmd command, f *fieldInfo) error {
	t := c.t
	data := cmd.params
	if !strings.Contains(data, "{{") {
		c.lit.WriteString(c.src[c.base+cmd.off : c.base+cmd.end])
		return nil
	}
	f.utf8 = c.utf8
	if f.kind == fieldDataMatrix && f.fixedHex && f.esc != 0 && f.hexInd == f.esc {
		return c.errCmd(cmd, fmt.Sprintf("^FH indicator %q equals the ^BX escape character: hex decoding runs first, so give ^FH another indicator (^FH\\)", f.esc))
	}
	if !f.fixedHex {
		// Pick an indicator that cannot be confused with the field's own
		// text or the ^BX escape character.
		f.hexInd = '_'
		if f.kind == fieldDataMatrix || f.kind == fieldQR || strings.IndexByte(data, '_') >= 0 {
			f.hexInd = '\\'
		}
	}
	fieldIdx := len(t.fields)
	c.flush()
	t.ops = append(t.ops, op{kind: opHex, field: fieldIdx})
	c.lit.WriteString("^FD")
	rest := data
	pos := cmd.off + 3
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			c.lit.WriteString(rest)
			break
		}
		c.lit.WriteString(rest[:i])
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return c.errAt(c.base+pos+i, "unterminated placeholder: {{ without }}")
		}
		inner := strings.TrimSpace(rest[i+2 : i+j])
		o, err := c.placeholder(inner, f)
		if err != nil {
			return c.errAt(c.base+pos+i, err.Error())
		}
		c.flush()
		o.field = fieldIdx
		f.values = append(f.values, len(t.ops))
		t.ops = append(t.ops, o)
		pos += i + j + 2
		rest = rest[i+j+2:]
	}
	if f.kind != fieldText {
		// A barcode's GS1 data is the placeholder alone: it writes the
		// start sequence and switches itself.
		whole := strings.TrimSpace(stripNewlines(data))
		alone := strings.HasPrefix(whole, "{{") && strings.HasSuffix(whole, "}}") && strings.Count(whole, "{{") == 1
		for _, vi := range f.values {
			if t.ops[vi].kind == opGS1 && !alone {
				return c.errCmd(cmd, "a {{gs1 …}} placeholder must be the whole field data of its barcode")
			}
		}
	}
	t.fields = append(t.fields, *f)
	return nil
}

func (c *compiler) placeholder(inner string, f *fieldInfo) (op, error) {
	words := strings.Fields(inner)
	if len(words) == 0 {
		return op{}, fmt.Errorf("empty placeholder {{}}")
	}
	if words[0] == "raw" {
		return op{}, fmt.Errorf("{{raw …}} must be the whole template body")
	}
	if words[0] != "gs1" {
		if len(words) != 1 {
			return op{}, fmt.Errorf("placeholder {{%s}}: write {{key}} or {{gs1 AI=key …}}", inner)
		}
		idx, err := c.key(words[0])
		if err != nil {
			return op{}, err
		}
		return op{kind: opValue, key: idx}, nil
	}
	if len(words) == 1 {
		return op{}, fmt.Errorf("{{gs1}} needs AIs: {{gs1 01=gtin 21=serial}}")
	}
	if len(words) > maxGS1Parts+1 {
		return op{}, fmt.Errorf("{{gs1 …}}: at most %d AIs", maxGS1Parts)
	}
	var parts []gs1Part
	var els []gs1.Element
	for _, w := range words[1:] {
		ai, key, ok := strings.Cut(w, "=")
		if !ok {
			return op{}, fmt.Errorf("{{gs1 …}}: %q: write AI=key, e.g. 21=serial", w)
		}
		spec, known := gs1.SpecFor(ai)
		if !known {
			return op{}, fmt.Errorf("{{gs1 …}}: AI (%s) is not a GS1 Application Identifier", ai)
		}
		if slices.ContainsFunc(parts, func(p gs1Part) bool { return p.ai == ai }) {
			return op{}, fmt.Errorf("{{gs1 …}}: AI (%s) given twice", ai)
		}
		idx, err := c.key(key)
		if err != nil {
			return op{}, err
		}
		if c.t.pairs == nil {
			c.t.pairs = map[gs1Part]int{}
		}
		pk := gs1Part{ai: ai, key: idx}
		pair, seen := c.t.pairs[pk]
		if !seen {
			if len(c.t.pairs) == maxPairs {
				return op{}, fmt.Errorf("{{gs1 …}}: at most %d AI and key pairs in a template", maxPairs)
			}
			pair = len(c.t.pairs)
			c.t.pairs[pk] = pair
		}
		parts = append(parts, gs1Part{ai: ai, spec: spec, key: idx, pair: pair})
		els = append(els, gs1.Element{AI: ai, Value: "1"})
	}
	if err := gs1.CheckAssociations(els); err != nil {
		var ge *gs1.Error
		if errors.As(err, &ge) && (ge.Rule == gs1.RuleRequires || ge.Rule == gs1.RuleExcludes) {
			return op{}, fmt.Errorf("{{gs1 …}}: %v", err)
		}
	}
	switch f.kind {
	case fieldDataMatrix:
		if f.esc == 0 {
			return op{}, fmt.Errorf("GS1 DataMatrix needs ^BX quality 200 and an escape character: ^BXN,h,200,,,,_")
		}
	case fieldBarcode:
		return op{}, fmt.Errorf("{{gs1 …}} works in ^BX, ^BC (normal mode), ^BQ and text fields")
	}
	return op{kind: opGS1, gs1: parts}, nil
}

func (c *compiler) key(k string) (int, error) {
	idx, ok := c.t.keyIdx[k]
	if !ok {
		return 0, fmt.Errorf("unknown placeholder key %q: declare it in the header (^FX keys: …)", k)
	}
	c.used[k] = true
	return idx, nil
}

// rawBody handles a template whose body is {{raw key}}: the data is a whole
// label format, checked and passed through.
func (c *compiler) rawBody(body string) error {
	inner, ok := strings.CutPrefix(body, "{{")
	if ok {
		inner, ok = strings.CutSuffix(inner, "}}")
	}
	words := strings.Fields(inner)
	if !ok || len(words) != 2 || words[0] != "raw" {
		return c.errAt(c.base, "a template body is ^XA … ^XZ, or {{raw key}} alone")
	}
	idx, err := c.key(words[1])
	if err != nil {
		return c.errAt(c.base, err.Error())
	}
	c.t.raw = true
	c.t.ops = []op{{kind: opValue, key: idx}}
	return nil
}

func (c *compiler) errAt(off int, msg string) error {
	line, col := 1, 1
	for i := 0; i < off && i < len(c.src); i++ {
		if c.src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{File: c.t.File, Line: line, Col: col, Msg: msg}
}

func (c *compiler) errCmd(cmd command, msg string) error { return c.errAt(c.base+cmd.off, msg) }
