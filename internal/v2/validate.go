package v2

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError is a request field that breaks a documented rule.
type FieldError struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// FieldErrors are every broken rule of a request, in the order of its
// fields. errors.As finds each *FieldError in it.
type FieldErrors []*FieldError

func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns each field's error.
func (e FieldErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, f := range e {
		out[i] = f
	}
	return out
}

// Checker collects the broken rules of a request: each field's first.
type Checker struct {
	errs   FieldErrors
	failed map[string]bool
}

// Fail records a broken rule; a field already failed keeps its first.
func (c *Checker) Fail(field, format string, a ...any) {
	if c.failed[field] {
		return
	}
	if c.failed == nil {
		c.failed = map[string]bool{}
	}
	c.failed[field] = true
	c.errs = append(c.errs, &FieldError{Field: field, Rule: fmt.Sprintf(format, a...)})
}

// Failed reports whether a field broke a rule already.
func (c *Checker) Failed(field string) bool { return c.failed[field] }

// Result is nil, or every broken rule (FieldErrors).
func (c *Checker) Result() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// Printable checks a free text identifier (order IDs, tags): 1 to maxLen
// characters of valid text, no control characters, not only spaces.
func (c *Checker) Printable(field, v string, maxLen int) {
	if v == "" {
		return
	}
	if !utf8.ValidString(v) {
		c.Fail(field, "must be valid UTF-8 text")
		return
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		c.Fail(field, "must be 1-%d characters, got %d", maxLen, n)
		return
	}
	if strings.TrimSpace(v) == "" {
		c.Fail(field, "must not be only spaces")
		return
	}
	for i, r := range v {
		if unicode.IsControl(r) {
			c.Fail(field, "must not hold control characters (U+%04X at byte %d)", r, i+1)
			return
		}
	}
}

// ZPLSafe checks a value that labels print: no ZPL command characters.
func (c *Checker) ZPLSafe(field, v string) {
	if strings.ContainsAny(v, "^~") {
		c.Fail(field, "must not hold ^ or ~ (they start printer commands)")
	}
}

func (c *Checker) Required(field, v string) {
	if v == "" {
		c.Fail(field, "is required")
	}
}

// length checks 1 to max characters when the value is present.
func (c *Checker) Length(field, v string, maxLen int) {
	if v != "" && len([]rune(v)) > maxLen {
		c.Fail(field, "must be 1-%d characters, got %d", maxLen, len([]rune(v)))
	}
}

func (c *Checker) Schema(field, v string) {
	if v != "GTIN" {
		c.Fail(field, `must be "GTIN", got %q`, v)
	}
}

// gtin checks a 14-digit GTIN with its check digit.
func (c *Checker) Gtin(field, v string) {
	if !ValidGS1Key(v, 14) {
		c.Fail(field, "must be a GTIN-14: 14 digits with a valid check digit, got %q", v)
	}
}

func (c *Checker) Sscc(field, v string) {
	if !ValidGS1Key(v, 18) {
		c.Fail(field, "must be an SSCC: 18 digits with a valid check digit, got %q", v)
	}
}

// yymmdd checks an expiry date; day 00 means the last day of the month.
func (c *Checker) Yymmdd(field, v string) {
	if v == "" {
		return
	}
	if len(v) != 6 || !allDigits(v) {
		c.Fail(field, "must be a date YYMMDD, got %q", v)
		return
	}
	mm := int(v[2]-'0')*10 + int(v[3]-'0')
	dd := int(v[4]-'0')*10 + int(v[5]-'0')
	yy := int(v[0]-'0')*10 + int(v[1]-'0')
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if mm < 1 || mm > 12 {
		c.Fail(field, "month %02d is not 01-12 in %q", mm, v)
		return
	}
	maxDay := days[mm]
	if mm == 2 && yy%4 == 0 {
		maxDay = 29
	}
	if dd > maxDay {
		c.Fail(field, "day %02d is not 00-%02d in %q (00 means the last day of the month)", dd, maxDay, v)
	}
}

// Cset82 checks a GS1 serial or batch: 1-maxLen characters of CSET 82.
func (c *Checker) Cset82(field, v string, maxLen int) {
	if v == "" || len(v) > maxLen {
		c.Fail(field, "must be 1-%d characters of GS1 character set 82, got %d", maxLen, utf8.RuneCountInString(v))
		return
	}
	for i := 0; i < len(v); i++ {
		if !isCSET82(v[i]) {
			c.Fail(field, "character %q at position %d is not allowed in GS1 data (CSET 82)", v[i], i+1)
			return
		}
	}
}

func isCSET82(ch byte) bool {
	switch {
	case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.IndexByte("!\"%&'()*+,-./:;<=>?_", ch) >= 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ValidGS1Key reports whether s is n digits ending in a valid GS1 mod-10
// check digit (weights 3 and 1 from the right).
func ValidGS1Key(s string, n int) bool {
	if len(s) != n || !allDigits(s) {
		return false
	}
	sum := 0
	for i := n - 2; i >= 0; i-- {
		d := int(s[i] - '0')
		if (n-2-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[n-1]-'0')
}
