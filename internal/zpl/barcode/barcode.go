// Package barcode encodes the symbologies that label previews draw: Data
// Matrix ECC 200, Code 128 and QR Code. It turns data into modules; scaling,
// placement and ZPL field-data conventions belong to package zpl.
//
// The encoders follow ISO/IEC 16022 (Data Matrix), ISO/IEC 15417 (Code 128)
// and ISO/IEC 18004 (QR Code). FNC1 is carried in the input as the value
// FNC1, outside the byte range, so that GS1 data keeps its separators.
package barcode

// FNC1 is the function character 1 in encoder input: first in GS1 data, and
// after each variable-length element that is not last.
const FNC1 = 0x100

// Matrix is a two-dimensional symbol of W×H modules.
type Matrix struct {
	W, H int
	dark []bool
}

func newMatrix(w, h int) *Matrix { return &Matrix{W: w, H: h, dark: make([]bool, w*h)} }

// Dark reports whether the module at column x, row y is dark.
func (m *Matrix) Dark(x, y int) bool { return m.dark[y*m.W+x] }

func (m *Matrix) set(x, y int, v bool) { m.dark[y*m.W+x] = v }

// Linear is a one-dimensional symbol: one entry per module, true for a bar.
type Linear []bool

// Bytes returns data as encoder input.
func Bytes(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}
