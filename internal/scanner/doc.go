// Package scanner reads handheld and fixed-mount barcode scanners (serial and
// USB CDC, TCP, USB HID POS, evdev keyboard wedge, stdin and the station web
// page), frames their reads, detects AIM symbology identifiers, and yields
// each read as a Scan without ever losing a GS separator.
package scanner
