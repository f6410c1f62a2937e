package decerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Reason is a bounded category of decode failure, usable as a metric label
// and as a dead-letter header value.
type Reason string

// Reasons a record can fail to decode.
const (
	Empty         Reason = "empty"
	TooLarge      Reason = "too_large"
	InvalidUTF8   Reason = "invalid_utf8"
	Malformed     Reason = "malformed"
	WrongType     Reason = "wrong_type"
	MissingField  Reason = "missing_field"
	TooDeep       Reason = "too_deep"
	UnknownFormat Reason = "unknown_format"
	Compressed    Reason = "compressed"
)

// MaxFieldLen bounds Error.Field: field names can come from the record
// itself (labels.*) and the field travels in a dead-letter header.
const MaxFieldLen = 128

// Error is a decode failure: which format, why (bounded), which field if
// one is to blame, and the underlying cause.
type Error struct {
	Format string // decoder name, e.g. "ecs"
	Reason Reason
	Field  string // dotted field name, empty when no single field is to blame
	Err    error  // cause, may be nil
}

// New returns an *Error with Field truncated to MaxFieldLen bytes.
func New(format string, reason Reason, field string, err error) *Error {
	return &Error{Format: format, Reason: reason, Field: Truncate(field, MaxFieldLen), Err: err}
}

// Error renders "decode <format>: <reason>: field <field>: <cause>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	s := "decode"
	if e.Format != "" {
		s += " " + e.Format
	}
	s += ": " + string(e.Reason)
	if e.Field != "" {
		s += ": field " + e.Field
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain, Malformed
// for any other non-nil error, and "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var de *Error
	if errors.As(err, &de) && de.Reason != "" {
		return de.Reason
	}
	return Malformed
}

// Truncate shortens s to at most n bytes without splitting a UTF-8 sequence,
// marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// maxQuoted bounds how much of an offending value Describe quotes.
const maxQuoted = 32

// Describe names a JSON token's type for an error, quoting a short prefix
// of strings and numbers.
func Describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number " + Truncate(string(v), maxQuoted)
	case string:
		return "string " + strconv.Quote(Truncate(v, maxQuoted))
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	}
	return fmt.Sprintf("%T", tok)
}

// Blank reports whether data holds only JSON whitespace.
func Blank(data []byte) bool {
	for _, c := range data {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// InvalidUTF8At returns the offset of the first invalid UTF-8 byte in
// data, or -1.
func InvalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
