package zpl

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
	"github.com/edgeagent/edgeagent/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// carrierLabel stands in for the ZPL a carrier returns for a parcel.
const carrierLabel = "^XA^CI28^PW812^LL1218^FO40,40^A0N,50,50^FDPostNL Parcel^FS" +
	"^FO40,120^GB730,4,4^FS^FO60,160^BY3^BCN,200,Y,N,N^FD3SABCD1234567^FS" +
	"^FO60,460^BQN,2,6^FDQA,https://track.example/3SABCD1234567^FS^FO420,470^A0N,30,30^FB360,4,4,L^FDJ. Doe\\&Main St 1\\&1011 AB Amsterdam^FS^XZ"

// sampleData returns the data the golden files are made from.
func sampleData(t *Template) Data {
	if t.Tag == "shipping" {
		return Data{"label": carrierLabel}
	}
	return t.Sample
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/zpl -update to create %s", path)
	if bytes.Equal(want, got) {
		return
	}
	if strings.HasSuffix(name, ".png") && samePixels(t, want, got) {
		return // a different PNG encoder, the same picture
	}
	t.Errorf("%s differs from the golden file (go test ./internal/zpl -update rewrites it)", path)
}

func samePixels(t *testing.T, a, b []byte) bool {
	ia, err := png.Decode(bytes.NewReader(a))
	require.NoError(t, err)
	ib, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	if ia.Bounds() != ib.Bounds() {
		return false
	}
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			if color.GrayModel.Convert(ia.At(x, y)) != color.GrayModel.Convert(ib.At(x, y)) {
				return false
			}
		}
	}
	return true
}

func TestBuiltinGolden(t *testing.T) {
	set := Builtin()
	require.Equal(t, []string{"commands", "pack", "shipping", "sscc"}, set.Tags())
	for _, tag := range set.Tags() {
		t.Run(tag, func(t *testing.T) {
			tp, _ := set.Get(tag)
			out, err := tp.Render(nil, sampleData(tp))
			require.NoError(t, err)
			golden(t, tag+".zpl", out)
			img, warnings, err := tp.Preview(sampleData(tp), 0)
			require.NoError(t, err)
			assert.Empty(t, warnings)
			var buf bytes.Buffer
			require.NoError(t, EncodePNG(&buf, img))
			golden(t, tag+".png", buf.Bytes())
			assert.Empty(t, Lint(tag+".zpl", mustBuiltinSource(t, tag)))
		})
	}
}

func mustBuiltinSource(t *testing.T, tag string) []byte {
	src, err := builtinFS.ReadFile("builtin/" + tag + ".zpl")
	require.NoError(t, err)
	return src
}

// decoded is one barcode read back from a preview.
type decoded struct {
	kind string
	testutil.Decoded
}

// decodeAll draws the label and reads every barcode on it with an
// independent decoder, each from its own part of the image.
func decodeAll(t *testing.T, zplData []byte, opt PreviewOptions) []decoded {
	t.Helper()
	p := &previewer{opt: opt, cf: fontSpec{name: 'A', h: 9, w: 5}, by: byDefaults{w: 2, r: 3, h: 10}}
	if p.opt.DPMM == 0 {
		p.opt.DPMM = 8
	}
	require.NoError(t, p.run(string(zplData)))
	img := p.finish()
	var out []decoded
	for _, mk := range p.marks {
		sym := map[string]testutil.Symbology{"BX": testutil.DataMatrix, "BC": testutil.Code128, "BQ": testutil.QRCode}[mk.kind]
		if sym == "" {
			continue
		}
		r := mk.mask.Bounds().Add(mk.at).Intersect(img.Bounds())
		if mk.kind == "BC" {
			r.Max.Y = r.Min.Y + (r.Dy() * 2 / 3) // bars only, not the interpretation line
		}
		d, err := testutil.Decode(img.SubImage(r), sym)
		require.NoError(t, err, "%s field %d", mk.kind, mk.field)
		out = append(out, decoded{mk.kind, d})
	}
	return out
}

func elementString(t *testing.T, pairs ...string) string {
	var els []gs1.Element
	for i := 0; i < len(pairs); i += 2 {
		els = append(els, gs1.Element{AI: pairs[i], Value: pairs[i+1]})
	}
	require.NoError(t, gs1.Validate(els))
	return gs1.ElementString(els)
}

func TestBuiltinBarcodesDecode(t *testing.T) {
	set := Builtin()
	render := func(tag string, d Data) ([]byte, PreviewOptions) {
		tp, _ := set.Get(tag)
		out, err := tp.Render(nil, d)
		require.NoError(t, err)
		return out, PreviewOptions{DPMM: tp.DPMM, Width: int(tp.WidthMM) * tp.DPMM, Height: int(tp.HeightMM) * tp.DPMM}
	}
	label := func(tag string, d Data) []decoded {
		out, opt := render(tag, d)
		return decodeAll(t, out, opt)
	}

	t.Run("pack", func(t *testing.T) {
		for _, d := range []Data{
			{"gtin": "09506000134352", "expiry": "261231", "batch": "AB_1CD", "serial": `SN"%&()/_1`},
			{"gtin": "09506000134352", "expiry": "270100", "batch": "L-1/2(3)", "serial": "12345678901234567890"},
			{"gtin": "9506000134352", "expiry": "280229", "batch": "_", "serial": "__1_1_"},
		} {
			got := label("pack", d)
			require.Len(t, got, 1)
			gtin, _ := gs1.GTIN14(d["gtin"])
			assert.Equal(t, elementString(t, "01", gtin, "17", d["expiry"], "10", d["batch"], "21", d["serial"]), got[0].Text)
			assert.Equal(t, "]d2", got[0].AIM)
		}
	})
	t.Run("sscc", func(t *testing.T) {
		got := label("sscc", Data{"sscc": "095060001343521236"})
		require.Len(t, got, 1)
		assert.Equal(t, "00095060001343521236", got[0].Text)
		assert.Equal(t, "]C1", got[0].AIM)
	})
	t.Run("commands", func(t *testing.T) {
		got := label("commands", Data{"station": "AGG-1"})
		var texts []string
		for _, d := range got {
			texts = append(texts, d.Text)
		}
		assert.Equal(t, []string{"CMD:NEW", "CMD:CLOSE", "CMD:UNDO", "CMD:REMOVE", "CMD:CANCEL", "CMD:REPRINT",
			"CMD:CASE", "CMD:PALLET", "CMD:SHIP", "CMD:DESTROY", "CMD:SAMPLE",
			"CMD:FREE_SAMPLE", "CMD:CHECK_OUT", "CMD:LOCK", "CMD:EXPORT"}, texts)
	})
	t.Run("shipping", func(t *testing.T) {
		got := label("shipping", Data{"label": carrierLabel})
		require.Len(t, got, 2)
		assert.Equal(t, "3SABCD1234567", got[0].Text)
		assert.Equal(t, "https://track.example/3SABCD1234567", got[1].Text)
	})
}

// Every CSET 82 character must come out of the printer as given, in each
// GS1 symbology, whatever the escaping it needs.
func TestCSET82RoundTrip(t *testing.T) {
	src := `^FX tag: all
^FX keys: gtin batch serial
^XA
^PW1000
^LL1400
^FO40,40^BXN,6,200,,,,_^FD{{gs1 01=gtin 10=batch 21=serial}}^FS
^FO40,400^BY2^BCN,120,N,N,N^FD{{gs1 01=gtin 10=batch 21=serial}}^FS
^FO40,600^BQN,2,5,M^FD{{gs1 01=gtin 10=batch 21=serial}}^FS
^XZ
`
	tp, err := Compile("all.zpl", []byte(src))
	require.NoError(t, err)
	cset82 := `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`
	values := []string{"AB_1CD", `_"%&()/`, ">0>8>;", "_1_1", "(10)12", "%%25", "a", "1234", "Z9<=>?"}
	// GS1-128 holds 48 characters: the whole set goes through ten at a time.
	for i := 0; i < len(cset82); i += 10 {
		values = append(values, cset82[i:min(i+10, len(cset82))])
	}
	for _, batch := range values {
		serial := "S" + reverse(batch)
		d := Data{"gtin": "09506000134352", "batch": batch, "serial": serial}
		out, err := tp.Render(nil, d)
		require.NoError(t, err, "batch %q", batch)
		want := elementString(t, "01", "09506000134352", "10", batch, "21", serial)
		got := decodeAll(t, out, PreviewOptions{DPMM: 8})
		require.Len(t, got, 3, "%s", out)
		for _, g := range got {
			assert.Equal(t, want, g.Text, "%s of batch %q in %s", g.kind, batch, out)
		}
		assert.Equal(t, "]d2", got[0].AIM)
		assert.Equal(t, "]C1", got[1].AIM)
		assert.Equal(t, "]Q3", got[2].AIM)
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func TestEscaping(t *testing.T) {
	src := `^FX tag: esc
^FX keys: a b c d
^XA^CI28
^FO10,10^A0N,20,20^FDText {{a}}^FS
^FO10,40^BXN,4,200,,,,_^FD{{b}}^FS
^FO10,100^BCN,40,N^FD{{c}}^FS
^FO10,200^A0N,20,20^FD{{d}}^FS
^XZ`
	tp, err := Compile("esc.zpl", []byte(src))
	require.NoError(t, err)
	out, err := tp.Render(nil, Data{"a": "x^y~z_w", "b": "p^q_r\x1d", "c": "a>b^c~d", "d": "plain_text é"})
	require.NoError(t, err)
	s := string(out)
	assert.Contains(t, s, "^FO10,10^A0N,20,20^FH_^FDText x_5Ey_7Ez_5Fw^FS")
	assert.Contains(t, s, `^FH\^FDp\5Eq__r\1D^FS`)
	assert.Contains(t, s, "^FDa>0b><c>=d^FS")
	assert.Contains(t, s, "^FO10,200^A0N,20,20^FDplain_text é^FS", "no ^FH when nothing needs it")

	// The preview reads the escapes back.
	got := decodeAll(t, out, PreviewOptions{DPMM: 8})
	assert.Equal(t, "p^q_r\x1d", got[0].Text)
	assert.Equal(t, "a>b^c~d", got[1].Text)

	for _, tc := range []struct {
		d    Data
		want string
	}{
		{Data{"a": "x", "b": "y", "c": "é", "d": "z"}, `c: 'é' cannot be encoded in this barcode`},
		{Data{"a": "x\n", "b": "y", "c": "z", "d": "z"}, "a: control character 0x0A at position 2"},
		{Data{"a": "x", "b": "y", "c": "z\t", "d": "z"}, "c: control character 0x09"},
		{Data{"a": "\xff", "b": "y", "c": "z", "d": "z"}, "a: not valid UTF-8"},
		{Data{"a": "x", "b": "y", "c": "z"}, "d: missing: template esc takes a, b, c, d"},
		{Data{"a": "x", "b": "y", "c": "z", "d": "z", "e": "?"}, "e: unknown key"},
	} {
		_, err := tp.Render(nil, tc.d)
		assert.ErrorContains(t, err, tc.want)
	}

	noUTF8, err := Compile("n.zpl", []byte("^FX tag: n\n^FX keys: a\n^XA^FO1,1^A0N,20^FD{{a}}^FS^XZ"))
	require.NoError(t, err)
	_, err = noUTF8.Render(nil, Data{"a": "é"})
	assert.ErrorContains(t, err, "a: non-ASCII text needs ^CI28")
}

func TestGS1Errors(t *testing.T) {
	tp, _ := Builtin().Get("pack")
	good := Data{"gtin": "09506000134352", "expiry": "261231", "batch": "B1", "serial": "S1"}
	for key, tc := range map[string]struct{ v, want string }{
		"gtin":   {"09506000134353", "gtin: AI (01):"},
		"expiry": {"261332", "expiry: AI (17)"},
		"batch":  {"ABCDEFGHIJKLMNOPQRSTU", "batch: AI (10): value"},
		"serial": {"a b", "serial: AI (21)"},
	} {
		d := Data{}
		for k, v := range good {
			d[k] = v
		}
		d[key] = tc.v
		_, err := tp.Render(nil, d)
		assert.ErrorContains(t, err, tc.want, key)
		var ke *KeyError
		assert.ErrorAs(t, err, &ke)
	}
	sscc, _ := Builtin().Get("sscc")
	_, err := sscc.Render(nil, Data{"sscc": "095060001343521235"})
	assert.ErrorContains(t, err, "sscc: AI (00)")
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"^XA^XZ", "t.zpl:1:1: missing header ^FX tag: NAME"},
		{"^FX tag: Bad Tag\n^XA^XZ", `t.zpl:1:1: tag "Bad Tag"`},
		{"^FX tag: a\n^FX color: red\n^XA^XZ", `t.zpl:2:1: unknown header "color"`},
		{"^FX tag: a\n^XA\n^FO1,1^FD{{serial}}^FS\n^XZ", `t.zpl:3:10: unknown placeholder key "serial": declare it in the header`},
		{"^FX tag: a\n^FX keys: x y\n^XA^FO1,1^FD{{x}}^FS^XZ", `key "y" is declared but no placeholder uses it`},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^BXN,4,200^FD{{gs1 01=s}}^FS^XZ", "GS1 DataMatrix needs ^BX quality 200 and an escape character"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^BCN,40^FDX{{gs1 01=s}}^FS^XZ", "must be the whole field data"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^FD{{gs1 21=s}}^FS^XZ", "AI (21): needs one of AI (01) or (03) or (8006)"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^FD{{gs1 999=s}}^FS^XZ", "AI (999) is not a GS1 Application Identifier"},
		{"^FX tag: a\n^XA^SN001,1^XZ", "^SN is not allowed"},
		{"^FX tag: a\n^XA^PQ2^XZ", "^PQ quantity must be 1"},
		{"^FX tag: a\n^XA^XZ\n^XA^XZ", "^XZ before the end of the template"},
		{"^FX tag: a\n^XA^XZ\njunk", "text after ^XZ"},
		{"^FX tag: a\n^XA^FO1,1^FDabc^FS", "missing ^XZ"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO{{s}},1^FDx^FS^XZ", "placeholders belong in ^FD field data"},
		{"^FX tag: a\n^FX keys: s\n^FX sample: s=é\n^XA^FO1,1^FD{{s}}^FS^XZ", "sample data does not render: s: non-ASCII text needs ^CI28"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^BXN,4,200,,,,_^FH_^FD{{s}}^FS^XZ", "equals the ^BX escape character"},
		{"^FX tag: a\n^FX keys: s\n^XA^FO1,1^FD{{s^FS^XZ", "unterminated placeholder"},
	} {
		_, err := Compile("t.zpl", []byte(tc.src))
		assert.ErrorContains(t, err, tc.want, "%q", tc.src)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600)) }
	write("cap.zpl", "^FX tag: cap\n^FX keys: lot\n^XA^FO10,10^A0N,30^FD{{lot}}^FS^XZ\n")
	set, err := Load(os.DirFS(dir))
	require.NoError(t, err)
	assert.Equal(t, []string{"cap", "commands", "pack", "shipping", "sscc"}, set.Tags())

	write("pack.zpl", "^FX tag: pack\n^FX keys: serial\n^XA^FO10,10^A0N,30^FD{{serial}}^FS^XZ\n")
	_, err = Load(os.DirFS(dir))
	assert.ErrorContains(t, err, `tag "pack" replaces a built-in template, so it must take the keys gtin expiry batch serial`)

	require.NoError(t, os.Remove(filepath.Join(dir, "pack.zpl")))
	write("dup.zpl", "^FX tag: cap\n^XA^XZ\n")
	_, err = Load(os.DirFS(dir))
	assert.ErrorContains(t, err, `tag "cap" is already taken by cap.zpl`)
}

func TestLint(t *testing.T) {
	src := "^FX tag: bad\n^FX keys: serial lot\n^XA\n^PW400\n^LL200\n" +
		"^FO10,10^A0N,30,30^FDprice ~ 5^FS\n" +
		"^FO10,50^BXN,5,200^FD{{serial}}^FS\n" +
		"^FO500,10^A0N,30,30^FD{{batch}}^FS\n" +
		"^ZQ\n^FO10,20^A0N,30,30^FDa^5b^FS\n^PQ2\n"
	var got []string
	for _, f := range Lint("bad.zpl", []byte(src)) {
		got = append(got, f.String())
	}
	assert.Equal(t, []string{
		`2:1: placeholder: key "lot" is declared but no placeholder uses it`,
		"6:28: raw-data: raw ~ in field data: write it with ^FH as _7E",
		"7:9: gs1-mode: ^BX without an escape character: the firmware default varies, set it: ^BXN,h,200,,,,_",
		"8:1: outside-label: field origin 500,10 is outside the 400×200-dot label",
		`8:23: placeholder: placeholder key "batch" is not declared: add it to ^FX keys:`,
		"9:1: unknown-command: unknown command ^ZQ",
		"10:23: raw-data: field data ends at ^5B, not ^FS: a raw ^ in the data? Write it with ^FH as _5E",
		"11:1: serialisation: ^PQ quantity above 1 prints the same serial twice",
		"12:1: format: missing ^XZ: a label format ends with ^XZ",
	}, got)

	// A field that runs off the label is found by drawing it.
	plain := "^XA^PW200^LL100^FO150,10^A0N,40,40^FDWIDE TEXT^FS^FO10,10^BXN,5,200,,,,_^FDplain^FS^XZ"
	got = nil
	for _, f := range Lint("plain.zpl", []byte(plain)) {
		got = append(got, f.String())
	}
	assert.Equal(t, []string{
		"1:16: outside-label: field spans 150,10 to 334,60, outside the 200×100-dot label",
		"1:73: gs1-mode: Data Matrix data does not start with FNC1 (_1): it is not GS1 DataMatrix",
	}, got)
}

func TestPreviewSubset(t *testing.T) {
	// Orientation, ^LH, ^FT, ^FR over a box, ^CF, ^A@ and 12 dpmm defaults.
	src := "^XA^PW600^LL400^LH20,10^CF0,30^FO0,0^GB200,100,100^FS^FR^FO10,10^A@N,40,40,E:ARIAL.TTF^FDREV^FS" +
		"^FO300,20^BXN,6,200,,,,_^FD_10109506000134352^FS^FT300,380^A0B,30^FDup^FS^FO400,200^BQN,2^FDMM,N0123456789^FS^PQ1^XZ"
	img, warnings, err := Preview([]byte(src), PreviewOptions{DPMM: 12})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, image.Rect(0, 0, 600, 400), img.Bounds())
	// The box is black at its corner, home offset applied.
	assert.Equal(t, uint8(0), img.GrayAt(25, 15).Y)
	assert.Equal(t, uint8(255), img.GrayAt(15, 5).Y)
	got := decodeAll(t, []byte(src), PreviewOptions{DPMM: 12})
	require.Len(t, got, 2)
	assert.Equal(t, "0109506000134352", got[0].Text)
	assert.Equal(t, "0123456789", got[1].Text)

	_, _, err = Preview([]byte("^XA^FO1,1^GB99999,99999,1^FS^XZ"), PreviewOptions{})
	assert.ErrorContains(t, err, "too large")
	_, _, err = Preview([]byte("^FO1,1^FDx^FS"), PreviewOptions{})
	assert.ErrorContains(t, err, "^XA not found")
	_, _, err = Preview([]byte("^XA^FO1,1^B3N,N,40^FDX^FS^XZ"), PreviewOptions{})
	assert.ErrorContains(t, err, "^B3 is not drawn")
	_, w, err := Preview([]byte("^XA^MD10^FO1,1^FDx^FS^XZ"), PreviewOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"^MD is not drawn"}, w)
}

// gozxing reads Data Matrix upright only (libdmtx's dmtxread reads the
// rotated ones too); rotation is checked by its geometry and by turning the
// drawn symbol back.
func TestRotation(t *testing.T) {
	m := image.NewAlpha(image.Rect(0, 0, 2, 1))
	m.Pix[0] = 255 // the left dot of a 2×1 mask
	assert.Equal(t, []uint8{255, 0}, rotate(m, 'R').Pix, "R: the left end goes to the top")
	assert.Equal(t, []uint8{0, 255}, rotate(m, 'I').Pix)
	assert.Equal(t, []uint8{0, 255}, rotate(m, 'B').Pix, "B: the left end goes to the bottom")
	for _, o := range []struct{ draw, back byte }{{'R', 'B'}, {'I', 'I'}, {'B', 'R'}} {
		src := fmt.Sprintf("^XA^PW300^LL300^FO60,60^BX%c,6,200,,,,_^FD_10109506000134352^FS^XZ", o.draw)
		p := &previewer{opt: PreviewOptions{DPMM: 8}, cf: fontSpec{name: 'A', h: 9, w: 5}, by: byDefaults{w: 2, r: 3, h: 10}}
		require.NoError(t, p.run(src))
		upright := rotate(p.marks[0].mask, o.back)
		g := image.NewGray(upright.Bounds())
		for i, a := range upright.Pix {
			g.Pix[i] = 255 - a
		}
		d, err := testutil.Decode(g, testutil.DataMatrix)
		require.NoError(t, err, "orientation %c", o.draw)
		assert.Equal(t, "0109506000134352", d.Text)
	}
}

func TestRawPassthrough(t *testing.T) {
	tp, _ := Builtin().Get("shipping")
	out, err := tp.Render(nil, Data{"label": "  " + carrierLabel + "\n"})
	require.NoError(t, err)
	assert.Equal(t, carrierLabel, string(out))
	for v, want := range map[string]string{
		"hello":                   "label: must be one ZPL label format",
		"^XA^FDx^FS^XZ^XA^XZ":     "more than one label format",
		"^XA~JA^XZ":               "~JA is not allowed",
		"^XA^JUS^XZ":              "^JU is not allowed",
		"^XA^FO1,1^FDx^FS^PQ5^XZ": "^PQ quantity must be 1",
	} {
		_, err := tp.Render(nil, Data{"label": v})
		assert.ErrorContains(t, err, want, v)
	}
}

func TestRenderAllocations(t *testing.T) {
	tp, _ := Builtin().Get("pack")
	d := Data{"gtin": "09506000134352", "expiry": "261231", "batch": "AB_1CD", "serial": "SN0001"}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if buf, err = tp.Render(buf[:0], d); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0)
	sscc, _ := Builtin().Get("sscc")
	allocs = testing.AllocsPerRun(200, func() { buf, _ = sscc.Render(buf[:0], Data{"sscc": "095060001343521236"}) })
	assert.LessOrEqual(t, allocs, 1.0)
}
