package zpl

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

var benchPack = Data{"gtin": "09506000134352", "expiry": "261231", "batch": "AB_1CD", "serial": "SN0001X7"}

// packTextTemplate is the pack label done the usual way, with text/template
// and helper functions doing the same validation and escaping.
func packTextTemplate(tb testing.TB) *template.Template {
	src, err := builtinFS.ReadFile("builtin/pack.zpl")
	require.NoError(tb, err)
	body := strings.TrimSpace(string(src[strings.Index(string(src), "^XA"):]))
	gs1ph := "{{gs1 01=gtin 17=expiry 10=batch 21=serial}}"
	body = strings.Replace(body, gs1ph, "{{dm .}}", 1)
	body = strings.Replace(body, gs1ph, "{{hri .}}", 1)
	ais := []struct{ ai, key string }{{"01", "gtin"}, {"17", "expiry"}, {"10", "batch"}, {"21", "serial"}}
	funcs := template.FuncMap{
		"dm": func(d Data) (string, error) {
			var b strings.Builder
			b.WriteString("_1")
			for i, a := range ais {
				v := d[a.key]
				if err := gs1.ValidateElement(a.ai, v); err != nil {
					return "", fmt.Errorf("%s: %w", a.key, err)
				}
				b.WriteString(a.ai)
				b.WriteString(strings.ReplaceAll(v, "_", "__"))
				if i < len(ais)-1 && gs1.NeedsSeparator(a.ai) {
					b.WriteString("_1")
				}
			}
			return b.String(), nil
		},
		"hri": func(d Data) (string, error) {
			parts := make([]string, len(ais))
			for i, a := range ais {
				v := d[a.key]
				if strings.ContainsAny(v, "^~") {
					return "", fmt.Errorf("%s: needs ^FH", a.key)
				}
				parts[i] = "(" + a.ai + ") " + v
			}
			return strings.Join(parts, `\&`), nil
		},
	}
	return template.Must(template.New("pack").Funcs(funcs).Parse(body))
}

func TestTextTemplateEquivalent(t *testing.T) {
	tp, _ := Builtin().Get("pack")
	want, err := tp.Render(nil, benchPack)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, packTextTemplate(t).Execute(&buf, benchPack))
	require.Equal(t, string(want), buf.String())
}

func reportRate(b *testing.B, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit)
	}
}

// BenchmarkRenderPack is one pack label, validated and escaped, per
// iteration, on one goroutine: labels/s per core.
func BenchmarkRenderPack(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one core, as its row in the table says
	tp, _ := Builtin().Get("pack")
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = tp.Render(buf[:0], benchPack); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "labels/s")
}

// BenchmarkRenderPackTextTemplate is the same label with text/template.
func BenchmarkRenderPackTextTemplate(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one core, as its row in the table says
	tt := packTextTemplate(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := tt.Execute(&buf, benchPack); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "labels/s")
}

// BenchmarkPreviewPack draws the pack label at 8 dpmm and encodes the PNG.
func BenchmarkPreviewPack(b *testing.B) {
	tp, _ := Builtin().Get("pack")
	var buf bytes.Buffer
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		img, _, err := tp.Preview(benchPack, 8)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := EncodePNG(&buf, img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/label")
}
