// Package printer drives Zebra label printers: transports opened from a URL
// (tcp://host:9100, usb://0a5f:PID?serial=SN, serial:///dev/ttyUSB0, file:///dir),
// the Zebra status protocol (~HS, ~HQES, ~HI, SGD getvar), a per-printer
// runner that owns the one connection and reports each label as printing,
// printed or unknown, and printersim, a Zebra emulator on a real TCP socket.
package printer
