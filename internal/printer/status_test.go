package printer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatus(t *testing.T) {
	hs, err := ParseHostStatus([]string{"030,1,1,1218,002,0,0,1,000,0,0,0", "001,0,1,0,1,2,6,0,00000003,1,000", "1234,0"})
	require.NoError(t, err)
	assert.True(t, hs.PaperOut)
	assert.True(t, hs.Paused)
	assert.True(t, hs.HeadOpen)
	assert.Equal(t, 2, hs.FormatsInBuffer)
	assert.Equal(t, 3, hs.LabelsRemaining)
	assert.True(t, hs.PartialFormat)
	assert.False(t, hs.Idle())
	assert.Equal(t, []string{"media out", "head open", "paused"}, hs.Faults())
	_, err = ParseHostStatus([]string{"030,1"})
	require.ErrorContains(t, err, "frames")
	_, err = ParseHostStatus([]string{"030,x,0,1218,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,6,0,00000000,1,000"})
	require.ErrorContains(t, err, `field "x" is not a number`)

	ext, err := ParseExtendedStatus("\r\n\r\n  PRINTER STATUS\r\n    ERRORS:         1 00000000 00010005\r\n    WARNINGS:       1 00000000 00000008\r\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"media out", "head open", "paused"}, ext.Faults())
	assert.Equal(t, []string{"paper near end"}, ext.WarningNames())
	ext, _ = ParseExtendedStatus("ERRORS: 1 00000000 00100000\nWARNINGS: 0 00000000 00000000")
	assert.Equal(t, []string{"unknown error 0x100000"}, ext.Faults())
	_, err = ParseExtendedStatus("PRINTER STATUS")
	require.ErrorContains(t, err, "no ERRORS and WARNINGS")

	id, err := ParseHostID("ZT411-203dpi,V92.21.39Z,8,8192KB")
	require.NoError(t, err)
	assert.Equal(t, HostID{Model: "ZT411-203dpi", Version: "V92.21.39Z", DPMM: 8, Memory: "8192KB"}, id)
	_, err = ParseHostID("ZT411")
	require.Error(t, err)
}

// FuzzFrames feeds arbitrary bytes to the frame reader and the parsers.
func FuzzFrames(f *testing.F) {
	f.Add([]byte("\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,1,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"))
	f.Add([]byte("\x02ERRORS: 1 0 1\nWARNINGS: 0 0 0\x03"))
	f.Add([]byte(`"zpl"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := frameReader{t: &bytesTransport{data: data}}
		frames, _ := r.frames(context.Background(), 3, maxHSFrame)
		_, _ = ParseHostStatus(frames)
		for _, fr := range frames {
			_, _ = ParseExtendedStatus(fr)
			_, _ = ParseHostID(fr)
		}
		r2 := frameReader{t: &bytesTransport{data: data}}
		_, _ = r2.quoted(context.Background())
	})
}

// bytesTransport reads from a byte slice, a few bytes at a time.
type bytesTransport struct{ data []byte }

func (b *bytesTransport) Write(_ context.Context, p []byte) (int, error) { return len(p), nil }
func (b *bytesTransport) Read(_ context.Context, p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, context.DeadlineExceeded
	}
	n := copy(p[:min(len(p), 5)], b.data)
	b.data = b.data[n:]
	return n, nil
}
func (b *bytesTransport) Close() error        { return nil }
func (b *bytesTransport) Bidirectional() bool { return true }
func (b *bytesTransport) String() string      { return "bytes" }
