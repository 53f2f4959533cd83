package printersim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a scripted printer fault.
type FaultKind string

// Fault kinds.
const (
	MediaOut  FaultKind = "media-out"  // stops printing, ~HS silent, ~HQES error 0x1
	RibbonOut FaultKind = "ribbon-out" // stops printing, ~HS silent, ~HQES error 0x2
	HeadOpen  FaultKind = "head-open"  // stops printing, ~HS silent, ~HQES error 0x4
	Pause     FaultKind = "pause"      // stops printing, ~HS paused flag, ~HQES 0x10000
	Drop      FaultKind = "drop"       // closes the connection in the middle of a label format
	Refuse    FaultKind = "refuse"     // closes every connection as soon as it is accepted
)

// Fault is one scripted fault: it starts once After labels are printed (for
// drop: while the label after them is being received; for refuse: at start)
// and lasts For (0: until cleared by SetFault).
type Fault struct {
	Kind  FaultKind
	After int
	For   time.Duration
}

// ParseFaults reads a fault script: comma-separated KIND[@N][/DURATION],
// for example "media-out@7/2s,head-open@12/500ms,drop@15,refuse/1s".
func ParseFaults(spec string) ([]Fault, error) {
	var out []Fault
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var f Fault
		rest := item
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			d, err := time.ParseDuration(rest[i+1:])
			if err != nil || d < 0 {
				return nil, fmt.Errorf("fault %q: duration %q: write e.g. 2s or 500ms", item, rest[i+1:])
			}
			f.For, rest = d, rest[:i]
		}
		if i := strings.IndexByte(rest, '@'); i >= 0 {
			n, err := strconv.Atoi(rest[i+1:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("fault %q: %q must be a label count", item, rest[i+1:])
			}
			f.After, rest = n, rest[:i]
		}
		f.Kind = FaultKind(rest)
		switch f.Kind {
		case MediaOut, RibbonOut, HeadOpen, Pause, Drop, Refuse:
		default:
			return nil, fmt.Errorf("fault %q: kind must be media-out, ribbon-out, head-open, pause, drop or refuse", item)
		}
		if f.Kind == Refuse && f.For == 0 {
			return nil, fmt.Errorf("fault %q: refuse needs a duration, e.g. refuse/2s", item)
		}
		out = append(out, f)
	}
	return out, nil
}
