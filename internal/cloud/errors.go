package cloud

import (
	"errors"
	"fmt"
	"github.com/edgeagent/edgeagent/internal/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The documented messages and codes, and the error body, are the V2
// dialect's: see package v2.
const (
	MsgNoToken           = v2.MsgNoToken
	MsgBadToken          = v2.MsgBadToken
	MsgChannel           = v2.MsgChannel
	MsgUnparsable        = v2.MsgUnparsable
	MsgBatchNotFound     = v2.MsgBatchNotFound
	MsgLabelOrderExists  = v2.MsgLabelOrderExists
	MsgTemplateMissing   = v2.MsgTemplateMissing
	MsgDestinationAbsent = v2.MsgDestinationAbsent
	MsgNoSerialsAssigned = v2.MsgNoSerialsAssigned
	MsgSerialsRequested  = v2.MsgSerialsRequested

	CodeNoToken  = v2.CodeNoToken
	CodeBadToken = v2.CodeBadToken

	TypeNoToken    = v2.TypeNoToken
	TypeBadToken   = v2.TypeBadToken
	TypeValidation = v2.TypeValidation
	TypeProduct    = v2.TypeProduct
)

// ErrorBody is the JSON body of a failed Manufacturer V2 call.
type ErrorBody = v2.ErrorBody

// Error is a failed call. Retryable says whether sending the same request
// again may succeed; RetryAfter is the server's advice, capped.
type Error struct {
	Op         string // e.g. "commission"
	Status     int    // HTTP status, 0 when no answer came
	Code       string // ERR0001, ERR0000 or an error type such as ValidationError
	Message    string
	Retryable  bool
	RetryAfter time.Duration
	// Answer is the typed form of the service's message (a
	// *AlreadyDoneError, a *NamedError, …), nil for a message the client
	// does not know; errors.Is and errors.As reach it.
	Answer error
	// Ambiguous is set when the request went out and no answer came: the
	// service may have applied it. Timeout is set when the answer did not
	// come in time.
	Ambiguous bool
	Timeout   bool
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

// Unwrap gives errors.Is and errors.As the transport error and the typed
// answer.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Err, e.Answer} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

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
