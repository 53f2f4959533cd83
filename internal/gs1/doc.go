// Package gs1 parses, validates and generates GS1 Application Identifier
// data: bracketed element strings such as (01)09506000134352(21)ABC,
// raw scanner data with or without an AIM symbology identifier and with GS
// (0x1D) as the FNC1 separator, and GS1 Digital Link URIs.
//
// The package is pure: it performs no I/O and keeps no mutable state. Its AI
// table follows the GS1 Barcode Syntax Dictionary, and validation follows the
// rules of the GS1 Barcode Syntax Engine with its default options: every AI
// must be known, each component is checked for length, character set, check
// digits, dates and the other syntax-dictionary linters, and the mandatory
// pairings (req) and exclusions (ex) between AIs are enforced.
//
// ParseInto and ParseScanInto parse into a Message the caller reuses, and
// then do not allocate: the scan path's form. Parse, ParseScan and the
// others return a Message of the caller's own.
//
// Errors are of type *Error and name the AI, the position and the rule that
// was broken, in words a technician understands.
package gs1
