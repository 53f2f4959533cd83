package epcis

// ContextNamespaces returns the prefixes that a JSON-LD @context (as
// decoded by encoding/json: a string, an object or a list of them)
// declares inline. The standard context's own prefixes are not included:
// the reference implementation of the event hash expands only the prefixes
// a document declares.
func ContextNamespaces(ctx any) Namespaces {
	ns := Namespaces{}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				add(e)
			}
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok {
					ns[k] = s
				}
			}
		}
	}
	add(ctx)
	return ns
}
