// Package line is the domain of the packaging line: label orders, packaging
// orders, the serial ledger, the SSCC allocator, the scanner-driven stations
// and the audit log.
package line
