package scanner

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

// The symbol every path must deliver alike: a pack's GS1 DataMatrix.
const (
	packRead = "]d2010950600013435217261231" + "10AB-12\x1d21SN1"
	packHRI  = "(01)09506000134352(17)261231(10)AB-12(21)SN1"
)

func TestFraming(t *testing.T) {
	now := time.Now()
	fr := NewFramer(Framing{Suffix: "\r\n"})
	assert.Empty(t, fr.Write([]byte("]C0ORD"), now))
	assert.Equal(t, [][]byte{[]byte("]C0ORD-1"), []byte("\x00\x1d\xff")}, fr.Write([]byte("-1\r\n\x00\x1d\xff\r\n\r\n"), now), "binary-safe, blank lines skipped")

	fr = NewFramer(Framing{Suffix: "\r", GSSubstitute: '|'})
	assert.Equal(t, [][]byte{[]byte("]d2" + "10A\x1d21B")}, fr.Write([]byte("]d210A|21B\r"), now))

	fr = NewFramer(Framing{Suffix: "", Gap: 20 * time.Millisecond})
	assert.Empty(t, fr.Write([]byte("]C1"), now))
	assert.Empty(t, fr.Write([]byte("00095060001343521236"), now.Add(5*time.Millisecond)))
	assert.Empty(t, fr.Flush(now.Add(10*time.Millisecond)), "still within the gap")
	assert.Equal(t, [][]byte{[]byte("]C100095060001343521236")}, fr.Flush(now.Add(40*time.Millisecond)))
	assert.Equal(t, [][]byte{[]byte("A")}, append(fr.Write([]byte("A"), now), fr.Write([]byte("B"), now.Add(time.Second))...), "a pause ends a read")

	fr = NewFramer(Framing{Suffix: "\r", MaxLen: 16})
	assert.Equal(t, [][]byte{[]byte("ok")}, fr.Write([]byte(strings.Repeat("x", 40)+"\rok\r"), now))
	assert.Equal(t, uint64(1), fr.Dropped())

	for q, want := range map[string]string{
		"suffix=tab": "suffix \"tab\"", "gap=1h": "gap \"1h\"", "maxlen=2": "maxlen \"2\"", "gs=A": "gs \"A\"", "gs=||": "gs \"||\"",
	} {
		_, err := Open("tcp://127.0.0.1:1?"+q, Options{})
		assert.ErrorContains(t, err, want, q)
	}
}

func TestDecode(t *testing.T) {
	at := time.Now()
	cases := []struct {
		raw   string
		wedge bool
		hri   string
		plain string
		err   string
	}{
		{raw: packRead, hri: packHRI},
		{raw: "]C100095060001343521236", hri: "(00)095060001343521236"},
		{raw: "]C0CMD:CLOSE", plain: "CMD:CLOSE"},
		{raw: "]C0ORD-2024-0017", plain: "ORD-2024-0017"},
		{raw: "]Q1https://id.gs1.org/01/09506000134352/21/SN1", hri: "(01)09506000134352(21)SN1"},
		{raw: "]d1plain text", plain: "plain text"},
		{raw: "]J1010950600013435217261231" + "10AB-12\x1d21SN1", hri: packHRI}, // GS1 DotCode
		{raw: "0109506000134352\x1d10X", hri: "(01)09506000134352(10)X"},
		{raw: "(01)09506000134352(21)SN1", hri: "(01)09506000134352(21)SN1"},
		{raw: "ORD-17", plain: "ORD-17"},
		{raw: "]d2010950600013435317261231", err: "AI (01): incorrect check digit"},
		// A wedge that lost the GS: the batch may have swallowed the serial.
		{raw: "]d2010950600013435217261231" + "10AB1221SN1", wedge: true,
			err: "unclear read: (01) 09506000134352 (17) 261231 (10) AB1221SN1 could also be (01) 09506000134352 (17) 261231 (10) AB12 (21) SN1"},
		// The same data from a source that keeps GS is read as it is.
		{raw: "]d2010950600013435217261231" + "10AB1221SN1", hri: "(01)09506000134352(17)261231(10)AB1221SN1"},
		{raw: "]d2010950600013435217261231" + "10AB12\x1d21SN1", wedge: true, hri: "(01)09506000134352(17)261231(10)AB12(21)SN1"},
	}
	for _, tc := range cases {
		d := Decode(NewScan([]byte(tc.raw), "t", at, tc.wedge))
		switch {
		case tc.err != "":
			assert.ErrorContains(t, d.Err, tc.err, tc.raw)
		case tc.plain != "":
			require.NoError(t, d.Err, tc.raw)
			assert.Nil(t, d.GS1)
			assert.Equal(t, tc.plain, d.Plain)
		default:
			require.NoError(t, d.Err, tc.raw)
			require.NotNil(t, d.GS1, tc.raw)
			assert.Equal(t, tc.hri, d.GS1.Bracketed())
		}
	}
}

func collect(t *testing.T, src Source, n int, during func()) []Decoded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan Scan, 64)
	done := make(chan struct{})
	go func() { src.Run(ctx, out); close(done) }()
	if during != nil {
		go during()
	}
	var got []Decoded
	for len(got) < n {
		select {
		case s := <-out:
			got = append(got, Decode(s))
		case <-ctx.Done():
			t.Fatalf("%d of %d scans from %s", len(got), n, src)
		}
	}
	cancel()
	<-done
	return got
}

func hris(ds []Decoded) []string {
	var out []string
	for _, d := range ds {
		switch {
		case d.Err != nil:
			out = append(out, "error: "+d.Err.Error())
		case d.GS1 != nil:
			out = append(out, d.GS1.Bracketed())
		default:
			out = append(out, "plain: "+d.Plain)
		}
	}
	return out
}

// logSink counts log lines, to see that a disconnect is logged once.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *logSink) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}

// find returns the first line that holds s.
func (l *logSink) find(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return x
		}
	}
	return ""
}

func TestSerialSourceSurvivesUnplug(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-Scanner-if00") // like /dev/serial/by-id
	m1, pts1 := testutil.PTY(t)
	require.NoError(t, os.Symlink(pts1, link))
	logs := &logSink{}
	src, err := Open("serial://"+link+"?baud=115200", Options{Log: zerolog.New(logs), Retry: 20 * time.Millisecond})
	require.NoError(t, err)
	got := collect(t, src, 3, func() {
		time.Sleep(50 * time.Millisecond)
		m1.Write([]byte(packRead + "\r]C0CMD:CLOSE\r"))
		time.Sleep(100 * time.Millisecond)
		// Unplug: the device goes away; later a new one appears at the
		// same by-id path.
		m1.Close()
		os.Remove(link)
		time.Sleep(200 * time.Millisecond)
		m2, pts2 := testutil.PTY(t)
		os.Symlink(pts2, link)
		time.Sleep(100 * time.Millisecond)
		m2.Write([]byte(packRead + "\r"))
	})
	assert.Equal(t, []string{packHRI, "plain: CMD:CLOSE", packHRI}, hris(got))
	assert.Equal(t, 1, logs.count("scanner disconnected"), "logged once")
	assert.LessOrEqual(t, logs.count("scanner unavailable"), 1, "not once per retry")
	assert.Equal(t, 1, logs.count("scanner back"))
}

func TestTCPSourcesWithDisconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	src, err := Open("tcp://"+addr+"?suffix=crlf", Options{Log: zerolog.Nop(), Retry: 20 * time.Millisecond})
	require.NoError(t, err)
	got := collect(t, src, 3, func() {
		c, _ := ln.Accept()
		c.Write([]byte(packRead + "\r\n]C0ORD-1"))
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("7\r\n"))
		c.Close() // the reader restarts
		c, _ = ln.Accept()
		c.Write([]byte(packRead + "\r\n"))
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ln.Close()
	})
	assert.Equal(t, []string{packHRI, "plain: ORD-17", packHRI}, hris(got))

	lsrc, err := Open("tcp-listen://127.0.0.1:0", Options{Log: zerolog.Nop()})
	require.NoError(t, err)
	got = collect(t, lsrc, 4, func() {
		a, err := lsrc.(*listenSource).Addr(context.Background())
		if err != nil {
			return
		}
		c1, _ := net.Dial("tcp", a)
		c2, _ := net.Dial("tcp", a)
		c1.Write([]byte(packRead[:10]))
		c2.Write([]byte("]C0A\r"))
		c1.Write([]byte(packRead[10:] + "\r"))
		c2.Close()
		c3, _ := net.Dial("tcp", a)
		c3.Write([]byte("]C0B\r]C0C\r"))
		time.Sleep(100 * time.Millisecond)
		c1.Close()
		c3.Close()
	})
	assert.ElementsMatch(t, []string{packHRI, "plain: A", "plain: B", "plain: C"}, hris(got), "several readers, each framed on its own")
}

// Recorded HID POS reports: one read in two reports (Honeywell), and one in
// a single report (Zebra).
func hidReports(format string, read string) [][]byte {
	f := hidFormats[format]
	aim, data := read[:3], read[3:]
	var out [][]byte
	for len(data) > 0 {
		n := min(len(data), f.maxLength)
		r := make([]byte, 64)
		r[0] = f.reportID
		copy(r[f.aimAt:], aim)
		r[f.lenAt] = byte(n)
		copy(r[f.dataAt:], data[:n])
		data = data[n:]
		if len(data) > 0 {
			r[f.moreAt] |= f.moreMask
		}
		out = append(out, r)
	}
	return out
}

type fakeHID struct {
	mu      sync.Mutex
	reports [][]byte
	opens   int
	fail    int // fail this many opens first (unplugged)
}

type fakeHIDDevice struct{ f *fakeHID }

func (f *fakeHID) Open(vid, pid uint16, serial string) (hidDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if f.opens <= f.fail {
		return nil, io.ErrUnexpectedEOF
	}
	return fakeHIDDevice{f}, nil
}

func (d fakeHIDDevice) ReadReport(ctx context.Context) ([]byte, error) {
	d.f.mu.Lock()
	if len(d.f.reports) > 0 {
		r := d.f.reports[0]
		d.f.reports = d.f.reports[1:]
		d.f.mu.Unlock()
		return r, nil
	}
	d.f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (d fakeHIDDevice) Close() error { return nil }

func TestHIDPOS(t *testing.T) {
	long := "]d2010950600013435217261231" + "10" + strings.Repeat("B", 20) + "\x1d21" + strings.Repeat("S", 20)
	for _, format := range []string{"honeywell", "zebra"} {
		be := &fakeHID{fail: 2}
		be.reports = append(hidReports(format, packRead), hidReports(format, long)...)
		be.reports = append(be.reports, []byte{0x05, 1, 2, 3}) // another report: skipped
		be.reports = append(be.reports, hidReports(format, "]C0CMD:NEW")...)
		src, err := Open("hidpos://05e0:1200?format="+format, Options{Log: zerolog.Nop(), Retry: 10 * time.Millisecond, hid: be})
		require.NoError(t, err)
		got := collect(t, src, 3, nil)
		assert.Equal(t, []string{packHRI, "(01)09506000134352(17)261231(10)" + strings.Repeat("B", 20) + "(21)" + strings.Repeat("S", 20), "plain: CMD:NEW"}, hris(got), format)
		assert.Equal(t, 3, be.opens, "reopened after the device was missing")
	}
	require.Greater(t, len(hidReports("honeywell", long)), 1, "the long read spans two reports")
	_, err := Open("hidpos://05e0:1200?format=acme", Options{})
	require.ErrorContains(t, err, `format "acme" must be honeywell or zebra`)
}

// key is one keystroke of a recording: modifiers held and the key code.
type key struct {
	mods  []uint16
	code  uint16
	codes []uint16 // several keys pressed while mods stay held
}

// recording encodes keystrokes as input_event records, as a wedge scanner's
// /dev/input/event device delivers them (with SYN reports between).
func recording(keys []key) []byte {
	var b bytes.Buffer
	ev := func(typ, code uint16, value int32) {
		var rec [eventSize]byte
		binary.LittleEndian.PutUint16(rec[16:], typ)
		binary.LittleEndian.PutUint16(rec[18:], code)
		binary.LittleEndian.PutUint32(rec[20:], uint32(value))
		b.Write(rec[:])
	}
	for _, k := range keys {
		for _, m := range k.mods {
			ev(evKey, m, 1)
		}
		codes := k.codes
		if codes == nil {
			codes = []uint16{k.code}
		}
		for _, c := range codes {
			ev(evKey, c, 1)
			ev(0, 0, 0)
			ev(evKey, c, 0)
		}
		for _, m := range k.mods {
			ev(evKey, m, 0)
		}
		ev(0, 0, 0)
	}
	return b.Bytes()
}

const (
	sh = keyLeftShift
	ag = keyRightAlt
)

// keysFor types s with a hand-written table of the keys one layout uses
// for these characters (independent of the decoder's tables).
func keysFor(table map[rune]key, s string) []key {
	var out []key
	for _, r := range s {
		k, ok := table[r]
		if !ok {
			panic("no key for " + string(r))
		}
		out = append(out, k)
	}
	return out
}

var digitsUS = map[rune]key{'1': {code: 2}, '2': {code: 3}, '3': {code: 4}, '4': {code: 5}, '5': {code: 6}, '6': {code: 7}, '7': {code: 8}, '8': {code: 9}, '9': {code: 10}, '0': {code: 11}}

func merge(a, b map[rune]key) map[rune]key {
	m := map[rune]key{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

var typingTables = map[string]map[rune]key{
	"us": merge(digitsUS, map[rune]key{']': {code: 27}, 'd': {code: 32}, 'A': {mods: []uint16{sh}, code: 30}, 'B': {mods: []uint16{sh}, code: 48}, 'S': {mods: []uint16{sh}, code: 31}, 'N': {mods: []uint16{sh}, code: 49}, '-': {code: 12}, '\r': {code: 28}}),
	"uk": merge(digitsUS, map[rune]key{']': {code: 27}, 'd': {code: 32}, 'A': {mods: []uint16{sh}, code: 30}, 'B': {mods: []uint16{sh}, code: 48}, 'S': {mods: []uint16{sh}, code: 31}, 'N': {mods: []uint16{sh}, code: 49}, '-': {code: 12}, '\r': {code: 28}}),
	"de": merge(digitsUS, map[rune]key{']': {mods: []uint16{ag}, code: 10}, 'd': {code: 32}, 'A': {mods: []uint16{sh}, code: 30}, 'B': {mods: []uint16{sh}, code: 48}, 'S': {mods: []uint16{sh}, code: 31}, 'N': {mods: []uint16{sh}, code: 49}, '-': {code: 53}, '\r': {code: 28}}),
	"fr": {']': {mods: []uint16{ag}, code: 12}, 'd': {code: 32}, 'A': {mods: []uint16{sh}, code: 16}, 'B': {mods: []uint16{sh}, code: 48}, 'S': {mods: []uint16{sh}, code: 31}, 'N': {mods: []uint16{sh}, code: 49}, '-': {code: 7}, '\r': {code: 28},
		'1': {mods: []uint16{sh}, code: 2}, '2': {mods: []uint16{sh}, code: 3}, '3': {mods: []uint16{sh}, code: 4}, '4': {mods: []uint16{sh}, code: 5}, '5': {mods: []uint16{sh}, code: 6}, '6': {mods: []uint16{sh}, code: 7}, '7': {mods: []uint16{sh}, code: 8}, '8': {mods: []uint16{sh}, code: 9}, '9': {mods: []uint16{sh}, code: 10}, '0': {mods: []uint16{sh}, code: 11}},
}

// wedgeRead types packRead; gs says how the scanner types GS.
func wedgeRead(layout, gs string) []key {
	before, after, _ := strings.Cut(packRead, "\x1d")
	keys := keysFor(typingTables[layout], before)
	switch gs {
	case "ctrl":
		keys = append(keys, key{mods: []uint16{keyLeftCtrl}, code: keyRightBrace})
	case "altcode":
		keys = append(keys, key{mods: []uint16{keyLeftAlt}, codes: []uint16{82, 80, 73}}) // Alt held: keypad 0 2 9
	case "subst": // '|'
		keys = append(keys, map[string]key{"us": {mods: []uint16{sh}, code: 43}, "uk": {mods: []uint16{sh}, code: 86}, "de": {mods: []uint16{ag}, code: 86}}[layout])
	}
	return append(keys, keysFor(typingTables[layout], after+"\r")...)
}

func evdevSource(t *testing.T, layout string, stream []byte, gs string) Source {
	used := false
	open := func(string) (io.ReadCloser, error) {
		if used {
			return nil, os.ErrNotExist
		}
		used = true
		return io.NopCloser(bytes.NewReader(stream)), nil
	}
	u := "evdev:///dev/input/by-id/usb-Scanner-event-kbd?layout=" + layout
	if gs != "" {
		u += "&gs=" + gs
	}
	src, err := Open(u, Options{Log: zerolog.Nop(), Retry: 10 * time.Millisecond, evdevOpen: open})
	require.NoError(t, err)
	return src
}

func TestEvdevLayouts(t *testing.T) {
	for _, layout := range []string{"us", "uk", "de", "fr"} {
		for _, gs := range []string{"ctrl", "altcode", "subst"} {
			if layout == "fr" && gs == "subst" {
				continue
			}
			sub := ""
			if gs == "subst" {
				sub = "|"
			}
			src := evdevSource(t, layout, recording(wedgeRead(layout, gs)), sub)
			got := collect(t, src, 1, nil)
			assert.Equal(t, []string{packHRI}, hris(got), "%s with GS as %s", layout, gs)
			assert.True(t, got[0].Wedge)
		}
	}
	// A wedge that drops the GS: rejected, not guessed.
	keys := keysFor(typingTables["us"], "]d2010950600013435217261231"+"10AB1221SN1\r")
	got := collect(t, evdevSource(t, "us", recording(keys), ""), 1, nil)
	require.ErrorIs(t, got[0].Err, ErrAmbiguous)
}

// Every path delivers the same parsed result for the same symbol.
func TestSamePathsSameResult(t *testing.T) {
	want := []string{packHRI}
	var all [][]string

	m, pts := testutil.PTY(t)
	src, _ := Open("serial://"+pts, Options{Log: zerolog.Nop()})
	all = append(all, hris(collect(t, src, 1, func() { time.Sleep(50 * time.Millisecond); m.Write([]byte(packRead + "\r")) })))

	lsrc, _ := Open("tcp-listen://127.0.0.1:0?suffix=lf", Options{Log: zerolog.Nop()})
	all = append(all, hris(collect(t, lsrc, 1, func() {
		a, _ := lsrc.(*listenSource).Addr(context.Background())
		c, _ := net.Dial("tcp", a)
		c.Write([]byte(packRead + "\n"))
		time.Sleep(50 * time.Millisecond)
		c.Close()
	})))

	be := &fakeHID{reports: hidReports("honeywell", packRead)}
	hsrc, _ := Open("hidpos://05e0:1200", Options{Log: zerolog.Nop(), hid: be})
	all = append(all, hris(collect(t, hsrc, 1, nil)))

	all = append(all, hris(collect(t, evdevSource(t, "de", recording(wedgeRead("de", "ctrl")), ""), 1, nil)))

	ssrc, _ := Open("stdin", Options{Log: zerolog.Nop(), Stdin: strings.NewReader(packRead + "\n")})
	all = append(all, hris(collect(t, ssrc, 1, nil)))

	feed := NewFeed("station-1", '|')
	require.NoError(t, feed.Push(strings.ReplaceAll(packRead, "\x1d", "|")))
	all = append(all, hris(collect(t, feed, 1, nil)))

	for i, got := range all {
		assert.Equal(t, want, got, "path %d", i)
	}
}

// FuzzFramingDecode feeds arbitrary bytes through framing and decoding.
func FuzzFramingDecode(f *testing.F) {
	f.Add([]byte(packRead+"\r"), byte(0))
	f.Add([]byte("]C0CMD:CLOSE\r\n]e00109506000134352|21X\r"), byte('|'))
	f.Add([]byte("(01)09506000134352(21)\\(x\r"), byte(0))
	f.Add([]byte("]Q1https://id.gs1.org/01/09506000134352?17=261231\r"), byte(0))
	f.Fuzz(func(t *testing.T, data []byte, gs byte) {
		if gs != 0 && (gs < 0x20 || gs > 0x7e || isCSET82(gs)) {
			gs = 0
		}
		for _, suffix := range []string{"\r", ""} {
			fr := NewFramer(Framing{Suffix: suffix, GSSubstitute: gs, MaxLen: 512})
			now := time.Now()
			reads := fr.Write(data, now)
			reads = append(reads, fr.Flush(now.Add(time.Second))...)
			for _, r := range reads {
				for _, wedge := range []bool{false, true} {
					d := Decode(NewScan(r, "fuzz", now, wedge))
					if d.Err == nil && d.GS1 == nil && d.Plain == "" && len(r) > 3 {
						t.Fatalf("read %q has no outcome", r)
					}
				}
			}
		}
	})
}

// A misspelt URL parameter is an error, never ignored.
func TestUnknownURLParameters(t *testing.T) {
	for u, want := range map[string]string{
		"serial:///dev/ttyACM0?bad=9600":               `serial URL "serial:///dev/ttyACM0?bad=9600": unknown parameter "bad"; it takes baud, suffix, gap, maxlen, gs`,
		"tcp://10.0.0.7:2001?sufix=lf":                 `unknown parameter "sufix"`,
		"tcp-listen://:2001?allowed=10.0.0.7":          `unknown parameter "allowed"; it takes allow, suffix`,
		"hidpos://05e0:1200?formt=zebra":               `unknown parameter "formt"; it takes serial, format, suffix`,
		"evdev:///dev/input/event3?layuot=de":          `unknown parameter "layuot"; it takes layout, suffix`,
		"evdev:///dev/input/event3?layout=de&gs=%7C&x": `unknown parameter "x"`,
	} {
		_, err := Open(u, Options{})
		assert.ErrorContains(t, err, want, u)
	}
	for _, u := range []string{"serial:///dev/ttyACM0?baud=115200&suffix=cr", "tcp://10.0.0.7:2001?suffix=crlf&maxlen=512",
		"tcp-listen://:2001?allow=10.0.0.7&gap=80ms", "hidpos://05e0:1200?serial=S1&format=zebra&gs=%7C", "evdev:///dev/input/event3?layout=de&gs=%7C"} {
		_, err := Open(u, Options{})
		assert.NoError(t, err, u)
	}
}

// stdin takes the framing parameters too, and its reads are a wedge's when
// a scanner types into a terminal: a read without GS that could be split
// two ways is refused, as at a station page.
func TestStdinWedge(t *testing.T) {
	in := "]d2010950600013435217261231" + "10AB1221SN1\n" + strings.ReplaceAll(packRead, "\x1d", "|") + "\n"
	src, err := Open("stdin?gs=|", Options{Log: zerolog.Nop(), Stdin: strings.NewReader(in), Wedge: true})
	require.NoError(t, err)
	got := collect(t, src, 2, nil)
	require.ErrorIs(t, got[0].Err, ErrAmbiguous)
	assert.True(t, got[0].Wedge)
	assert.Equal(t, packHRI, hris(got)[1])

	src, err = Open("stdin", Options{Log: zerolog.Nop(), Stdin: strings.NewReader(in)})
	require.NoError(t, err)
	got = collect(t, src, 1, nil)
	assert.Equal(t, []string{"(01)09506000134352(17)261231(10)AB1221SN1"}, hris(got), "a pipe keeps every byte")

	_, err = Open("stdin?layout=de", Options{})
	assert.ErrorContains(t, err, `stdin URL "stdin?layout=de": unknown parameter "layout"`)
}

func TestLayoutsAreTheKeymaps(t *testing.T) {
	assert.Len(t, Layouts(), len(layouts))
	for _, name := range Layouts() {
		assert.Contains(t, layouts, name)
	}
}
