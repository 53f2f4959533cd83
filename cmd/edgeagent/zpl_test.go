package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

func TestZPLTemplatesAndRender(t *testing.T) {
	code, out, _ := runCLI(t, "", "zpl", "templates")
	require.Equal(t, 0, code)
	for _, want := range []string{"pack      50x30mm", "gtin,expiry,batch,serial", "sscc      100x70mm", "shipping", "commands"} {
		require.Contains(t, out, want)
	}

	code, out, errs := runCLI(t, "", "zpl", "render", "--template", "pack", "--data", "gtin=09506000134352",
		"--data", "expiry=261231", "--data", "batch=AB_1CD", "--data", "serial=SN0098", "--count", "3")
	require.Equal(t, 0, code, errs)
	require.Equal(t, 3, strings.Count(out, "^XA"))
	for _, sn := range []string{"SN0098", "SN0099", "SN0100"} {
		require.Contains(t, out, "^FD_10109506000134352172612311"+"0AB__1CD_121"+sn+"^FS")
	}

	code, out, errs = runCLI(t, "", "zpl", "render", "--template", "pack", "--data", "gtin=09506000134352", "--data", "expiry=261231", "--data", "batch=B")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, "edgeagent zpl render: serial: missing: template pack takes gtin, expiry, batch, serial\n", errs)

	code, _, errs = runCLI(t, "", "zpl", "render", "--template", "pack", "--data", "gtin=09506000134353", "--data", "expiry=261231", "--data", "batch=B", "--data", "serial=1")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "gtin: AI (01): incorrect check digit")

	code, _, errs = runCLI(t, "", "zpl", "render", "--template", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errs, `no template with tag "nope" (templates: commands, pack, shipping, sscc)`)

	code, _, errs = runCLI(t, "", "zpl", "render", "--template", "sscc", "--data", "sscc")
	require.Equal(t, 2, code)
	require.Contains(t, errs, `"sscc": write key=value`)
}

func TestZPLTemplateDirectoryAndLint(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "lot.zpl")
	require.NoError(t, os.WriteFile(good, []byte("^FX tag: lot\n^FX keys: lot\n^XA^PW400^LL200^FO10,10^A0N,30^FD{{lot}}^FS^XZ\n"), 0o600))
	code, out, _ := runCLI(t, "", "zpl", "templates", "--dir", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "lot       -")
	code, out, _ = runCLI(t, "", "zpl", "render", "--dir", dir, "--template", "lot", "--data", "lot=L^1")
	require.Equal(t, 0, code)
	require.Contains(t, out, "^FH_^FDL_5E1^FS")
	code, out, _ = runCLI(t, "", "zpl", "lint", good)
	require.Equal(t, 0, code, out)

	bad := filepath.Join(dir, "bad.zpl")
	require.NoError(t, os.WriteFile(bad, []byte("^XA\n^FO10,10^FDa~b^FS\n"), 0o600))
	code, out, errs := runCLI(t, "", "zpl", "lint", bad)
	require.Equal(t, 1, code)
	require.Equal(t, bad+":2:13: raw-data: raw ~ in field data: write it with ^FH as _7E\n"+
		bad+":3:1: format: missing ^XZ: a label format ends with ^XZ\n", out)
	require.Contains(t, errs, "2 finding(s)")
}

func TestZPLPreviewDecodes(t *testing.T) {
	png1 := filepath.Join(t.TempDir(), "pack.png")
	code, _, errs := runCLI(t, "", "zpl", "preview", "--template", "pack", "--data", "gtin=09506000134352",
		"--data", "expiry=261231", "--data", "batch=AB_1CD", "--data", `serial=SN"%&()/`, "--out", png1, "--dpmm", "12")
	require.Equal(t, 0, code, errs)
	f, err := os.Open(png1)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, 400, img.Bounds().Dx(), "^PW400 holds at any resolution")
	// The symbol alone: gozxing's detector is misled by the text beside it.
	d, err := testutil.Decode(img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 160, 200)), testutil.DataMatrix)
	require.NoError(t, err)
	require.Equal(t, "010950600013435217261231"+"10AB_1CD\x1d21SN\"%&()/", d.Text)

	code, _, errs = runCLI(t, "", "zpl", "preview", "--template", "sscc", "--out", filepath.Join(t.TempDir(), "s.png"))
	require.Equal(t, 0, code)
	require.Contains(t, errs, "using the sample data of template sscc")

	code, _, errs = runCLI(t, "", "zpl", "preview", "--template", "pack", "--out", "x.png", "--dpmm", "9")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--dpmm must be 6, 8, 12 or 24")
}
