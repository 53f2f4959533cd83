package zpl

import (
	"image"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The preview stands in for Zebra font 0 (a bold condensed sans) with Go
// Bold, an open font (BSD licence) compiled into the binary, drawn narrower
// to match the printer's proportions.
const condense = 0.82

var previewFont = sync.OnceValue(func() *sfnt.Font {
	f, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		panic("zpl: embedded font: " + err.Error())
	}
	return f
})

// textFace draws text at a character height h and width w in dots.
type textFace struct {
	f    *sfnt.Font
	buf  sfnt.Buffer
	h, w int
	ppem fixed.Int26_6
	sx   float32
}

func newFace(h, w int) *textFace {
	if h < 1 {
		h = 1
	}
	if w < 1 {
		w = h
	}
	return &textFace{f: previewFont(), h: h, w: w, ppem: fixed.I(h), sx: float32(w) / float32(h) * condense}
}

// ascent is the distance from the top of the character cell to the baseline.
func (t *textFace) ascent() int { return (t.h*4 + 2) / 5 }

func (t *textFace) glyph(r rune) sfnt.GlyphIndex {
	g, err := t.f.GlyphIndex(&t.buf, r)
	if err != nil || g == 0 {
		g, _ = t.f.GlyphIndex(&t.buf, '?')
	}
	return g
}

// width returns the advance of s in dots.
func (t *textFace) width(s string) int {
	var adv fixed.Int26_6
	for _, r := range s {
		a, err := t.f.GlyphAdvance(&t.buf, t.glyph(r), t.ppem, font.HintingNone)
		if err == nil {
			adv += a
		}
	}
	return int(float32(adv)/64*t.sx + 0.5)
}

// draw rasterises s with its baseline at (x, baseline) into an alpha mask
// covering r, which must be large enough.
func (t *textFace) draw(dst *image.Alpha, s string, x, baseline int) {
	b := dst.Bounds()
	z := vector.NewRasterizer(b.Dx(), b.Dy())
	ox := float32(x - b.Min.X)
	oy := float32(baseline - b.Min.Y)
	pen := float32(0)
	for _, r := range s {
		g := t.glyph(r)
		segs, err := t.f.LoadGlyph(&t.buf, g, t.ppem, nil)
		if err != nil {
			continue
		}
		pt := func(p fixed.Point26_6) (float32, float32) {
			return ox + pen + float32(p.X)/64*t.sx, oy + float32(p.Y)/64
		}
		for _, seg := range segs {
			switch seg.Op {
			case sfnt.SegmentOpMoveTo:
				z.MoveTo(pt(seg.Args[0]))
			case sfnt.SegmentOpLineTo:
				z.LineTo(pt(seg.Args[0]))
			case sfnt.SegmentOpQuadTo:
				x1, y1 := pt(seg.Args[0])
				x2, y2 := pt(seg.Args[1])
				z.QuadTo(x1, y1, x2, y2)
			case sfnt.SegmentOpCubeTo:
				x1, y1 := pt(seg.Args[0])
				x2, y2 := pt(seg.Args[1])
				x3, y3 := pt(seg.Args[2])
				z.CubeTo(x1, y1, x2, y2, x3, y3)
			}
		}
		z.ClosePath()
		a, _ := t.f.GlyphAdvance(&t.buf, g, t.ppem, font.HintingNone)
		pen += float32(a) / 64 * t.sx
	}
	z.Draw(dst, b, image.Opaque, image.Point{})
}
