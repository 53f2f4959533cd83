package cloud

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Documented error messages and types of the Manufacturer V2 API.
const (
	MsgNoToken           = "No token provided"
	MsgBadToken          = "Failed to authenticate token"
	MsgChannel           = "Channel ID is missing or it needs to be in correct format"
	MsgUnparsable        = "Request body could not be parsed"
	MsgBatchNotFound     = "Batch not found"
	MsgLabelOrderExists  = "Label order already exists!"
	MsgTemplateMissing   = "Printing template doesn't exist!"
	MsgDestinationAbsent = "Destination not found"
	MsgNoSerialsAssigned = "Not enough serials assigned at the moment"
	MsgSerialsRequested  = "Not enough serials available at the moment. More serials have been requested. Please try after some time."

	CodeNoToken  = "ERR0001"
	CodeBadToken = "ERR0000"

	TypeNoToken    = "NoTokenError"
	TypeBadToken   = "InvalidTokenError"
	TypeValidation = "ValidationError"
	TypeProduct    = "ProductError"
)

// ErrorBody is the JSON body of a failed Manufacturer V2 call [inferred
// shape: success false, a message, and a code or an error type].
type ErrorBody struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Error is a failed call. Retryable says whether sending the same request
// again may succeed; RetryAfter is the server's advice, capped.
type Error struct {
	Op         string // e.g. "commission"
	Status     int    // HTTP status, 0 when no answer came
	Code       string // ERR0001, ERR0000 or an error type such as ValidationError
	Message    string
	Retryable  bool
	RetryAfter time.Duration
	// Ambiguous is set when the request may have been applied although no
	// answer came (a connection reset after sending).
	Ambiguous bool
	Err       error // the transport error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cloud ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Code)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	if e.Retryable {
		b.WriteString(" (retryable)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches errors by message, so callers can test for the documented
// cases: errors.Is(err, cloud.ErrLabelOrderExists).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Message == "" || t.Message == e.Message) && (t.Code == "" || t.Code == e.Code)
}

// Sentinels for errors.Is.
var (
	ErrNoToken           = &Error{Code: CodeNoToken}
	ErrBadToken          = &Error{Code: CodeBadToken}
	ErrChannel           = &Error{Message: MsgChannel}
	ErrUnparsable        = &Error{Message: MsgUnparsable}
	ErrValidation        = &Error{Code: TypeValidation}
	ErrProduct           = &Error{Code: TypeProduct}
	ErrBatchNotFound     = &Error{Message: MsgBatchNotFound}
	ErrLabelOrderExists  = &Error{Message: MsgLabelOrderExists}
	ErrTemplateMissing   = &Error{Message: MsgTemplateMissing}
	ErrDestinationAbsent = &Error{Message: MsgDestinationAbsent}
	ErrNoSerialsAssigned = &Error{Message: MsgNoSerialsAssigned}
	ErrSerialsRequested  = &Error{Message: MsgSerialsRequested}
)

// MaxRetryAfter caps the server's Retry-After advice.
const MaxRetryAfter = 5 * time.Minute

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, MaxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), MaxRetryAfter)
	}
	return 0
}

// classify decides whether a failed answer is worth retrying: server
// errors, throttling, and the documented "more serials have been requested"
// are; validation and state errors are not.
func classify(e *Error) {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status >= 500, e.Status == http.StatusRequestTimeout:
		e.Retryable = true
	case e.Message == MsgSerialsRequested:
		e.Retryable = true
	}
}

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	var fe *FieldError
	return !errors.As(err, &fe)
}
