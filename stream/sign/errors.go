package sign

import "errors"

// Reasons a record does not verify. Verify wraps them with the detail.
var (
	// ErrUnsigned is a record without a HeaderSignature header.
	ErrUnsigned = errors.New("unsigned: no " + HeaderSignature + " header")
	// ErrUnknownKey is a record signed with a key id the verifier lacks.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrBadSignature is a signature header that is not the standard
	// base64 of 64 bytes, or a record whose signature headers are missing a
	// key id or are repeated.
	ErrBadSignature = errors.New("bad signature encoding")
	// ErrMismatch is a well-formed signature that does not match the value
	// under the named key: the value was changed, or signed by another key.
	ErrMismatch = errors.New("signature does not match")
)
