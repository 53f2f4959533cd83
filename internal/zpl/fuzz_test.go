package zpl

import (
	"fmt"
	"testing"
	"time"
)

// FuzzTemplate compiles arbitrary template text, renders it with the fuzzed
// value in every key, draws the result and lints the source: none of it may
// panic, and what renders must draw or fail with an error.
func FuzzTemplate(f *testing.F) {
	for _, tag := range Builtin().Tags() {
		src, _ := builtinFS.ReadFile("builtin/" + tag + ".zpl")
		f.Add(src, "AB_1CD")
	}
	f.Add([]byte("^FX tag: x\n^FX keys: a\n^XA^FO1,1^BQN,2,3^FD{{gs1 01=a 10=a}}^FS^XZ"), "09506000134352")
	f.Add([]byte("^FX tag: x\n^FX keys: a\n^XA^FO1,1^FB100,2,0,C^FH\\^FD{{a}}\\&x^FS^XZ"), "^~\\_")
	f.Add([]byte("^FX tag: x\n^FX keys: a\n^XA^CI28^FO1,1^BCN,40,Y,N,N,D^FD(10){{a}}^FS^XZ"), "é")
	f.Add([]byte("^XA^FO10,10^BXR,3,200,,,,_^FD_d065_@^FS^FO5,5^GB10,10,3,W^FS^XZ"), "")
	f.Fuzz(func(t *testing.T, src []byte, value string) {
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("slow input %q %q", src, value)) })
		defer tm.Stop()
		_ = Lint("fuzz.zpl", src)
		_, _, _ = Preview(src, PreviewOptions{Width: 400, Height: 400})
		tp, err := Compile("fuzz.zpl", src)
		if err != nil {
			return
		}
		d := Data{}
		for _, k := range tp.Keys {
			d[k] = value
		}
		out, err := tp.Render(nil, d)
		if err != nil {
			return
		}
		if tp.raw {
			return
		}
		_, _, _ = Preview(out, PreviewOptions{Width: 400, Height: 400})
	})
}
