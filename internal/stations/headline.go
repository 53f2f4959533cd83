package stations

import "strings"

// headlines are what a screen shows in large type for each verdict code:
// a few words an operator takes in at two metres. The verdict's message
// is the detail line below it.
var headlines = map[string]string{
	"added": "Added", "opened": "Opened", "closed": "Closed", "cancelled": "Cancelled", "undone": "Taken out",
	"removed": "Taken out", "remove_next": "Scan the item to take out", "mode": "Mode changed", "reprint": "Label again",
	"decommissioned": "Decommissioned", "collected": "Order added", "requested": "Labels requested",
	"signed_on": "Signed on", "sign_on": "Sign on first", "sign_on_refused": "Badge not accepted",
	"unreadable": "Barcode not usable", "not_gs1": "Not a GS1 barcode", "not_pack": "Not a pack label",
	"not_order": "Not an order number", "wrong_product": "Wrong product", "wrong_batch": "Wrong batch",
	"wrong_expiry": "Wrong expiry", "wrong_label": "Label does not match", "wrong_level": "Wrong kind of label",
	"wrong_order": "Not in this order", "wrong_mode": "Not in this mode", "unknown_serial": "Unknown pack",
	"unknown_container": "Unknown case", "unknown_command": "Unknown command", "is_decommissioned": "Decommissioned pack",
	"not_printed": "Not confirmed printed", "duplicate": "Scanned twice", "in_container": "Already in a container",
	"not_in_container": "Not in a container", "full": "Container full", "empty": "Container empty",
	"no_container": "No container open", "container_open": "Container still open", "open_elsewhere": "Open at another station",
	"already_closed": "Already closed", "not_closed": "Case not closed", "no_order": "No packaging order",
	"no_sscc": "No SSCC prefix", "no_sscc_left": "No SSCC left", "no_printer": "No printer", "orders_collected": "Orders waiting",
	"no_orders": "No orders scanned", "already_shipped": "Already shipped", "no_integration": "No shipping set up",
	"ship_failed": "Shipping label refused", "ship_label": "Shipping label printing", "ship_unknown": "Label not confirmed",
	"ship_no_printer": "No printer for the label",
}

// Headline is a verdict's short headline (at most 40 characters).
func Headline(code, message string) string {
	if h, ok := headlines[code]; ok {
		return h
	}
	h, _, _ := strings.Cut(message, ":")
	if len(h) > 40 {
		h = h[:39] + "…"
	}
	return h
}
