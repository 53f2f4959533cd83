package gs1

import (
	"sort"
	"strings"
)

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

// aiRange is the AIs that a pattern matches, as table indices [lo, hi).
// The table is sorted and a pattern's wildcards come last, so the AIs that
// one pattern matches sit next to each other: each element is then tested
// against a rule with two comparisons instead of a string match.
type aiRange struct{ lo, hi uint16 }

func (r aiRange) has(k uint16) bool { return k >= r.lo && k < r.hi }

// noAI is the table index of an AI that the table does not hold.
const noAI = ^uint16(0)

func tableIndex(ai string) uint16 {
	if k, ok := aiKey(ai); ok {
		return aiIndex[k] - 1 // noAI when absent
	}
	return noAI
}

// compilePattern finds the AIs a pattern matches. It panics when they are
// not contiguous, which a table of GS1 AIs never causes (the table test
// would fail first).
func compilePattern(p string) aiRange {
	low, high := strings.ReplaceAll(p, "n", "0"), strings.ReplaceAll(p, "n", "9")
	lo := sort.Search(len(table), func(i int) bool { return table[i].ai >= low })
	hi := sort.Search(len(table), func(i int) bool { return table[i].ai > high })
	for i := lo; i < hi; i++ {
		if !matchPattern(p, table[i].ai) {
			panic("gs1: the AIs matching " + p + " are not contiguous in the table")
		}
	}
	return aiRange{uint16(lo), uint16(hi)}
}

// The rules between AIs, compiled once from the table's patterns.
func init() {
	seen := map[string]aiRange{}
	compile := func(p string) aiRange {
		r, ok := seen[p]
		if !ok {
			r = compilePattern(p)
			seen[p] = r
		}
		return r
	}
	for i := range table {
		d := &table[i]
		d.minL, d.maxL = d.computeMinLen(), d.computeMaxLen()
		for _, p := range d.ex {
			d.exR = append(d.exR, compile(p))
		}
		for _, rule := range d.req {
			groups := make([][]aiRange, len(rule))
			for g, group := range rule {
				for _, p := range group {
					groups[g] = append(groups[g], compile(p))
				}
			}
			d.reqR = append(d.reqR, groups)
		}
	}
	idx8030 = tableIndex("8030")
}

var idx8030 uint16

// presentIn returns the position of an element in r whose AI is not self.
func presentIn(ks []uint16, r aiRange, self uint16) (int, bool) {
	for j, k := range ks {
		if k != self && r.has(k) {
			return j, true
		}
	}
	return 0, false
}

// maxStackElements is how many elements validateAssociations indexes
// without allocating: more than any symbol on a line carries.
const maxStackElements = 32

// validateAssociations applies the rules that span elements: exclusions,
// mandatory associations, repeated AIs and the serial component that a
// digital signature (8030) needs in its key. AIs that the table does not
// hold have no rules.
func validateAssociations(els []Element) error {
	var buf [maxStackElements]uint16
	ks := buf[:0]
	if len(els) > len(buf) {
		ks = make([]uint16, 0, len(els))
	}
	for _, e := range els {
		ks = append(ks, tableIndex(e.AI))
	}
	for i, e := range els {
		if ks[i] == noAI {
			continue
		}
		for _, r := range table[ks[i]].exR {
			if j, ok := presentIn(ks, r, ks[i]); ok {
				return errorf(e.AI, -1, RuleExcludes, "must not be used together with AI (%s)", els[j].AI)
			}
		}
	}
	for i, e := range els {
		if ks[i] == noAI {
			continue
		}
		d := &table[ks[i]]
		for r, rule := range d.reqR {
			if !ruleHolds(ks, rule, ks[i]) {
				return errorf(e.AI, -1, RuleRequires, "needs %s in the same data", describeRule(d.req[r]))
			}
		}
	}
	for i, a := range els {
		for j := i + 1; j < len(els); j++ {
			if b := els[j]; ks[i] == ks[j] && a.AI == b.AI && a.Value != b.Value {
				return errorf(a.AI, -1, RuleRepeated, "appears twice with different values (%q and %q)", clip(a.Value, 30), clip(b.Value, 30))
			}
		}
	}
	if _, ok := presentIn(ks, aiRange{idx8030, idx8030 + 1}, noAI); ok {
		for _, key := range [...]string{"253", "255", "8003"} {
			for _, e := range els {
				if e.AI == key && len(e.Value) == lookupExact(key).minLen() {
					return errorf(key, -1, RuleSerialNeeded, "must carry its serial component when a digital signature (8030) is present")
				}
			}
		}
	}
	return nil
}

// ruleHolds reports whether one of the rule's groups is wholly present
// among the elements other than self.
func ruleHolds(ks []uint16, rule [][]aiRange, self uint16) bool {
	for _, group := range rule {
		all := true
		for _, r := range group {
			if _, ok := presentIn(ks, r, self); !ok {
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
