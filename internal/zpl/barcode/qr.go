package barcode

import (
	"fmt"
	"strings"
)

// QRLevel is a QR Code error-correction level.
type QRLevel int

// Error-correction levels, from the least to the most redundant.
const (
	QRLevelL QRLevel = iota
	QRLevelM
	QRLevelQ
	QRLevelH
)

// QRMode is a QR Code data mode.
type QRMode int

// Data modes. QRAuto picks the densest single mode that holds the data.
const (
	QRAuto QRMode = iota
	QRNumeric
	QRAlphanumeric
	QRByte
)

// QRSegment is data in one mode.
type QRSegment struct {
	Mode QRMode
	Data []byte
}

// QROptions controls the symbol.
type QROptions struct {
	Level QRLevel
	Mask  int  // 0 to 7
	FNC1  bool // FNC1 in first position: GS1 data, GS as separator
}

const qrAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// Per level (L, M, Q, H) and version (1 to 40): ECC codewords per block and
// number of blocks (ISO/IEC 18004 table 9).
var qrECCPerBlock = [4][41]int{
	{0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	{0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
}

var qrBlocks = [4][41]int{
	{0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	{0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	{0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
}

var qrField = newField(0x11D)

// QR encodes the segments as a QR Code model 2 symbol of the smallest version
// that holds them.
func QR(segs []QRSegment, opt QROptions) (*Matrix, error) {
	if opt.Mask < 0 || opt.Mask > 7 {
		return nil, fmt.Errorf("qr mask %d: must be 0 to 7", opt.Mask)
	}
	segs = resolveModes(segs)
	for v := 1; v <= 40; v++ {
		capacity := qrDataCodewords(v, opt.Level) * 8
		bits, ok := qrBits(segs, v, opt.FNC1)
		if !ok || bits.n > capacity {
			continue
		}
		return qrSymbol(bits, v, opt), nil
	}
	return nil, fmt.Errorf("%w: qr version 40", ErrTooLong)
}

func resolveModes(segs []QRSegment) []QRSegment {
	out := make([]QRSegment, len(segs))
	for i, s := range segs {
		out[i] = s
		if s.Mode != QRAuto {
			continue
		}
		out[i].Mode = QRByte
		switch {
		case allIn(s.Data, "0123456789"):
			out[i].Mode = QRNumeric
		case allIn(s.Data, qrAlnum):
			out[i].Mode = QRAlphanumeric
		}
	}
	return out
}

func allIn(data []byte, set string) bool {
	for _, c := range data {
		if strings.IndexByte(set, c) < 0 {
			return false
		}
	}
	return len(data) > 0
}

type bitBuf struct {
	b []byte
	n int
}

func (w *bitBuf) put(v, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[w.n/8] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
}

func qrCountBits(mode QRMode, v int) int {
	i := 0
	if v >= 27 {
		i = 2
	} else if v >= 10 {
		i = 1
	}
	switch mode {
	case QRNumeric:
		return [3]int{10, 12, 14}[i]
	case QRAlphanumeric:
		return [3]int{9, 11, 13}[i]
	}
	return [3]int{8, 16, 16}[i]
}

func qrBits(segs []QRSegment, v int, fnc1 bool) (bitBuf, bool) {
	var w bitBuf
	if fnc1 {
		w.put(0b0101, 4)
	}
	for _, s := range segs {
		cb := qrCountBits(s.Mode, v)
		if len(s.Data) >= 1<<cb {
			return w, false
		}
		switch s.Mode {
		case QRNumeric:
			w.put(0b0001, 4)
			w.put(len(s.Data), cb)
			for i := 0; i < len(s.Data); i += 3 {
				n := min(3, len(s.Data)-i)
				val := 0
				for _, c := range s.Data[i : i+n] {
					val = val*10 + int(c-'0')
				}
				w.put(val, n*3+1)
			}
		case QRAlphanumeric:
			w.put(0b0010, 4)
			w.put(len(s.Data), cb)
			for i := 0; i < len(s.Data); i += 2 {
				a := strings.IndexByte(qrAlnum, s.Data[i])
				if i+1 < len(s.Data) {
					w.put(a*45+strings.IndexByte(qrAlnum, s.Data[i+1]), 11)
				} else {
					w.put(a, 6)
				}
			}
		default:
			w.put(0b0100, 4)
			w.put(len(s.Data), cb)
			for _, c := range s.Data {
				w.put(int(c), 8)
			}
		}
	}
	return w, true
}

func qrRawModules(v int) int {
	r := (16*v+128)*v + 64
	if v >= 2 {
		n := v/7 + 2
		r -= (25*n-10)*n - 55
		if v >= 7 {
			r -= 36
		}
	}
	return r
}

func qrDataCodewords(v int, l QRLevel) int {
	return qrRawModules(v)/8 - qrECCPerBlock[l][v]*qrBlocks[l][v]
}

func qrSymbol(bits bitBuf, v int, opt QROptions) *Matrix {
	capacity := qrDataCodewords(v, opt.Level) * 8
	bits.put(0, min(4, capacity-bits.n))
	if bits.n%8 != 0 {
		bits.put(0, 8-bits.n%8)
	}
	for pad := 0xEC; bits.n < capacity; pad ^= 0xEC ^ 0x11 {
		bits.put(pad, 8)
	}
	// Split into blocks, add error correction, interleave.
	nb, eccLen := qrBlocks[opt.Level][v], qrECCPerBlock[opt.Level][v]
	raw := qrRawModules(v) / 8
	short := nb - raw%nb
	shortLen := raw/nb - eccLen
	gen := qrField.generator(eccLen, 0)
	var blocks, eccs [][]byte
	k := 0
	for i := 0; i < nb; i++ {
		n := shortLen
		if i >= short {
			n++
		}
		blocks = append(blocks, bits.b[k:k+n])
		eccs = append(eccs, qrField.ecc(bits.b[k:k+n], gen))
		k += n
	}
	var cw []byte
	for i := 0; i <= shortLen; i++ {
		for _, b := range blocks {
			if i < len(b) {
				cw = append(cw, b[i])
			}
		}
	}
	for i := 0; i < eccLen; i++ {
		for _, e := range eccs {
			cw = append(cw, e[i])
		}
	}
	q := newQRGrid(v)
	q.drawFunctions(v, opt)
	q.drawData(cw, opt.Mask)
	return q.m
}

type qrGrid struct {
	m        *Matrix
	function []bool
	size     int
}

func newQRGrid(v int) *qrGrid {
	size := v*4 + 17
	return &qrGrid{m: newMatrix(size, size), function: make([]bool, size*size), size: size}
}

func (q *qrGrid) setF(x, y int, dark bool) {
	q.m.set(x, y, dark)
	q.function[y*q.size+x] = true
}

func (q *qrGrid) drawFunctions(v int, opt QROptions) {
	n := q.size
	for i := 0; i < n; i++ {
		q.setF(6, i, i%2 == 0)
		q.setF(i, 6, i%2 == 0)
	}
	for _, c := range [][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				q.setF(x, y, d != 2 && d != 4)
			}
		}
	}
	pos := qrAlignment(v)
	for i, ax := range pos {
		for j, ay := range pos {
			if (i == 0 && j == 0) || (i == 0 && j == len(pos)-1) || (i == len(pos)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.setF(ax+dx, ay+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat(opt)
	if v >= 7 {
		rem := v
		for i := 0; i < 12; i++ {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := v<<12 | rem
		for i := 0; i < 18; i++ {
			dark := bits>>i&1 == 1
			a, b := n-11+i%3, i/3
			q.setF(a, b, dark)
			q.setF(b, a, dark)
		}
	}
}

func (q *qrGrid) drawFormat(opt QROptions) {
	eclBits := [4]int{1, 0, 3, 2}[opt.Level]
	data := eclBits<<3 | opt.Mask
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	n := q.size
	for i := 0; i <= 5; i++ {
		q.setF(8, i, bit(i))
	}
	q.setF(8, 7, bit(6))
	q.setF(8, 8, bit(7))
	q.setF(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.setF(14-i, 8, bit(i))
	}
	for i := 0; i < 8; i++ {
		q.setF(n-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.setF(8, n-15+i, bit(i))
	}
	q.setF(8, n-8, true)
}

func qrAlignment(v int) []int {
	if v == 1 {
		return nil
	}
	num := v/7 + 2
	step := 26
	if v != 32 {
		step = (v*4 + num*2 + 1) / (num*2 - 2) * 2
	}
	out := make([]int, num)
	out[0] = 6
	for i, p := num-1, v*4+10; i >= 1; i, p = i-1, p-step {
		out[i] = p
	}
	return out
}

func (q *qrGrid) drawData(cw []byte, mask int) {
	n := q.size
	i := 0
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := 0; vert < n; vert++ {
			for j := 0; j < 2; j++ {
				x := right - j
				upward := (right+1)&2 == 0
				y := vert
				if upward {
					y = n - 1 - vert
				}
				if q.function[y*n+x] {
					continue
				}
				dark := false
				if i < len(cw)*8 {
					dark = cw[i/8]>>(7-i%8)&1 == 1
					i++
				}
				if qrMask(mask, x, y) {
					dark = !dark
				}
				q.m.set(x, y, dark)
			}
		}
	}
}

func qrMask(mask, x, y int) bool {
	switch mask {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	}
	return ((x+y)%2+x*y%3)%2 == 0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
