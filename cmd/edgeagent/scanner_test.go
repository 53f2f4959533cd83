package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A wedge read that lost its GS is refused by scanner listen as a station
// refuses it, not printed as if it were fine.
func TestScannerListenRefusesAmbiguousWedgeRead(t *testing.T) {
	lost := "]d2010950600013435217261231" + "10AB1221SN1\n"
	code, out, errs := runCLI(t, lost+"]d2010950600013435217261231"+"10AB12|21SN1\n", "scanner", "listen", "stdin?gs=|", "--wedge")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "    refused: Barcode not usable: unclear read: (01) 09506000134352 (17) 261231 (10) AB1221SN1 could also be (01) 09506000134352 (17) 261231 (10) AB12 (21) SN1;")
	require.Contains(t, out, "<GS>21SN1  stdin\n    (01) 09506000134352\n    (17) 261231\n    (10) AB12\n    (21) SN1\n", "the substitute is GS again")

	// Piped data is not typed: it keeps its bytes as they are.
	code, out, errs = runCLI(t, lost, "scanner", "listen", "stdin")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "    (10) AB1221SN1\n")
	require.NotContains(t, out, "refused")
}

func TestScannerListenRefusesUnknownLayout(t *testing.T) {
	for _, args := range [][]string{
		{"scanner", "listen", "stdin", "--layout", "xx"},
		{"scanner", "listen", "--layout=jp", "serial:///dev/ttyACM0"},
	} {
		code, out, errs := runCLI(t, "]C0CMD:CLOSE\n", args...)
		require.Equal(t, 2, code, "%v: %s", args, errs)
		require.Empty(t, out)
		require.Contains(t, errs, "must be one of us, uk, de, fr\nusage: edgeagent scanner listen URL", args)
	}
	code, _, errs := runCLI(t, "]C0CMD:CLOSE\n", "scanner", "listen", "stdin", "--layout", "de")
	require.Equal(t, 0, code, errs)
}
