package barcode

import "fmt"

// Code 128 symbol values with a fixed meaning.
const (
	C128ShiftValue = 98
	C128CodeC      = 99
	C128CodeB      = 100 // FNC4 in subset B
	C128CodeA      = 101 // FNC4 in subset A
	C128FNC1       = 102
	C128FNC2       = 97
	C128FNC3       = 96
	C128StartA     = 103
	C128StartB     = 104
	C128StartC     = 105
	c128Stop       = 106
)

// c128Patterns are the bar and space widths of each symbol value.
var c128Patterns = [107]string{
	"212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
	"221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
	"221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
	"212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
	"231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
	"231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
	"314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
	"112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
	"111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
	"214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
	"114131", "311141", "411131", "211412", "211214", "211232", "2331112",
}

// Code128 draws the symbol for values, which start with a start character
// and hold neither the check character nor the stop character.
func Code128(values []int) (Linear, error) {
	if len(values) == 0 || values[0] < C128StartA || values[0] > C128StartC {
		return nil, fmt.Errorf("code 128 needs a start character first")
	}
	sum := values[0]
	var out Linear
	for i, v := range values {
		if v < 0 || v > 105 {
			return nil, fmt.Errorf("code 128 value %d out of range", v)
		}
		if i > 0 {
			sum += i * v
		}
		out = appendPattern(out, c128Patterns[v])
	}
	out = appendPattern(out, c128Patterns[sum%103])
	return appendPattern(out, c128Patterns[c128Stop]), nil
}

func appendPattern(out Linear, p string) Linear {
	bar := true
	for i := 0; i < len(p); i++ {
		for n := int(p[i] - '0'); n > 0; n-- {
			out = append(out, bar)
		}
		bar = !bar
	}
	return out
}

// Code128Auto chooses subsets for data (ASCII bytes and FNC1): subset C for
// runs of four or more digits (or two at the start or end), B otherwise, A
// only for control characters. It returns the values with the start
// character first.
func Code128Auto(data []int) ([]int, error) { return AppendCode128Auto(nil, data) }

// AppendCode128Auto is Code128Auto appending to dst.
func AppendCode128Auto(dst, data []int) ([]int, error) {
	const none = 0
	out := dst
	set := none
	digitsAt := func(i int) int {
		n := 0
		for i+n < len(data) && isDigitValue(data[i+n]) {
			n++
		}
		return n
	}
	for i := 0; i < len(data); {
		c := data[i]
		if c != FNC1 && (c < 0 || c > 127) {
			return nil, fmt.Errorf("character %d cannot be encoded in code 128", c)
		}
		run := digitsAt(i)
		wantC := run >= 4 || (run >= 2 && run%2 == 0 && (i == 0 || i+run == len(data)))
		if set == none && c == FNC1 {
			// FNC1 first: start in C when digit pairs follow.
			if digitsAt(i+1) >= 2 {
				set, out = C128CodeC, append(out, C128StartC)
			} else {
				set, out = C128CodeB, append(out, C128StartB)
			}
		}
		switch {
		case c == FNC1:
			out = append(out, C128FNC1)
			i++
			continue
		case wantC && set != C128CodeC:
			if run%2 == 1 {
				// Odd run: one digit first in the current set.
				if set == none {
					set, out = C128CodeB, append(out, C128StartB)
				}
				out = append(out, c128Value(set, c))
				i++
				continue
			}
			if set == none {
				out = append(out, C128StartC)
			} else {
				out = append(out, C128CodeC)
			}
			set = C128CodeC
		case set == C128CodeC && run >= 2:
		case c < 32 && set != C128CodeA:
			if set == none {
				out = append(out, C128StartA)
			} else {
				out = append(out, C128CodeA)
			}
			set = C128CodeA
		case c >= 96 && set != C128CodeB || set == none || set == C128CodeC:
			if set == none {
				out = append(out, C128StartB)
			} else {
				out = append(out, C128CodeB)
			}
			set = C128CodeB
		}
		if set == C128CodeC {
			out = append(out, (c-'0')*10+data[i+1]-'0')
			i += 2
			continue
		}
		out = append(out, c128Value(set, c))
		i++
	}
	if set == none {
		return nil, fmt.Errorf("code 128 needs data")
	}
	return out, nil
}

// c128Value returns the value of an ASCII character in subset A or B.
func c128Value(set, c int) int {
	if set == C128CodeA && c < 32 {
		return c + 64
	}
	return c - 32
}
