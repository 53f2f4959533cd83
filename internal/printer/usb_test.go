package printer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordedConn replays what a Zebra sent over bulk IN, in the pieces it
// came in (including empty transfers), and accepts at most maxWrite bytes
// per bulk OUT transfer.
type recordedConn struct {
	mu       sync.Mutex
	replies  [][]byte
	written  []byte
	maxWrite int
	writes   int
	closed   bool
}

func (c *recordedConn) WriteContext(ctx context.Context, p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	n := min(len(p), c.maxWrite)
	c.written = append(c.written, p[:n]...)
	return n, nil
}

func (c *recordedConn) ReadContext(ctx context.Context, p []byte) (int, error) {
	c.mu.Lock()
	if len(c.replies) == 0 {
		c.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	r := c.replies[0]
	c.replies = c.replies[1:]
	c.mu.Unlock()
	return copy(p, r), nil
}

func (c *recordedConn) Close() error { c.closed = true; return nil }

type fakeUSB struct {
	devs  []USBDevice
	conns map[string]*recordedConn
}

func (f *fakeUSB) List(vid uint16) ([]USBDevice, error) {
	var out []USBDevice
	for _, d := range f.devs {
		if d.VID == vid {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeUSB) Open(d USBDevice) (usbConn, error) {
	c, ok := f.conns[d.Serial]
	if !ok {
		return nil, errors.New("LIBUSB_ERROR_ACCESS")
	}
	return c, nil
}

// Recorded from a ZT411 over USB: ~HS answered in 64-byte packets with an
// empty transfer between frames.
var recordedHS = [][]byte{
	[]byte("\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,1,1,2,6,0,0000"),
	{},
	[]byte("0000,1,000\x03\r\n\x021234,0\x03\r\n"),
}

func twoPrinters() *fakeUSB {
	return &fakeUSB{
		devs: []USBDevice{
			{VID: 0x0a5f, PID: 0x0166, Serial: "XXQLJ120001", Product: "ZT411", Bidirectional: true, Bus: 1, Address: 4},
			{VID: 0x0a5f, PID: 0x0166, Serial: "XXQLJ120002", Product: "ZT411", Bidirectional: true, Bus: 1, Address: 5},
			{VID: 0x046d, PID: 0xc077, Serial: "mouse"},
		},
		conns: map[string]*recordedConn{
			"XXQLJ120001": {maxWrite: 7},
			"XXQLJ120002": {maxWrite: 7, replies: recordedHS},
		},
	}
}

func TestUSBChoosesByserialAndReadsStatus(t *testing.T) {
	be := twoPrinters()
	ctx := context.Background()
	_, err := Open(ctx, "usb://0a5f:0166", Options{usb: be})
	require.ErrorContains(t, err, "2 USB printers 0a5f:0166 attached: add ?serial= to choose one (attached: XXQLJ120001, XXQLJ120002)")
	_, err = Open(ctx, "usb://0a5f:0166?serial=NOPE", Options{usb: be})
	require.ErrorContains(t, err, `no USB printer 0a5f:0166 with serial "NOPE"`)
	_, err = Open(ctx, "usb://0a5f:0999", Options{usb: be})
	require.ErrorContains(t, err, "no USB printer 0a5f:0999 attached")

	tr, err := Open(ctx, "usb://0a5f:0166?serial=XXQLJ120002", Options{usb: be})
	require.NoError(t, err)
	assert.Equal(t, "usb://0a5f:0166?serial=XXQLJ120002", tr.String())
	c := NewConn(tr, 500*time.Millisecond)
	hs, err := c.HostStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1218, hs.LabelLength)
	assert.True(t, hs.Idle())
	assert.Equal(t, "~HS", string(be.conns["XXQLJ120002"].written), "the request went to the chosen printer")
	assert.Empty(t, be.conns["XXQLJ120001"].written)

	// Partial bulk transfers: the whole label arrives, in 7-byte pieces.
	label := []byte("^XA^FO20,20^A0N,40^FDSN000001^FS^PQ1^XZ")
	n, err := tr.Write(ctx, label)
	require.NoError(t, err)
	assert.Equal(t, len(label), n)
	assert.Equal(t, "~HS"+string(label), string(be.conns["XXQLJ120002"].written))
	assert.Equal(t, 1+(len(label)+6)/7, be.conns["XXQLJ120002"].writes)

	// No answer: a deadline, not a hang.
	_, err = c.HostStatus(ctx)
	require.ErrorIs(t, err, ErrNoAnswer)
	require.NoError(t, tr.Close())
	assert.True(t, be.conns["XXQLJ120002"].closed)
}

func TestUSBOneWayAndDiscover(t *testing.T) {
	be := &fakeUSB{devs: []USBDevice{{VID: 0x0a5f, PID: 0x0081, Serial: "B"}, {VID: 0x0a5f, PID: 0x0081, Serial: "A"}}, conns: map[string]*recordedConn{"A": {maxWrite: 64}}}
	tr, err := Open(context.Background(), "usb://0a5f:0081?serial=A", Options{usb: be})
	require.NoError(t, err)
	assert.False(t, tr.Bidirectional())
	_, err = tr.Read(context.Background(), make([]byte, 10))
	require.ErrorContains(t, err, "one-way")
	_, err = Open(context.Background(), "usb://0a5f:0081?serial=B", Options{usb: be})
	require.ErrorContains(t, err, "open USB printer usb://0a5f:0081?serial=B: LIBUSB_ERROR_ACCESS")

	devs, err := discoverUSB(be)
	require.NoError(t, err)
	require.Len(t, devs, 2)
	assert.Equal(t, "A", devs[0].Serial)
	assert.Equal(t, "usb://0a5f:0081?serial=A", devs[0].URL())

	for raw, want := range map[string]string{
		"usb://zebra":          "write usb://VID:PID?serial=SN",
		"usb://0a5f:0166?sn=1": `unknown parameter "sn"`,
		"usb://0a5f:10000":     "write usb://VID:PID",
	} {
		assert.ErrorContains(t, CheckURL(raw), want, raw)
	}
}
