//go:build hardware

package hardwaretests

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/scanner"
)

// TestScannerReadsTheTestSheet asks the operator to scan the pack label and
// the NEW command of the test sheet, printed beforehand with
//
//	edgeagent zpl render --template pack --data gtin=09506000134352 --data expiry=261231 \
//	  --data batch=AB_1CD --data serial=SN0001 | nc PRINTER 9100
//	edgeagent zpl render --template commands --data station=TEST | nc PRINTER 9100
//
// and checks that both arrive whole: the GS separator too.
func TestScannerReadsTheTestSheet(t *testing.T) {
	url := os.Getenv("EDGEAGENT_HW_SCANNER")
	if url == "" {
		t.Skip("hardware test: set EDGEAGENT_HW_SCANNER to a scanner URL (e.g. serial:///dev/ttyACM0?baud=115200, or evdev:///dev/input/by-id/…?layout=de)")
	}
	src, err := scanner.Open(url, scanner.Options{Log: zerolog.New(zerolog.NewTestWriter(t))})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := make(chan scanner.Scan, 4)
	go src.Run(ctx, out)

	next := func(prompt string) scanner.Decoded {
		t.Log(prompt)
		select {
		case s := <-out:
			return scanner.Decode(s)
		case <-ctx.Done():
			t.Fatalf("no scan within the time: %s", prompt)
		}
		return scanner.Decoded{}
	}
	d := next("scan the pack label (GS1 DataMatrix) now")
	require.NoError(t, d.Err)
	require.NotNil(t, d.GS1)
	require.Equal(t, "(01)09506000134352(17)261231(10)AB_1CD(21)SN0001", d.GS1.Bracketed())
	require.Equal(t, "]d2", d.Symbology, "set the scanner to send the AIM symbology identifier")

	d = next("scan the NEW command (Code 128) now")
	require.NoError(t, d.Err)
	require.Equal(t, "CMD:NEW", d.Plain)
}
