//go:build hardware

package hardwaretests

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/label"
	"github.com/edgeagent/edgeagent/internal/printer"
)

// printerURL returns the printer URL named by an environment variable, or
// skips the test.
func printerURL(t *testing.T, env, scheme string) string {
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("hardware test: set %s to a printer (e.g. %s)", env, map[string]string{
			"tcp": "10.0.0.5:9100", "usb": "0a5f:0166?serial=XXQLJ123456", "serial": "/dev/ttyUSB0?baud=9600"}[scheme])
	}
	if scheme == "serial" {
		return "serial://" + v
	}
	return scheme + "://" + v
}

// printAndConfirm reads the status, prints one test label through the runner
// and checks that the odometer moved by exactly one.
func printAndConfirm(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := printer.Open(ctx, url, printer.Options{})
	require.NoError(t, err)
	c := printer.NewConn(tr, 3*time.Second)
	st, err := c.ReadStatus(ctx)
	require.NoError(t, err)
	t.Logf("status: %+v", st)
	require.True(t, st.Ready, "printer ready (ZPL mode, no faults): %v", st.Faults)
	before, ok, err := c.Odometer(ctx)
	require.NoError(t, err)
	c.Close()

	data := fmt.Sprintf("^XA^PW400^LL200^FO20,20^A0N,30^FDedgeagent hardware test^FS^FO20,60^A0N,24^FD%s^FS^PQ1^XZ", time.Now().Format(time.RFC3339))
	test := label.Label{Ref: label.Ref{Kind: label.Test, ID: 1}, Subject: "HWTEST", Data: []byte(data)}
	q := printer.NewQueue()
	require.NoError(t, q.Add(test))
	p, err := printer.New(printer.Config{URL: url}, q, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(runCtx) }()
	require.NoError(t, q.Wait(ctx, test.Ref))
	stop() // the printer serves one connection at a time
	require.NoError(t, <-stopped)
	out, reason := q.Outcome(test.Ref)
	require.Equal(t, printer.OutcomePrinted, out, reason)

	if ok {
		tr, err := printer.Open(ctx, url, printer.Options{})
		require.NoError(t, err)
		c := printer.NewConn(tr, 3*time.Second)
		defer c.Close()
		after, _, err := c.Odometer(ctx)
		require.NoError(t, err)
		require.Equal(t, before+1, after, "the odometer moved by one label")
	}
}

func TestPrinterTCP(t *testing.T) {
	printAndConfirm(t, printerURL(t, "EDGEAGENT_HW_PRINTER_TCP", "tcp"))
}

func TestPrinterUSB(t *testing.T) {
	url := printerURL(t, "EDGEAGENT_HW_PRINTER_USB", "usb")
	devs, err := printer.DiscoverUSB()
	require.NoError(t, err)
	require.NotEmpty(t, devs, "printer discover finds the attached printer")
	printAndConfirm(t, url)
}

func TestPrinterSerial(t *testing.T) {
	printAndConfirm(t, printerURL(t, "EDGEAGENT_HW_PRINTER_SERIAL", "serial"))
}
