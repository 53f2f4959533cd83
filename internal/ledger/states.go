package ledger

import (
	"errors"
	"fmt"
)

// SerialState is where a serial number is in its life on the line.
type SerialState string

// Serial states.
const (
	SerialAvailable      SerialState = "available"      // in the pool
	SerialAllocated      SerialState = "allocated"      // given to a label that is queued
	SerialPrinting       SerialState = "printing"       // its label's bytes are on their way to the printer
	SerialPrinted        SerialState = "printed"        // the printer confirmed its label; commission queued
	SerialUnknown        SerialState = "unknown"        // its label's outcome was not confirmed: a person decides
	SerialCommissioned   SerialState = "commissioned"   // the cloud has its commission
	SerialDecommissioned SerialState = "decommissioned" // out of circulation
)

// Usable reports whether a pack with the serial may be packed or
// decommissioned: its label was printed.
func (s SerialState) Usable() bool { return s == SerialPrinted || s == SerialCommissioned }

// LabelState is where a label is in printing.
type LabelState string

// Label states.
const (
	LabelQueued   LabelState = "queued"   // waiting for its printer
	LabelPrinting LabelState = "printing" // recorded before its bytes left
	LabelPrinted  LabelState = "printed"  // the printer confirmed it
	LabelUnknown  LabelState = "unknown"  // not confirmed; never re-sent without a person
	LabelVoided   LabelState = "voided"   // a person said it was not printed, or it was withdrawn
)

// labelMoves are the only transitions of a label. The serial of a pack
// label follows its label (serialFor).
var labelMoves = map[LabelState][]LabelState{
	LabelQueued:   {LabelPrinting, LabelVoided},
	LabelPrinting: {LabelPrinted, LabelUnknown},
	LabelUnknown:  {LabelQueued, LabelPrinted, LabelVoided}, // reprint, resolve printed, resolve not printed
}

// CanMove reports whether a label may go from s to to.
func (s LabelState) CanMove(to LabelState) bool {
	for _, t := range labelMoves[s] {
		if t == to {
			return true
		}
	}
	return false
}

// serialFor is the state of a pack label's serial when the label is in
// state l.
func serialFor(l LabelState) SerialState {
	switch l {
	case LabelQueued:
		return SerialAllocated
	case LabelPrinting:
		return SerialPrinting
	case LabelPrinted:
		return SerialPrinted
	case LabelUnknown:
		return SerialUnknown
	}
	return SerialDecommissioned
}

// Errors of the ledger.
var (
	ErrProductNotFound = errors.New("the product is not registered on this line")
	ErrBatchNotFound   = errors.New("the batch is not registered for the product")
	ErrLabelNotFound   = errors.New("no such label")
	ErrNoSerials       = errors.New("not enough serial numbers in the pool")
	ErrReasonRequired  = errors.New("a reason is required")
	// ErrNotQueued is a label a printer asked for that is no longer
	// waiting (a person voided it).
	ErrNotQueued = errors.New("the label is no longer queued")
)

// SerialNotFoundError is a serial the line does not know.
type SerialNotFoundError struct{ GTIN, Serial string }

func (e *SerialNotFoundError) Error() string {
	return fmt.Sprintf("serial %s of %s is not known on this line", e.Serial, e.GTIN)
}

// SerialStateError is a serial in a state that does not allow the act.
type SerialStateError struct {
	GTIN, Serial string
	State        SerialState
	Act          string // e.g. "decommissioned"
}

func (e *SerialStateError) Error() string {
	return fmt.Sprintf("serial %s is %s: it cannot be %s", e.Serial, e.State, e.Act)
}

// LabelStateError is a label in a state that does not allow the move.
type LabelStateError struct {
	ID       int64
	State    LabelState
	Want, To LabelState
}

func (e *LabelStateError) Error() string {
	switch {
	case e.Want == LabelUnknown && e.To == LabelQueued:
		return fmt.Sprintf("label %d is %s: only labels whose outcome is unknown are reprinted", e.ID, e.State)
	case e.Want == LabelUnknown:
		return fmt.Sprintf("label %d is %s: only labels whose outcome is unknown are resolved", e.ID, e.State)
	}
	return fmt.Sprintf("label %d is %s: it cannot become %s", e.ID, e.State, e.To)
}
