package scanner

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drop is one call of Framer.OnDrop.
type drop struct {
	reason DropReason
	n      int
}

func recordDrops(fr *Framer) *[]drop {
	var got []drop
	fr.OnDrop = func(r DropReason, n int) { got = append(got, drop{r, n}) }
	return &got
}

// With a suffix, a read that never gets its suffix is dropped once the gap
// has passed, whether the pause is seen by Flush or by the next Write: the
// next scan must not be glued to it.
func TestFramingDropsUnfinishedRead(t *testing.T) {
	now := time.Now()
	gap := 20 * time.Millisecond

	fr := NewFramer(Framing{Suffix: "\r", Gap: gap})
	drops := recordDrops(fr)
	assert.Empty(t, fr.Write([]byte("]C0HALF"), now))
	assert.Empty(t, fr.Flush(now.Add(gap/2)), "within the gap the read may still end")
	assert.True(t, fr.Pending())
	assert.Empty(t, fr.Flush(now.Add(gap)))
	assert.False(t, fr.Pending(), "the half read is gone")
	assert.Equal(t, []drop{{DropUnfinished, 7}}, *drops)
	assert.Equal(t, [][]byte{[]byte("]C0GOOD")}, fr.Write([]byte("]C0GOOD\r"), now.Add(time.Second)))

	// No read timed out in between: the pause is seen when the next bytes
	// arrive.
	fr = NewFramer(Framing{Suffix: "\r\n", Gap: gap})
	drops = recordDrops(fr)
	assert.Empty(t, fr.Write([]byte("]C0HALF\r"), now))
	assert.Equal(t, [][]byte{[]byte(packRead)}, fr.Write([]byte(packRead+"\r\n"), now.Add(time.Second)))
	assert.Equal(t, []drop{{DropUnfinished, 8}}, *drops)
	assert.Equal(t, uint64(1), fr.Dropped())

	// Bytes that keep coming within the gap are one read.
	fr = NewFramer(Framing{Suffix: "\r", Gap: gap})
	for i, c := range []byte(packRead) {
		require.Empty(t, fr.Write([]byte{c}, now.Add(time.Duration(i)*gap/2)))
	}
	assert.Equal(t, [][]byte{[]byte(packRead)}, fr.Write([]byte("\r"), now.Add(time.Duration(len(packRead))*gap/2)))
	assert.Zero(t, fr.Dropped())
}

// Without a suffix a pause ends a read; a read that grows past maxlen is
// dropped whole, and what still comes of it before the pause is not taken
// for a read.
func TestFramingWithoutSuffixDropsLongReadUntilPause(t *testing.T) {
	now := time.Now()
	gap := 20 * time.Millisecond
	fr := NewFramer(Framing{Suffix: "", Gap: gap, MaxLen: 32})
	drops := recordDrops(fr)
	for i := 0; i < 8; i++ {
		require.Empty(t, fr.Write([]byte("xxxxxxx"), now.Add(time.Duration(i)*time.Millisecond)))
	}
	assert.Empty(t, fr.Flush(now.Add(7*time.Millisecond+gap)), "the tail of the long read is not a read")
	assert.False(t, fr.Pending())
	assert.Equal(t, []drop{{DropTooLong, 35}}, *drops)

	later := now.Add(time.Second)
	assert.Empty(t, fr.Write([]byte("]C1"), later))
	assert.Empty(t, fr.Write([]byte("00095060001343521236"), later.Add(time.Millisecond)))
	assert.Equal(t, [][]byte{[]byte("]C100095060001343521236")}, fr.Flush(later.Add(time.Millisecond+gap)))
	assert.Equal(t, uint64(1), fr.Dropped())
}

// A megabyte without a suffix is one dropped read, held in no buffer; the
// read after its suffix is intact, even with the suffix split over two
// writes.
func TestFramingDropsLongBurstOnce(t *testing.T) {
	now := time.Now()
	fr := NewFramer(Framing{Suffix: "\r\n"})
	drops := recordDrops(fr)
	chunk := bytes.Repeat([]byte("x"), 4096)
	for i := 0; i < 256; i++ {
		require.Empty(t, fr.Write(chunk, now))
		require.LessOrEqual(t, len(fr.buf), 4096+1)
	}
	require.Empty(t, fr.Write([]byte("xx\r"), now))
	assert.LessOrEqual(t, len(fr.buf), 1, "only what may start the suffix is kept")
	assert.Equal(t, [][]byte{[]byte(packRead), []byte("]C0OK")}, fr.Write([]byte("\n"+packRead+"\r\n]C0OK\r\n"), now))
	assert.Equal(t, []drop{{DropTooLong, 8192}}, *drops, "counted once, not once per write")
	assert.Equal(t, uint64(1), fr.Dropped())
}

// A source counts the reads it drops, for the agent's metrics, and logs
// them with its name; the next read is taken as usual.
func TestSourceCountsAndLogsDrops(t *testing.T) {
	logs := &logSink{}
	src, err := Open("tcp-listen://127.0.0.1:0", Options{Log: zerolog.New(logs)})
	require.NoError(t, err)
	got := collect(t, src, 2, func() {
		a, err := src.(*listenSource).Addr(t.Context())
		if err != nil {
			return
		}
		c, err := net.Dial("tcp", a)
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(bytes.Repeat([]byte("x"), 1<<20))
		c.Write([]byte("\r" + packRead + "\r]C0HALF"))
		time.Sleep(200 * time.Millisecond) // the scanner never finishes
		c.Write([]byte("]C0CMD:CLOSE\r"))
		time.Sleep(100 * time.Millisecond)
	})
	assert.Equal(t, []string{packHRI, "plain: CMD:CLOSE"}, hris(got))
	assert.Equal(t, uint64(2), src.Dropped())
	require.Equal(t, 1, logs.count("read dropped"), "one line, not one per drop within a minute")
	line := logs.find("read dropped")
	assert.Contains(t, line, `"scanner":"tcp-listen://127.0.0.1:`, "names its source")
	assert.Contains(t, line, "longer than maxlen (4096 bytes)")
}

// A HID POS read that grows past maxlen is dropped whole: the reports of it
// that follow are not taken for a new read.
func TestHIDPOSDropsLongRead(t *testing.T) {
	long := "]d2010950600013435217261231" + "10" + strings.Repeat("B", 20) + "\x1d21" + strings.Repeat("S", 20) + "\x1d91" + strings.Repeat("Z", 90)
	be := &fakeHID{}
	be.reports = append(hidReports("honeywell", long), hidReports("honeywell", "]C0CMD:NEW")...)
	require.Greater(t, len(hidReports("honeywell", long)), 2)
	logs := &logSink{}
	src, err := Open("hidpos://05e0:1200?maxlen=64", Options{Log: zerolog.New(logs), hid: be})
	require.NoError(t, err)
	got := collect(t, src, 1, nil)
	assert.Equal(t, []string{"plain: CMD:NEW"}, hris(got))
	assert.Equal(t, uint64(1), src.Dropped())
	assert.Equal(t, 1, logs.count("read dropped"))
}
