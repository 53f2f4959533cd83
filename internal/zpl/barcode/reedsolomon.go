package barcode

// field is GF(256) with a given primitive polynomial.
type field struct {
	exp [512]byte
	log [256]int
}

func newField(poly int) *field {
	f := &field{}
	x := 1
	for i := 0; i < 255; i++ {
		f.exp[i] = byte(x)
		f.log[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= poly
		}
	}
	for i := 255; i < 512; i++ {
		f.exp[i] = f.exp[i-255]
	}
	return f
}

func (f *field) mul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return f.exp[f.log[a]+f.log[b]]
}

// generator returns the coefficients, highest degree first and without the
// leading 1, of ∏ (x - α^i) for i in [first, first+n).
func (f *field) generator(n, first int) []byte {
	g := []byte{1}
	for i := 0; i < n; i++ {
		root := f.exp[(first+i)%255]
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c
			next[j+1] ^= f.mul(c, root)
		}
		g = next
	}
	return g[1:]
}

// ecc returns the n error-correction codewords of data for the generator.
func (f *field) ecc(data, gen []byte) []byte {
	rem := make([]byte, len(gen))
	for _, d := range data {
		factor := d ^ rem[0]
		copy(rem, rem[1:])
		rem[len(rem)-1] = 0
		for i, g := range gen {
			rem[i] ^= f.mul(g, factor)
		}
	}
	return rem
}
