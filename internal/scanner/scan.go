package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Scan is one read as it arrived, framing removed.
type Scan struct {
	Raw       []byte    // the bytes, AIM identifier included
	Symbology string    // AIM symbology identifier such as "]d2", "" when the scanner sent none
	Source    string    // the source's URL, for logs and the scans table
	At        time.Time // when the last byte arrived
	// Wedge is set by sources that type like a keyboard: separators may
	// have been lost on the way.
	Wedge bool
}

// Source yields scans on a channel until its context ends. Run returns
// after it has closed everything it opened; it reconnects by itself when
// a device or peer goes away.
type Source interface {
	Run(ctx context.Context, out chan<- Scan) error
	String() string
	// Dropped is the number of reads the source has thrown away since it
	// was opened, because they were longer than maxlen or left unfinished
	// (see Framer): a counter for the agent's metrics. Each drop is also
	// logged.
	Dropped() uint64
	// State is what the source is doing: starting (not run yet), open (its
	// device or connection is open), listening (for readers on the
	// network) or unavailable (it retries).
	State() SourceState
}

// SourceState is what a source is doing.
type SourceState string

// Source states.
const (
	SourceStarting    SourceState = "starting"
	SourceOpen        SourceState = "open"
	SourceListening   SourceState = "listening"
	SourceUnavailable SourceState = "unavailable"
)

// Decoded is a scan with its meaning: GS1 data, plain data (an order
// number, a command barcode), or the reason it cannot be used.
type Decoded struct {
	Scan
	GS1   *gs1.Message
	Plain string
	Err   error
}

// ErrAmbiguous is a read whose separators may have been lost.
var ErrAmbiguous = errors.New("unclear read")

// aiSymbologies carry GS1 AI data.
var aiSymbologies = map[string]bool{"]C1": true, "]d2": true, "]Q3": true, "]e0": true, "]J1": true}

// Decode interprets a scan. GS1 symbologies must hold valid GS1 data; other
// symbologies pass through as plain data (a Digital Link URI in a plain QR
// or Data Matrix is read as GS1). Without an AIM identifier, data with GS
// separators, bracketed data or a valid element string is GS1, anything else
// plain. A wedge read without separators is rejected, never guessed, when its
// last field could have swallowed another AI.
func Decode(s Scan) Decoded {
	d := Decoded{Scan: s}
	raw := s.Raw
	body := raw
	sym := s.Symbology
	if sym != "" {
		body = raw[len(sym):]
	}
	var msg *gs1.Message
	var err error
	switch {
	case aiSymbologies[sym]:
		msg, err = gs1.ParseScan(raw)
	case sym == "]d1" || sym == "]Q1":
		if hasDLScheme(body) {
			msg, err = gs1.ParseScan(raw)
		} else {
			d.Plain = string(body)
			return d
		}
	case sym == "]E0" || sym == "]E4":
		msg, err = gs1.ParseScan(raw)
	case sym != "":
		d.Plain = string(body)
		return d
	default:
		msg, err = guess(body)
		if msg == nil && err == nil {
			d.Plain = string(body)
			return d
		}
	}
	if err != nil {
		d.Err = err
		return d
	}
	if s.Wedge && !bytes.ContainsRune(body, gs1.GS) && len(msg.Elements) > 1 {
		if alt, ok := gs1.Ambiguous(msg); ok {
			d.Err = fmt.Errorf("%w: %s could also be %s; the scanner did not send the separator (GS), so the read cannot be trusted: set the scanner to send GS or the configured substitute, and scan again",
				ErrAmbiguous, spaced(msg.Elements), spaced(alt))
			return d
		}
	}
	d.GS1 = msg
	return d
}

func spaced(els []gs1.Element) string {
	parts := make([]string, len(els))
	for i, e := range els {
		parts[i] = "(" + e.AI + ") " + e.Value
	}
	return strings.Join(parts, " ")
}

func hasDLScheme(b []byte) bool {
	s := strings.ToLower(string(b[:min(8, len(b))]))
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// guess reads data sent without an AIM identifier; nil, nil means plain.
func guess(body []byte) (*gs1.Message, error) {
	switch {
	case len(body) == 0:
		return nil, nil
	case bytes.IndexByte(body, gs1.GS) >= 0 || body[0] == '(':
		return gs1.Parse(body)
	case hasDLScheme(body):
		if msg, err := gs1.Parse(body); err == nil {
			return msg, nil
		}
		return nil, nil
	}
	if msg, err := gs1.ParseElementString(string(body)); err == nil {
		return msg, nil
	}
	return nil, nil
}
