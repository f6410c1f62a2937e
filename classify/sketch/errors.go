package sketch

import "errors"

// ErrInvalid is wrapped by every error UnmarshalJSON returns for input that
// is not a well-formed sketch (bad bound, register count or value, unsorted
// or duplicated values, mixed modes), so callers restoring state can tell
// corrupt snapshots from I/O failures with errors.Is.
var ErrInvalid = errors.New("invalid sketch")
