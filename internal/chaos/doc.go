// Package chaos holds the chaos suite (make chaos): the real agent binary
// against the cloud and printer emulators, under a line workload, while it
// is killed, the cloud misbehaves, the printer faults and the disk fills.
// It reports what was acknowledged, delivered once, lost or duplicated.
package chaos
