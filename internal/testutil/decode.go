package testutil

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Symbology names a barcode family for Decode.
type Symbology string

// The symbologies Decode reads.
const (
	DataMatrix Symbology = "datamatrix"
	Code128    Symbology = "code128"
	QRCode     Symbology = "qrcode"
)

// Decoded is what an independent decoder (gozxing, a Go port of ZXing) read
// from an image.
type Decoded struct {
	Text string // FNC1 after the first is GS (0x1D); a leading FNC1 is dropped
	// AIM symbology identifier, e.g. "]d2" for GS1 DataMatrix, "]C1" for
	// GS1-128, "]Q3" for GS1 QR.
	AIM string
}

// Decode reads one barcode of the given family from img, which may be a
// whole label: the image gets a white quiet zone first, so a symbol drawn at
// the edge of the label still decodes.
func Decode(img image.Image, sym Symbology) (Decoded, error) {
	padded := pad(img, 40)
	src := gozxing.NewLuminanceSourceFromImage(padded)
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return Decoded{}, err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	var r gozxing.Reader
	switch sym {
	case DataMatrix:
		hints[gozxing.DecodeHintType_PURE_BARCODE] = false
		r = datamatrix.NewDataMatrixReader()
	case Code128:
		hints[gozxing.DecodeHintType_ASSUME_GS1] = true
		r = oned.NewCode128Reader()
	case QRCode:
		r = qrcode.NewQRCodeReader()
	default:
		return Decoded{}, fmt.Errorf("unknown symbology %q", sym)
	}
	res, err := r.Decode(bmp, hints)
	if err != nil {
		return Decoded{}, fmt.Errorf("decode %s: %w", sym, err)
	}
	d := Decoded{Text: res.GetText()}
	if id, ok := res.GetResultMetadata()[gozxing.ResultMetadataType_SYMBOLOGY_IDENTIFIER].(string); ok {
		d.AIM = id
	}
	switch {
	case sym == Code128 && len(d.Text) >= 3 && d.Text[:3] == "]C1":
		d.Text, d.AIM = d.Text[3:], "]C1"
	case sym == DataMatrix && d.AIM == "]d2" && len(d.Text) > 0 && d.Text[0] == 0x1D:
		d.Text = d.Text[1:]
	}
	return d, nil
}

func pad(img image.Image, n int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()+2*n, b.Dy()+2*n))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(n, n, n+b.Dx(), n+b.Dy()), img, b.Min, draw.Src)
	return out
}

// ReadPNG reads a PNG file.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
