package v2

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
