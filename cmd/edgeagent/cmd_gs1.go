package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/edgeagent/edgeagent/internal/gs1"
)

type gs1JSON struct {
	Symbology string        `json:"symbology"`
	Elements  []gs1.Element `json:"elements"`
	HRI       string        `json:"hri"`
}

func cmdGS1Parse(e env) error {
	fs := flags(e, "gs1 parse", "[--json] [DATA]",
		"Parse and validate GS1 data: bracketed (01)…(21)…, raw scanner data with or without an AIM\n"+
			"symbology identifier (]d2, ]C1, ]Q3, ]e0, …) and GS (0x1D) separators, or a GS1 Digital Link URI.\n"+
			"Without DATA, all of standard input is read as raw bytes. One line ending (CR LF, LF or CR) at the\n"+
			"end is removed; every other byte is kept. Invalid data, and plain (non-GS1) data, exits 1.")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	var data []byte
	switch len(pos) {
	case 0:
		if data, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20)); err != nil {
			return err
		}
	case 1:
		data = []byte(pos[0])
	default:
		return usageError{"give DATA as one argument (quote it) or on stdin"}
	}
	msg, err := gs1.Parse(trimLineEnd(data))
	if err != nil {
		return exitError{1, err}
	}
	if *asJSON {
		out := gs1JSON{Symbology: msg.Symbology, Elements: msg.Elements, HRI: msg.Bracketed()}
		if out.Elements == nil {
			out.Elements = []gs1.Element{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	if msg.Symbology != "" {
		fmt.Fprintf(e.stdout, "symbology: %s\n", msg.Symbology)
	}
	if msg.Plain != "" && len(msg.Elements) == 0 {
		fmt.Fprintf(e.stdout, "plain data (not GS1 AI data): %q\n", msg.Plain)
	}
	for _, el := range msg.Elements {
		title := ""
		if ai, ok := gs1.Lookup(el.AI); ok {
			title = ai.Title
		}
		fmt.Fprintf(e.stdout, "(%s) %-22s %s\n", el.AI, title, el.Value)
	}
	if yymmdd, ok := msg.Get("17"); ok && gs1.ExpiryDayZero(yymmdd) {
		fmt.Fprintln(e.stdout, "note: expiry day 00 means the last day of the month; do not print it on regulated healthcare products")
	}
	return nil
}

// trimLineEnd removes one line ending, which echo, printf, a here-string and
// a scanner's suffix add to the data.
func trimLineEnd(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n")), bytes.HasSuffix(b, []byte("\r")):
		return b[:len(b)-1]
	}
	return b
}

func cmdGS1SSCC(e env) error {
	fs := flags(e, "gs1 sscc", "--ext D --prefix P --ref N",
		"Print the 18-digit SSCC made of extension digit D, GS1 Company Prefix P and serial reference N, with its check digit.")
	ext := fs.Int("ext", -1, "extension digit, 0-9")
	prefix := fs.String("prefix", "", "GS1 Company Prefix, 4-12 digits")
	ref := fs.String("ref", "", "serial reference (digits)")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *ext < 0 || *prefix == "" || *ref == "" {
		return usageError{"--ext, --prefix and --ref are required"}
	}
	n, err := strconv.ParseUint(*ref, 10, 64)
	if err != nil {
		return exitError{1, fmt.Errorf("--ref %q: must be a number of digits", *ref)}
	}
	s, err := gs1.SSCC(*ext, *prefix, n)
	if err != nil {
		return exitError{1, err}
	}
	fmt.Fprintln(e.stdout, s)
	return nil
}

func cmdGS1CheckDigit(e env) error {
	fs := flags(e, "gs1 check-digit", "DIGITS", "Print DIGITS followed by their GS1 mod-10 check digit.")
	pos, err := parseInterspersed(fs, e.args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one string of digits"}
	}
	c, err := gs1.CheckDigit(pos[0])
	if err != nil {
		return exitError{1, err}
	}
	fmt.Fprintf(e.stdout, "%s%c\n", pos[0], c)
	return nil
}
