package scanner

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

const (
	evKey        = 1
	eventSize    = 24 // struct input_event on 64-bit Linux: timeval, type, code, value
	eviocgrab    = 0x40044590
	keyReleased  = 0
	keyPressed   = 1
	keyRepeating = 2
)

// keyDecoder turns key events into the bytes a wedge scanner typed.
type keyDecoder struct {
	layout             map[uint16]keyChars
	shift, ctrl, altgr bool
	alt                bool
	altCode            int
	altDigits          int
}

// event handles one key event and appends what it typed to out.
func (k *keyDecoder) event(code uint16, value int32, out []byte) []byte {
	down := value == keyPressed || value == keyRepeating
	switch code {
	case keyLeftShift, keyRightShift:
		k.shift = down
		return out
	case keyLeftCtrl, keyRightCtrl:
		k.ctrl = down
		return out
	case keyRightAlt:
		k.altgr = down
		return out
	case keyLeftAlt:
		if !down && k.alt && k.altDigits > 0 {
			// Alt code: the digits typed on the keypad while Alt was held.
			out = append(out, byte(k.altCode))
		}
		k.alt, k.altCode, k.altDigits = down, 0, 0
		return out
	}
	if value != keyPressed {
		return out
	}
	if k.alt {
		if d, ok := kpDigit[code]; ok {
			k.altCode = (k.altCode*10 + int(d-'0')) % 256
			k.altDigits++
		}
		return out
	}
	switch code {
	case keyEnter, keyKPEnter:
		return append(out, '\r')
	case keyTab:
		return append(out, '\t')
	}
	if k.ctrl {
		// Scanners send control characters as Ctrl and the key at the US
		// position: Ctrl+] is GS, Ctrl+[ is ESC, Ctrl+\ is FS.
		switch code {
		case keyRightBrace:
			return append(out, 0x1D)
		case keyLeftBrace:
			return append(out, 0x1B)
		case keyBackslash:
			return append(out, 0x1C)
		}
		if c, ok := k.layout[code]; ok && len(c.plain) == 1 {
			ch := c.plain[0] &^ 0x20
			if ch >= '@' && ch <= '_' {
				return append(out, ch&0x1F)
			}
		}
		return out
	}
	c, ok := k.layout[code]
	if !ok {
		return out
	}
	switch {
	case k.altgr:
		return append(out, c.altgr...)
	case k.shift:
		return append(out, c.shift...)
	}
	return append(out, c.plain...)
}

// evdevReader decodes input_event records into typed bytes.
type evdevReader struct {
	r       io.ReadCloser
	dec     keyDecoder
	pending []byte
	events  *pipeReader
	rec     [eventSize]byte
	fill    int
}

func (e *evdevReader) read(b []byte, timeout time.Duration) (int, error) {
	var raw [eventSize * 32]byte
	n, err := e.events.read(raw[:], timeout)
	var out []byte
	for i := 0; i < n; i++ {
		e.rec[e.fill] = raw[i]
		e.fill++
		if e.fill < eventSize {
			continue
		}
		e.fill = 0
		typ := binary.LittleEndian.Uint16(e.rec[16:18])
		code := binary.LittleEndian.Uint16(e.rec[18:20])
		value := int32(binary.LittleEndian.Uint32(e.rec[20:24]))
		if typ == evKey {
			out = e.dec.event(code, value, out)
		}
	}
	e.pending = append(e.pending, out...)
	m := copy(b, e.pending)
	e.pending = e.pending[m:]
	return m, err
}

func (e *evdevReader) Close() error {
	e.events.Close()
	return e.r.Close()
}

// openEvdev opens an input device and grabs it, so its keystrokes reach
// only the agent and not the focused window.
func openEvdev(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlSetInt(int(f.Fd()), eviocgrab, 1); err != nil {
		f.Close()
		return nil, fmt.Errorf("grab %s: %w", path, err)
	}
	return f, nil
}

func newEvdevSource(u *url.URL, f Framing, opt Options) (Source, error) {
	if u.Path == "" {
		return nil, fmt.Errorf("evdev URL %q: give the device, e.g. evdev:///dev/input/by-id/usb-…-event-kbd", u.Redacted())
	}
	if err := checkParams(u, "evdev", "layout"); err != nil {
		return nil, err
	}
	name := u.Query().Get("layout")
	if name == "" {
		name = opt.Layout
	}
	if name == "" {
		name = "us"
	}
	layout, ok := layouts[name]
	if !ok {
		return nil, fmt.Errorf("evdev URL %q: layout %q must be us, uk, de or fr", u.Redacted(), name)
	}
	path := u.Path
	open := opt.evdevOpen
	if open == nil {
		open = openEvdev
	}
	return &streamSource{name: "evdev://" + path, framing: f, opt: opt, wedge: true, open: func(context.Context) (byteReader, error) {
		r, err := open(path)
		if err != nil {
			return nil, err
		}
		return &evdevReader{r: r, dec: keyDecoder{layout: layout}, events: newPipeReader(r)}, nil
	}}, nil
}
