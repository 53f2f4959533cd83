package gs1

// Ambiguous looks for a second reading of AI data that was read without
// separators: the last element, if its length is variable, may have
// swallowed further AIs when a GS was lost (a keyboard wedge drops it
// easily). It returns the other reading when one exists: for example
// (10) AB1221SN1 could be (10) AB12 and (21) SN1.
func Ambiguous(msg *Message) ([]Element, bool) {
	if msg == nil || len(msg.Elements) == 0 {
		return nil, false
	}
	last := msg.Elements[len(msg.Elements)-1]
	d := lookupExact(last.AI)
	if d == nil || d.fixed {
		return nil, false
	}
	v := last.Value
	// From the end: the shortest swallowed tail is the likeliest reading.
	for k := len(v) - 3; k >= d.minLen(); k-- {
		head := v[:k]
		if n, err := checkComponents(d, head); err != nil || n != len(head) {
			continue
		}
		rest, err := parseElements(v[k:])
		if err != nil {
			continue
		}
		alt := append(append([]Element(nil), msg.Elements[:len(msg.Elements)-1]...), Element{AI: last.AI, Value: head})
		alt = append(alt, rest...)
		if validateAssociations(alt) == nil {
			return alt, true
		}
	}
	return nil, false
}
