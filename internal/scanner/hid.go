package scanner

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/clock"
)

// hidFormat is how a vendor lays out the HID POS scanned-data input report:
// the report ID, where the length of this report's data is, the AIM
// symbology identifier and the data, and the flag that says more reports of
// the same read follow.
type hidFormat struct {
	name      string
	reportID  byte
	lenAt     int
	aimAt     int // three bytes; zeros when the scanner sends none
	dataAt    int
	moreAt    int // byte index from the start; -1 from the end
	moreMask  byte
	maxLength int
}

// hidFormats are the report layouts of two vendors' HID POS modes (from
// their programming guides; hardware-tests check them on real scanners).
var hidFormats = map[string]hidFormat{
	// Honeywell: ID 2, length, AIM identifier, 56 data bytes, 2 code ID
	// bytes, and bit 0 of the last byte for "more data".
	"honeywell": {name: "honeywell", reportID: 0x02, lenAt: 1, aimAt: 2, dataAt: 5, moreAt: 63, moreMask: 0x01, maxLength: 56},
	// Zebra: ID 0x22, AIM identifier first, then length, 57 data bytes,
	// "more data" in bit 7 of byte 1 … the length byte's high bit.
	"zebra": {name: "zebra", reportID: 0x22, lenAt: 4, aimAt: 1, dataAt: 5, moreAt: 4, moreMask: 0x80, maxLength: 57},
}

// parse reads one report: data, AIM identifier, whether more follows.
func (f hidFormat) parse(r []byte) (data, aim []byte, more bool, err error) {
	if len(r) < f.dataAt || r[0] != f.reportID {
		return nil, nil, false, fmt.Errorf("not a %s scanned-data report", f.name)
	}
	n := int(r[f.lenAt])
	if f.moreAt == f.lenAt {
		n = int(r[f.lenAt] &^ f.moreMask)
	}
	if n > f.maxLength || f.dataAt+n > len(r) {
		return nil, nil, false, fmt.Errorf("%s report: data length %d does not fit", f.name, n)
	}
	if f.moreAt < len(r) {
		more = r[f.moreAt]&f.moreMask != 0
	}
	aim = r[f.aimAt : f.aimAt+3]
	if aim[0] == 0 {
		aim = nil
	}
	return r[f.dataAt : f.dataAt+n], aim, more, nil
}

// hidBackend is the seam between the HID POS source and libusb.
type hidBackend interface {
	Open(vid, pid uint16, serial string) (hidDevice, error)
}

// hidDevice yields input reports.
type hidDevice interface {
	ReadReport(ctx context.Context) ([]byte, error)
	Close() error
}

type hidSource struct {
	name     string
	vid, pid uint16
	serial   string
	format   hidFormat
	framing  Framing
	opt      Options
	drops
	status
}

func newHIDSource(u *url.URL, f Framing, opt Options) (Source, error) {
	v, p, ok := strings.Cut(u.Host, ":")
	vid, err1 := strconv.ParseUint(v, 16, 16)
	pid, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("hidpos URL %q: write hidpos://VID:PID?serial=SN&format=honeywell with hex IDs", u.Redacted())
	}
	if err := checkParams(u, "hidpos", "serial", "format"); err != nil {
		return nil, err
	}
	name := u.Query().Get("format")
	if name == "" {
		name = "honeywell"
	}
	fm, ok := hidFormats[name]
	if !ok {
		return nil, fmt.Errorf("hidpos URL %q: format %q must be honeywell or zebra", u.Redacted(), name)
	}
	return &hidSource{name: "hidpos://" + u.Host, vid: uint16(vid), pid: uint16(pid), serial: u.Query().Get("serial"),
		format: fm, framing: f, opt: opt}, nil
}

func (s *hidSource) String() string { return s.name }

func (s *hidSource) Run(ctx context.Context, out chan<- Scan) error {
	backend := s.opt.hid
	if backend == nil {
		backend = gousbHID{}
	}
	log := s.opt.Log.With().Str("scanner", s.name).Logger()
	down := false
	for ctx.Err() == nil {
		dev, err := backend.Open(s.vid, s.pid, s.serial)
		if err != nil {
			s.set(SourceUnavailable)
			if !down {
				log.Warn().Err(err).Msg("scanner unavailable; retrying")
				down = true
			}
			if clock.Sleep(ctx, s.opt.retry()) != nil {
				return nil
			}
			continue
		}
		if down {
			log.Info().Msg("scanner back")
			down = false
		}
		s.set(SourceOpen)
		err = s.read(ctx, dev, log, out)
		dev.Close()
		s.set(SourceUnavailable)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn().Err(err).Msg("scanner disconnected; waiting for it to come back")
		down = true
	}
	return nil
}

// read assembles reads from reports until the device fails. A read that
// grows past maxlen is dropped whole: its further reports are skipped up to
// its last.
func (s *hidSource) read(ctx context.Context, dev hidDevice, log zerolog.Logger, out chan<- Scan) error {
	var cur []byte
	discard := false
	for {
		r, err := dev.ReadReport(ctx)
		if err != nil {
			return err
		}
		data, aim, more, err := s.format.parse(r)
		if err != nil {
			s.opt.Log.Debug().Err(err).Msg("report skipped")
			continue
		}
		if discard {
			discard = more
			continue
		}
		if len(cur) == 0 && aim != nil {
			cur = append(cur, aim...)
		}
		cur = append(cur, data...)
		if len(cur) > s.framing.MaxLen {
			s.drops.report(log, s.framing, DropTooLong, len(cur))
			cur = cur[:0]
			discard = more
			continue
		}
		if more {
			continue
		}
		raw := append([]byte(nil), cur...)
		cur = cur[:0]
		if s.framing.GSSubstitute != 0 {
			for i, c := range raw {
				if c == s.framing.GSSubstitute {
					raw[i] = 0x1D
				}
			}
		}
		select {
		case out <- NewScan(raw, s.name, time.Now(), false):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
