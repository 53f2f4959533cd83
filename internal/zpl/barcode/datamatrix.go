package barcode

import (
	"errors"
	"fmt"
)

// dmSize describes one ECC 200 symbol size.
type dmSize struct {
	rows, cols       int // whole symbol, finder patterns included
	regRows, regCols int // data regions vertically and horizontally
	data, ecc        int // codewords
	blocks           int // interleaved Reed-Solomon blocks
}

// dmSizes lists the square sizes then the rectangular ones, smallest first
// (ISO/IEC 16022 table 7).
var dmSizes = []dmSize{
	{10, 10, 1, 1, 3, 5, 1}, {12, 12, 1, 1, 5, 7, 1}, {14, 14, 1, 1, 8, 10, 1},
	{16, 16, 1, 1, 12, 12, 1}, {18, 18, 1, 1, 18, 14, 1}, {20, 20, 1, 1, 22, 18, 1},
	{22, 22, 1, 1, 30, 20, 1}, {24, 24, 1, 1, 36, 24, 1}, {26, 26, 1, 1, 44, 28, 1},
	{32, 32, 2, 2, 62, 36, 1}, {36, 36, 2, 2, 86, 42, 1}, {40, 40, 2, 2, 114, 48, 1},
	{44, 44, 2, 2, 144, 56, 1}, {48, 48, 2, 2, 174, 68, 1}, {52, 52, 2, 2, 204, 84, 2},
	{64, 64, 4, 4, 280, 112, 2}, {72, 72, 4, 4, 368, 144, 4}, {80, 80, 4, 4, 456, 192, 4},
	{88, 88, 4, 4, 576, 224, 4}, {96, 96, 4, 4, 696, 272, 4}, {104, 104, 4, 4, 816, 336, 6},
	{120, 120, 6, 6, 1050, 408, 6}, {132, 132, 6, 6, 1304, 496, 8}, {144, 144, 6, 6, 1558, 620, 10},
	{8, 18, 1, 1, 5, 7, 1}, {8, 32, 1, 2, 10, 11, 1}, {12, 26, 1, 1, 16, 14, 1},
	{12, 36, 1, 2, 22, 18, 1}, {16, 36, 1, 2, 32, 24, 1}, {16, 48, 1, 2, 49, 28, 1},
}

const dmSquareSizes = 24

var dmField = newField(0x12D)

// DataMatrixOptions selects the symbol size. Zero values choose the smallest
// square symbol that holds the data.
type DataMatrixOptions struct {
	Rows, Cols  int  // a fixed size; the data must fit
	Rectangular bool // choose among rectangular sizes instead of square ones
}

// ErrTooLong is returned when the data does not fit any symbol.
var ErrTooLong = errors.New("data too long for the symbol")

// DataMatrix encodes data (bytes and FNC1) as an ECC 200 symbol using ASCII
// encodation, digit pairs packed.
func DataMatrix(data []int, opt DataMatrixOptions) (*Matrix, error) {
	cw, err := dmASCII(data)
	if err != nil {
		return nil, err
	}
	size, err := dmChoose(len(cw), opt)
	if err != nil {
		return nil, err
	}
	cw = dmPad(cw, size.data)
	full := dmInterleave(cw, size)
	return dmPlace(full, size), nil
}

func dmASCII(data []int) ([]byte, error) {
	cw := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == FNC1:
			cw = append(cw, 232)
		case isDigitValue(c) && i+1 < len(data) && isDigitValue(data[i+1]):
			cw = append(cw, byte(130+(c-'0')*10+(data[i+1]-'0')))
			i++
		case c >= 0 && c < 128:
			cw = append(cw, byte(c+1))
		case c >= 128 && c < 256:
			cw = append(cw, 235, byte(c-127))
		default:
			return nil, fmt.Errorf("value %d cannot be encoded", c)
		}
	}
	return cw, nil
}

func isDigitValue(c int) bool { return c >= '0' && c <= '9' }

func dmChoose(n int, opt DataMatrixOptions) (dmSize, error) {
	if opt.Rows > 0 || opt.Cols > 0 {
		for _, s := range dmSizes {
			if s.rows == opt.Rows && s.cols == opt.Cols {
				if n > s.data {
					return s, fmt.Errorf("%w: %d codewords, a %dx%d symbol holds %d", ErrTooLong, n, s.rows, s.cols, s.data)
				}
				return s, nil
			}
		}
		return dmSize{}, fmt.Errorf("no ECC 200 symbol has %d rows and %d columns", opt.Rows, opt.Cols)
	}
	list := dmSizes[:dmSquareSizes]
	if opt.Rectangular {
		list = dmSizes[dmSquareSizes:]
	}
	for _, s := range list {
		if n <= s.data {
			return s, nil
		}
	}
	return dmSize{}, fmt.Errorf("%w: %d codewords", ErrTooLong, n)
}

// dmPad fills to the symbol's capacity: 129 first, then the 253-state
// randomised pad.
func dmPad(cw []byte, capacity int) []byte {
	if len(cw) < capacity {
		cw = append(cw, 129)
	}
	for len(cw) < capacity {
		pos := len(cw) + 1
		v := 129 + (149*pos)%253 + 1
		if v > 254 {
			v -= 254
		}
		cw = append(cw, byte(v))
	}
	return cw
}

// dmInterleave appends the error correction, block by block, interleaved.
func dmInterleave(data []byte, s dmSize) []byte {
	out := make([]byte, s.data+s.ecc)
	copy(out, data)
	eccPer := s.ecc / s.blocks
	gen := dmField.generator(eccPer, 1)
	for b := 0; b < s.blocks; b++ {
		var block []byte
		for i := b; i < s.data; i += s.blocks {
			block = append(block, data[i])
		}
		ecc := dmField.ecc(block, gen)
		for i, e := range ecc {
			out[s.data+b+i*s.blocks] = e
		}
	}
	return out
}

// dmPlace lays the codewords out with the ECC 200 placement algorithm and
// draws the finder and timing patterns of every data region.
func dmPlace(cw []byte, s dmSize) *Matrix {
	regH := (s.rows - 2*s.regRows) / s.regRows
	regW := (s.cols - 2*s.regCols) / s.regCols
	nrow, ncol := regH*s.regRows, regW*s.regCols
	p := placement{nrow: nrow, ncol: ncol, cells: make([]int, nrow*ncol)}
	p.run()

	m := newMatrix(s.cols, s.rows)
	for r := 0; r < nrow; r++ {
		for c := 0; c < ncol; c++ {
			v := p.cells[r*ncol+c]
			dark := v == 1
			if v >= 10 {
				chr, bit := v/10, v%10
				dark = cw[chr-1]>>(8-bit)&1 == 1
			}
			m.set(c+2*(c/regW)+1, r+2*(r/regH)+1, dark)
		}
	}
	for ry := 0; ry < s.regRows; ry++ {
		for rx := 0; rx < s.regCols; rx++ {
			x0, y0 := rx*(regW+2), ry*(regH+2)
			w, h := regW+2, regH+2
			for x := 0; x < w; x++ {
				m.set(x0+x, y0+h-1, true)
				m.set(x0+x, y0, x%2 == 0)
			}
			for y := 0; y < h; y++ {
				m.set(x0, y0+y, true)
				m.set(x0+w-1, y0+y, y%2 == 1)
			}
		}
	}
	return m
}

// placement holds, per module of the mapping matrix, 10*codeword+bit (bit 1
// the most significant), or 1 for the fixed dark corner module.
type placement struct {
	nrow, ncol int
	cells      []int
}

func (p *placement) module(row, col, chr, bit int) {
	if row < 0 {
		row += p.nrow
		col += 4 - (p.nrow+4)%8
	}
	if col < 0 {
		col += p.ncol
		row += 4 - (p.ncol+4)%8
	}
	p.cells[row*p.ncol+col] = 10*chr + bit
}

func (p *placement) utah(row, col, chr int) {
	p.module(row-2, col-2, chr, 1)
	p.module(row-2, col-1, chr, 2)
	p.module(row-1, col-2, chr, 3)
	p.module(row-1, col-1, chr, 4)
	p.module(row-1, col, chr, 5)
	p.module(row, col-2, chr, 6)
	p.module(row, col-1, chr, 7)
	p.module(row, col, chr, 8)
}

func (p *placement) corner(chr int, at [8][2]int) {
	for i, rc := range at {
		r, c := rc[0], rc[1]
		if r < 0 {
			r += p.nrow
		}
		if c < 0 {
			c += p.ncol
		}
		p.module(r, c, chr, i+1)
	}
}

func (p *placement) run() {
	nrow, ncol := p.nrow, p.ncol
	chr, row, col := 1, 4, 0
	for {
		switch {
		case row == nrow && col == 0:
			p.corner(chr, [8][2]int{{-1, 0}, {-1, 1}, {-1, 2}, {0, -2}, {0, -1}, {1, -1}, {2, -1}, {3, -1}})
			chr++
		case row == nrow-2 && col == 0 && ncol%4 != 0:
			p.corner(chr, [8][2]int{{-3, 0}, {-2, 0}, {-1, 0}, {0, -4}, {0, -3}, {0, -2}, {0, -1}, {1, -1}})
			chr++
		case row == nrow-2 && col == 0 && ncol%8 == 4:
			p.corner(chr, [8][2]int{{-3, 0}, {-2, 0}, {-1, 0}, {0, -2}, {0, -1}, {1, -1}, {2, -1}, {3, -1}})
			chr++
		case row == nrow+4 && col == 2 && ncol%8 == 0:
			p.corner(chr, [8][2]int{{-1, 0}, {-1, -1}, {0, -3}, {0, -2}, {0, -1}, {1, -3}, {1, -2}, {1, -1}})
			chr++
		}
		for {
			if row < nrow && col >= 0 && p.cells[row*ncol+col] == 0 {
				p.utah(row, col, chr)
				chr++
			}
			row -= 2
			col += 2
			if row < 0 || col >= ncol {
				break
			}
		}
		row++
		col += 3
		for {
			if row >= 0 && col < ncol && p.cells[row*ncol+col] == 0 {
				p.utah(row, col, chr)
				chr++
			}
			row += 2
			col -= 2
			if row >= nrow || col < 0 {
				break
			}
		}
		row += 3
		col++
		if row >= nrow && col >= ncol {
			break
		}
	}
	if p.cells[nrow*ncol-1] == 0 {
		p.cells[nrow*ncol-1] = 1
		p.cells[nrow*ncol-ncol-2] = 1
	}
}
