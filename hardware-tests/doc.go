//go:build hardware

// Package hardwaretests exercises edgeagent against real printers and
// scanners on a line. The tests are compiled by "make test" but run only with
// the hardware build tag, and each is skipped unless the environment variable
// naming its device is set:
//
//	EDGEAGENT_HW_PRINTER_TCP=10.0.0.5:9100
//	EDGEAGENT_HW_PRINTER_USB=0a5f:0166?serial=XXQLJ123456
//	EDGEAGENT_HW_PRINTER_SERIAL=/dev/ttyUSB0?baud=9600
//	EDGEAGENT_HW_SCANNER=serial:///dev/ttyACM0
//	EDGEAGENT_HW_DB_DIR=/var/lib/edgeagent-hwtest
//
// Run them on the line PC with the devices attached:
//
//	EDGEAGENT_HW_DB_DIR=/var/tmp/hw make hardware-test
package hardwaretests
