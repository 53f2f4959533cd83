// Package epcis is the EPCIS 2.0 event model that the agent journals: what
// happened on the line to which serialised objects, written as GS1 EPCIS
// 2.0 JSON-LD so that any EPCIS repository can take it.
//
// # Model
//
// Two event types cover the line: ObjectEvent (commissioning, shipping,
// decommissioning of packs or containers) and AggregationEvent (packs into
// a case, cases onto a pallet, and back out). Their common fields sit in
// Base: eventTime with its eventTimeZoneOffset, recordTime, eventID,
// action, bizStep, disposition, readPoint and bizLocation, the business
// transactions, sources and destinations, an errorDeclaration. CBV terms
// are written in the short form of the JSON-LD context, as the standard's
// examples do ("bizStep": "commissioning", "disposition": "active"); a
// non-CBV value is a URI. Fields the model has no place for, extensions
// such as "example:myField" among them, are kept in Extra and written back
// as they came, so a document read and written again says the same.
// Document is the EPCISDocument around the events, with "@context"
// (ContextURL and the prefixes of DefaultNamespaces), schemaVersion 2.0
// and creationDate.
//
// The builders on Line give the agent's events their CBV 2.0 meaning:
//
//	Commission    ObjectEvent ADD, commissioning, active, ILMD cbvmda:lotNumber and cbvmda:itemExpirationDate
//	Pack          AggregationEvent ADD, packing, in_progress (pack → case, case → pallet)
//	Unpack        AggregationEvent DELETE, unpacking (no children: all of them)
//	Decommission  ObjectEvent DELETE, the step and disposition of DecommissionReasons for the reason
//	Ship          ObjectEvent OBSERVE, shipping, in_transit, no bizLocation
//
// readPoint and bizLocation come from the configuration (the SGLNs of the
// line and of the site), and eventTimeZoneOffset from the offset of the
// time given, which is kept to the millisecond.
//
// # Identifiers
//
// EPCs are GS1 Digital Link URIs on https://id.gs1.org by default, the
// form EPCIS 2.0 recommends and GS1 resolvers answer:
// https://id.gs1.org/01/{GTIN-14}/21/{serial} for a
// pack, /00/{SSCC} for a case or pallet, /414/{GLN}/254/{extension} for a
// place. Serials are percent-encoded as GS1 Digital Link requires, by the
// project's gs1 package. EPC URNs (urn:epc:id:sgtin:…, sscc, sgln) are the
// option for partners that want them; they need the length of the GS1
// Company Prefix, which a GTIN does not tell. Check digits of GTINs,
// SSCCs and GLNs are verified either way.
//
// # Event ID
//
// The eventID is the CBV 2.0 canonical event hash,
// ni:///sha-256;{hex}?ver=CBV2.0, as the public reference implementation
// RalphTro/epcis-event-hash-generator specifies it: a pre-hash string of
// the event's fields in the canonical property order, name=value without
// separators, lists sorted, times in UTC to the millisecond, numbers
// without trailing zeros, CBV terms as their Web URIs, EPC URNs and Digital
// Links as constrained canonical Digital Links on id.gs1.org, extension and
// ILMD keys as {namespace}name; eventID, recordTime and errorDeclaration
// take no part. The same event hashes the same however its JSON is
// ordered and whichever identifier syntax it uses (except for serials with
// ' ; or =, which an EPC URN leaves bare and a Digital Link escapes), so a
// repository can drop duplicates and a partner can recompute the ID. EventHash and
// PreHash work on any event's JSON, EventID on this package's events.
//
// Where the reference implementation and its published test vectors differ
// from the letter of its description, this package follows the vectors:
// the lists of business transactions, sources and destinations and the
// ILMD are written after the other fields, sorted as text among the
// extensions, and each business transaction, source or destination puts
// its type before its identifier. Only prefixes that the document's
// @context declares inline are expanded, which is why DefaultContext
// declares cbvmda. Beyond the vectors: a time whose fourth decimal is 5
// rounds up as the description says (the reference code rounds
// half-to-even there, and fails on a time that rounds to the next second);
// bare CBV terms are expanded per event, where the reference looks at the
// whole document; an event's own @context names prefixes and is not
// hashed as if it were a field.
package epcis
