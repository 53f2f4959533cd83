// Package cloud is the client of the Movilitas.Cloud Manufacturer V2 API,
// of the shipping-label API and of an EPCIS 2.0 repository's capture
// interface, with typed errors that say whether to retry, and cloudsim, an
// emulator of the first two with fault injection.
package cloud
