package decode

import "github.com/casus-sec/casus/stream/decode/internal/decerr"

// Reason is a bounded category of decode failure, usable as a metric label
// and as a dead-letter header value.
type Reason = decerr.Reason

// Error is a decode failure. Error() reads like
// "decode ecs: wrong_type: field source.port: want number, got object".
// Decoders return it as *Error; errors.As(err, new(*Error)) finds it.
type Error = decerr.Error

// Reasons a record can fail to decode.
const (
	// ReasonEmpty: the value is empty (or only whitespace).
	ReasonEmpty = decerr.Empty
	// ReasonTooLarge: the value exceeds the registry's byte limit.
	ReasonTooLarge = decerr.TooLarge
	// ReasonInvalidUTF8: a text format holds bytes that are not UTF-8.
	ReasonInvalidUTF8 = decerr.InvalidUTF8
	// ReasonMalformed: the bytes are not valid in the format (syntax), or
	// an error of unknown origin.
	ReasonMalformed = decerr.Malformed
	// ReasonWrongType: a field holds a value of the wrong type or out of
	// range for the field; Field names it.
	ReasonWrongType = decerr.WrongType
	// ReasonMissingField: a field the format requires is absent; Field
	// names it.
	ReasonMissingField = decerr.MissingField
	// ReasonTooDeep: nesting exceeds the decoder's depth limit.
	ReasonTooDeep = decerr.TooDeep
	// ReasonUnknownFormat: no decoder is registered under the format name.
	ReasonUnknownFormat = decerr.UnknownFormat
	// ReasonCompressed: the value is itself compressed (gzip, zstd, LZ4,
	// snappy); Kafka's own compression is transparent and never causes it.
	ReasonCompressed = decerr.Compressed
)

// Reasons returns every Reason, for pre-creating metric label values.
func Reasons() []Reason {
	return []Reason{
		ReasonEmpty, ReasonTooLarge, ReasonInvalidUTF8, ReasonMalformed,
		ReasonWrongType, ReasonMissingField, ReasonTooDeep, ReasonUnknownFormat, ReasonCompressed,
	}
}

// ReasonOf returns the Reason of the first *Error in err's chain,
// ReasonMalformed for any other error, and "" for a nil error.
func ReasonOf(err error) Reason { return decerr.ReasonOf(err) }

// NewError returns a decode failure of reason for field (may be empty) in
// format. It is for checks made on a decoded event, such as the pipeline's
// refusal of an impossible event time, so that they read like the decoders'.
func NewError(format string, reason Reason, field string, err error) *Error {
	return decerr.New(format, reason, field, err)
}
