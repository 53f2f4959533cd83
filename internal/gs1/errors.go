package gs1

import "fmt"

// Rule names the kind of fault an *Error reports, for callers that act on it.
type Rule string

// Rules reported by the parser and validator. Linter faults use the GS1
// linter's own name (for example "GS1_LINTER_ILLEGAL_DAY").
const (
	RuleSyntax       Rule = "syntax"             // the input is not in the expected form
	RuleSymbology    Rule = "symbology"          // unsupported or missing AIM symbology identifier
	RuleNotGS1       Rule = "not-gs1"            // a symbology that carries plain data, not GS1 data
	RuleUnknownAI    Rule = "unknown-ai"         // an AI that the GS1 General Specifications do not define
	RuleEmpty        Rule = "empty"              // no data, or an AI without a value
	RuleLength       Rule = "length"             // a value too short or too long for its AI
	RuleCharacter    Rule = "character"          // a character that the AI does not allow
	RuleRequires     Rule = "requires"           // a mandatory association with another AI is missing
	RuleExcludes     Rule = "excludes"           // two AIs that must not appear together
	RuleRepeated     Rule = "repeated"           // the same AI twice with different values
	RuleSerialNeeded Rule = "serial-required"    // AI 8030 with a key that lacks its serial component
	RuleDigitalLink  Rule = "digital-link"       // a Digital Link URI that breaks the DL rules
	RuleCheckDigit   Rule = "check-digit"        // a wrong or missing check digit outside an AI
	RuleAmbiguous    Rule = "ambiguous"          // a read that cannot be split into AIs without guessing
	RuleBadArgument  Rule = "invalid-argument"   // a generator was given an unusable argument
	RuleDateDayZero  Rule = "date-day-zero-info" // informational: day 00 means the last day of the month
)

// Error describes why data is not valid GS1 data. Pos is the byte offset in
// the input (or in the AI's value when AI is set), -1 when not meaningful.
// An Error never shares bytes with the input or a reused Message: it stays
// as it was after the next parse.
type Error struct {
	AI   string
	Pos  int
	Rule Rule
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.AI != "" && e.Pos >= 0:
		return fmt.Sprintf("AI (%s): %s (position %d of the value)", e.AI, e.Msg, e.Pos+1)
	case e.AI != "":
		return fmt.Sprintf("AI (%s): %s", e.AI, e.Msg)
	case e.Pos >= 0:
		return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Pos+1)
	}
	return e.Msg
}

func errorf(ai string, pos int, rule Rule, format string, args ...any) *Error {
	if len(args) == 0 {
		// A fixed message: no formatting on a refusal's path.
		return &Error{AI: ai, Pos: pos, Rule: rule, Msg: format}
	}
	return &Error{AI: ai, Pos: pos, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// lintMessages turns GS1 linter names into plain words.
var lintMessages = map[string]string{
	"GS1_LINTER_NON_DIGIT_CHARACTER":                    "a non-digit character where only digits are allowed",
	"GS1_LINTER_INVALID_CSET82_CHARACTER":               "a character outside GS1 character set 82",
	"GS1_LINTER_INVALID_CSET39_CHARACTER":               "a character outside GS1 character set 39",
	"GS1_LINTER_INVALID_CSET64_CHARACTER":               "a character outside GS1 character set 64",
	"GS1_LINTER_INVALID_CSET64_PADDING":                 "bad base64 padding",
	"GS1_LINTER_INVALID_CSET32_CHARACTER":               "a check character outside GS1 character set 32",
	"GS1_LINTER_TOO_SHORT_FOR_CHECK_DIGIT":              "too short to hold a check digit",
	"GS1_LINTER_INCORRECT_CHECK_DIGIT":                  "incorrect check digit",
	"GS1_LINTER_TOO_SHORT_FOR_CHECK_PAIR":               "too short to hold a check character pair",
	"GS1_LINTER_TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION": "too long for the check character pair",
	"GS1_LINTER_INCORRECT_CHECK_PAIR":                   "incorrect check character pair",
	"GS1_LINTER_TOO_SHORT_FOR_GCP":                      "too short to start with a GS1 Company Prefix",
	"GS1_LINTER_INVALID_GCP_PREFIX":                     "does not start with a GS1 Company Prefix",
	"GS1_LINTER_REQUIRES_NON_DIGIT_CHARACTER":           "must contain at least one non-digit character",
	"GS1_LINTER_DATE_TOO_SHORT":                         "date is too short",
	"GS1_LINTER_DATE_TOO_LONG":                          "date is too long",
	"GS1_LINTER_ILLEGAL_MONTH":                          "month is not 01 to 12",
	"GS1_LINTER_ILLEGAL_DAY":                            "day does not exist in that month",
	"GS1_LINTER_HOUR_TOO_SHORT":                         "hour is too short",
	"GS1_LINTER_HOUR_TOO_LONG":                          "hour is too long",
	"GS1_LINTER_ILLEGAL_HOUR":                           "hour is not 00 to 23",
	"GS1_LINTER_MINUTE_TOO_SHORT":                       "minute is too short",
	"GS1_LINTER_MINUTE_TOO_LONG":                        "minute is too long",
	"GS1_LINTER_ILLEGAL_MINUTE":                         "minute is not 00 to 59",
	"GS1_LINTER_SECOND_TOO_SHORT":                       "second is too short",
	"GS1_LINTER_SECOND_TOO_LONG":                        "second is too long",
	"GS1_LINTER_ILLEGAL_SECOND":                         "second is not 00 to 59",
	"GS1_LINTER_HOUR_WITH_MINUTE_TOO_SHORT":             "time (HHMM) is too short",
	"GS1_LINTER_HOUR_WITH_MINUTE_TOO_LONG":              "time (HHMM) is too long",
	"GS1_LINTER_ILLEGAL_ZERO_VALUE":                     "must not be zero",
	"GS1_LINTER_NOT_ZERO":                               "must be zero",
	"GS1_LINTER_ILLEGAL_ZERO_PREFIX":                    "must not start with zero",
	"GS1_LINTER_INVALID_LENGTH_FOR_PIECE_OF_TOTAL":      "piece-of-total needs an even number of digits",
	"GS1_LINTER_ZERO_PIECE_NUMBER":                      "piece number is zero",
	"GS1_LINTER_ZERO_TOTAL_PIECES":                      "total number of pieces is zero",
	"GS1_LINTER_PIECE_NUMBER_EXCEEDS_TOTAL":             "piece number exceeds the total",
	"GS1_LINTER_NOT_ISO3166":                            "not an ISO 3166 numeric country code",
	"GS1_LINTER_NOT_ISO3166_OR_999":                     "not an ISO 3166 numeric country code or 999",
	"GS1_LINTER_NOT_ISO3166_ALPHA2":                     "not an ISO 3166 alpha-2 country code",
	"GS1_LINTER_NOT_ISO4217":                            "not an ISO 4217 numeric currency code",
	"GS1_LINTER_INVALID_BIOLOGICAL_SEX_CODE":            "not an ISO 5218 sex code (0, 1, 2 or 9)",
	"GS1_LINTER_NOT_ZERO_OR_ONE":                        "must be 0 or 1",
	"GS1_LINTER_INVALID_WINDING_DIRECTION":              "winding direction must be 0, 1 or 9",
	"GS1_LINTER_IBAN_TOO_SHORT":                         "IBAN is too short",
	"GS1_LINTER_INVALID_IBAN_CHARACTER":                 "IBAN holds an invalid character",
	"GS1_LINTER_ILLEGAL_IBAN_COUNTRY_CODE":              "IBAN country code is not valid",
	"GS1_LINTER_INCORRECT_IBAN_CHECKSUM":                "IBAN check digits are incorrect",
	"GS1_LINTER_INVALID_LATITUDE":                       "latitude is out of range",
	"GS1_LINTER_INVALID_LONGITUDE":                      "longitude is out of range",
	"GS1_LINTER_INVALID_MEDIA_TYPE":                     "not a valid AIDC media type",
	"GS1_LINTER_INVALID_PERCENT_SEQUENCE":               "'%' must be followed by two hex digits",
	"GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED":         "position in sequence must look like 1/2",
	"GS1_LINTER_POSITION_EXCEEDS_END":                   "position exceeds the sequence length",
	"GS1_LINTER_NOT_HYPHEN":                             "must be a hyphen",
	"GS1_LINTER_INVALID_IMPORTER_IDX":                   "not a valid importer index character",
	"GS1_LINTER_INVALID_PACKAGE_TYPE":                   "not a valid package type code",
}

func lintMessage(code string) string {
	if m, ok := lintMessages[code]; ok {
		return m
	}
	return "breaks rule " + code
}
