package sigma

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors a RuleError wraps, so callers (and the corpus report) can
// classify rejections with errors.Is.
var (
	// ErrSyntax is malformed YAML.
	ErrSyntax = errors.New("yaml syntax")
	// ErrInvalid is a rule that breaks the Sigma format: missing or
	// mistyped attributes, bad condition, unknown selection.
	ErrInvalid = errors.New("invalid rule")
	// ErrUnsupported is valid Sigma this engine does not implement yet
	// (a modifier, a correlation type, the pipe aggregation syntax).
	ErrUnsupported = errors.New("unsupported")
	// ErrPlaceholder is an expand placeholder with no value in Options.Placeholders.
	ErrPlaceholder = errors.New("unresolved placeholder")
	// ErrRegexp is a regular expression RE2 cannot compile.
	ErrRegexp = errors.New("bad regular expression")
	// ErrReference is a correlation naming a rule that is not loaded.
	ErrReference = errors.New("unknown rule reference")
	// ErrDuplicate is a rule id or name used twice.
	ErrDuplicate = errors.New("duplicate rule")
)

// RuleError is one problem in one rule, with the position of the offending
// YAML node. Compile returns every RuleError found, joined with errors.Join.
type RuleError struct {
	File   string
	RuleID string
	Title  string
	Line   int // 1-based; 0 if unknown
	Column int // 1-based; 0 if unknown
	Err    error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	switch {
	case e.Title != "" && e.RuleID != "":
		fmt.Fprintf(&b, "rule %q (%s): ", e.Title, e.RuleID)
	case e.Title != "":
		fmt.Fprintf(&b, "rule %q: ", e.Title)
	case e.RuleID != "":
		fmt.Fprintf(&b, "rule %s: ", e.RuleID)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Warning is a problem that does not stop a rule from loading: an unknown
// attribute, a field read from labels because it has no mapping.
type Warning struct {
	File   string
	RuleID string
	Title  string
	Line   int
	Column int
	Msg    string
}

func (w Warning) String() string {
	pos := w.File
	if w.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Column)
	}
	if w.Title != "" {
		return fmt.Sprintf("%s: rule %q: %s", pos, w.Title, w.Msg)
	}
	return pos + ": " + w.Msg
}

// posError is an error at a YAML node, before the rule is known.
type posError struct {
	line, col int
	err       error
}

func (p *posError) Error() string { return p.err.Error() }
func (p *posError) Unwrap() error { return p.err }

func errAt(line, col int, kind error, format string, args ...any) *posError {
	return &posError{line: line, col: col, err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

func errf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}
