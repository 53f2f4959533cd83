// Package label names what the agent prints: one physical label, known to
// the ledger by its kind and ID, and handed to a printer as one ZPL format.
// The ledger and the printer runners share these types, so a label is never
// referred to by a parsed string.
package label

import "fmt"

// Kind is what a label is for.
type Kind string

// Kinds of label.
const (
	Pack     Kind = "pack"     // a serialised pack label of a label order
	SSCC     Kind = "sscc"     // a case or pallet label
	Shipping Kind = "shipping" // a carrier's shipping label
	Test     Kind = "test"     // a test label asked for by a supervisor
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	switch k {
	case Pack, SSCC, Shipping, Test:
		return true
	}
	return false
}

// Ref identifies a label in the ledger.
type Ref struct {
	Kind Kind
	ID   int64
}

func (r Ref) String() string { return fmt.Sprintf("%s label %d", r.Kind, r.ID) }

// Label is one label to print: a single ^XA…^XZ format with ^PQ1.
type Label struct {
	Ref
	// Subject is what the label carries, for people and logs: a pack's
	// serial, an SSCC, a shipment.
	Subject string
	Data    []byte
}
