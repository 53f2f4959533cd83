package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/edgeagent/edgeagent/internal/zpl"
)

// dataFlag collects repeated --data key=value flags.
type dataFlag struct{ d zpl.Data }

func (f *dataFlag) String() string { return "" }

func (f *dataFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: write key=value", s)
	}
	if f.d == nil {
		f.d = zpl.Data{}
	}
	if _, dup := f.d[k]; dup {
		return fmt.Errorf("key %q given twice", k)
	}
	f.d[k] = v
	return nil
}

// templateArgs are the flags that choose a template and its data.
type templateArgs struct {
	template, dir *string
	data          dataFlag
}

func addTemplateFlags(fs *flag.FlagSet) *templateArgs {
	a := &templateArgs{
		template: fs.String("template", "", "template file or built-in tag"),
		dir:      fs.String("dir", "", "directory of template files, for tags"),
	}
	fs.Var(&a.data, "data", "a value, key=value (repeat for each key)")
	return a
}

// parse reads the flags; the commands take no positional arguments.
func (a *templateArgs) parse(fs *flag.FlagSet, args []string) error {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"unexpected argument " + strconv.Quote(pos[0])}
	}
	return nil
}

// templateSet returns the built-in templates plus those in dir.
func templateSet(dir string) (*zpl.Set, error) {
	if dir == "" {
		return zpl.Builtin(), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	return zpl.Load(os.DirFS(dir))
}

// loadTemplate takes a file path or a tag.
func loadTemplate(arg, dir string) (*zpl.Template, error) {
	if arg == "" {
		return nil, usageError{"--template FILE|TAG is required"}
	}
	if strings.HasSuffix(arg, ".zpl") || strings.ContainsRune(arg, filepath.Separator) {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		return zpl.Compile(arg, src)
	}
	set, err := templateSet(dir)
	if err != nil {
		return nil, fmt.Errorf("--dir: %w", err)
	}
	t, ok := set.Get(arg)
	if !ok {
		return nil, fmt.Errorf("no template with tag %q (templates: %s)", arg, strings.Join(set.Tags(), ", "))
	}
	return t, nil
}

func cmdZPLTemplates(e env) error {
	fs := flags(e, "zpl templates", "[--dir DIR]", "List the label templates: built-in ones, and those in DIR (*.zpl) that add to or replace them.")
	dir := fs.String("dir", "", "directory of template files")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"no arguments expected"}
	}
	set, err := templateSet(*dir)
	if err != nil {
		return exitError{1, fmt.Errorf("--dir: %w", err)}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tSIZE\tDPMM\tKEYS\tFILE\tDESCRIPTION")
	for _, tag := range set.Tags() {
		t, _ := set.Get(tag)
		size := "-"
		if t.WidthMM > 0 {
			size = fmt.Sprintf("%gx%gmm", t.WidthMM, t.HeightMM)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", t.Tag, size, t.DPMM, strings.Join(t.Keys, ","), t.File, t.Description)
	}
	return tw.Flush()
}

func cmdZPLRender(e env) error {
	fs := flags(e, "zpl render", "--template FILE|TAG --data k=v … [--count N]",
		"Render a label template to ZPL on standard output. Every key the template takes must be given.\n"+
			"With --count N, N labels are written; the serial (key serial) counts up from the one given.")
	ta := addTemplateFlags(fs)
	count := fs.Int("count", 1, "number of labels")
	if err := ta.parse(fs, e.args); err != nil {
		return err
	}
	if *count < 1 || *count > 1_000_000 {
		return usageError{"--count must be 1 to 1000000"}
	}
	t, err := loadTemplate(*ta.template, *ta.dir)
	if err != nil {
		return asExit(err)
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	var buf []byte
	d := ta.data.d
	for i := 0; i < *count; i++ {
		if i > 0 {
			if d, err = nextSerial(d); err != nil {
				return exitError{1, err}
			}
		}
		if buf, err = t.Render(buf[:0], d); err != nil {
			return exitError{1, err}
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}

// nextSerial returns data with the serial's trailing number one higher,
// keeping its width.
func nextSerial(d zpl.Data) (zpl.Data, error) {
	s, ok := d["serial"]
	if !ok {
		return d, nil
	}
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return nil, fmt.Errorf("--count: serial %q does not end in digits to count up", s)
	}
	digits := []byte(s[i:])
	j := len(digits) - 1
	for ; j >= 0; j-- {
		if digits[j] < '9' {
			digits[j]++
			break
		}
		digits[j] = '0'
	}
	if j < 0 {
		return nil, fmt.Errorf("--count: serial %q would overflow its %d digits", s, len(digits))
	}
	out := make(zpl.Data, len(d))
	for k, v := range d {
		out[k] = v
	}
	out["serial"] = s[:i] + string(digits)
	return out, nil
}

func cmdZPLLint(e env) error {
	fs := flags(e, "zpl lint", "FILE…",
		"Check templates or label formats: ^XA/^XZ, unknown commands, raw ^ or ~ in field data, Data Matrix\n"+
			"not in GS1 mode, fields outside the label, undeclared placeholders. Exits 1 when it finds anything.")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{"give at least one FILE"}
	}
	n := 0
	for _, name := range pos {
		src, err := os.ReadFile(name)
		if err != nil {
			return exitError{1, err}
		}
		for _, f := range zpl.Lint(name, src) {
			fmt.Fprintf(e.stdout, "%s:%s\n", name, f)
			n++
		}
	}
	if n > 0 {
		return exitError{1, fmt.Errorf("%d finding(s)", n)}
	}
	return nil
}

func cmdZPLPreview(e env) error {
	fs := flags(e, "zpl preview", "--template FILE|TAG --data k=v … --out FILE.png [--dpmm 8]",
		"Draw a label as PNG, one pixel per printer dot. Without --data, the template's sample data is used.")
	ta := addTemplateFlags(fs)
	out := fs.String("out", "", "PNG file to write")
	dpmm := fs.Int("dpmm", 0, "printer resolution in dots per mm: 6, 8, 12 or 24 (default: the template's)")
	if err := ta.parse(fs, e.args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--out FILE.png is required"}
	}
	if *dpmm != 0 && *dpmm != 6 && *dpmm != 8 && *dpmm != 12 && *dpmm != 24 {
		return usageError{"--dpmm must be 6, 8, 12 or 24"}
	}
	t, err := loadTemplate(*ta.template, *ta.dir)
	if err != nil {
		return asExit(err)
	}
	d := ta.data.d
	if d == nil {
		if t.Sample == nil {
			return usageError{fmt.Sprintf("template %s has no sample data: give --data for %s", t.Tag, strings.Join(t.Keys, ", "))}
		}
		d = t.Sample
		fmt.Fprintf(e.stderr, "using the sample data of template %s\n", t.Tag)
	}
	img, warnings, err := t.Preview(d, *dpmm)
	if err != nil {
		return exitError{1, err}
	}
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	var buf bytes.Buffer
	if err := zpl.EncodePNG(&buf, img); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return exitError{1, err}
	}
	return nil
}

func asExit(err error) error {
	var u usageError
	if errors.As(err, &u) {
		return err
	}
	return exitError{1, err}
}
