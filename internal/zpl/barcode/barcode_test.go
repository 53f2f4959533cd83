package barcode

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

// matrixImage draws m at scale dots per module.
func matrixImage(m *Matrix, scale int) image.Image {
	img := image.NewGray(image.Rect(0, 0, m.W*scale, m.H*scale))
	for y := 0; y < m.H*scale; y++ {
		for x := 0; x < m.W*scale; x++ {
			c := color.Gray{255}
			if m.Dark(x/scale, y/scale) {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

func linearImage(l Linear, scale, height int) image.Image {
	img := image.NewGray(image.Rect(0, 0, len(l)*scale, height))
	for y := 0; y < height; y++ {
		for x := 0; x < len(l)*scale; x++ {
			c := color.Gray{255}
			if l[x/scale] {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

// gs1Input turns "01...|10AB" (| for FNC1) into encoder input with FNC1 first.
func gs1Input(s string) []int {
	out := []int{FNC1}
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			out = append(out, FNC1)
			continue
		}
		out = append(out, int(s[i]))
	}
	return out
}

func TestDataMatrixDecodes(t *testing.T) {
	cases := []struct {
		name string
		in   []int
		opt  DataMatrixOptions
		want string
		aim  string
	}{
		{"plain", Bytes("Hello, line 4"), DataMatrixOptions{}, "Hello, line 4", "]d1"},
		{"gs1 pack", gs1Input("0109506000134352172612311" + "0AB_1CD|21SN\"%&()/_1"), DataMatrixOptions{}, "0109506000134352172612311" + "0AB_1CD\x1d21SN\"%&()/_1", "]d2"},
		{"rectangular", Bytes("12345678901234"), DataMatrixOptions{Rectangular: true}, "12345678901234", "]d1"},
		{"fixed size", Bytes("AB"), DataMatrixOptions{Rows: 26, Cols: 26}, "AB", "]d1"},
		{"multi region", Bytes(strings.Repeat("GS1 DataMatrix ", 8)), DataMatrixOptions{}, strings.Repeat("GS1 DataMatrix ", 8), "]d1"},
		{"interleaved blocks", Bytes(strings.Repeat("x", 300)), DataMatrixOptions{}, strings.Repeat("x", 300), "]d1"},
		{"upper shift", []int{'a', 0xE9, 'b'}, DataMatrixOptions{}, "a\xe9b", "]d1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DataMatrix(tc.in, tc.opt)
			require.NoError(t, err)
			got, err := testutil.Decode(matrixImage(m, 4), testutil.DataMatrix)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Text)
			assert.Equal(t, tc.aim, got.AIM)
		})
	}
}

func TestDataMatrixSizes(t *testing.T) {
	// Every size must decode when filled: the placement corner cases differ.
	for _, s := range dmSizes {
		if s.data > 400 {
			continue
		}
		m, err := DataMatrix(Bytes(strings.Repeat("7", s.data*2)), DataMatrixOptions{Rows: s.rows, Cols: s.cols})
		require.NoError(t, err)
		require.Equal(t, s.cols, m.W)
		got, err := testutil.Decode(matrixImage(m, 4), testutil.DataMatrix)
		require.NoError(t, err, "%dx%d", s.rows, s.cols)
		assert.Equal(t, strings.Repeat("7", s.data*2), got.Text)
	}
	_, err := DataMatrix(Bytes("ABCD"), DataMatrixOptions{Rows: 10, Cols: 10})
	require.ErrorIs(t, err, ErrTooLong)
	_, err = DataMatrix(Bytes("ABC"), DataMatrixOptions{Rows: 11, Cols: 10})
	require.ErrorContains(t, err, "no ECC 200 symbol has 11 rows")
}

func TestCode128Decodes(t *testing.T) {
	cases := []struct {
		name string
		in   []int
		want string
		aim  string
	}{
		{"sscc", gs1Input("00095060001343521235"), "00095060001343521235", "]C1"},
		{"gs1 mixed", gs1Input("0109506000134352" + "10AB>1(x)|21123456"), "0109506000134352" + "10AB>1(x)\x1d21123456", "]C1"},
		{"text", Bytes("CMD:CLOSE-CASE"), "CMD:CLOSE-CASE", ""},
		{"odd digits", Bytes("12345a67"), "12345a67", ""},
		{"control", []int{'A', 9, 'b'}, "A\tb", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := Code128Auto(tc.in)
			require.NoError(t, err)
			l, err := Code128(vals)
			require.NoError(t, err)
			got, err := testutil.Decode(linearImage(l, 3, 80), testutil.Code128)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Text)
			if tc.aim != "" {
				assert.Equal(t, tc.aim, got.AIM)
			}
		})
	}
	// The SSCC is all digit pairs: start C, FNC1, ten pairs.
	vals, err := Code128Auto(gs1Input("00095060001343521235"))
	require.NoError(t, err)
	assert.Equal(t, []int{C128StartC, C128FNC1}, vals[:2])
	assert.Len(t, vals, 12)
}

func TestQRDecodes(t *testing.T) {
	cases := []struct {
		name string
		segs []QRSegment
		opt  QROptions
		want string
		aim  string
	}{
		{"numeric", []QRSegment{{Data: []byte("0123456789")}}, QROptions{Level: QRLevelM, Mask: 7}, "0123456789", "]Q1"},
		{"alnum", []QRSegment{{Data: []byte("AC-42")}}, QROptions{Level: QRLevelQ, Mask: 0}, "AC-42", "]Q1"},
		{"byte", []QRSegment{{Data: []byte("https://id.gs1.org/01/09506000134352/21/ab%2F1")}}, QROptions{Level: QRLevelH, Mask: 3}, "https://id.gs1.org/01/09506000134352/21/ab%2F1", "]Q1"},
		{"gs1 byte", []QRSegment{{Mode: QRByte, Data: []byte("0109506000134352" + "10ab\x1d21x")}}, QROptions{Level: QRLevelQ, Mask: 7, FNC1: true}, "0109506000134352" + "10ab\x1d21x", "]Q3"},
		{"large", []QRSegment{{Data: []byte(strings.Repeat("edgeagent ", 120))}}, QROptions{Level: QRLevelL, Mask: 5}, strings.Repeat("edgeagent ", 120), "]Q1"},
		{"version 7+", []QRSegment{{Data: []byte(strings.Repeat("Z", 200))}}, QROptions{Level: QRLevelM, Mask: 2}, strings.Repeat("Z", 200), "]Q1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := QR(tc.segs, tc.opt)
			require.NoError(t, err)
			got, err := testutil.Decode(matrixImage(m, 4), testutil.QRCode)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Text)
			assert.Equal(t, tc.aim, got.AIM)
		})
	}
	// Every version and level decodes. (gozxing's finder misses version 31 with
	// mask 7 at these scales, though zbarimg reads it; the masks vary here.)
	for v := 1; v <= 40; v += 3 {
		for l := QRLevelL; l <= QRLevelH; l++ {
			n := qrDataCodewords(v, l) - 3
			data := []byte(strings.Repeat("b", n))
			m, err := QR([]QRSegment{{Mode: QRByte, Data: data}}, QROptions{Level: l, Mask: (v/3 + int(l)) % 8})
			require.NoError(t, err)
			require.Equal(t, v*4+17, m.W, "version for %d bytes at level %d", n, l)
			got, err := testutil.Decode(matrixImage(m, 4), testutil.QRCode)
			require.NoError(t, err, "version %d level %d", v, l)
			assert.Equal(t, string(data), got.Text)
		}
	}
}
