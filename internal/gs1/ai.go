package gs1

import (
	"strings"
)

// charset is the character set of one component of an AI's value.
type charset uint8

const (
	setN charset = iota + 1 // digits 0-9
	setX                    // GS1 AI encodable character set 82
	setY                    // GS1 AI encodable character set 39
	setZ                    // GS1 AI encodable character set 64 (file-safe base64)
)

func (c charset) String() string {
	switch c {
	case setN:
		return "N"
	case setX:
		return "X"
	case setY:
		return "Y"
	case setZ:
		return "Z"
	}
	return "?"
}

// component is one part of an AI's value, e.g. "N13,csum" or "[X..17]".
type component struct {
	set   charset
	min   int
	max   int
	opt   bool
	lints []lint
}

// aiDef describes one Application Identifier as the syntax dictionary does.
type aiDef struct {
	ai     string
	fixed  bool // predefined length: no FNC1 separator needed after it
	dlAttr bool // permitted as a GS1 Digital Link data attribute (query parameter)
	parts  []component
	// req lists requirement rules; every rule must hold. A rule holds when any
	// of its groups is wholly present; a group holds when all its AIs (or
	// patterns such as "31nn") are present.
	req [][][]string
	// ex lists AIs or patterns that must not appear together with this AI.
	ex []string
	// dlKey marks a Digital Link primary key; dlQualifiers lists its ordered
	// qualifier sequences (alternatives).
	dlKey        bool
	dlQualifiers [][]string
	title        string

	// Derived once from the fields above when the package starts: the
	// length bounds, and ex and req as ranges of the table (see aiRange).
	minL, maxL int
	exR        []aiRange
	reqR       [][][]aiRange
}

func (d *aiDef) minLen() int { return d.minL }

func (d *aiDef) maxLen() int { return d.maxL }

func (d *aiDef) computeMinLen() int {
	n := 0
	for _, p := range d.parts {
		if !p.opt {
			n += p.min
		}
	}
	return n
}

func (d *aiDef) computeMaxLen() int {
	n := 0
	for _, p := range d.parts {
		n += p.max
	}
	return n
}

// AI is the public description of one Application Identifier.
type AI struct {
	Code   string // e.g. "01"
	Title  string // e.g. "GTIN"
	Fixed  bool   // predefined length: no FNC1 separator required after it
	MinLen int
	MaxLen int
	// Format is the syntax-dictionary specification, e.g. "N14,csum,gcppos2".
	Format string
	// DLAttribute is true when the AI may appear as a Digital Link query parameter.
	DLAttribute bool
	// DLPrimaryKey is true when the AI is a Digital Link primary key.
	DLPrimaryKey bool
}

// Lookup returns the definition of an AI, or false when the AI is not known.
func Lookup(code string) (AI, bool) {
	d := lookupExact(code)
	if d == nil {
		return AI{}, false
	}
	return d.public(), true
}

// AIs returns every known AI in ascending order.
func AIs() []AI {
	out := make([]AI, len(table))
	for i := range table {
		out[i] = table[i].public()
	}
	return out
}

func (d *aiDef) public() AI {
	return AI{
		Code: d.ai, Title: d.title, Fixed: d.fixed,
		MinLen: d.minLen(), MaxLen: d.maxLen(), Format: d.format(),
		DLAttribute: d.dlAttr, DLPrimaryKey: d.dlKey,
	}
}

// format renders the components back to dictionary notation.
func (d *aiDef) format() string {
	var b strings.Builder
	for i, p := range d.parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p.opt {
			b.WriteByte('[')
		}
		b.WriteString(p.set.String())
		if p.min != p.max {
			b.WriteString("..")
		}
		b.WriteString(itoa(p.max))
		if p.opt {
			b.WriteByte(']')
		}
		for _, l := range p.lints {
			b.WriteByte(',')
			b.WriteString(l.String())
		}
	}
	return b.String()
}

// aiLenByPrefix maps the first two digits of an AI to the length of every AI
// that starts with them (0 when no AI starts with them).
var aiLenByPrefix = func() (m [100]uint8) {
	for i := range table {
		a := table[i].ai
		m[int(a[0]-'0')*10+int(a[1]-'0')] = uint8(len(a))
	}
	return m
}()

// aiIndex maps every possible AI code of two to four digits to its place in
// the table plus one (0: no such AI), so that a lookup is one array read:
// a scan looks up each of its AIs several times.
var aiIndex = func() (ix [aiKeys]uint16) {
	for i := range table {
		k, ok := aiKey(table[i].ai)
		if !ok {
			panic("gs1: AI table holds the code " + table[i].ai + ", which is not 2 to 4 digits")
		}
		ix[k] = uint16(i + 1)
	}
	return ix
}()

// aiKeys is the number of codes of two, three and four digits.
const aiKeys = 100 + 1000 + 10000

// aiKey numbers a code of two to four digits: two-digit codes first, then
// three-digit, then four-digit ones, so that "01" and "001" differ.
func aiKey(code string) (int, bool) {
	var base int
	switch len(code) {
	case 2:
		base = 0
	case 3:
		base = 100
	case 4:
		base = 1100
	default:
		return 0, false
	}
	v := 0
	for i := 0; i < len(code); i++ {
		c := code[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return base + v, true
}

// lookupExact finds an AI given in full, as in brackets or a URI path.
func lookupExact(code string) *aiDef {
	k, ok := aiKey(code)
	if !ok {
		return nil
	}
	if i := aiIndex[k]; i != 0 {
		return &table[i-1]
	}
	return nil
}

// lookupPrefix finds the AI that data starts with, using the AI length that
// all AIs sharing the first two digits have.
func lookupPrefix(data string) *aiDef {
	if len(data) < 2 || !isDigit(data[0]) || !isDigit(data[1]) {
		return nil
	}
	n := int(aiLenByPrefix[int(data[0]-'0')*10+int(data[1]-'0')])
	if n == 0 || len(data) < n {
		return nil
	}
	return lookupExact(data[:n])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
