package gs1

import "strings"

// lint names one content check of the GS1 Barcode Syntax Dictionary.
type lint uint8

const (
	lintNone lint = iota
	lintCsetnumeric
	lintCset82
	lintCset39
	lintCset64
	lintCsum
	lintCsumalpha
	lintGcppos1
	lintGcppos2
	lintHasnondigit
	lintHh
	lintMi
	lintSs
	lintHhmi
	lintYymmd0
	lintYymmdd
	lintYyyymmd0
	lintYyyymmdd
	lintNonzero
	lintZero
	lintNozeroprefix
	lintPieceoftotal
	lintIso3166
	lintIso3166999
	lintIso3166alpha2
	lintIso4217
	lintIso5218
	lintIban
	lintLatitude
	lintLongitude
	lintMediatype
	lintPcenc
	lintPosinseqslash
	lintWinding
	lintYesno
	lintHyphen
	lintImporteridx
	lintPackagetype
	lintCouponcode
	lintCouponposoffer
	numLints
)

var lintNames = [numLints]string{
	"", "csetnumeric", "cset82", "cset39", "cset64", "csum", "csumalpha", "gcppos1", "gcppos2",
	"hasnondigit", "hh", "mi", "ss", "hhmi", "yymmd0", "yymmdd", "yyyymmd0", "yyyymmdd",
	"nonzero", "zero", "nozeroprefix", "pieceoftotal", "iso3166", "iso3166999", "iso3166alpha2",
	"iso4217", "iso5218", "iban", "latitude", "longitude", "mediatype", "pcenc", "posinseqslash",
	"winding", "yesno", "hyphen", "importeridx", "packagetype", "couponcode", "couponposoffer",
}

func (l lint) String() string {
	if l < numLints {
		return lintNames[l]
	}
	return "?"
}

// lintByName returns the linter with the syntax dictionary's name.
func lintByName(name string) (lint, bool) {
	for i, n := range lintNames {
		if n == name && i != 0 {
			return lint(i), true
		}
	}
	return lintNone, false
}

// lintFailure says where in a component a linter found a fault and which rule it was.
type lintFailure struct {
	code string // the GS1 linter error name, e.g. GS1_LINTER_ILLEGAL_DAY
	pos  int
	n    int
}

func fail(code string, pos, n int) *lintFailure { return &lintFailure{code: code, pos: pos, n: n} }

// check runs the linter over one component value.
func (l lint) check(s string) *lintFailure {
	switch l {
	case lintCsetnumeric:
		return checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER")
	case lintCset82:
		return checkSet(s, class82, "GS1_LINTER_INVALID_CSET82_CHARACTER")
	case lintCset39:
		return checkSet(s, class39, "GS1_LINTER_INVALID_CSET39_CHARACTER")
	case lintCset64:
		return checkCset64(s)
	case lintCsum:
		return checkCsum(s)
	case lintCsumalpha:
		return checkCsumAlpha(s)
	case lintGcppos1:
		return checkGCP(s, 0)
	case lintGcppos2:
		return checkGCP(s, 1)
	case lintHasnondigit:
		if allDigits(s) {
			return fail("GS1_LINTER_REQUIRES_NON_DIGIT_CHARACTER", 0, len(s))
		}
	case lintHh:
		return checkRange2(s, 23, "HOUR")
	case lintMi:
		return checkRange2(s, 59, "MINUTE")
	case lintSs:
		return checkRange2(s, 59, "SECOND")
	case lintHhmi:
		return checkHHMI(s)
	case lintYymmd0:
		return checkDate(s, 2, true)
	case lintYymmdd:
		return checkDate(s, 2, false)
	case lintYyyymmd0:
		return checkDate(s, 4, true)
	case lintYyyymmdd:
		return checkDate(s, 4, false)
	case lintNonzero:
		if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
			return f
		}
		if strings.Trim(s, "0") == "" {
			return fail("GS1_LINTER_ILLEGAL_ZERO_VALUE", 0, len(s))
		}
	case lintZero:
		if s == "" || strings.Trim(s, "0") != "" {
			return fail("GS1_LINTER_NOT_ZERO", 0, len(s))
		}
	case lintNozeroprefix:
		if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
			return f
		}
		if len(s) > 0 && s[0] == '0' {
			return fail("GS1_LINTER_ILLEGAL_ZERO_PREFIX", 0, 1)
		}
	case lintPieceoftotal:
		return checkPieceOfTotal(s)
	case lintIso3166:
		return checkList(s, iso3166Numeric, 3, "GS1_LINTER_NOT_ISO3166")
	case lintIso3166999:
		if s == "999" {
			return nil
		}
		return checkList(s, iso3166Numeric, 3, "GS1_LINTER_NOT_ISO3166_OR_999")
	case lintIso3166alpha2:
		return checkList(s, iso3166Alpha2, 2, "GS1_LINTER_NOT_ISO3166_ALPHA2")
	case lintIso4217:
		return checkList(s, iso4217Numeric, 3, "GS1_LINTER_NOT_ISO4217")
	case lintIso5218:
		return checkOneOf(s, "0129", "GS1_LINTER_INVALID_BIOLOGICAL_SEX_CODE")
	case lintYesno:
		return checkOneOf(s, "01", "GS1_LINTER_NOT_ZERO_OR_ONE")
	case lintWinding:
		return checkOneOf(s, "019", "GS1_LINTER_INVALID_WINDING_DIRECTION")
	case lintIban:
		return checkIBAN(s)
	case lintLatitude:
		return checkCoordinate(s, 1800000000, "GS1_LINTER_INVALID_LATITUDE")
	case lintLongitude:
		return checkCoordinate(s, 3600000000, "GS1_LINTER_INVALID_LONGITUDE")
	case lintMediatype:
		return checkMediaType(s)
	case lintPcenc:
		return checkPercentEncoding(s)
	case lintPosinseqslash:
		return checkPosInSeq(s)
	case lintHyphen:
		for i := 0; i < len(s); i++ {
			if s[i] != '-' {
				return fail("GS1_LINTER_NOT_HYPHEN", i, 1)
			}
		}
	case lintImporteridx:
		if len(s) != 1 || !isCset64(s[0]) {
			return fail("GS1_LINTER_INVALID_IMPORTER_IDX", 0, len(s))
		}
	case lintPackagetype:
		if !inSorted(packageTypes, s) {
			return fail("GS1_LINTER_INVALID_PACKAGE_TYPE", 0, len(s))
		}
	case lintCouponcode:
		return checkCouponCode(s)
	case lintCouponposoffer:
		return checkCouponPosOffer(s)
	}
	return nil
}

func isCset82(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!\"%&'()*+,-./:;<=>?_", c) >= 0
}

func isCset39(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '#' || c == '-' || c == '/'
}

func isCset64(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
}

// Character classes, one bit each, of every byte: checkSet tests a value
// against a class with one table load per byte.
const (
	classN  uint8 = 1 << iota // digits
	class82                   // GS1 AI encodable character set 82
	class39                   // GS1 AI encodable character set 39
	class64                   // GS1 AI encodable character set 64, without padding
)

var charClass = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		if isDigit(c) {
			t[i] |= classN
		}
		if isCset82(c) {
			t[i] |= class82
		}
		if isCset39(c) {
			t[i] |= class39
		}
		if isCset64(c) {
			t[i] |= class64
		}
	}
	return t
}()

func checkSet(s string, class uint8, code string) *lintFailure {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&class == 0 {
			return fail(code, i, 1)
		}
	}
	return nil
}

// checkCset64 accepts file-safe base64 with at most two '=' padding characters at the end.
func checkCset64(s string) *lintFailure {
	body := strings.TrimRight(s, "=")
	if f := checkSet(body, class64, "GS1_LINTER_INVALID_CSET64_CHARACTER"); f != nil {
		return f
	}
	if pad := len(s) - len(body); pad > 0 && (pad > 2 || len(s)%3 != 0 && len(s)%4 != 0) {
		return fail("GS1_LINTER_INVALID_CSET64_PADDING", len(body), pad)
	}
	return nil
}

// checkDigitOf returns the GS1 mod-10 check digit for digits (weights 3,1 from the right).
func checkDigitOf(digits string) byte {
	sum := 0
	w := 3
	for i := len(digits) - 1; i >= 0; i-- {
		sum += int(digits[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

func checkCsum(s string) *lintFailure {
	if len(s) < 1 {
		return fail("GS1_LINTER_TOO_SHORT_FOR_CHECK_DIGIT", 0, 0)
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	if checkDigitOf(s[:len(s)-1]) != s[len(s)-1] {
		return fail("GS1_LINTER_INCORRECT_CHECK_DIGIT", len(s)-1, 1)
	}
	return nil
}

const cset82Ordered = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
const cset32Ordered = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

var primes = [...]int{
	2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
	97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
	197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311,
	313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421, 431, 433,
	439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
}

// checkCsumAlpha verifies the alphanumeric check character pair of GMN and MUDI keys.
func checkCsumAlpha(s string) *lintFailure {
	n := len(s)
	if n < 2 {
		return fail("GS1_LINTER_TOO_SHORT_FOR_CHECK_PAIR", 0, n)
	}
	if n-2 > len(primes) {
		return fail("GS1_LINTER_TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION", 0, n)
	}
	for i := 0; i < n-2; i++ {
		if strings.IndexByte(cset82Ordered, s[i]) < 0 {
			return fail("GS1_LINTER_INVALID_CSET82_CHARACTER", i, 1)
		}
	}
	sum := 0
	for i := 0; i < n-2; i++ {
		sum += strings.IndexByte(cset82Ordered, s[i]) * primes[n-3-i]
	}
	sum %= 1021
	if s[n-2] != cset32Ordered[sum>>5] || s[n-1] != cset32Ordered[sum&31] {
		return fail("GS1_LINTER_INCORRECT_CHECK_PAIR", n-2, 2)
	}
	return nil
}

// checkGCP checks that a GS1 Company Prefix of at least four digits starts at offset.
func checkGCP(s string, offset int) *lintFailure {
	const minGCP = 4
	if len(s) < offset+minGCP {
		return fail("GS1_LINTER_TOO_SHORT_FOR_GCP", offset, len(s)-min(offset, len(s)))
	}
	for i := offset; i < offset+minGCP; i++ {
		if !isDigit(s[i]) {
			return fail("GS1_LINTER_INVALID_GCP_PREFIX", i, 1)
		}
	}
	return nil
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

func checkRange2(s string, maxv int, what string) *lintFailure {
	if len(s) < 2 {
		return fail("GS1_LINTER_"+what+"_TOO_SHORT", 0, len(s))
	}
	if len(s) > 2 {
		return fail("GS1_LINTER_"+what+"_TOO_LONG", 0, len(s))
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	if atoi2(s) > maxv {
		return fail("GS1_LINTER_ILLEGAL_"+what, 0, 2)
	}
	return nil
}

func checkHHMI(s string) *lintFailure {
	if len(s) < 4 {
		return fail("GS1_LINTER_HOUR_WITH_MINUTE_TOO_SHORT", 0, len(s))
	}
	if len(s) > 4 {
		return fail("GS1_LINTER_HOUR_WITH_MINUTE_TOO_LONG", 0, len(s))
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	if atoi2(s) > 23 {
		return fail("GS1_LINTER_ILLEGAL_HOUR", 0, 2)
	}
	if atoi2(s[2:]) > 59 {
		return fail("GS1_LINTER_ILLEGAL_MINUTE", 2, 2)
	}
	return nil
}

// daysIn returns the number of days in a month; yy2 marks a two-digit year,
// which GS1 resolves within a century window where every year divisible by 4 is a leap year.
func daysIn(year, month int, yy2 bool) int {
	switch month {
	case 2:
		leap := year%4 == 0
		if !yy2 {
			leap = year%4 == 0 && (year%100 != 0 || year%400 == 0)
		}
		if leap {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// checkDate validates YYMMDD (yearDigits 2) or YYYYMMDD (yearDigits 4); day00
// accepts day 00 meaning the last day of the month.
func checkDate(s string, yearDigits int, day00 bool) *lintFailure {
	want := yearDigits + 4
	if len(s) < want {
		return fail("GS1_LINTER_DATE_TOO_SHORT", 0, len(s))
	}
	if len(s) > want {
		return fail("GS1_LINTER_DATE_TOO_LONG", 0, len(s))
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	year := 0
	for i := 0; i < yearDigits; i++ {
		year = year*10 + int(s[i]-'0')
	}
	month := atoi2(s[yearDigits:])
	day := atoi2(s[yearDigits+2:])
	if month < 1 || month > 12 {
		return fail("GS1_LINTER_ILLEGAL_MONTH", yearDigits, 2)
	}
	if (day == 0 && !day00) || day > daysIn(year, month, yearDigits == 2) {
		return fail("GS1_LINTER_ILLEGAL_DAY", yearDigits+2, 2)
	}
	return nil
}

func checkPieceOfTotal(s string) *lintFailure {
	if len(s) == 0 || len(s)%2 != 0 {
		return fail("GS1_LINTER_INVALID_LENGTH_FOR_PIECE_OF_TOTAL", 0, len(s))
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	half := len(s) / 2
	piece, total := strings.TrimLeft(s[:half], "0"), strings.TrimLeft(s[half:], "0")
	if piece == "" {
		return fail("GS1_LINTER_ZERO_PIECE_NUMBER", 0, half)
	}
	if total == "" {
		return fail("GS1_LINTER_ZERO_TOTAL_PIECES", half, half)
	}
	if len(piece) > len(total) || (len(piece) == len(total) && piece > total) {
		return fail("GS1_LINTER_PIECE_NUMBER_EXCEEDS_TOTAL", 0, half)
	}
	return nil
}

func inSorted(list []string, s string) bool {
	lo, hi := 0, len(list)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case list[m] == s:
			return true
		case list[m] < s:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

func checkList(s string, list []string, n int, code string) *lintFailure {
	if len(s) != n || !inSorted(list, s) {
		return fail(code, 0, len(s))
	}
	return nil
}

func checkOneOf(s, allowed, code string) *lintFailure {
	if len(s) != 1 || strings.IndexByte(allowed, s[0]) < 0 {
		return fail(code, 0, len(s))
	}
	return nil
}

func checkCoordinate(s string, maxv uint64, code string) *lintFailure {
	if len(s) != 10 {
		return fail(code, 0, len(s))
	}
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	if v > maxv {
		return fail(code, 0, len(s))
	}
	return nil
}

func checkMediaType(s string) *lintFailure {
	if len(s) != 2 || !allDigits(s) {
		return fail("GS1_LINTER_INVALID_MEDIA_TYPE", 0, len(s))
	}
	if v := atoi2(s); (v >= 1 && v <= 10) || (v >= 80 && v <= 99) {
		return nil
	}
	return fail("GS1_LINTER_INVALID_MEDIA_TYPE", 0, 2)
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func checkPercentEncoding(s string) *lintFailure {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return fail("GS1_LINTER_INVALID_PERCENT_SEQUENCE", i, min(3, len(s)-i))
		}
		i += 2
	}
	return nil
}

// checkPosInSeq validates "p/n": position p of n, both single non-zero digits, p <= n.
func checkPosInSeq(s string) *lintFailure {
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || slash == len(s)-1 || !allDigits(s[:slash]) || !allDigits(s[slash+1:]) {
		return fail("GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED", 0, len(s))
	}
	pos, seq := strings.TrimLeft(s[:slash], "0"), strings.TrimLeft(s[slash+1:], "0")
	if pos == "" || seq == "" {
		return fail("GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED", 0, len(s))
	}
	if len(pos) > len(seq) || (len(pos) == len(seq) && pos > seq) {
		return fail("GS1_LINTER_POSITION_EXCEEDS_END", 0, slash)
	}
	return nil
}

func checkIBAN(s string) *lintFailure {
	if len(s) < 5 {
		return fail("GS1_LINTER_IBAN_TOO_SHORT", 0, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || (c >= 'A' && c <= 'Z')) {
			return fail("GS1_LINTER_INVALID_IBAN_CHARACTER", i, 1)
		}
	}
	if !inSorted(iso3166Alpha2, s[:2]) {
		return fail("GS1_LINTER_ILLEGAL_IBAN_COUNTRY_CODE", 0, 2)
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return fail("GS1_LINTER_INVALID_IBAN_CHARACTER", 2, 2)
	}
	rem := 0
	rearranged := s[4:] + s[:4]
	for i := 0; i < len(rearranged); i++ {
		c := rearranged[i]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	if rem != 1 {
		return fail("GS1_LINTER_INCORRECT_IBAN_CHECKSUM", 2, 2)
	}
	return nil
}

// vliField consumes a variable-length indicator digit in [lo, hi] followed by
// base+vli digits, returning the rest.
func vliField(s string, pos, lo, hi, base int, code string) (int, *lintFailure) {
	if pos >= len(s) || int(s[pos]-'0') < lo || int(s[pos]-'0') > hi {
		return pos, fail(code, pos, 1)
	}
	n := base + int(s[pos]-'0')
	if len(s)-pos-1 < n {
		return pos, fail(code, pos, len(s)-pos)
	}
	return pos + 1 + n, nil
}

// checkCouponCode checks the mandatory fields of a North American coupon code
// (AI 8110): company prefix, offer code, save value and primary purchase
// requirement. Optional fields are checked to be digits only.
func checkCouponCode(s string) *lintFailure {
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	p, f := vliField(s, 0, 0, 6, 6, "GS1_LINTER_COUPON_INVALID_GCP_LENGTH")
	if f != nil {
		return f
	}
	if len(s)-p < 6 {
		return fail("GS1_LINTER_COUPON_TRUNCATED_OFFER_CODE", p, len(s)-p)
	}
	p += 6
	if p, f = vliField(s, p, 1, 5, 0, "GS1_LINTER_COUPON_INVALID_SAVE_VALUE_LENGTH"); f != nil {
		return f
	}
	if p, f = vliField(s, p, 1, 5, 0, "GS1_LINTER_COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_LENGTH"); f != nil {
		return f
	}
	if p >= len(s) || (s[p] > '4' && s[p] != '9') {
		return fail("GS1_LINTER_COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_CODE", p, 1)
	}
	if len(s)-p-1 < 3 {
		return fail("GS1_LINTER_COUPON_TRUNCATED_1ST_PURCHASE_FAMILY_CODE", p, len(s)-p)
	}
	return nil
}

// checkCouponPosOffer checks a positive offer file coupon (AI 8112): format
// code, funder ID, offer code and serial number, with nothing after them.
func checkCouponPosOffer(s string) *lintFailure {
	if f := checkSet(s, classN, "GS1_LINTER_NON_DIGIT_CHARACTER"); f != nil {
		return f
	}
	if len(s) == 0 || (s[0] != '0' && s[0] != '1') {
		return fail("GS1_LINTER_COUPON_INVALID_FORMAT_CODE", 0, min(1, len(s)))
	}
	p, f := vliField(s, 1, 0, 6, 6, "GS1_LINTER_COUPON_INVALID_FUNDER_LENGTH")
	if f != nil {
		return f
	}
	if len(s)-p < 6 {
		return fail("GS1_LINTER_COUPON_TRUNCATED_OFFER_CODE", p, len(s)-p)
	}
	p += 6
	if p, f = vliField(s, p, 0, 9, 6, "GS1_LINTER_COUPON_INVALID_SERIAL_NUMBER_LENGTH"); f != nil {
		return f
	}
	if p != len(s) {
		return fail("GS1_LINTER_COUPON_EXCESS_DATA", p, len(s)-p)
	}
	return nil
}
