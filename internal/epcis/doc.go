// Package epcis is the EPCIS 2.0 event model that the agent journals.
//
// This first part is the CBV 2.0 canonical event hash,
// ni:///sha-256;{hex}?ver=CBV2.0, as the public reference implementation
// RalphTro/epcis-event-hash-generator specifies it: EventHash and PreHash
// work on any event's JSON-LD.
package epcis
