package v2

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/edgeagent/edgeagent/internal/spell"
)

// Decode reads a request body into v (a pointer to a request type) the
// strict way: one JSON object of valid UTF-8, keys spelled exactly as the
// dialect spells them, each at most once, no keys the request does not
// have, and values of the right kind. Every fault is reported, each with
// its field (serials[1], child_trade_items[0].batch), as FieldErrors.
func Decode(body []byte, v any) error {
	var c Checker
	if !utf8.Valid(body) {
		c.Fail("body", "must be UTF-8 text")
		return c.Result()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	t := reflect.TypeOf(v).Elem()
	if err := walk(dec, t, "", &c); err != nil {
		if err == io.EOF && dec.InputOffset() > 0 {
			err = io.ErrUnexpectedEOF
		}
		c.Fail("body", "must be one JSON object (%s)", plainJSONError(err))
		return c.Result()
	}
	if _, err := dec.Token(); err != io.EOF {
		c.Fail("body", "must be one JSON object, with nothing after it")
	}
	if err := c.Result(); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.Fail("body", "must be one JSON object (%s)", plainJSONError(err))
		return c.Result()
	}
	return nil
}

// walk reads one value of type t at path, recording what breaks a rule.
// It returns an error only when the text is not JSON at all.
func walk(dec *json.Decoder, t reflect.Type, path string, c *Checker) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	name := path
	if name == "" {
		name = "body"
	}
	if tok == nil { // null: the field is as if absent
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			c.Fail(name, "must be an object")
			return skip(dec, tok)
		}
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			kpath := key
			if path != "" {
				kpath = path + "." + key
			}
			f, known := fields[key]
			switch {
			case seen[key]:
				c.Fail(kpath, "is given twice")
			case !known:
				if near := nearest(fields, key); near != "" {
					c.Fail(kpath, "is not a field of this request (did you mean %q?)", near)
				} else {
					c.Fail(kpath, "is not a field of this request")
				}
			}
			seen[key] = true
			if !known {
				var skipped json.RawMessage
				if err := dec.Decode(&skipped); err != nil {
					return err
				}
				continue
			}
			if err := walk(dec, f, kpath, c); err != nil {
				return err
			}
		}
		_, err := dec.Token() // }
		return err
	case reflect.Slice:
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			c.Fail(name, "must be a list")
			return skip(dec, tok)
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, t.Elem(), path+"["+strconv.Itoa(i)+"]", c); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return err
	case reflect.String:
		if _, ok := tok.(string); !ok {
			c.Fail(name, "must be text (in quotes)")
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := tok.(json.Number)
		if !ok {
			c.Fail(name, "must be a whole number")
			break
		}
		if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			c.Fail(name, "must be a whole number from -2147483648 to 2147483647, got %s", clip(string(n), 24))
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			c.Fail(name, "must be true or false")
		}
	}
	return skip(dec, tok)
}

// skip consumes the rest of a value whose first token was tok.
func skip(dec *json.Decoder, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// jsonFields maps a struct's JSON keys to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// nearest is the field a misspelt key most likely meant.
func nearest(fields map[string]reflect.Type, key string) string {
	return spell.Nearest(slices.Sorted(maps.Keys(fields)), key)
}

// plainJSONError says what is wrong with text that is not JSON, without
// the decoder's type names.
func plainJSONError(err error) string {
	var se *json.SyntaxError
	switch {
	case err == io.EOF:
		return "the body is empty"
	case err == io.ErrUnexpectedEOF:
		return "the text ends too early"
	case asSyntax(err, &se):
		return "not valid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return "not valid JSON"
}

func asSyntax(err error, se **json.SyntaxError) bool {
	s, ok := err.(*json.SyntaxError)
	if ok {
		*se = s
	}
	return ok
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
