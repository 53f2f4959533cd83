package scanner

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Framing says how reads are delimited in a byte stream.
type Framing struct {
	// Suffix ends each read: "\r", "\n" or "\r\n"; empty means reads are
	// delimited by a pause of Gap.
	Suffix string
	// Gap is the inter-character timeout that ends a read without a
	// suffix, and discards a half read that never completes (default 50ms).
	Gap time.Duration
	// MaxLen bounds a read (default 4096 bytes); longer input is dropped
	// up to the next suffix and reported.
	MaxLen int
	// GSSubstitute, when not 0, is a character the scanner sends in place
	// of GS (0x1D), which is turned back into GS.
	GSSubstitute byte
}

func (f Framing) withDefaults() Framing {
	if f.Gap <= 0 {
		f.Gap = 50 * time.Millisecond
	}
	if f.MaxLen <= 0 {
		f.MaxLen = 4096
	}
	return f
}

// ParseFraming reads the framing parameters shared by every source URL:
// suffix=cr|lf|crlf|none, gap=50ms, maxlen=4096, gs=|.
func ParseFraming(q url.Values) (Framing, error) {
	f := Framing{Suffix: "\r"}
	switch v := q.Get("suffix"); v {
	case "", "cr":
	case "lf":
		f.Suffix = "\n"
	case "crlf":
		f.Suffix = "\r\n"
	case "none":
		f.Suffix = ""
	default:
		return f, fmt.Errorf("suffix %q: must be cr, lf, crlf or none", v)
	}
	if v := q.Get("gap"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 5*time.Second {
			return f, fmt.Errorf("gap %q: a duration from 1ms to 5s, e.g. 50ms", v)
		}
		f.Gap = d
	}
	if v := q.Get("maxlen"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n > 65536 {
			return f, fmt.Errorf("maxlen %q: a number from 16 to 65536", v)
		}
		f.MaxLen = n
	}
	if v := q.Get("gs"); v != "" {
		if len(v) != 1 || v[0] < 0x20 || v[0] > 0x7e || isCSET82(v[0]) {
			return f, fmt.Errorf("gs %q: one printable character that GS1 data cannot hold, such as | or ~ or ^", v)
		}
		f.GSSubstitute = v[0]
	}
	return f.withDefaults(), nil
}

// isCSET82 reports whether c may appear in GS1 AI values: a substitute
// must not.
func isCSET82(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!\"%&'()*+,-./:;<=>?_"), c) >= 0
}

// Framer cuts a byte stream into reads.
type Framer struct {
	f       Framing
	buf     []byte
	last    time.Time
	discard bool
	// Dropped counts reads dropped for being too long.
	Dropped int
}

// NewFramer returns a framer.
func NewFramer(f Framing) *Framer { return &Framer{f: f.withDefaults()} }

// Write adds bytes that arrived at now and returns the complete reads.
func (fr *Framer) Write(p []byte, now time.Time) [][]byte {
	var out [][]byte
	if fr.f.Suffix == "" && len(fr.buf) > 0 && now.Sub(fr.last) >= fr.f.Gap {
		out = append(out, fr.take(len(fr.buf), 0))
	}
	fr.last = now
	fr.buf = append(fr.buf, p...)
	if fr.f.Suffix == "" {
		fr.guard()
		return out
	}
	for {
		i := bytes.Index(fr.buf, []byte(fr.f.Suffix))
		if i < 0 {
			fr.guard()
			return out
		}
		if fr.discard {
			fr.discard = false
			fr.buf = fr.buf[i+len(fr.f.Suffix):]
			continue
		}
		if r := fr.take(i, len(fr.f.Suffix)); len(r) > 0 {
			out = append(out, r)
		}
	}
}

// Flush ends a read at a pause: without a suffix, what has arrived is a
// read; with one, a half read older than the gap is discarded (the
// scanner never finished it).
func (fr *Framer) Flush(now time.Time) [][]byte {
	if len(fr.buf) == 0 || now.Sub(fr.last) < fr.f.Gap {
		return nil
	}
	if fr.f.Suffix == "" {
		return [][]byte{fr.take(len(fr.buf), 0)}
	}
	return nil
}

// Pending reports whether a read is under way.
func (fr *Framer) Pending() bool { return len(fr.buf) > 0 }

// Gap is the framing's inter-character timeout.
func (fr *Framer) Gap() time.Duration { return fr.f.Gap }

func (fr *Framer) take(n, skip int) []byte {
	r := append([]byte(nil), fr.buf[:n]...)
	fr.buf = fr.buf[n+skip:]
	if fr.f.GSSubstitute != 0 {
		for i, c := range r {
			if c == fr.f.GSSubstitute {
				r[i] = 0x1D
			}
		}
	}
	if len(r) > fr.f.MaxLen {
		fr.Dropped++
		return nil
	}
	return r
}

// guard drops a read that has grown past the limit without ending.
func (fr *Framer) guard() {
	if len(fr.buf) > fr.f.MaxLen {
		fr.Dropped++
		fr.buf = fr.buf[:0]
		fr.discard = fr.f.Suffix != ""
	}
}

// NewScan makes a Scan from a framed read, detecting the AIM identifier.
func NewScan(raw []byte, source string, at time.Time, wedge bool) Scan {
	s := Scan{Raw: raw, Source: source, At: at, Wedge: wedge}
	if len(raw) >= 3 && raw[0] == ']' && raw[1] >= 0x21 && raw[1] <= 0x7e && raw[2] >= '0' && raw[2] <= 'z' {
		s.Symbology = string(raw[:3])
	}
	return s
}
