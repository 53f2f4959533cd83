package zpl

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/zpl/barcode"
)

// PreviewOptions sets the printer the preview stands for.
type PreviewOptions struct {
	DPMM int // dots per millimetre: 6, 8, 12 or 24 (0 means 8)
	// Width and Height of the label in dots, used when the format sets no
	// ^PW or ^LL; 0 means 4 × 6 inches.
	Width, Height int
}

// Preview draws the first label format in zpl as a printer would, one dot
// per pixel, black on white. It draws the commands labels use (^FO ^FT ^A
// ^A@ ^CF ^FB ^GB ^BX ^BC ^BQ ^BY ^FD ^FH ^FR ^FS ^PW ^LL ^LH ^CI ^PQ ^FX);
// warnings name the commands it passed over.
func Preview(zpl []byte, opt PreviewOptions) (*image.Gray, []string, error) {
	if opt.DPMM == 0 {
		opt.DPMM = 8
	}
	if !validDPMM(opt.DPMM) {
		return nil, nil, fmt.Errorf("dpmm %d: must be 6, 8, 12 or 24", opt.DPMM)
	}
	p := &previewer{opt: opt, cf: fontSpec{name: 'A', h: 9, w: 5}, by: byDefaults{w: 2, r: 3, h: 10}}
	if err := p.run(string(zpl)); err != nil {
		return nil, p.warnings, err
	}
	return p.finish(), p.warnings, nil
}

// Preview renders data with the template and draws the label at dpmm
// (0 means the template's own).
func (t *Template) Preview(data Data, dpmm int) (*image.Gray, []string, error) {
	out, err := t.Render(nil, data)
	if err != nil {
		return nil, nil, err
	}
	if dpmm == 0 {
		dpmm = t.DPMM
	}
	opt := PreviewOptions{DPMM: dpmm}
	if t.WidthMM > 0 && t.HeightMM > 0 {
		opt.Width = int(t.WidthMM*float64(dpmm) + 0.5)
		opt.Height = int(t.HeightMM*float64(dpmm) + 0.5)
	}
	return Preview(out, opt)
}

// EncodePNG writes img as a PNG.
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

type fontSpec struct {
	name   byte
	orient byte
	h, w   int
}

type byDefaults struct {
	w int
	r float64
	h int
}

type fieldBlock struct {
	width, lines, spacing int
	just                  byte
	indent                int
}

type pfield struct {
	x, y     int
	typeset  bool // ^FT: y is the baseline (text) or the bottom (barcodes)
	font     fontSpec
	fontSet  bool
	block    *fieldBlock
	hexInd   byte // 0: no ^FH
	reverse  bool
	bcName   string
	bcParams []string
	data     string
	hasData  bool
}

// mark is a drawn field: an alpha mask at a position on the label.
type mark struct {
	field   int    // ordinal of the field in the format
	kind    string // "BX", "BC", "BQ", "GB" or "text"
	at      image.Point
	mask    *image.Alpha
	reverse bool
}

type previewer struct {
	opt      PreviewOptions
	lh       image.Point
	pw, ll   int
	cf       fontSpec
	by       byDefaults
	utf8     bool
	f        pfield
	marks    []mark
	nfield   int
	warnings []string
	started  bool
	done     bool
}

func (p *previewer) warn(format string, a ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, a...))
}

func (p *previewer) run(src string) error {
	cmds, strays := lex(src)
	for _, s := range strays {
		p.warn("text %q outside any command", clipText(s.text))
	}
	for _, c := range cmds {
		if p.done {
			break
		}
		if err := p.exec(c); err != nil {
			return fmt.Errorf("%s at line %d: %w", c, c.line, err)
		}
	}
	if !p.started {
		return fmt.Errorf("no label format: ^XA not found")
	}
	return nil
}

func atoiDef(s string, def int) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func (p *previewer) exec(c command) error {
	if c.prefix == '~' {
		p.warn("%s is not drawn", c)
		return nil
	}
	ps := splitParams(c.params)
	switch c.name {
	case "XA":
		p.started = true
	case "XZ":
		if p.f.hasData {
			if err := p.drawField(); err != nil {
				return err
			}
		}
		p.done = true
	case "FX":
	case "PW":
		p.pw = atoiDef(param(ps, 0), 0)
	case "LL":
		p.ll = atoiDef(param(ps, 0), 0)
	case "LH":
		p.lh = image.Pt(atoiDef(param(ps, 0), 0), atoiDef(param(ps, 1), 0))
	case "CI":
		p.utf8 = param(ps, 0) == "28"
	case "PQ":
	case "CF":
		if f := param(ps, 0); f != "" {
			p.cf.name = f[0]
		}
		h := atoiDef(param(ps, 1), 0)
		w := atoiDef(param(ps, 2), 0)
		if h > 0 {
			p.cf.h = h
			if w == 0 {
				p.cf.w = h
			}
		}
		if w > 0 {
			p.cf.w = w
		}
	case "BY":
		p.by.w = atoiDef(param(ps, 0), p.by.w)
		if r, err := strconv.ParseFloat(param(ps, 1), 64); err == nil {
			p.by.r = r
		}
		p.by.h = atoiDef(param(ps, 2), p.by.h)
	case "FO", "FT":
		p.f.x = atoiDef(param(ps, 0), 0)
		p.f.y = atoiDef(param(ps, 1), 0)
		p.f.typeset = c.name == "FT"
	case "A", "A@":
		p.f.fontSet = true
		p.f.font = p.cf
		if c.name == "A" {
			if len(c.params) > 0 {
				p.f.font.name = c.params[0]
			}
			ps = splitParams(c.params[min(1, len(c.params)):])
		}
		if o := strings.ToUpper(param(ps, 0)); o != "" {
			p.f.font.orient = o[0]
		}
		h := atoiDef(param(ps, 1), 0)
		w := atoiDef(param(ps, 2), 0)
		if h > 0 {
			p.f.font.h = h
			p.f.font.w = h
		}
		if w > 0 {
			p.f.font.w = w
		}
	case "FB":
		p.f.block = &fieldBlock{
			width: atoiDef(param(ps, 0), 0), lines: max(1, atoiDef(param(ps, 1), 1)),
			spacing: atoiDef(param(ps, 2), 0), just: 'L', indent: atoiDef(param(ps, 4), 0),
		}
		if j := strings.ToUpper(param(ps, 3)); j != "" {
			p.f.block.just = j[0]
		}
	case "FH":
		p.f.hexInd = '_'
		if s := strings.TrimSpace(c.params); s != "" {
			p.f.hexInd = s[0]
		}
	case "FR":
		p.f.reverse = true
	case "FD":
		p.f.data = stripNewlines(c.params)
		p.f.hasData = true
	case "GB":
		p.f.bcName = "GB"
		p.f.bcParams = ps
		p.f.hasData = true
	case "BX", "BC", "BQ":
		p.f.bcName = c.name
		p.f.bcParams = ps
	case "FS":
		err := p.drawField()
		p.f = pfield{}
		p.nfield++
		return err
	default:
		if len(c.name) == 2 && c.name[0] == 'B' {
			return fmt.Errorf("barcode %s is not drawn by the preview", c)
		}
		p.warn("%s is not drawn", c)
	}
	return nil
}

// fieldBytes returns the field data after ^FH hex decoding.
func (p *previewer) fieldBytes() ([]byte, error) {
	d := p.f.data
	if p.f.hexInd == 0 {
		return []byte(d), nil
	}
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); i++ {
		if d[i] == p.f.hexInd {
			if i+2 >= len(d) || !isHexDigit(d[i+1]) || !isHexDigit(d[i+2]) {
				return nil, fmt.Errorf("^FH: %q at offset %d is not followed by two hex digits", p.f.hexInd, i)
			}
			v, _ := strconv.ParseUint(d[i+1:i+3], 16, 8)
			out = append(out, byte(v))
			i += 2
			continue
		}
		out = append(out, d[i])
	}
	return out, nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (p *previewer) origin() image.Point {
	return image.Pt(p.f.x+p.lh.X, p.f.y+p.lh.Y)
}

func (p *previewer) drawField() error {
	if !p.f.hasData {
		return nil
	}
	var m *image.Alpha
	var err error
	orient := byte('N')
	switch p.f.bcName {
	case "GB":
		m, err = p.box()
	case "BX":
		m, err = p.dataMatrix()
		orient = orientOf(param(p.f.bcParams, 0))
	case "BC":
		m, err = p.code128()
		orient = orientOf(param(p.f.bcParams, 0))
	case "BQ":
		m, err = p.qr()
	default:
		var baseline int
		m, baseline, err = p.text()
		orient = orientOf(string(p.fieldFont().orient))
		if err == nil && p.f.typeset && orient == 'N' {
			// ^FT places the baseline (of the last line) at y.
			at := p.origin().Sub(image.Pt(0, baseline))
			p.marks = append(p.marks, mark{field: p.nfield, kind: p.fieldKind(), at: at, mask: rotate(m, orient), reverse: p.f.reverse})
			return nil
		}
	}
	if err != nil {
		return err
	}
	m = rotate(m, orient)
	at := p.origin()
	if p.f.typeset {
		at.Y -= m.Bounds().Dy()
	}
	p.marks = append(p.marks, mark{field: p.nfield, kind: p.fieldKind(), at: at, mask: m, reverse: p.f.reverse})
	return nil
}

func (p *previewer) fieldKind() string {
	if p.f.bcName == "" {
		return "text"
	}
	return p.f.bcName
}

// maxDots bounds a label or field side, and maxArea a field, so that a
// hostile format cannot make the preview allocate without limit.
const (
	maxDots = 16384
	maxArea = 40 << 20 // an A4 sheet at 24 dpmm is 36 million dots
)

func newMask(w, h int) (*image.Alpha, error) {
	if w > maxDots || h > maxDots || w*h > maxArea {
		return nil, fmt.Errorf("field of %d×%d dots is too large to draw", w, h)
	}
	return image.NewAlpha(image.Rect(0, 0, max(w, 1), max(h, 1))), nil
}

func orientOf(s string) byte {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 'N'
	}
	switch s[0] {
	case 'R', 'I', 'B':
		return s[0]
	}
	return 'N'
}

func (p *previewer) fieldFont() fontSpec {
	if p.f.fontSet {
		return p.f.font
	}
	return p.cf
}

// text draws the field data as text; it returns the mask and the baseline
// of the last line within it.
func (p *previewer) text() (*image.Alpha, int, error) {
	raw, err := p.fieldBytes()
	if err != nil {
		return nil, 0, err
	}
	var s string
	if p.utf8 {
		if !utf8.Valid(raw) {
			return nil, 0, fmt.Errorf("field data is not valid UTF-8 under ^CI28")
		}
		s = string(raw)
	} else {
		rs := make([]rune, len(raw))
		for i, b := range raw {
			rs[i] = rune(b)
		}
		s = string(rs)
	}
	fs := p.fieldFont()
	face := newFace(fs.h, fs.w)
	var lines []string
	lineH := fs.h
	width := 0
	if b := p.f.block; b != nil {
		lineH += b.spacing
		for _, para := range strings.Split(s, `\&`) {
			lines = append(lines, wrap(face, para, b.width)...)
		}
		if len(lines) > b.lines {
			p.warn("field block holds %d lines, the text needs %d: the rest is not printed", b.lines, len(lines))
			lines = lines[:b.lines]
		}
		width = b.width
	} else {
		lines = []string{s}
	}
	for _, l := range lines {
		width = max(width, face.width(l))
	}
	height := lineH*(len(lines)-1) + fs.h + fs.h/4
	m, err := newMask(width, height)
	if err != nil {
		return nil, 0, err
	}
	for i, l := range lines {
		x := 0
		if b := p.f.block; b != nil {
			switch b.just {
			case 'C':
				x = (b.width - face.width(l)) / 2
			case 'R':
				x = b.width - face.width(l)
			}
			if i > 0 && b.just == 'L' {
				x += b.indent
			}
		}
		face.draw(m, l, x, i*lineH+face.ascent())
	}
	return threshold(m), (len(lines)-1)*lineH + face.ascent(), nil
}

// wrap breaks text into lines no wider than width, at spaces when it can.
func wrap(face *textFace, s string, width int) []string {
	if width <= 0 || face.width(s) <= width {
		return []string{s}
	}
	var lines []string
	words := strings.Split(s, " ")
	cur := ""
	for _, w := range words {
		next := w
		if cur != "" {
			next = cur + " " + w
		}
		if face.width(next) <= width {
			cur = next
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		// A word wider than the block is cut.
		cur = ""
		for _, r := range w {
			if cur != "" && face.width(cur+string(r)) > width {
				lines = append(lines, cur)
				cur = ""
			}
			cur += string(r)
		}
	}
	return append(lines, cur)
}

func threshold(m *image.Alpha) *image.Alpha {
	for i, a := range m.Pix {
		if a >= 128 {
			m.Pix[i] = 255
		} else {
			m.Pix[i] = 0
		}
	}
	return m
}

func (p *previewer) box() (*image.Alpha, error) {
	ps := p.f.bcParams
	t := max(1, atoiDef(param(ps, 2), 1))
	w := max(t, atoiDef(param(ps, 0), t))
	h := max(t, atoiDef(param(ps, 1), t))
	m, err := newMask(w, h)
	if err != nil {
		return nil, err
	}
	white := strings.EqualFold(param(ps, 3), "W")
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < t || y < t || x >= w-t || y >= h-t {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	if white {
		// A white box clears what is under it: drawn reversed over black.
		p.f.reverse = !p.f.reverse
	}
	return m, nil
}

func matrixMask(mx *barcode.Matrix, scale int) (*image.Alpha, error) {
	scale = max(scale, 1)
	m, err := newMask(mx.W*scale, mx.H*scale)
	if err != nil {
		return nil, err
	}
	for y := 0; y < mx.H*scale; y++ {
		for x := 0; x < mx.W*scale; x++ {
			if mx.Dark(x/scale, y/scale) {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m, nil
}

func (p *previewer) dataMatrix() (*image.Alpha, error) {
	ps := p.f.bcParams
	raw, err := p.fieldBytes()
	if err != nil {
		return nil, err
	}
	if q := param(ps, 2); q != "" && q != "200" {
		return nil, fmt.Errorf("^BX quality %s: the preview draws ECC 200 only", q)
	}
	var esc byte
	if g := param(ps, 6); g != "" {
		esc = g[0]
	}
	data, err := dataMatrixEscapes(raw, esc)
	if err != nil {
		return nil, err
	}
	opt := barcode.DataMatrixOptions{Cols: atoiDef(param(ps, 3), 0), Rows: atoiDef(param(ps, 4), 0), Rectangular: param(ps, 7) == "2"}
	if (opt.Cols == 0) != (opt.Rows == 0) {
		opt.Cols, opt.Rows = 0, 0
	}
	mx, err := barcode.DataMatrix(data, opt)
	if err != nil {
		return nil, err
	}
	h := atoiDef(param(ps, 1), 0)
	if h <= 0 {
		h = max(1, p.by.h/mx.H)
	}
	return matrixMask(mx, h)
}

// dataMatrixEscapes applies the ^BX escape sequences: esc esc is esc, esc 1
// is FNC1, esc dNNN a byte by decimal value, esc @ to esc _ control
// characters.
func dataMatrixEscapes(raw []byte, esc byte) ([]int, error) {
	out := make([]int, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if esc == 0 || c != esc {
			out = append(out, int(c))
			continue
		}
		if i+1 >= len(raw) {
			return nil, fmt.Errorf("^BX escape character %q at the end of the data", esc)
		}
		i++
		switch n := raw[i]; {
		case n == esc:
			out = append(out, int(esc))
		case n == '1':
			out = append(out, barcode.FNC1)
		case n == 'd' && i+3 < len(raw):
			v, err := strconv.Atoi(string(raw[i+1 : i+4]))
			if err != nil || v > 255 {
				return nil, fmt.Errorf("^BX escape %cd needs three decimal digits, 000 to 255", esc)
			}
			out = append(out, v)
			i += 3
		case n >= '@' && n <= '_':
			out = append(out, int(n-'@'))
		default:
			return nil, fmt.Errorf("^BX escape %c%c is not drawn by the preview", esc, n)
		}
	}
	return out, nil
}

func (p *previewer) code128() (*image.Alpha, error) {
	ps := p.f.bcParams
	raw, err := p.fieldBytes()
	if err != nil {
		return nil, err
	}
	mode := strings.ToUpper(param(ps, 5))
	var vals []int
	var hri string
	switch mode {
	case "", "N":
		vals, hri, err = code128FromZPL(raw)
	case "A":
		vals, err = barcode.Code128Auto(barcode.Bytes(string(raw)))
		hri = string(raw)
	case "D":
		vals, hri, err = code128UCC(raw)
	default:
		return nil, fmt.Errorf("^BC mode %s is not drawn by the preview", mode)
	}
	if err != nil {
		return nil, err
	}
	bars, err := barcode.Code128(vals)
	if err != nil {
		return nil, err
	}
	w := max(1, p.by.w)
	h := atoiDef(param(ps, 1), p.by.h)
	interp := !strings.EqualFold(param(ps, 2), "N")
	above := strings.EqualFold(param(ps, 3), "Y")
	face := newFace(max(10, w*9), max(8, w*6))
	textH := 0
	if interp {
		textH = face.h + face.h/4
	}
	m, err := newMask(len(bars)*w, h+textH)
	if err != nil {
		return nil, err
	}
	top := 0
	if interp && above {
		top = textH
	}
	for x, bar := range bars {
		if !bar {
			continue
		}
		for y := top; y < top+h; y++ {
			for dx := 0; dx < w; dx++ {
				m.Pix[y*m.Stride+x*w+dx] = 255
			}
		}
	}
	if interp {
		tm := image.NewAlpha(image.Rect(0, 0, m.Bounds().Dx(), textH))
		if face.width(hri) > maxDots {
			return nil, fmt.Errorf("interpretation line too long to draw")
		}
		face.draw(tm, hri, (m.Bounds().Dx()-face.width(hri))/2, face.ascent())
		threshold(tm)
		y0 := h
		if above {
			y0 = 0
		}
		for y := 0; y < textH; y++ {
			copy(m.Pix[(y0+y)*m.Stride:(y0+y+1)*m.Stride], tm.Pix[y*tm.Stride:(y+1)*tm.Stride])
		}
	}
	return m, nil
}

// code128FromZPL reads ^BC normal-mode field data: invocation codes (">;"
// start C, ">8" FNC1, ">5" code C and so on), subset C and A as digit pairs.
func code128FromZPL(d []byte) ([]int, string, error) {
	set, vals := barcode.C128CodeB, []int{barcode.C128StartB}
	i := 0
	if len(d) >= 2 && d[0] == '>' {
		switch d[1] {
		case '9':
			set, vals[0], i = barcode.C128CodeA, barcode.C128StartA, 2
		case ':':
			i = 2
		case ';':
			set, vals[0], i = barcode.C128CodeC, barcode.C128StartC, 2
		}
	}
	var hri strings.Builder
	for i < len(d) {
		c := d[i]
		if c == '>' && i+1 < len(d) {
			code := d[i+1]
			i += 2
			switch code {
			case '8':
				vals = append(vals, barcode.C128FNC1)
			case '5':
				if set != barcode.C128CodeC {
					vals, set = append(vals, barcode.C128CodeC), barcode.C128CodeC
				}
			case '6':
				vals = append(vals, barcode.C128CodeB)
				set = barcode.C128CodeB
			case '7':
				vals = append(vals, barcode.C128CodeA)
				set = barcode.C128CodeA
			case '<', '0', '=', '1':
				if set == barcode.C128CodeC {
					continue
				}
				v := map[byte]int{'<': 62, '0': 30, '=': 94, '1': 95}[code]
				vals = append(vals, v)
				hri.WriteByte(byte(v + 32))
			case '2':
				vals = append(vals, barcode.C128FNC3)
			case '3':
				vals = append(vals, barcode.C128FNC2)
			case '4':
				vals = append(vals, barcode.C128ShiftValue)
			default:
				return nil, "", fmt.Errorf("invocation code >%c is not valid here", code)
			}
			continue
		}
		if set == barcode.C128CodeB {
			if c < 32 || c > 126 {
				return nil, "", fmt.Errorf("byte 0x%02X cannot be encoded in subset B", c)
			}
			vals = append(vals, int(c)-32)
			hri.WriteByte(c)
			i++
			continue
		}
		// Subsets A and C take pairs of digits; a non-digit first is
		// ignored, a non-digit second drops the pair.
		if c < '0' || c > '9' {
			i++
			continue
		}
		if i+1 >= len(d) || d[i+1] == '>' {
			i++
			continue
		}
		if n := d[i+1]; n >= '0' && n <= '9' {
			v := int(c-'0')*10 + int(n-'0')
			vals = append(vals, v)
			if set == barcode.C128CodeC {
				hri.WriteString(string([]byte{c, n}))
			}
		}
		i += 2
	}
	if len(vals) < 2 {
		return nil, "", fmt.Errorf("no data to encode")
	}
	return vals, hri.String(), nil
}

// code128UCC reads ^BC mode D data: "(AI)value" groups, parentheses and
// spaces stripped, FNC1 first and after variable-length values.
func code128UCC(d []byte) ([]int, string, error) {
	s := strings.ReplaceAll(string(d), " ", "")
	if !strings.HasPrefix(s, "(") {
		return nil, "", fmt.Errorf("mode D data starts with an AI in parentheses")
	}
	in := []int{barcode.FNC1}
	var hri strings.Builder
	groups := strings.Split(s[1:], "(")
	for gi, g := range groups {
		ai, val, ok := strings.Cut(g, ")")
		if !ok {
			return nil, "", fmt.Errorf("mode D: unterminated AI in %q", g)
		}
		in = append(in, barcode.Bytes(ai+val)...)
		if gi < len(groups)-1 && gs1.NeedsSeparator(ai) {
			in = append(in, barcode.FNC1)
		}
		fmt.Fprintf(&hri, "(%s)%s", ai, val)
	}
	vals, err := barcode.Code128Auto(in)
	return vals, hri.String(), err
}

func (p *previewer) qr() (*image.Alpha, error) {
	ps := p.f.bcParams
	raw, err := p.fieldBytes()
	if err != nil {
		return nil, err
	}
	mag := atoiDef(param(ps, 2), map[int]int{6: 1, 8: 2, 12: 3, 24: 6}[p.opt.DPMM])
	mask := atoiDef(param(ps, 4), 7)
	s := string(raw)
	if strings.HasPrefix(s, "D") {
		return nil, fmt.Errorf("^BQ mixed mode (D) is not drawn by the preview")
	}
	if len(s) < 3 {
		return nil, fmt.Errorf("^BQ field data starts with the error correction level and input mode, e.g. QA,")
	}
	levels := map[byte]barcode.QRLevel{'L': barcode.QRLevelL, 'M': barcode.QRLevelM, 'Q': barcode.QRLevelQ, 'H': barcode.QRLevelH}
	lvl, ok := levels[upper(s[0])]
	if !ok {
		return nil, fmt.Errorf("^BQ error correction %q: must be H, Q, M or L", s[0])
	}
	opt := barcode.QROptions{Level: lvl, Mask: mask}
	var seg barcode.QRSegment
	switch upper(s[1]) {
	case 'A':
		if s[2] != ',' {
			return nil, fmt.Errorf("^BQ: a comma follows the input mode")
		}
		data := s[3:]
		if d, ok := strings.CutPrefix(data, ">8"); ok {
			opt.FNC1, data = true, d
		}
		seg = barcode.QRSegment{Data: []byte(data)}
	case 'M':
		if s[2] != ',' || len(s) < 4 {
			return nil, fmt.Errorf("^BQ: manual input needs a comma and a character mode")
		}
		data := s[4:]
		switch upper(s[3]) {
		case 'N':
			seg = barcode.QRSegment{Mode: barcode.QRNumeric, Data: []byte(data)}
		case 'A':
			seg = barcode.QRSegment{Mode: barcode.QRAlphanumeric, Data: []byte(data)}
		case 'B':
			if len(data) < 4 {
				return nil, fmt.Errorf("^BQ byte mode needs a four-digit count")
			}
			n, err := strconv.Atoi(data[:4])
			if err != nil || n != len(data)-4 {
				return nil, fmt.Errorf("^BQ byte mode count %q does not match %d bytes of data", data[:4], len(data)-4)
			}
			seg = barcode.QRSegment{Mode: barcode.QRByte, Data: []byte(data[4:])}
		default:
			return nil, fmt.Errorf("^BQ character mode %q is not drawn by the preview", s[3])
		}
	default:
		return nil, fmt.Errorf("^BQ input mode %q: must be A or M", s[1])
	}
	mx, err := barcode.QR([]barcode.QRSegment{seg}, opt)
	if err != nil {
		return nil, err
	}
	return matrixMask(mx, mag)
}

// rotate turns a mask drawn upright to the field orientation: R 90°
// clockwise, I 180°, B 270°.
func rotate(m *image.Alpha, o byte) *image.Alpha {
	if o == 'N' {
		return m
	}
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	var out *image.Alpha
	if o == 'I' {
		out = image.NewAlpha(image.Rect(0, 0, w, h))
	} else {
		out = image.NewAlpha(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := m.Pix[y*m.Stride+x]
			if a == 0 {
				continue
			}
			switch o {
			case 'R':
				out.Pix[x*out.Stride+(h-1-y)] = a
			case 'I':
				out.Pix[(h-1-y)*out.Stride+(w-1-x)] = a
			case 'B':
				out.Pix[(w-1-x)*out.Stride+y] = a
			}
		}
	}
	return out
}

func (p *previewer) finish() *image.Gray {
	p.pw, p.ll = min(p.pw, maxDots), min(p.ll, maxDots)
	p.opt.Width, p.opt.Height = min(p.opt.Width, maxDots), min(p.opt.Height, maxDots)
	w, h := p.pw, p.ll
	if w <= 0 {
		w = p.opt.Width
	}
	if h <= 0 {
		h = p.opt.Height
	}
	if w <= 0 {
		w = int(101.6 * float64(p.opt.DPMM))
	}
	if h <= 0 {
		h = int(152.4 * float64(p.opt.DPMM))
	}
	if w*h > maxArea {
		h = maxArea / w
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, mk := range p.marks {
		b := mk.mask.Bounds()
		for y := 0; y < b.Dy(); y++ {
			ty := mk.at.Y + y
			if ty < 0 || ty >= h {
				continue
			}
			row := mk.mask.Pix[y*mk.mask.Stride:]
			for x := 0; x < b.Dx(); x++ {
				tx := mk.at.X + x
				if row[x] == 0 || tx < 0 || tx >= w {
					continue
				}
				i := ty*img.Stride + tx
				if mk.reverse {
					img.Pix[i] = 255 - img.Pix[i]
				} else {
					img.Pix[i] = 0
				}
			}
		}
	}
	return img
}
