package gs1

import "strings"

// matchPattern reports whether ai matches a pattern such as "01", "310n" or
// "35nn": same length, same leading digits, 'n' standing for any digit.
func matchPattern(pattern, ai string) bool {
	if len(pattern) != len(ai) {
		return false
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != 'n' && pattern[i] != ai[i] {
			return false
		}
	}
	return true
}

// present reports whether an element other than self matches the pattern.
func present(els []Element, pattern, self string) (string, bool) {
	for _, e := range els {
		if e.AI != self && matchPattern(pattern, e.AI) {
			return e.AI, true
		}
	}
	return "", false
}

// validateAssociations applies the rules that span elements: exclusions,
// mandatory associations, repeated AIs and the serial component that a
// digital signature (8030) needs in its key.
func validateAssociations(els []Element) error {
	for _, e := range els {
		d := lookupExact(e.AI)
		for _, pat := range d.ex {
			if other, ok := present(els, pat, e.AI); ok {
				return errorf(e.AI, -1, RuleExcludes, "must not be used together with AI (%s)", other)
			}
		}
	}
	for _, e := range els {
		d := lookupExact(e.AI)
		for _, rule := range d.req {
			if !ruleHolds(els, rule, e.AI) {
				return errorf(e.AI, -1, RuleRequires, "needs %s in the same data", describeRule(rule))
			}
		}
	}
	for i, a := range els {
		for _, b := range els[i+1:] {
			if a.AI == b.AI && a.Value != b.Value {
				return errorf(a.AI, -1, RuleRepeated, "appears twice with different values (%q and %q)", clip(a.Value, 30), clip(b.Value, 30))
			}
		}
	}
	if _, ok := present(els, "8030", ""); ok {
		for _, key := range []string{"253", "255", "8003"} {
			for _, e := range els {
				if e.AI == key && len(e.Value) == lookupExact(key).minLen() {
					return errorf(key, -1, RuleSerialNeeded, "must carry its serial component when a digital signature (8030) is present")
				}
			}
		}
	}
	return nil
}

func ruleHolds(els []Element, rule [][]string, self string) bool {
	for _, group := range rule {
		all := true
		for _, pat := range group {
			if _, ok := present(els, pat, self); !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// describeRule renders [[01 21] [02]] as "(01)+(21) or (02)".
func describeRule(rule [][]string) string {
	alts := make([]string, len(rule))
	for i, g := range rule {
		parts := make([]string, len(g))
		for j, p := range g {
			parts[j] = "(" + p + ")"
		}
		alts[i] = strings.Join(parts, "+")
	}
	if len(alts) == 1 {
		return "AI " + alts[0]
	}
	return "one of AI " + strings.Join(alts, " or ")
}

// Validate checks a list of elements as a whole: each value against its AI
// and the rules between AIs.
func Validate(els []Element) error {
	if len(els) == 0 {
		return errorf("", -1, RuleEmpty, "no elements")
	}
	for _, e := range els {
		d := lookupBracketAI(e.AI)
		if d == nil {
			return errorf(e.AI, -1, RuleUnknownAI, "unrecognised AI")
		}
		if err := checkLengthContent(d, e.Value); err != nil {
			return err
		}
	}
	if err := checkElements(els); err != nil {
		return err
	}
	return validateAssociations(els)
}

// ValidateElement checks one value against its AI: length, character set and
// linters. It does not allocate when the value is valid.
func ValidateElement(ai, value string) error {
	d := lookupBracketAI(ai)
	if d == nil {
		return errorf(ai, -1, RuleUnknownAI, "unrecognised AI")
	}
	if err := checkLengthContent(d, value); err != nil {
		return err
	}
	n, err := checkComponents(d, value)
	if err != nil {
		return err
	}
	if n != len(value) {
		return errorf(d.ai, -1, RuleLength, "value is too long: at most %d characters", d.maxLen())
	}
	return nil
}

// CheckAssociations applies the rules between AIs (mandatory companions,
// exclusions, repeats) to a list of elements, without looking at the values
// beyond what those rules need.
func CheckAssociations(els []Element) error {
	return validateAssociations(els)
}

// Spec is an AI looked up once, for callers that check many values of it.
type Spec struct {
	d              *aiDef
	minLen, maxLen int
}

// SpecFor returns the Spec of a known AI.
func SpecFor(ai string) (Spec, bool) {
	d := lookupBracketAI(ai)
	if d == nil {
		return Spec{}, false
	}
	return Spec{d: d, minLen: d.minLen(), maxLen: d.maxLen()}, true
}

// AI returns the AI's code.
func (s Spec) AI() string { return s.d.ai }

// NeedsSeparator reports whether a value of this AI must be followed by FNC1
// when another AI comes after it.
func (s Spec) NeedsSeparator() bool { return !s.d.fixed }

// Validate is ValidateElement for this AI.
func (s Spec) Validate(value string) error {
	if len(value) < s.minLen || len(value) > s.maxLen || strings.IndexByte(value, '^') >= 0 {
		return checkLengthContent(s.d, value)
	}
	n, err := checkComponents(s.d, value)
	if err != nil {
		return err
	}
	if n != len(value) {
		return errorf(s.d.ai, -1, RuleLength, "value is too long: at most %d characters", s.maxLen)
	}
	return nil
}
