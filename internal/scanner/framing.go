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

// suffixName is a suffix as the URL parameter names it.
func suffixName(s string) string {
	switch s {
	case "\r":
		return "cr"
	case "\n":
		return "lf"
	case "\r\n":
		return "crlf"
	}
	return "none"
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

// DropReason says why a framer dropped a read.
type DropReason string

// Reasons a read is dropped.
const (
	// DropTooLong is a read longer than MaxLen: what arrived is thrown
	// away, and so is the rest of it, up to the suffix (or, without a
	// suffix, up to the next pause).
	DropTooLong DropReason = "too long"
	// DropUnfinished is a read whose suffix did not arrive within Gap:
	// the scanner never finished it, or sends another suffix.
	DropUnfinished DropReason = "unfinished"
)

// Framer cuts a byte stream into reads. A read that cannot be trusted
// whole is dropped, never passed on in part or glued to the next one: one
// longer than MaxLen, and, with a suffix, one left unfinished for Gap.
// Each drop is counted and told to OnDrop.
type Framer struct {
	f       Framing
	buf     []byte
	last    time.Time
	discard bool // dropping the rest of a read that grew too long
	dropped uint64

	// OnDrop, when set, is called for each dropped read with the reason
	// and how many of its bytes had arrived.
	OnDrop func(reason DropReason, n int)
}

// NewFramer returns a framer.
func NewFramer(f Framing) *Framer { return &Framer{f: f.withDefaults()} }

// Dropped is the number of reads the framer has dropped.
func (fr *Framer) Dropped() uint64 { return fr.dropped }

// Write adds bytes that arrived at now and returns the complete reads.
func (fr *Framer) Write(p []byte, now time.Time) [][]byte {
	var out [][]byte
	if fr.Pending() && now.Sub(fr.last) >= fr.f.Gap {
		out = fr.pause()
	}
	fr.last = now
	fr.buf = append(fr.buf, p...)
	if fr.f.Suffix != "" {
		for {
			i := bytes.Index(fr.buf, []byte(fr.f.Suffix))
			if i < 0 {
				break
			}
			if fr.discard {
				// The end of a read that was too long: what follows is
				// a new read.
				fr.discard = false
				fr.buf = fr.buf[i+len(fr.f.Suffix):]
				continue
			}
			if r := fr.take(i, len(fr.f.Suffix)); len(r) > 0 {
				out = append(out, r)
			}
		}
	}
	fr.guard()
	return out
}

// Flush ends a read at a pause of Gap since the last byte: without a
// suffix, what has arrived is a read; with one, a half read is dropped (the
// scanner never finished it), so that the next read is not glued to it.
func (fr *Framer) Flush(now time.Time) [][]byte {
	if !fr.Pending() || now.Sub(fr.last) < fr.f.Gap {
		return nil
	}
	return fr.pause()
}

// pause handles a pause of Gap in the stream: it ends the read under way.
func (fr *Framer) pause() [][]byte {
	if fr.discard {
		// A read that was too long has ended; it was counted when it
		// grew past the limit.
		fr.discard = false
		fr.buf = fr.buf[:0]
		return nil
	}
	if fr.f.Suffix == "" {
		if r := fr.take(len(fr.buf), 0); len(r) > 0 {
			return [][]byte{r}
		}
		return nil
	}
	fr.drop(DropUnfinished, len(fr.buf))
	fr.buf = fr.buf[:0]
	return nil
}

// Pending reports whether a read is under way (or being dropped).
func (fr *Framer) Pending() bool { return len(fr.buf) > 0 || fr.discard }

// Gap is the framing's inter-character timeout.
func (fr *Framer) Gap() time.Duration { return fr.f.Gap }

func (fr *Framer) take(n, skip int) []byte {
	if n > fr.f.MaxLen {
		fr.drop(DropTooLong, n)
		fr.buf = fr.buf[n+skip:]
		return nil
	}
	r := append([]byte(nil), fr.buf[:n]...)
	fr.buf = fr.buf[n+skip:]
	if fr.f.GSSubstitute != 0 {
		for i, c := range r {
			if c == fr.f.GSSubstitute {
				r[i] = 0x1D
			}
		}
	}
	return r
}

// guard drops a read that has grown past the limit without ending, and
// keeps nothing of it while it goes on but what may be the start of the
// suffix that ends it.
func (fr *Framer) guard() {
	if !fr.discard && len(fr.buf) > fr.f.MaxLen {
		fr.drop(DropTooLong, len(fr.buf))
		fr.discard = true
	}
	if fr.discard {
		keep := max(len(fr.f.Suffix)-1, 0)
		if len(fr.buf) > keep {
			fr.buf = append(fr.buf[:0], fr.buf[len(fr.buf)-keep:]...)
		}
	}
}

func (fr *Framer) drop(reason DropReason, n int) {
	fr.dropped++
	if fr.OnDrop != nil {
		fr.OnDrop(reason, n)
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
