package v2

import "errors"

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
	// Fields lists every broken field rule of a ValidationError.
	Fields []FieldError `json:"fields,omitempty"`
}

// Refusal is a request the service refuses with one of its documented
// answers: the HTTP status and the error body.
type Refusal struct {
	Status int
	Body   ErrorBody
}

func (r *Refusal) Error() string {
	if r.Body.Error != "" && r.Body.Message == "" {
		return r.Body.Error
	}
	return r.Body.Message
}

// Refuse builds a refusal with a message (and optionally a code and type).
func Refuse(status int, message string) *Refusal {
	return &Refusal{Status: status, Body: ErrorBody{Message: message}}
}

// Documented refusals.
var (
	RefuseNoToken  = &Refusal{Status: 401, Body: ErrorBody{Code: CodeNoToken, Error: TypeNoToken, Message: MsgNoToken}}
	RefuseBadToken = &Refusal{Status: 401, Body: ErrorBody{Code: CodeBadToken, Error: TypeBadToken, Message: MsgBadToken}}
	RefuseChannel  = &Refusal{Status: 400, Body: ErrorBody{Message: MsgChannel}}
	RefuseUnparsed = &Refusal{Status: 400, Body: ErrorBody{Message: MsgUnparsable}}
	RefuseProduct  = &Refusal{Status: 404, Body: ErrorBody{Error: TypeProduct, Message: "ProductError: the product does not exist"}}
)

// Validation turns a broken field rule into the ValidationError answer.
// Every *FieldError the error holds is listed in the answer's fields.
func Validation(err error) *Refusal {
	b := ErrorBody{Error: TypeValidation, Message: TypeValidation + ": " + err.Error()}
	var fes FieldErrors
	var fe *FieldError
	switch {
	case errors.As(err, &fes):
		for _, f := range fes {
			b.Fields = append(b.Fields, *f)
		}
	case errors.As(err, &fe):
		b.Fields = []FieldError{*fe}
	}
	return &Refusal{Status: 400, Body: b}
}
