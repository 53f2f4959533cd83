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
//
// Each printer test reads the printer's status (it must be in ZPL mode with
// no fault), prints one test label through the runner, and checks that the
// odometer moved by exactly one. Load labels first; expect one label per
// transport. For USB, install deploy/99-edgeagent-zebra.rules (or run as
// root); "edgeagent printer discover" shows the URL to use. For serial, set
// the printer's port to the settings in the URL (handshake xonxoff unless
// given).
package hardwaretests
