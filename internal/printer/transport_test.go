package printer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An address written without a scheme is refused with the URL meant.
func TestURLWithoutSchemeSuggestsTCP(t *testing.T) {
	for raw, want := range map[string]string{
		"127.0.0.1:19100": `printer URL "127.0.0.1:19100" has no scheme: for a network printer write tcp://127.0.0.1:19100`,
		"zebra-3:9100":    `printer URL "zebra-3:9100" has no scheme: for a network printer write tcp://zebra-3:9100`,
		"[::1]:9100":      `printer URL "[::1]:9100" has no scheme: for a network printer write tcp://[::1]:9100`,
		"10.0.0.5":        `printer URL "10.0.0.5" has no scheme: for a network printer write tcp://10.0.0.5:9100`,
		"tcp:9100":        `tcp URL "tcp:9100": no host; write tcp://host:9100`,
		"ftp://x":         `printer URL "ftp://x": scheme must be tcp, usb, serial or file`,
	} {
		assert.EqualError(t, CheckURL(raw), want, raw)
		_, err := Open(context.Background(), raw, Options{})
		assert.EqualError(t, err, want, raw)
	}
	// URLs of the other kinds are left to their own checks.
	for _, raw := range []string{"usb:0a5f:0166", "serial:/dev/ttyUSB0", "file:///tmp/labels"} {
		if err := CheckURL(raw); err != nil {
			assert.NotContains(t, err.Error(), "no scheme", raw)
		}
	}
}
