// Package printer drives Zebra label printers: transports opened from a URL
// (tcp://host:9100, usb://0a5f:PID?serial=SN, serial:///dev/ttyUSB0, file:///dir),
// the Zebra status protocol (~HS, ~HQES, ~HI, SGD getvar), and a
// per-printer runner that owns the one connection, pulls labels from a
// Ledger one at a time and has each recorded as printing, printed or
// unknown. Queue is a Ledger in memory for one-shot prints and tests;
// printersim is a Zebra emulator on a real TCP socket.
package printer
