package yamlpos

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// LoadFile reads path and parses it with parse, which receives path as the
// name for its error positions. A read error is wrapped as "reading what".
func LoadFile[T any](path, what string, parse func(name string, data []byte) (T, error)) (T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	return parse(path, data)
}

// List walks a file whose top level is a mapping with the single field key
// holding a list of mappings, as in
//
//	key:
//	  - field: value
//
// It calls each for every item that is a mapping of known fields, with the
// item and its values by field. An empty document has no items; what names
// the top level and item one entry in error messages.
func (p *Parser) List(data []byte, what, key, item string, known []string, each func(item *yaml.Node, f map[string]*yaml.Node)) {
	root := p.Root(data)
	if root == nil || IsNull(root) {
		return
	}
	top := p.Fields(root, what, key)
	for _, n := range p.Seq(top[key], key) {
		n = Deref(n)
		if f := p.Fields(n, item, known...); f != nil {
			each(n, f)
		}
	}
}

// Unique remembers the line on which each key of a list was first defined.
type Unique[K comparable] map[K]int

// Add records key as defined at item; a key defined before is reported at
// item and gives false.
func (u Unique[K]) Add(p *Parser, key K, item *yaml.Node) bool {
	if line, dup := u[key]; dup {
		p.Errorf(item, "%v is already defined on line %d", key, line)
		return false
	}
	u[key] = item.Line
	return true
}

// Or returns n, or fallback when n is absent, so that a problem about a
// missing or empty field points at the field when it is there and at its
// parent otherwise.
func Or(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}
