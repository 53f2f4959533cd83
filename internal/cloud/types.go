package cloud

import "github.com/edgeagent/edgeagent/internal/v2"

// The request and answer types of the Manufacturer V2 API, with their
// field rules, are the dialect's (package v2), shared with the local API.
type (
	LabelOrder     = v2.LabelOrder
	PackagingOrder = v2.PackagingOrder
	Commission     = v2.Commission
	Decommission   = v2.Decommission
	TradeItem      = v2.TradeItem
	Aggregation    = v2.Aggregation
	SerialStatus   = v2.SerialStatus
	FieldError     = v2.FieldError
)

// Field rule values.
var (
	ExtraLabelTypes = v2.ExtraLabelTypes
	Markets         = v2.Markets
	Reasons         = v2.Reasons
)

// Limits of one call [inferred].
const (
	MaxSerials  = v2.MaxSerials
	MaxChildren = v2.MaxChildren
)

// ValidGS1Key reports whether s is n digits ending in a valid GS1 check digit.
func ValidGS1Key(s string, n int) bool { return v2.ValidGS1Key(s, n) }
