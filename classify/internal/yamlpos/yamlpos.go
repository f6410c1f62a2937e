package yamlpos

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a YAML file, with its position.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Err    error
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Parser walks a YAML node tree by hand so that every problem carries its
// line and column and all of them are reported in one pass.
type Parser struct {
	file string
	errs []*Error
}

// NewParser returns a Parser whose errors name file.
func NewParser(file string) *Parser {
	return &Parser{file: file}
}

// Errorf records a problem at n's position; a nil n leaves it unpositioned.
func (p *Parser) Errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// NumErrors is how many problems have been recorded so far; callers compare
// it before and after a check to learn whether that check failed.
func (p *Parser) NumErrors() int { return len(p.errs) }

// Err returns every collected problem in file order, or nil.
func (p *Parser) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Root parses data and returns the top-level node, nil for an empty document.
func (p *Parser) Root(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.syntax(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return Deref(doc.Content[0])
}

// syntax turns yaml.v3's "yaml: line N: msg" into a positioned Error.
func (p *Parser) syntax(err error) {
	msg := err.Error()
	e := &Error{File: p.file, Err: err}
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				e.Line, e.Err = n, errors.New(text)
			}
		}
	}
	p.errs = append(p.errs, e)
}

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is an explicit null (null, ~ or an empty value).
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Fields checks that n is a mapping with only known, unrepeated keys and
// returns its values by key.
func (p *Parser) Fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	n = Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.Errorf(n, "%s must be a mapping", what)
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.Errorf(k, "%s has a non-scalar key", what)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.Errorf(k, "unknown field %q in %s (allowed: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.Errorf(k, "field %q repeated in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	return out
}

// Seq returns the items of a sequence; a missing or null value is empty.
func (p *Parser) Seq(n *yaml.Node, field string) []*yaml.Node {
	n = Deref(n)
	if n == nil || IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "%s must be a list", field)
		return nil
	}
	return n.Content
}

// Str decodes a string, trimmed; an absent n is "".
func (p *Parser) Str(n *yaml.Node, field string) string {
	n = Deref(n)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || IsNull(n) {
		p.Errorf(n, "%s must be a string", field)
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// Integer decodes an integer; ok is false when n is absent or not one (the
// latter reported).
func (p *Parser) Integer(n *yaml.Node, field string) (v int, ok bool) {
	n = Deref(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.Errorf(n, "%s must be an integer, got %q", field, n.Value)
		return 0, false
	}
	return v, true
}

// Number decodes an integer or a float; ok is false when n is absent or not
// a number (the latter reported).
func (p *Parser) Number(n *yaml.Node, field string) (v float64, ok bool) {
	n = Deref(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil {
		p.Errorf(n, "%s must be a number, got %q", field, n.Value)
		return 0, false
	}
	return v, true
}

// Duration decodes a Go duration such as "1h" or "90m"; ok is false when n
// is absent or not one (the latter reported).
func (p *Parser) Duration(n *yaml.Node, field string) (d time.Duration, ok bool) {
	n = Deref(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode {
		p.Errorf(n, "%s must be a duration such as 1h or 30m", field)
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.Errorf(n, "%s must be a duration such as 1h or 30m, got %q", field, n.Value)
		return 0, false
	}
	return d, true
}
