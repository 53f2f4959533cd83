package epcis

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Namespaces maps the CURIE prefixes that a document's @context declares
// (for example "example" → "http://ns.example.com/epcis/") to their IRIs.
// The canonical hash writes an extension key "example:myField" as
// "{http://ns.example.com/epcis/}myField" and a value "example:x" as
// "http://ns.example.com/epcis/x".
type Namespaces map[string]string

// HashPrefix and HashVersion frame an event ID: ni:///sha-256;<hex>?ver=CBV2.0
// (RFC 6920 named information, CBV 2.0).
const (
	HashPrefix  = "ni:///sha-256;"
	HashVersion = "?ver=CBV2.0"
)

// ErrNoType is returned for an event without its "type".
var ErrNoType = errors.New("epcis: the event has no type")

// EventHash returns the CBV 2.0 canonical event hash of one event given as
// EPCIS 2.0 JSON-LD, ns naming the prefixes of its document's @context.
func EventHash(event []byte, ns Namespaces) (string, error) {
	pre, err := PreHash(event, ns)
	if err != nil {
		return "", err
	}
	return HashOf(pre), nil
}

// HashOf frames the SHA-256 digest of a pre-hash string as an event ID.
func HashOf(preHash string) string {
	sum := sha256.Sum256([]byte(preHash))
	return HashPrefix + hex.EncodeToString(sum[:]) + HashVersion
}

// PreHash returns the canonical pre-hash string of one event given as
// EPCIS 2.0 JSON-LD: the text whose SHA-256 digest is the event hash.
func PreHash(event []byte, ns Namespaces) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("epcis: the event is not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", errors.New("epcis: the event is not a JSON object")
	}
	return preHashOf(m, ns)
}

func preHashOf(event map[string]any, ns Namespaces) (string, error) {
	event = expandBareTerms(event)
	typ, ok := event["type"].(string)
	if !ok || typ == "" {
		return "", ErrNoType
	}
	b := treeBuilder{ns: ns}
	root := &node{kids: b.object(event, true)}
	correct(root)
	var out strings.Builder
	out.WriteString("eventType=")
	out.WriteString(typ)
	out.WriteString(ordered(&root.kids, propertyOrder))
	var rest []*node
	for _, k := range root.kids {
		switch k.name {
		case "recordTime", "eventID", "type", "errorDeclaration":
		default:
			rest = append(rest, k)
		}
	}
	out.WriteString(generic(rest))
	return out.String(), nil
}

// node is one element of an event as the hash sees it: a name, a value and
// children. A pair is a bizTransaction, source or destination: its type and
// its identifier, kept in that order.
type node struct {
	name, value string
	kids        []*node
	pair        bool
}

type order struct {
	name string
	sub  []order
}

var (
	epcOrder      = []order{{"epc", nil}}
	quantityOrder = []order{{"quantityElement", []order{{"epcClass", nil}, {"quantity", nil}, {"uom", nil}}}}
	sensorOrder   = []order{{"sensorElement", []order{
		{"sensorMetadata", []order{{"time", nil}, {"startTime", nil}, {"endTime", nil}, {"deviceID", nil},
			{"deviceMetadata", nil}, {"rawData", nil}, {"dataProcessingMethod", nil}, {"bizRules", nil}}},
		{"sensorReport", []order{{"type", nil}, {"exception", nil}, {"deviceID", nil}, {"deviceMetadata", nil},
			{"rawData", nil}, {"dataProcessingMethod", nil}, {"time", nil}, {"microorganism", nil},
			{"chemicalSubstance", nil}, {"value", nil}, {"component", nil}, {"stringValue", nil},
			{"booleanValue", nil}, {"hexBinaryValue", nil}, {"uriValue", nil}, {"minValue", nil},
			{"maxValue", nil}, {"meanValue", nil}, {"sDev", nil}, {"percRank", nil}, {"percValue", nil},
			{"uom", nil}, {"coordinateReferenceSystem", nil}}},
	}}}
	// propertyOrder is the canonical property order as the reference
	// implementation applies it. The lists of business transactions,
	// sources and destinations, the ILMD and the extensions follow it,
	// sorted as text (see generic).
	propertyOrder = []order{
		{"eventTime", nil}, {"eventTimeZoneOffset", nil}, {"certificationInfo", nil}, {"parentID", nil},
		{"epcList", epcOrder}, {"inputEPCList", epcOrder}, {"childEPCs", epcOrder},
		{"quantityList", quantityOrder}, {"childQuantityList", quantityOrder}, {"inputQuantityList", quantityOrder},
		{"outputEPCList", epcOrder}, {"outputQuantityList", quantityOrder},
		{"action", nil}, {"transformationID", nil}, {"bizStep", nil}, {"disposition", nil},
		{"persistentDisposition", []order{{"set", nil}, {"unset", nil}}},
		{"readPoint", []order{{"id", nil}}}, {"bizLocation", []order{{"id", nil}}},
		{"sensorElementList", sensorOrder},
	}
)

type treeBuilder struct{ ns Namespaces }

// object turns a JSON object into nodes: keys with their prefix expanded,
// comments left out, a list giving one node per element.
func (b treeBuilder) object(m map[string]any, top bool) []*node {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*node
	for _, k := range keys {
		switch {
		case k == "#text", k == "rdfs:comment", k == "comment", strings.HasPrefix(k, "@xmlns"):
			continue
		case top && k == "@context":
			// An event's own context names prefixes; it is not event data.
			continue
		}
		name := b.key(k)
		if l, ok := m[k].([]any); ok {
			for _, e := range l {
				n := b.value(e)
				n.name = name
				out = append(out, n)
			}
			continue
		}
		n := b.value(m[k])
		n.name = name
		out = append(out, n)
	}
	return out
}

func (b treeBuilder) value(v any) *node {
	switch x := v.(type) {
	case map[string]any:
		n := &node{kids: b.object(x, false)}
		if t, ok := x["type"].(string); ok {
			n.name = t
		}
		if t, ok := x["#text"].(string); ok {
			n.value = t
		}
		return n
	case []any:
		n := &node{}
		for _, e := range x {
			n.kids = append(n.kids, b.value(e))
		}
		return n
	case string:
		if p, rest, ok := strings.Cut(x, ":"); ok {
			if iri, ok := b.ns[p]; ok {
				return &node{value: iri + rest}
			}
		}
		return &node{value: x}
	case json.Number:
		return &node{value: pyNumber(string(x))}
	case float64:
		return &node{value: pyRepr(x)}
	case bool:
		if x {
			return &node{value: "True"}
		}
		return &node{value: "False"}
	case nil:
		return &node{value: "None"}
	}
	return &node{value: fmt.Sprint(v)}
}

func (b treeBuilder) key(k string) string {
	if p, rest, ok := strings.Cut(k, ":"); ok {
		if iri, ok := b.ns[p]; ok {
			return "{" + iri + "}" + rest
		}
	}
	return k
}

func isPairList(name string) bool {
	return name == "bizTransactionList" || name == "sourceList" || name == "destinationList"
}

// correct gives the JSON tree the shape of the XML binding, which the
// property order is written for: the elements of "…List" become children
// of one list node (epcList → epc, quantityList → quantityElement, …),
// childEPCs one node of epc children, and each business transaction,
// source or destination a pair of its type and identifier.
func correct(n *node) {
	var keep, lists []*node
	byName := map[string]*node{}
	var childEPCs []*node
	for _, k := range n.kids {
		switch {
		case strings.HasSuffix(k.name, "List"):
			l := byName[k.name]
			if l == nil {
				l = &node{name: k.name}
				byName[k.name] = l
				lists = append(lists, l)
			}
			if isPairList(k.name) {
				l.kids = append(l.kids, &node{pair: true, kids: pairOf(k.kids)})
			} else {
				k.name = strings.TrimSuffix(k.name, "List")
				l.kids = append(l.kids, k)
			}
		case k.name == "childEPCs":
			childEPCs = append(childEPCs, &node{name: "epc", value: k.value})
		default:
			keep = append(keep, k)
		}
	}
	keep = append(keep, lists...)
	if len(childEPCs) > 0 {
		keep = append(keep, &node{name: "childEPCs", kids: childEPCs})
	}
	for _, k := range keep {
		if !isPairList(k.name) {
			correct(k)
		}
	}
	n.kids = keep
	switch {
	case n.name == "inputEPC", n.name == "outputEPC":
		n.name = "epc"
	case n.name == "inputQuantity", n.name == "outputQuantity", n.name == "childQuantity", n.name == "quantity" && len(n.kids) > 0:
		n.name = "quantityElement"
	}
}

// pairOf orders a business transaction, source or destination: its type
// first, then its identifier. Every vector of the reference implementation,
// from JSON and from XML alike, writes them so.
func pairOf(kids []*node) []*node {
	var out []*node
	for _, k := range kids {
		if k.name == "type" {
			out = append(out, k)
		}
	}
	for _, k := range kids {
		if k.name != "type" {
			out = append(out, k)
		}
	}
	return out
}

// ordered writes the children of list that order names, in that order,
// each name's occurrences sorted as text; it removes the children it used
// up, so that only the others are left for generic. Extension children of
// a standard field (readPoint, bizLocation, sensor elements) follow at the
// end of that field.
func ordered(list *[]*node, ord []order) string {
	ext := extensions(list)
	var out strings.Builder
	for _, o := range ord {
		var same []*node
		for _, c := range *list {
			if c.name == o.name {
				same = append(same, c)
			}
		}
		var texts []string
		for _, c := range same {
			if s := element(c, o.sub); s != "" {
				texts = append(texts, s)
			}
			if len(c.kids) == 0 {
				remove(list, c)
			}
		}
		sort.Strings(texts)
		for _, s := range texts {
			out.WriteString(s)
		}
	}
	if len(ext) > 0 {
		out.WriteString(generic(ext))
	}
	return out.String()
}

// extensions takes the user extension children out of a standard field's
// children: keys in a namespace ("{…/}name"). At the event's own level
// (eventTime or action present) extensions stay for generic.
func extensions(list *[]*node) []*node {
	if len(*list) <= 1 {
		return nil
	}
	for _, c := range *list {
		if strings.Contains(c.name, "eventTime") || strings.Contains(c.name, "action") {
			return nil
		}
	}
	var ext, rest []*node
	for _, c := range *list {
		if !c.pair && strings.Contains(c.name, "{") && strings.Contains(c.name, "/}") {
			ext = append(ext, c)
		} else {
			rest = append(rest, c)
		}
	}
	*list = rest
	return ext
}

func remove(list *[]*node, c *node) {
	for i, x := range *list {
		if x == c {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return
		}
	}
}

// element writes one child the property order names: name=value, then its
// own children in their order. A time is written in UTC to the millisecond.
func element(c *node, sub []order) string {
	var grand string
	if len(sub) > 0 {
		grand = ordered(&c.kids, sub)
	}
	var text string
	if c.value != "" {
		text = pyStrip(c.value)
		low := strings.ToLower(c.name)
		if strings.Contains(low, "time") && !strings.Contains(low, "offset") {
			text = canonicalTime(text)
		} else {
			text = canonicalValue(text)
		}
		if text != "" {
			text = "=" + text
		}
	}
	if text == "" && grand == "" {
		return ""
	}
	return c.name + text + grand
}

// generic writes the children that the property order does not name: each
// as name=value followed by its own children, sorted as text — except a
// business transaction, source or destination, whose type stays before
// its identifier.
func generic(list []*node) string {
	texts := make([]string, 0, len(list))
	sorted := len(list) > 1
	for _, c := range list {
		switch c.name {
		case "bizTransaction", "source", "destination":
			sorted = false
		}
		if c.pair {
			texts = append(texts, generic(c.kids))
			continue
		}
		text := pyStrip(c.value)
		if text != "" {
			text = "=" + canonicalValue(text)
		}
		texts = append(texts, c.name+text+generic(c.kids))
	}
	if sorted {
		sort.Strings(texts)
	}
	return strings.Join(texts, "")
}

// expandBareTerms replaces the bare CBV terms of an event by the Web URIs
// they stand for ("receiving" → https://ref.gs1.org/cbv/BizStep-receiving).
// As in the reference implementation, a term is first expanded where the
// JSON-LD context gives it meaning, and then every string of the event
// that is the tail ("-term" or "/term") of exactly one such URI is
// replaced by it.
func expandBareTerms(event map[string]any) map[string]any {
	uris := map[string]bool{}
	add := func(v any, voc vocab) {
		if s, ok := v.(string); ok {
			if e := voc.expand(s); isVocabURI(e) {
				uris[e] = true
			}
		}
	}
	each := func(v any, f func(any)) {
		if l, ok := v.([]any); ok {
			for _, e := range l {
				f(e)
			}
			return
		}
		f(v)
	}
	add(event["bizStep"], vocabBizStep)
	add(event["disposition"], vocabDisposition)
	if pd, ok := event["persistentDisposition"].(map[string]any); ok {
		each(pd["set"], func(v any) { add(v, vocabDisposition) })
		each(pd["unset"], func(v any) { add(v, vocabDisposition) })
	}
	for key, voc := range map[string]vocab{"bizTransactionList": vocabBTT, "sourceList": vocabSDT, "destinationList": vocabSDT} {
		each(event[key], func(v any) {
			if m, ok := v.(map[string]any); ok {
				add(m["type"], voc)
			}
		})
	}
	if ed, ok := event["errorDeclaration"].(map[string]any); ok {
		add(ed["reason"], vocabER)
	}
	each(event["sensorElementList"], func(v any) {
		se, ok := v.(map[string]any)
		if !ok {
			return
		}
		each(se["sensorReport"], func(v any) {
			if r, ok := v.(map[string]any); ok {
				add(r["type"], vocabMeasurement)
				add(r["exception"], vocabException)
				add(r["component"], vocabComponent)
			}
		})
	})
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if isVocabURI(x) {
				uris[x] = true
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(event)
	if len(uris) == 0 {
		return event
	}
	list := make([]string, 0, len(uris))
	for u := range uris {
		list = append(list, u)
	}
	var replace func(v any) any
	replace = func(v any) any {
		switch x := v.(type) {
		case string:
			hit, n := "", 0
			for _, u := range list {
				if strings.HasSuffix(u, "-"+x) || strings.HasSuffix(u, "/"+x) {
					hit, n = u, n+1
				}
			}
			if n == 1 {
				return hit
			}
			return x
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = replace(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = replace(e)
			}
			return out
		}
		return v
	}
	return replace(event).(map[string]any)
}

func isVocabURI(s string) bool {
	return strings.HasPrefix(s, "https://ref.gs1.org/cbv") || strings.HasPrefix(s, "https://gs1.org/voc")
}
