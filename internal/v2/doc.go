// Package v2 is the Manufacturer V2 API dialect of Movilitas.Cloud: the
// request and answer types, their documented field rules, and the documented
// messages and codes. The cloud client speaks it to the cloud, and the local
// API speaks it to ERP and MES systems. It is pure: no I/O.
package v2
