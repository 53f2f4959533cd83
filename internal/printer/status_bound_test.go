package printer

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// endlessPrinter is a device on a real TCP socket that answers every
// request with start, then filler for as long as anyone reads.
func endlessPrinter(t *testing.T, start, filler []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 512)
		if _, err := conn.Read(buf); err != nil { // the request
			return
		}
		chunk := bytes.Repeat(filler, 1024/len(filler))
		if _, err := conn.Write(start); err != nil {
			return
		}
		for {
			if _, err := conn.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	}()
	return "tcp://" + ln.Addr().String()
}

// countingTransport counts the bytes read through it.
type countingTransport struct {
	Transport
	read atomic.Int64
}

func (c *countingTransport) Read(ctx context.Context, p []byte) (int, error) {
	n, err := c.Transport.Read(ctx, p)
	c.read.Add(int64(n))
	return n, err
}

// dialEndless connects to an endless printer through a counting transport;
// the status timeout is long, so that only the size bound can end a read
// early.
func dialEndless(t *testing.T, url string) (*Conn, *countingTransport) {
	t.Helper()
	tr, err := Open(context.Background(), url, Options{})
	require.NoError(t, err)
	ct := &countingTransport{Transport: tr}
	c := NewConn(ct, 10*time.Second)
	t.Cleanup(func() { c.Close() })
	return c, ct
}

// readBuffer is what one fill may read past a bound.
const readBuffer = len(frameReader{}.tmp)

func TestEndlessGetvarReplyIsRefusedWithinItsBound(t *testing.T) {
	for name, start := range map[string][]byte{
		"an opening quote and no closing one": []byte(`"zpl`),
		"no quote at all":                     nil,
	} {
		t.Run(name, func(t *testing.T) {
			c, ct := dialEndless(t, endlessPrinter(t, start, []byte("x")))
			began := time.Now()
			_, err := c.GetVar(context.Background(), "device.languages")
			require.ErrorIs(t, err, ErrNotStatus)
			assert.EqualError(t, err, "the printer's status answer is not a Zebra status: getvar device.languages: a reply longer than 4096 bytes")
			assert.Less(t, time.Since(began), 5*time.Second, "refused at the bound, not at the deadline")
			assert.LessOrEqual(t, ct.read.Load(), int64(maxSGD+readBuffer), "the read stopped at the bound")
			assert.LessOrEqual(t, cap(c.r.buf), 2*(maxSGD+readBuffer), "and so did the memory it holds")
		})
	}
}

func TestEndlessHostStatusIsRefusedWithinItsBound(t *testing.T) {
	for name, tc := range map[string]struct {
		start, filler []byte
		err           string
	}{
		"a frame that never ends": {[]byte("\x02030,0,0,"), []byte("0"),
			"the printer's status answer is not a Zebra status: ~HS: a frame longer than 64 bytes"},
		"line ends that never end": {nil, []byte("\r\n"),
			"the printer's status answer is not a Zebra status: ~HS: an answer longer than 204 bytes"},
		"bytes that are not frames": {nil, []byte("garbage"),
			`the printer's status answer is not a Zebra status: ~HS: "garbagegarbagega"… where a status frame should start`},
	} {
		t.Run(name, func(t *testing.T) {
			c, ct := dialEndless(t, endlessPrinter(t, tc.start, tc.filler))
			began := time.Now()
			_, err := c.HostStatus(context.Background())
			require.ErrorIs(t, err, ErrNotStatus)
			assert.EqualError(t, err, tc.err)
			assert.Less(t, time.Since(began), 5*time.Second, "refused at the bound, not at the deadline")
			assert.LessOrEqual(t, ct.read.Load(), int64(3*(maxHSFrame+4)+readBuffer), "the read stopped at the bound")
		})
	}
}

func TestEndlessExtendedStatusIsRefusedWithinItsBound(t *testing.T) {
	c, ct := dialEndless(t, endlessPrinter(t, []byte("\x02\r\n  PRINTER STATUS\r\n"), []byte("    ERRORS: 0 00000000 00000000\r\n")))
	_, err := c.ExtendedStatus(context.Background())
	require.ErrorIs(t, err, ErrNotStatus)
	assert.EqualError(t, err, "the printer's status answer is not a Zebra status: ~HQES: a frame longer than 1024 bytes")
	assert.LessOrEqual(t, ct.read.Load(), int64(maxFrame+4+readBuffer), "the read stopped at the bound")
}

// A garbled answer is refused as not a Zebra status, not taken for a
// silent (faulted) printer.
func TestHostStatusThatDoesNotParseIsNotAStatus(t *testing.T) {
	c, _ := dialEndless(t, endlessPrinter(t, []byte("\x02hello\x03\r\n\x02world\x03\r\n\x021234,0\x03\r\n"), []byte("\r\n")))
	_, err := c.HostStatus(context.Background())
	require.ErrorIs(t, err, ErrNotStatus)
	assert.EqualError(t, err, "the printer's status answer is not a Zebra status: ~HS: frames have 1 and 1 fields, want 12 and 11")
}
