package zpl

import (
	"errors"
	"fmt"
	"image"
	"sort"
	"strings"
)

// Finding is one problem lint found, at a 1-based line and column.
type Finding struct {
	Line, Col int
	Rule      string
	Msg       string
}

func (f Finding) String() string { return fmt.Sprintf("%d:%d: %s: %s", f.Line, f.Col, f.Rule, f.Msg) }

// Lint rules.
const (
	RuleFormat      = "format" // ^XA/^XZ missing or misplaced
	RuleUnknown     = "unknown-command"
	RuleRawData     = "raw-data" // a raw ^ or ~ in field data
	RuleGS1Mode     = "gs1-mode" // Data Matrix not in GS1 mode
	RuleOutside     = "outside-label"
	RulePlaceholder = "placeholder"   // undeclared, unused or malformed placeholders
	RuleTemplate    = "template"      // other template faults
	RuleSerial      = "serialisation" // ^SN, ^JZ, ^PQ above 1
)

// Lint checks a template (or a plain ZPL label format) and returns every
// finding, in source order.
func Lint(name string, src []byte) []Finding {
	text := string(src)
	l := linter{src: text}
	isTemplate := strings.Contains(text, "{{") || strings.Contains(text, "^FX tag:")
	start := strings.Index(text, "^XA")
	if start < 0 {
		start = max(0, strings.Index(text, "{{"))
	}
	cmds, strays := lex(text)
	for _, s := range strays {
		l.add(s.off, RuleFormat, fmt.Sprintf("text %q outside any command", clipText(s.text)))
	}
	l.structure(cmds, isTemplate, text, start)
	l.fields(cmds)
	l.commands(cmds)
	var t *Template
	if isTemplate {
		l.placeholders(text, start)
		var err error
		t, err = Compile(name, src)
		var te *Error
		if errors.As(err, &te) && !l.covered(te) {
			te.Line, te.Col = max(te.Line, 1), max(te.Col, 1)
			l.findings = append(l.findings, Finding{Line: te.Line, Col: te.Col, Rule: RuleTemplate, Msg: te.Msg})
		}
	}
	l.outside(name, cmds, t, text)
	sort.SliceStable(l.findings, func(i, j int) bool {
		a, b := l.findings[i], l.findings[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return l.findings
}

type linter struct {
	src      string
	findings []Finding
	rawAt    map[int]bool // offsets of commands that are really raw field data
}

func (l *linter) pos(off int) (int, int) {
	line := 1 + strings.Count(l.src[:off], "\n")
	return line, off - strings.LastIndexByte(l.src[:off], '\n')
}

func (l *linter) add(off int, rule, msg string) {
	line, col := l.pos(off)
	l.findings = append(l.findings, Finding{Line: line, Col: col, Rule: rule, Msg: msg})
}

// covered reports whether a compile error repeats a finding already made.
func (l *linter) covered(e *Error) bool {
	for _, f := range l.findings {
		if e.Line == 0 && (f.Rule == RuleFormat || f.Rule == RulePlaceholder) {
			return true
		}
		if f.Line == e.Line || strings.Contains(e.Msg, "placeholder") && f.Rule == RulePlaceholder {
			return true
		}
	}
	return false
}

func (l *linter) structure(cmds []command, isTemplate bool, text string, start int) {
	var xa, xz []command
	for _, c := range cmds {
		switch {
		case c.is("XA"):
			xa = append(xa, c)
		case c.is("XZ"):
			xz = append(xz, c)
		}
	}
	raw := isTemplate && !strings.Contains(text, "^XA") && strings.Contains(text, "{{raw")
	if raw {
		return
	}
	switch {
	case len(xa) == 0:
		l.add(0, RuleFormat, "missing ^XA: a label format starts with ^XA")
	case len(xz) == 0:
		l.add(len(text), RuleFormat, "missing ^XZ: a label format ends with ^XZ")
	}
	for _, c := range cmds {
		if c.off < start && !c.is("FX") && isTemplate {
			l.add(c.off, RuleFormat, fmt.Sprintf("%s before ^XA: only ^FX header lines may come first", c))
		}
	}
	if len(xa) > 0 && len(xz) > 0 && xz[0].off < xa[0].off {
		l.add(xz[0].off, RuleFormat, "^XZ before ^XA")
	}
}

func (l *linter) commands(cmds []command) {
	for _, c := range cmds {
		name := c.String()
		if l.rawAt[c.off] {
			continue
		}
		if !knownCommands[name] {
			l.add(c.off, RuleUnknown, fmt.Sprintf("unknown command %s", name))
			continue
		}
		switch {
		case c.is("SN"), c.is("SF"), c.is("JZ"):
			l.add(c.off, RuleSerial, fmt.Sprintf("%s: one serial per format, and no automatic reprint after a fault", name))
		case c.is("PQ"):
			if q := param(splitParams(c.params), 0); q != "" && q != "1" {
				l.add(c.off, RuleSerial, "^PQ quantity above 1 prints the same serial twice")
			}
		}
	}
}

// fields checks field data and Data Matrix fields.
func (l *linter) fields(cmds []command) {
	var bx *command
	for i, c := range cmds {
		switch {
		case c.is("BX"):
			cc := c
			bx = &cc
		case c.is("FS"):
			bx = nil
		case c.is("FD"):
			if i+1 < len(cmds) {
				next := cmds[i+1]
				if l.rawAt == nil {
					l.rawAt = map[int]bool{}
				}
				switch {
				case next.prefix == '~':
					l.rawAt[next.off] = true
					l.add(next.off, RuleRawData, "raw ~ in field data: write it with ^FH as _7E")
				case !next.is("FS") && !next.is("XZ"):
					l.rawAt[next.off] = !knownCommands[next.String()]
					l.add(next.off, RuleRawData, fmt.Sprintf("field data ends at %s, not ^FS: a raw ^ in the data? Write it with ^FH as _5E", next))
				}
			}
			if bx != nil {
				l.gs1Mode(*bx, c)
			}
		}
	}
}

func (l *linter) gs1Mode(bx, fd command) {
	ps := splitParams(bx.params)
	if q := param(ps, 2); q != "200" {
		l.add(bx.off, RuleGS1Mode, fmt.Sprintf("^BX quality %q: GS1 DataMatrix is ECC 200, write ^BXN,h,200,,,,_", q))
		return
	}
	esc := param(ps, 6)
	if esc == "" {
		l.add(bx.off, RuleGS1Mode, "^BX without an escape character: the firmware default varies, set it: ^BXN,h,200,,,,_")
		return
	}
	data := strings.TrimSpace(stripNewlines(fd.params))
	if !strings.HasPrefix(data, esc+"1") && !strings.HasPrefix(data, "{{gs1 ") {
		l.add(fd.off, RuleGS1Mode, fmt.Sprintf("Data Matrix data does not start with FNC1 (%s1): it is not GS1 DataMatrix", esc))
	}
}

// placeholders checks every {{…}} against the declared keys.
func (l *linter) placeholders(text string, start int) {
	header := text[:start]
	declared := map[string]bool{}
	keysAt := 0
	hcmds, _ := lex(header)
	for _, c := range hcmds {
		if k, v, ok := strings.Cut(strings.TrimSpace(c.params), ":"); ok && strings.TrimSpace(strings.ToLower(k)) == "keys" {
			keysAt = c.off
			for _, key := range strings.Fields(v) {
				declared[key] = true
			}
		}
	}
	used := map[string]bool{}
	for off := start; ; {
		i := strings.Index(text[off:], "{{")
		if i < 0 {
			break
		}
		at := off + i
		j := strings.Index(text[at:], "}}")
		if j < 0 {
			l.add(at, RulePlaceholder, "unterminated placeholder: {{ without }}")
			break
		}
		words := strings.Fields(text[at+2 : at+j])
		var keys []string
		switch {
		case len(words) == 0:
			l.add(at, RulePlaceholder, "empty placeholder {{}}")
		case words[0] == "gs1" || words[0] == "raw":
			for _, w := range words[1:] {
				if _, k, ok := strings.Cut(w, "="); ok {
					keys = append(keys, k)
				} else {
					keys = append(keys, w)
				}
			}
		default:
			keys = words
		}
		for _, k := range keys {
			used[k] = true
			if !declared[k] {
				l.add(at, RulePlaceholder, fmt.Sprintf("placeholder key %q is not declared: add it to ^FX keys:", k))
			}
		}
		off = at + j + 2
	}
	for k := range declared {
		if !used[k] {
			l.add(keysAt, RulePlaceholder, fmt.Sprintf("key %q is declared but no placeholder uses it", k))
		}
	}
}

// outside draws the label (the template with its sample data, or the plain
// format) and reports fields that reach past its edges.
func (l *linter) outside(name string, cmds []command, t *Template, text string) {
	var zpl []byte
	opt := PreviewOptions{}
	src := cmds
	switch {
	case t != nil && t.Sample != nil && !t.raw:
		out, err := t.Render(nil, t.Sample)
		if err != nil {
			return
		}
		zpl = out
		opt.DPMM = t.DPMM
		if t.WidthMM > 0 && t.HeightMM > 0 {
			opt.Width, opt.Height = int(t.WidthMM*float64(t.DPMM)+0.5), int(t.HeightMM*float64(t.DPMM)+0.5)
		}
	case t == nil && !strings.Contains(text, "{{"):
		zpl = []byte(text)
	default:
		l.origins(cmds)
		return
	}
	p := &previewer{opt: opt, cf: fontSpec{name: 'A', h: 9, w: 5}, by: byDefaults{w: 2, r: 3, h: 10}}
	if opt.DPMM == 0 {
		p.opt.DPMM = 8
	}
	if err := p.run(string(zpl)); err != nil {
		return
	}
	img := p.finish()
	bounds := img.Bounds()
	// Field starts in the source, in order, to point at.
	var starts []int
	fieldStart := -1
	for _, c := range src {
		if fieldStart < 0 && !c.is("XA") && !c.is("FX") && (c.is("FO") || c.is("FT") || c.is("FD") || c.is("GB")) {
			fieldStart = c.off
		}
		if c.is("FS") && fieldStart >= 0 {
			starts = append(starts, fieldStart)
			fieldStart = -1
		}
	}
	for _, mk := range p.marks {
		r := mk.mask.Bounds().Add(mk.at)
		if r.In(bounds) {
			continue
		}
		off := 0
		if mk.field < len(starts) {
			off = starts[mk.field]
		}
		l.add(off, RuleOutside, fmt.Sprintf("field spans %v, outside the %d×%d-dot label", rectString(r), bounds.Dx(), bounds.Dy()))
	}
}

// origins is the check without a drawing: every field origin on the label.
func (l *linter) origins(cmds []command) {
	w, h := 0, 0
	for _, c := range cmds {
		switch {
		case c.is("PW"):
			w = atoiDef(param(splitParams(c.params), 0), 0)
		case c.is("LL"):
			h = atoiDef(param(splitParams(c.params), 0), 0)
		case c.is("FO") || c.is("FT"):
			ps := splitParams(c.params)
			x, y := atoiDef(param(ps, 0), 0), atoiDef(param(ps, 1), 0)
			if (w > 0 && x >= w) || (h > 0 && y >= h) || x < 0 || y < 0 {
				l.add(c.off, RuleOutside, fmt.Sprintf("field origin %d,%d is outside the %d×%d-dot label", x, y, w, h))
			}
		}
	}
}

func rectString(r image.Rectangle) string {
	return fmt.Sprintf("%d,%d to %d,%d", r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
}
