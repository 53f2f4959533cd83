// Package cloud is the client of the Movilitas.Cloud Manufacturer V2 API and
// of the shipping-label API, with typed errors that say whether to retry, and
// cloudsim, an emulator of both APIs with fault injection.
package cloud
