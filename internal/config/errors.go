package config

import (
	"strconv"
	"strings"
)

// Error is one configuration problem: a variable, the value it had and what
// would have been accepted. FromEnv, Validate and Load return every problem
// joined with errors.Join; use errors.As to reach the first one.
type Error struct {
	Var     string // the variable, e.g. CASUS_BATCH_SIZE
	Value   string // the offending value; "****" for a secret
	Allowed string // what would be accepted, in words
	Err     error  // what is wrong with Value
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Var)
	b.WriteByte('=')
	b.WriteString(displayValue(e.Value))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Allowed != "" {
		b.WriteString(" (allowed: ")
		b.WriteString(e.Allowed)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the cause, e.g. strconv.ErrSyntax for a malformed integer.
func (e *Error) Unwrap() error { return e.Err }

// displayValue quotes a value only when it would otherwise be invisible or
// ambiguous in a VAR=value message (empty, spaces, control characters).
func displayValue(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r <= ' ' || r == '"' || !strconv.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}
