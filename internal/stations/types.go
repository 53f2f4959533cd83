package stations

import (
	"time"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

// Station modes.
const (
	ModeCase         = "case"         // packs into cases
	ModePallet       = "pallet"       // cases onto pallets
	ModeDecommission = "decommission" // packs out of circulation, with a reason
	ModeShip         = "ship"         // order numbers to shipping labels
)

// Command barcodes: what the printed command sheet carries.
const (
	CmdNew      = "CMD:NEW"     // allocate an SSCC, print its label, open the container
	CmdClose    = "CMD:CLOSE"   // close the open container; request shipping labels
	CmdUndo     = "CMD:UNDO"    // take out the last item scanned into the open container
	CmdRemove   = "CMD:REMOVE"  // the next item scanned is taken out of its container
	CmdCancel   = "CMD:CANCEL"  // cancel the open container (or the collected orders)
	CmdReprint  = "CMD:REPRINT" // print the container label again
	CmdCase     = "CMD:CASE"    // mode: packs into cases
	CmdPallet   = "CMD:PALLET"  // mode: cases onto pallets
	CmdShip     = "CMD:SHIP"    // mode: shipping labels
	cmdDecomPfx = "CMD:"        // CMD:DESTROY, CMD:SAMPLE, …: mode decommission with that reason
	cmdPrefix   = "CMD:"
)

// Commands lists every command barcode, in the order of the sheet.
var Commands = []string{CmdNew, CmdClose, CmdUndo, CmdRemove, CmdCancel, CmdReprint, CmdCase, CmdPallet, CmdShip,
	"CMD:DESTROY", "CMD:SAMPLE", "CMD:FREE_SAMPLE", "CMD:CHECK_OUT", "CMD:LOCK", "CMD:EXPORT"}

// StationConfig is one station.
type StationConfig struct {
	Name string
	// Mode is the mode the station starts in the first time (case by
	// default); afterwards it keeps the mode it was switched to.
	Mode string
	// Printer is the destination tag of the station's printer, for
	// container and shipping labels ("" = none).
	Printer string
	// Reason is the decommission reason until a command switches it.
	Reason string
	// SendToMarket goes with every decommission of the station.
	SendToMarket bool
	// Order is the packaging order the station works for; "" means the
	// line's only open order.
	Order string
	// CaseCapacity and PalletCapacity bound containers (packs per case,
	// cases per pallet); 0 takes the product's configuration.
	CaseCapacity, PalletCapacity int
	// IntegrationID is the shipping integration of a ship station.
	IntegrationID int
	// SignOn: what a scanner or a paired screen sends that changes the
	// line's record beyond packing (a decommission, CLOSE, CANCEL, REMOVE,
	// UNDO) needs an operator signed on at the station (a badge or PIN),
	// who is then named in the audit log.
	SignOn bool
}

// Capacity is a product's packing configuration.
type Capacity struct {
	Case   int // packs per case
	Pallet int // cases per pallet
}

// Scan is a read handed to a station, already decoded.
type Scan struct {
	Source string
	Raw    []byte
	At     time.Time    // when it arrived
	GS1    *gs1.Message // GS1 data
	Plain  string       // plain data: a command or an order number
	Err    error        // the read cannot be used (why)
	// Actor is who gave a command from the dashboard (the audit log names
	// them); empty for the station's own scanners.
	Actor string
}

// Verdict is a station's answer to a scan, or news of work the station
// started (a shipping label printed or refused).
type Verdict struct {
	Scan      int64     `json:"scan,omitempty"` // the scans row; 0 for news not caused by a scan
	Station   string    `json:"station"`
	At        time.Time `json:"at"`
	OK        bool      `json:"ok"`
	Code      string    `json:"code"`
	Headline  string    `json:"headline"` // a few words, for the screen
	Message   string    `json:"message"`  // the detail: what and why
	Raw       string    `json:"raw,omitempty"`
	Mode      string    `json:"mode"`
	Reason    string    `json:"reason,omitempty"`
	Container string    `json:"container,omitempty"`
	Level     string    `json:"level,omitempty"`
	Count     int       `json:"count"`
	Capacity  int       `json:"capacity,omitempty"`
	Collected int       `json:"collected,omitempty"` // ship mode: orders waiting for CLOSE
}

var reasons = []string{"destroy", "sample", "free_sample", "check_out", "lock", "export"}

func validReason(r string) bool {
	for _, x := range reasons {
		if x == r {
			return true
		}
	}
	return false
}
