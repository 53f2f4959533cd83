package zpl

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/zpl/barcode"
)

const (
	maxGS1Parts = 16
	maxKeys     = 32
	maxPairs    = 32
)

// renderState is one label's values, on the stack.
type renderState struct {
	vals    [maxKeys]string
	checked uint32           // GS1 pairs validated for this label
	gs1     [maxPairs]string // their values, GTINs padded to 14 digits
}

// KeyError is a data value that cannot go on the label.
type KeyError struct {
	Key string
	Msg string
}

func (e *KeyError) Error() string { return fmt.Sprintf("%s: %s", e.Key, e.Msg) }

func keyErr(key, format string, a ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, a...)}
}

// Render appends the label for data to dst. Every key the template takes must
// be present, and no other. Reusing dst, a label costs no allocation unless a
// GTIN shorter than 14 digits has to be padded.
func (t *Template) Render(dst []byte, data Data) ([]byte, error) {
	// Each value is looked up once; the ops index this array.
	var st renderState
	vals := &st.vals
	for i, k := range t.Keys {
		v, ok := data[k]
		if !ok {
			return dst, keyErr(k, "missing: template %s takes %s", t.Tag, strings.Join(t.Keys, ", "))
		}
		vals[i] = v
	}
	if len(data) != len(t.Keys) {
		return dst, t.unknownKey(data)
	}
	if t.raw {
		return t.renderRaw(dst, vals[0])
	}
	start := len(dst)
	hexOn := false
	for i := range t.ops {
		o := &t.ops[i]
		var err error
		switch o.kind {
		case opLiteral:
			dst = append(dst, o.lit...)
		case opHex:
			f := &t.fields[o.field]
			hexOn = f.fixedHex || t.fieldNeedsHex(f, vals)
			if hexOn && !f.fixedHex {
				dst = append(dst, '^', 'F', 'H', f.hexInd)
			}
		case opValue:
			dst, err = appendEscaped(dst, &t.fields[o.field], hexOn, t.Keys[o.key], vals[o.key])
		case opGS1:
			dst, err = t.appendGS1(dst, &t.fields[o.field], hexOn, o.gs1, &st)
		}
		if err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

func (t *Template) unknownKey(data Data) error {
	for k := range data {
		if _, ok := t.keyIdx[k]; !ok {
			return keyErr(k, "unknown key: template %s takes %s", t.Tag, strings.Join(t.Keys, ", "))
		}
	}
	return nil
}

// fieldNeedsHex reports whether any value of the field needs ^FH escapes.
func (t *Template) fieldNeedsHex(f *fieldInfo, vals *[maxKeys]string) bool {
	for _, vi := range f.values {
		o := &t.ops[vi]
		if o.kind == opGS1 {
			if f.kind == fieldQR && gs1NeedsSeparator(o.gs1) {
				return true
			}
			continue
		}
		v := vals[o.key]
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case f.kind == fieldCode128:
			case c == '^' || c == '~':
				return true
			case (c < 0x20 || c == 0x7f) && f.kind != fieldText:
				return true
			}
		}
	}
	return false
}

func gs1NeedsSeparator(parts []gs1Part) bool {
	for _, p := range parts[:len(parts)-1] {
		if p.spec.NeedsSeparator() {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

func appendHex(dst []byte, ind, c byte) []byte {
	return append(dst, ind, hexDigits[c>>4], hexDigits[c&15])
}

// appendEscaped writes one value so that the printer reads it back exactly.
func appendEscaped(dst []byte, f *fieldInfo, hexOn bool, key, v string) ([]byte, error) {
	if plain(v, f) {
		return append(dst, v...), nil
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		if !utf8.ValidString(v) {
			return dst, keyErr(key, "not valid UTF-8")
		}
		switch f.kind {
		case fieldCode128, fieldBarcode:
			r, _ := utf8.DecodeRuneInString(v[strings.IndexFunc(v, func(r rune) bool { return r >= 0x80 }):])
			return dst, keyErr(key, "%q cannot be encoded in this barcode: ASCII only", r)
		default:
			if !f.utf8 {
				return dst, keyErr(key, "non-ASCII text needs ^CI28 (UTF-8) in the template")
			}
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c == 0x7f {
			if f.kind == fieldText || f.kind == fieldCode128 {
				return dst, keyErr(key, "control character 0x%02X at position %d cannot be printed here", c, i+1)
			}
			dst = appendHex(dst, f.hexInd, c)
			continue
		}
		switch {
		case f.kind == fieldDataMatrix && f.esc != 0 && c == f.esc:
			dst = append(dst, c, c)
		case f.kind == fieldCode128 && c == '>':
			dst = append(dst, '>', '0')
		case f.kind == fieldCode128 && c == '^':
			dst = append(dst, '>', '<')
		case f.kind == fieldCode128 && c == '~':
			dst = append(dst, '>', '=')
		case hexOn && (c == '^' || c == '~' || c == f.hexInd):
			dst = appendHex(dst, f.hexInd, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

// plain reports whether v goes into the field as it is.
func plain(v string, f *fieldInfo) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c >= 0x7f || c == '^' || c == '~' || c == '>' || c == f.hexInd || c == f.esc:
			return false
		}
	}
	return true
}

// appendGS1 validates the GS1 values and writes them for the field's kind.
func (t *Template) appendGS1(dst []byte, f *fieldInfo, hexOn bool, parts []gs1Part, st *renderState) ([]byte, error) {
	var vals [maxGS1Parts]string
	for i, p := range parts {
		if st.checked&(1<<p.pair) != 0 {
			vals[i] = st.gs1[p.pair]
			continue
		}
		v := st.vals[p.key]
		if p.ai == "01" && len(v) < 14 && len(v) >= 8 {
			if g, err := gs1.GTIN14(v); err == nil {
				v = g
			}
		}
		if err := p.spec.Validate(v); err != nil {
			return dst, keyErr(t.Keys[p.key], "%v", err)
		}
		vals[i] = v
		st.gs1[p.pair] = v
		st.checked |= 1 << p.pair
	}
	last := len(parts) - 1
	switch f.kind {
	case fieldDataMatrix:
		dst = append(dst, f.esc, '1')
		for i, p := range parts {
			dst = append(dst, p.ai...)
			for v := vals[i]; ; {
				j := strings.IndexByte(v, f.esc)
				if j < 0 {
					dst = append(dst, v...)
					break
				}
				dst = append(dst, v[:j+1]...)
				dst = append(dst, f.esc)
				v = v[j+1:]
			}
			if i < last && p.spec.NeedsSeparator() {
				dst = append(dst, f.esc, '1')
			}
		}
	case fieldCode128:
		var in [128]int
		n := 0
		in[n] = barcode.FNC1
		n++
		for i, p := range parts {
			for _, s := range [2]string{p.ai, vals[i]} {
				for j := 0; j < len(s); j++ {
					if n == len(in) {
						return dst, keyErr(t.Keys[p.key], "too long for GS1-128: at most 48 characters in all")
					}
					in[n] = int(s[j])
					n++
				}
			}
			if i < last && p.spec.NeedsSeparator() && n < len(in) {
				in[n] = barcode.FNC1
				n++
			}
		}
		if n-1 > 48 {
			return dst, keyErr(t.Keys[parts[last].key], "too long for GS1-128: %d data characters, at most 48", n-1)
		}
		var vbuf [160]int
		vals, err := barcode.AppendCode128Auto(vbuf[:0], in[:n])
		if err != nil {
			return dst, keyErr(t.Keys[parts[0].key], "%v", err)
		}
		dst = appendCode128Invocations(dst, vals)
	case fieldQR:
		dst = append(dst, f.qrECL, 'A', ',', '>', '8')
		for i, p := range parts {
			dst = append(dst, p.ai...)
			for j := 0; j < len(vals[i]); j++ {
				if c := vals[i][j]; hexOn && c == f.hexInd {
					dst = appendHex(dst, f.hexInd, c)
				} else {
					dst = append(dst, c)
				}
			}
			if i < last && p.spec.NeedsSeparator() {
				dst = appendHex(dst, f.hexInd, gs1.GS)
			}
		}
	default:
		for i, p := range parts {
			if i > 0 {
				if f.block {
					dst = append(dst, '\\', '&')
				} else {
					dst = append(dst, ' ')
				}
			}
			dst = append(dst, '(')
			dst = append(dst, p.ai...)
			dst = append(dst, ')', ' ')
			var err error
			if dst, err = appendEscaped(dst, f, hexOn, t.Keys[p.key], vals[i]); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// appendCode128Invocations writes Code 128 symbol values as ^BC normal-mode
// field data: start and shift characters as invocation codes, subset C as
// digit pairs, subset B as text with ">" written ">0".
func appendCode128Invocations(dst []byte, vals []int) []byte {
	set := 0
	for i, v := range vals {
		if i == 0 {
			switch v {
			case barcode.C128StartA:
				dst, set = append(dst, '>', '9'), barcode.C128CodeA
			case barcode.C128StartB:
				dst, set = append(dst, '>', ':'), barcode.C128CodeB
			default:
				dst, set = append(dst, '>', ';'), barcode.C128CodeC
			}
			continue
		}
		switch {
		case v == barcode.C128FNC1:
			dst = append(dst, '>', '8')
		case v == barcode.C128CodeC && set != barcode.C128CodeC:
			dst, set = append(dst, '>', '5'), barcode.C128CodeC
		case v == barcode.C128CodeB && set != barcode.C128CodeB:
			dst, set = append(dst, '>', '6'), barcode.C128CodeB
		case v == barcode.C128CodeA && set != barcode.C128CodeA:
			dst, set = append(dst, '>', '7'), barcode.C128CodeA
		case set == barcode.C128CodeB:
			switch c := byte(v + 32); c {
			case '>':
				dst = append(dst, '>', '0')
			case '^':
				dst = append(dst, '>', '<')
			case '~':
				dst = append(dst, '>', '=')
			case 0x7f:
				dst = append(dst, '>', '1')
			default:
				dst = append(dst, c)
			}
		default:
			dst = append(dst, byte('0'+v/10), byte('0'+v%10))
		}
	}
	return dst
}

// rawDenied are commands a passed-through label may not carry: they change
// the printer's setup, cancel other jobs or reprint.
var rawDenied = map[string]bool{
	"~JA": true, "~JR": true, "~PS": true, "~PP": true, "~JD": true, "~JE": true, "~JB": true,
	"~JC": true, "~JL": true, "~JN": true, "~JO": true, "~JS": true, "~TA": true, "~SD": true,
	"~WC": true, "~RO": true, "^JU": true, "^JZ": true, "^SN": true, "^SF": true, "^ID": true,
	"~EG": true, "^DF": true, "~HS": true, "~HQ": true, "~HI": true, "^HH": true, "~HM": true,
}

func (t *Template) renderRaw(dst []byte, value string) ([]byte, error) {
	key := t.Keys[0]
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "^XA") || !strings.HasSuffix(v, "^XZ") {
		return dst, keyErr(key, "must be one ZPL label format, ^XA … ^XZ")
	}
	cmds, _ := lex(v)
	for _, c := range cmds {
		if c.is("XA") && c.off != 0 {
			return dst, keyErr(key, "holds more than one label format (^XA at offset %d)", c.off)
		}
		if rawDenied[c.String()] {
			return dst, keyErr(key, "%s is not allowed in a label", c)
		}
		if c.is("PQ") {
			if q := param(splitParams(c.params), 0); q != "" && q != "1" {
				return dst, keyErr(key, "^PQ quantity must be 1")
			}
		}
	}
	return append(dst, v...), nil
}
