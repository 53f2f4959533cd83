package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	stx = 0x02
	etx = 0x03
)

// Size bounds for status answers. A status read stops, and fails with
// ErrNotStatus, as soon as an answer is longer than any Zebra sends, so
// that a device that answers with an endless stream costs a few kilobytes
// and not the memory it can fill until the deadline.
const (
	// maxHSFrame bounds each of the three ~HS frames. The ZPL manual
	// gives them as 32, 32 and 6 characters of fixed-width fields; twice
	// the longest leaves room for firmware that widens a field.
	maxHSFrame = 64
	// maxFrame bounds a ~HQES or ~HI frame: a few lines of text, well
	// under a kilobyte on every printer.
	maxFrame = 1024
	// maxSGD bounds an SGD getvar reply, quotes included.
	maxSGD = 4096
)

// ErrNoAnswer is a status request that got no reply in time. For ~HS it
// often means the printer is faulted: Zebra printers do not answer ~HS while
// media or ribbon is out, the head is open or it is too hot.
var ErrNoAnswer = errors.New("no answer from the printer (possibly faulted)")

// ErrNotStatus is an answer to a status request that is not what a Zebra
// sends: bytes outside a frame, a frame that does not parse, or an answer
// longer than the size bound. The device may not be a Zebra printer (or
// not one in ZPL mode), or the stream is garbled. Errors wrapping it read
// "the printer's status answer is not a Zebra status: ~HS: …".
var ErrNotStatus = errors.New("the printer's status answer is not a Zebra status")

// notStatus is an ErrNotStatus with what was wrong.
func notStatus(detail string) error {
	return fmt.Errorf("%w: %s", ErrNotStatus, detail)
}

// badAnswer is what the frame reader found wrong with an answer; Conn
// names the request and wraps it as ErrNotStatus.
type badAnswer string

func (b badAnswer) Error() string { return string(b) }

// HostStatus is the answer to ~HS. Its JSON keys are snake_case, as in
// the rest of printer status --json.
type HostStatus struct {
	PaperOut        bool `json:"paper_out"`
	Paused          bool `json:"paused"`
	LabelLength     int  `json:"label_length"` // dots
	FormatsInBuffer int  `json:"formats_in_buffer"`
	BufferFull      bool `json:"buffer_full"`
	DiagnosticMode  bool `json:"diagnostic_mode"`
	PartialFormat   bool `json:"partial_format"`
	CorruptRAM      bool `json:"corrupt_ram"`
	UnderTemp       bool `json:"under_temp"`
	OverTemp        bool `json:"over_temp"`
	HeadOpen        bool `json:"head_open"`
	RibbonOut       bool `json:"ribbon_out"`
	ThermalTransfer bool `json:"thermal_transfer"`
	PrintMode       int  `json:"print_mode"`
	LabelWaiting    bool `json:"label_waiting"`
	LabelsRemaining int  `json:"labels_remaining"`
	GraphicsStored  int  `json:"graphics_stored"`
}

// Idle reports whether everything sent has been printed, as far as ~HS says.
func (s HostStatus) Idle() bool {
	return s.FormatsInBuffer == 0 && s.LabelsRemaining == 0 && !s.PartialFormat
}

// Faults names the fault flags that are set.
func (s HostStatus) Faults() []string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{s.PaperOut, "media out"}, {s.RibbonOut, "ribbon out"}, {s.HeadOpen, "head open"}, {s.Paused, "paused"},
		{s.OverTemp, "head over temperature"}, {s.UnderTemp, "head under temperature"}, {s.CorruptRAM, "corrupt RAM"},
		{s.BufferFull, "receive buffer full"}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

// ParseHostStatus reads the three ~HS frames (without STX and ETX).
func ParseHostStatus(frames []string) (HostStatus, error) {
	var s HostStatus
	if len(frames) < 2 {
		return s, fmt.Errorf("~HS: %d frames, want 3", len(frames))
	}
	f1 := strings.Split(strings.TrimSpace(frames[0]), ",")
	f2 := strings.Split(strings.TrimSpace(frames[1]), ",")
	if len(f1) < 12 || len(f2) < 11 {
		return s, fmt.Errorf("~HS: frames have %d and %d fields, want 12 and 11", len(f1), len(f2))
	}
	var err error
	num := func(v string) int {
		n, e := strconv.Atoi(strings.TrimSpace(v))
		if e != nil && err == nil {
			err = fmt.Errorf("~HS: field %s is not a number", excerpt([]byte(v)))
		}
		return n
	}
	flag := func(v string) bool { return num(v) == 1 }
	s.PaperOut, s.Paused = flag(f1[1]), flag(f1[2])
	s.LabelLength, s.FormatsInBuffer = num(f1[3]), num(f1[4])
	s.BufferFull, s.DiagnosticMode, s.PartialFormat = flag(f1[5]), flag(f1[6]), flag(f1[7])
	s.CorruptRAM, s.UnderTemp, s.OverTemp = flag(f1[9]), flag(f1[10]), flag(f1[11])
	s.HeadOpen, s.RibbonOut, s.ThermalTransfer = flag(f2[2]), flag(f2[3]), flag(f2[4])
	s.PrintMode, s.LabelWaiting = num(f2[5]), flag(f2[7])
	s.LabelsRemaining, s.GraphicsStored = num(f2[8]), num(f2[10])
	return s, err
}

// Error and warning bits of ~HQES.
const (
	ErrMediaOut     = 0x1
	ErrRibbonOut    = 0x2
	ErrHeadOpen     = 0x4
	ErrCutter       = 0x8
	ErrHeadOverTemp = 0x10
	ErrMotorTemp    = 0x20
	ErrBadHead      = 0x40
	ErrHeadDetect   = 0x80
	ErrPaused       = 0x10000

	WarnCalibrate = 0x1
	WarnCleanHead = 0x2
	WarnReplace   = 0x4
	WarnPaperLow  = 0x8
)

// ExtendedStatus is the answer to ~HQES.
type ExtendedStatus struct {
	Errors   uint32 `json:"errors"`
	Warnings uint32 `json:"warnings"`
}

var errorNames = []struct {
	bit  uint32
	name string
}{
	{ErrMediaOut, "media out"}, {ErrRibbonOut, "ribbon out"}, {ErrHeadOpen, "head open"}, {ErrCutter, "cutter fault"},
	{ErrHeadOverTemp, "head over temperature"}, {ErrMotorTemp, "motor over temperature"}, {ErrBadHead, "bad head element"},
	{ErrHeadDetect, "head detection"}, {ErrPaused, "paused"},
}

var warningNames = []struct {
	bit  uint32
	name string
}{{WarnCalibrate, "calibrate media"}, {WarnCleanHead, "clean head"}, {WarnReplace, "replace head"}, {WarnPaperLow, "paper near end"}}

// Faults names the errors, "unknown error 0x…" for bits without a name.
func (s ExtendedStatus) Faults() []string {
	var out []string
	rest := s.Errors
	for _, e := range errorNames {
		if s.Errors&e.bit != 0 {
			out = append(out, e.name)
			rest &^= e.bit
		}
	}
	if rest != 0 {
		out = append(out, fmt.Sprintf("unknown error 0x%X", rest))
	}
	return out
}

// WarningNames names the warnings.
func (s ExtendedStatus) WarningNames() []string {
	var out []string
	for _, w := range warningNames {
		if s.Warnings&w.bit != 0 {
			out = append(out, w.name)
		}
	}
	return out
}

// ParseExtendedStatus reads a ~HQES frame: lines "ERRORS: f hhhhhhhh hhhhhhhh"
// and "WARNINGS: …", whose last eight hex digits are the bit mask.
func ParseExtendedStatus(frame string) (ExtendedStatus, error) {
	var s ExtendedStatus
	var gotE, gotW bool
	for _, line := range strings.Split(frame, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) < 2 {
			return s, fmt.Errorf("~HQES: line %s has no bit mask", excerpt([]byte(strings.TrimSpace(line))))
		}
		mask, err := strconv.ParseUint(fields[len(fields)-1], 16, 32)
		if err != nil {
			return s, fmt.Errorf("~HQES: %s is not a hex mask", excerpt([]byte(fields[len(fields)-1])))
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "ERRORS":
			s.Errors, gotE = uint32(mask), true
		case "WARNINGS":
			s.Warnings, gotW = uint32(mask), true
		}
	}
	if !gotE || !gotW {
		return s, fmt.Errorf("~HQES: no ERRORS and WARNINGS lines in %s", excerpt([]byte(frame)))
	}
	return s, nil
}

// HostID is the answer to ~HI.
type HostID struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	DPMM    int    `json:"dpmm"`
	Memory  string `json:"memory"`
	Options string `json:"options"`
}

// ParseHostID reads a ~HI frame: MODEL,VERSION,DPMM,MEMORY,OPTIONS.
func ParseHostID(frame string) (HostID, error) {
	f := strings.Split(strings.TrimSpace(frame), ",")
	if len(f) < 3 {
		return HostID{}, fmt.Errorf("~HI: %s has %d fields, want 5", excerpt([]byte(frame)), len(f))
	}
	id := HostID{Model: strings.TrimSpace(f[0]), Version: strings.TrimSpace(f[1])}
	n, err := strconv.Atoi(strings.TrimSpace(f[2]))
	if err != nil {
		return id, fmt.Errorf("~HI: dots per mm %q is not a number", f[2])
	}
	id.DPMM = n
	if len(f) > 3 {
		id.Memory = strings.TrimSpace(f[3])
	}
	if len(f) > 4 {
		id.Options = strings.TrimSpace(strings.Join(f[4:], ","))
	}
	return id, nil
}

// frameReader reads STX…ETX frames from a transport, keeping bytes that
// arrive after a frame for the next call.
type frameReader struct {
	t    Transport
	buf  []byte
	tmp  [512]byte
	seen time.Time
}

// isGap reports whether b may come between frames: Zebra printers end
// each frame with CR LF, and serial lines idle with NUL.
func isGap(b byte) bool { return b == '\r' || b == '\n' || b == ' ' || b == '\t' || b == 0 }

// excerpt quotes the start of unexpected bytes for an error message.
func excerpt(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%q…", b[:16])
	}
	return fmt.Sprintf("%q", b)
}

// frames reads n frames of at most limit bytes each. It fails with
// ErrNoAnswer at ctx's deadline, and with a badAnswer as soon as a byte
// other than CR, LF or blank comes between frames, a frame runs past
// limit, or the answer as a whole runs past n frames' worth of bytes.
// It reads at most that bound plus one read buffer.
func (r *frameReader) frames(ctx context.Context, n, limit int) ([]string, error) {
	var out []string
	budget := n * (limit + 4) // each frame with STX, ETX, CR and LF
	read := 0
	for len(out) < n {
		gap := 0
		for gap < len(r.buf) && isGap(r.buf[gap]) {
			gap++
		}
		r.buf = r.buf[gap:]
		if len(r.buf) > 0 {
			if r.buf[0] != stx {
				return out, badAnswer(fmt.Sprintf("%s where a status frame should start", excerpt(r.buf)))
			}
			if e := bytes.IndexByte(r.buf, etx); e >= 0 {
				if e-1 > limit {
					return out, badAnswer(fmt.Sprintf("a frame longer than %d bytes", limit))
				}
				out = append(out, string(r.buf[1:e]))
				r.buf = r.buf[e+1:]
				continue
			}
			if len(r.buf)-1 > limit {
				return out, badAnswer(fmt.Sprintf("a frame longer than %d bytes", limit))
			}
		}
		if read > budget {
			return out, badAnswer(fmt.Sprintf("an answer longer than %d bytes", budget))
		}
		m, err := r.fill(ctx)
		read += m
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// quoted reads one SGD reply, a value in double quotes, of at most maxSGD
// bytes from the first byte read to the closing quote. Past that it fails
// with a badAnswer, having read at most maxSGD plus one read buffer.
func (r *frameReader) quoted(ctx context.Context) (string, error) {
	for {
		if s := bytes.IndexByte(r.buf, '"'); s >= 0 {
			if e := bytes.IndexByte(r.buf[s+1:], '"'); e >= 0 && s+e+2 <= maxSGD {
				v := string(r.buf[s+1 : s+1+e])
				r.buf = r.buf[s+e+2:]
				return v, nil
			}
		}
		if len(r.buf) > maxSGD {
			return "", badAnswer(fmt.Sprintf("a reply longer than %d bytes", maxSGD))
		}
		if _, err := r.fill(ctx); err != nil {
			return "", err
		}
	}
}

// fill reads once into the buffer and returns how many bytes came.
func (r *frameReader) fill(ctx context.Context) (int, error) {
	n, err := r.t.Read(ctx, r.tmp[:])
	r.buf = append(r.buf, r.tmp[:n]...)
	if n > 0 {
		r.seen = time.Now()
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return n, ErrNoAnswer
		}
		return n, err
	}
	return n, nil
}

// drain forgets buffered bytes (a late reply to an earlier request).
func (r *frameReader) drain() { r.buf = r.buf[:0] }
