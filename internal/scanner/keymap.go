package scanner

// Linux input key codes used by wedge scanners.
const (
	keyEsc        = 1
	keyMinus      = 12
	keyEqual      = 13
	keyBackspace  = 14
	keyTab        = 15
	keyLeftBrace  = 26
	keyRightBrace = 27
	keyEnter      = 28
	keyLeftCtrl   = 29
	keyLeftShift  = 42
	keyBackslash  = 43
	keyRightShift = 54
	keyLeftAlt    = 56
	keySpace      = 57
	keyKPEnter    = 96
	keyRightCtrl  = 97
	keyRightAlt   = 100 // AltGr
	key102nd      = 86
)

// kpDigit maps keypad keys to digits, for Alt codes (Alt + 0 2 9 is GS).
var kpDigit = map[uint16]byte{82: '0', 79: '1', 80: '2', 81: '3', 75: '4', 76: '5', 77: '6', 71: '7', 72: '8', 73: '9'}

// keyChars is what one key types: plain, with Shift, with AltGr.
type keyChars struct{ plain, shift, altgr string }

// rows lays out the four character rows (key codes 2-13, 16-27, 30-41,
// 43-53) of a layout: one entry per key, space-separated groups of
// plain/shift/altgr characters.
type layoutRows struct {
	digits, top, home, bottom []keyChars
	extra                     map[uint16]keyChars
}

func kc(s ...string) keyChars {
	k := keyChars{}
	if len(s) > 0 {
		k.plain = s[0]
	}
	if len(s) > 1 {
		k.shift = s[1]
	}
	if len(s) > 2 {
		k.altgr = s[2]
	}
	return k
}

// row builds keys from parallel strings of plain and shifted characters.
func row(plain, shift string) []keyChars {
	p, s := []rune(plain), []rune(shift)
	out := make([]keyChars, len(p))
	for i := range p {
		out[i] = keyChars{plain: string(p[i]), shift: string(s[i])}
	}
	return out
}

func withAltGr(keys []keyChars, altgr map[int]string) []keyChars {
	for i, v := range altgr {
		keys[i].altgr = v
	}
	return keys
}

// Layouts are the names of the keyboard layouts a wedge scanner may be set
// to, as the evdev source's layout parameter and Options.Layout take them.
func Layouts() []string { return []string{"us", "uk", "de", "fr"} }

// layouts are the keyboard layouts a wedge scanner may be set to.
var layouts = map[string]map[uint16]keyChars{
	"us": build(layoutRows{
		digits: row("1234567890-=", "!@#$%^&*()_+"),
		top:    row("qwertyuiop[]", "QWERTYUIOP{}"),
		home:   row("asdfghjkl;'`", "ASDFGHJKL:\"~"),
		bottom: row("\\zxcvbnm,./", "|ZXCVBNM<>?"),
	}),
	"uk": build(layoutRows{
		digits: row("1234567890-=", "!\"£$%^&*()_+"),
		top:    row("qwertyuiop[]", "QWERTYUIOP{}"),
		home:   row("asdfghjkl;'`", "ASDFGHJKL:@¬"),
		bottom: row("#zxcvbnm,./", "~ZXCVBNM<>?"),
		extra:  map[uint16]keyChars{key102nd: kc("\\", "|")},
	}),
	"de": build(layoutRows{
		digits: withAltGr(row("1234567890ß´", "!\"§$%&/()=?`"), map[int]string{1: "²", 2: "³", 6: "{", 7: "[", 8: "]", 9: "}", 10: "\\"}),
		top:    withAltGr(row("qwertzuiopü+", "QWERTZUIOPÜ*"), map[int]string{0: "@", 2: "€", 11: "~"}),
		home:   row("asdfghjklöä^", "ASDFGHJKLÖÄ°"),
		bottom: row("#yxcvbnm,.-", "'YXCVBNM;:_"),
		extra:  map[uint16]keyChars{key102nd: kc("<", ">", "|")},
	}),
	"fr": build(layoutRows{
		digits: withAltGr(row("&é\"'(-è_çà)=", "1234567890°+"), map[int]string{1: "~", 2: "#", 3: "{", 4: "[", 5: "|", 6: "`", 7: "\\", 8: "^", 9: "@", 10: "]", 11: "}"}),
		top:    withAltGr(row("azertyuiop^$", "AZERTYUIOP¨£"), map[int]string{2: "€", 11: "¤"}),
		home:   row("qsdfghjklmù²", "QSDFGHJKLM%~"),
		bottom: row("*wxcvbn,;:!", "µWXCVBN?./§"),
		extra:  map[uint16]keyChars{key102nd: kc("<", ">")},
	}),
}

func build(r layoutRows) map[uint16]keyChars {
	m := map[uint16]keyChars{keySpace: kc(" ", " ")}
	for i, k := range r.digits {
		m[uint16(2+i)] = k
	}
	for i, k := range r.top {
		m[uint16(16+i)] = k
	}
	for i, k := range r.home {
		m[uint16(30+i)] = k
	}
	for i, k := range r.bottom {
		m[uint16(43+i)] = k
	}
	for c, k := range r.extra {
		m[c] = k
	}
	// The keypad types digits in every layout.
	for code, d := range kpDigit {
		m[code] = kc(string(d), string(d))
	}
	return m
}
