package printer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ZebraVendorID is Zebra's USB vendor ID.
const ZebraVendorID = 0x0A5F

// USBDevice describes an attached USB printer.
type USBDevice struct {
	VID, PID      uint16
	Serial        string
	Manufacturer  string
	Product       string
	Bus, Address  int
	Bidirectional bool // the printer interface is protocol 2: status over bulk IN
}

// URL is the printer URL that selects this device.
func (d USBDevice) URL() string {
	u := fmt.Sprintf("usb://%04x:%04x", d.VID, d.PID)
	if d.Serial != "" {
		u += "?serial=" + url.QueryEscape(d.Serial)
	}
	return u
}

// usbBackend is the seam between the USB transport and libusb: the logic
// above it (choosing a device, whole writes, reads with deadlines) is tested
// with recorded replies; the gousb implementation below it runs in
// hardware-tests.
type usbBackend interface {
	List(vid uint16) ([]USBDevice, error)
	Open(dev USBDevice) (usbConn, error)
}

// usbConn is a claimed printer interface: bulk OUT and bulk IN endpoints.
// A write may be partial; a read may return zero bytes without meaning end
// of stream.
type usbConn interface {
	WriteContext(ctx context.Context, p []byte) (int, error)
	ReadContext(ctx context.Context, p []byte) (int, error)
	Close() error
}

type usbSelector struct {
	vid, pid uint16
	serial   string
}

func parseUSBURL(u *url.URL) (usbSelector, error) {
	var s usbSelector
	vp := u.Host
	if vp == "" {
		vp = strings.TrimPrefix(u.Opaque, "//")
	}
	v, p, ok := strings.Cut(vp, ":")
	vid, err1 := strconv.ParseUint(v, 16, 16)
	pid, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || err1 != nil || err2 != nil {
		return s, fmt.Errorf("usb URL %q: write usb://VID:PID?serial=SN with hex IDs, e.g. usb://0a5f:0166", u.Redacted())
	}
	for k := range u.Query() {
		if k != "serial" {
			return s, fmt.Errorf("usb URL: unknown parameter %q (serial)", k)
		}
	}
	return usbSelector{vid: uint16(vid), pid: uint16(pid), serial: u.Query().Get("serial")}, nil
}

// choose picks the device the selector names among those attached: by
// serial number, since several identical printers share VID and PID.
func (s usbSelector) choose(devs []USBDevice) (USBDevice, error) {
	var match []USBDevice
	for _, d := range devs {
		if d.VID == s.vid && d.PID == s.pid && (s.serial == "" || d.Serial == s.serial) {
			match = append(match, d)
		}
	}
	serials := func() string {
		var out []string
		for _, d := range devs {
			if d.VID == s.vid && d.PID == s.pid {
				out = append(out, d.Serial)
			}
		}
		sort.Strings(out)
		if len(out) == 0 {
			return "none attached"
		}
		return "attached: " + strings.Join(out, ", ")
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0 && s.serial != "":
		return USBDevice{}, fmt.Errorf("no USB printer %04x:%04x with serial %q (%s)", s.vid, s.pid, s.serial, serials())
	case len(match) == 0:
		return USBDevice{}, fmt.Errorf("no USB printer %04x:%04x attached", s.vid, s.pid)
	default:
		return USBDevice{}, fmt.Errorf("%d USB printers %04x:%04x attached: add ?serial= to choose one (%s)", len(match), s.vid, s.pid, serials())
	}
}

type usbTransport struct {
	conn usbConn
	dev  USBDevice
	opt  Options
}

func openUSB(ctx context.Context, u *url.URL, opt Options) (Transport, error) {
	sel, err := parseUSBURL(u)
	if err != nil {
		return nil, err
	}
	backend := opt.usb
	if backend == nil {
		backend = gousbBackend{}
	}
	devs, err := backend.List(sel.vid)
	if err != nil {
		return nil, fmt.Errorf("list USB devices: %w", err)
	}
	dev, err := sel.choose(devs)
	if err != nil {
		return nil, err
	}
	conn, err := backend.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("open USB printer %s: %w", dev.URL(), err)
	}
	return &usbTransport{conn: conn, dev: dev, opt: opt}, nil
}

// Write sends all of p, resuming after partial transfers.
func (t *usbTransport) Write(ctx context.Context, p []byte) (int, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline(ctx, t.opt.WriteTimeout))
	defer cancel()
	written := 0
	for written < len(p) {
		n, err := t.conn.WriteContext(ctx, p[written:])
		written += n
		if err != nil {
			if ctx.Err() != nil {
				return written, fmt.Errorf("usb write: %w", ctx.Err())
			}
			return written, fmt.Errorf("usb write: %w", err)
		}
		if n == 0 {
			select {
			case <-ctx.Done():
				return written, fmt.Errorf("usb write made no progress: %w", ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return written, nil
}

// Read returns the next bytes from bulk IN; empty transfers are skipped.
func (t *usbTransport) Read(ctx context.Context, p []byte) (int, error) {
	if !t.dev.Bidirectional {
		return 0, errors.New("this USB printer interface is one-way: no status over USB")
	}
	for {
		n, err := t.conn.ReadContext(ctx, p)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("usb read: %w", err)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
}

func (t *usbTransport) Close() error        { return t.conn.Close() }
func (t *usbTransport) Bidirectional() bool { return t.dev.Bidirectional }
func (t *usbTransport) String() string      { return t.dev.URL() }

// DiscoverUSB lists the Zebra printers attached over USB.
func DiscoverUSB() ([]USBDevice, error) { return discoverUSB(gousbBackend{}) }

func discoverUSB(b usbBackend) ([]USBDevice, error) {
	devs, err := b.List(ZebraVendorID)
	if err != nil {
		return nil, err
	}
	sort.Slice(devs, func(i, j int) bool {
		if devs[i].PID != devs[j].PID {
			return devs[i].PID < devs[j].PID
		}
		return devs[i].Serial < devs[j].Serial
	})
	return devs, nil
}
