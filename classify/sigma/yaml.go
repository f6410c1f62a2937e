package sigma

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Helpers over yaml.Node: rules are read node by node so every error can
// name the line and column of the offending value.

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unexpected node"
}

// pair is one key/value of a mapping.
type pair struct {
	key   string
	kNode *yaml.Node
	val   *yaml.Node
}

// pairs returns a mapping's entries in order, reporting duplicate and
// non-scalar keys.
func pairs(n *yaml.Node) ([]pair, []error) {
	var out []pair
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, errAt(k.Line, k.Column, ErrInvalid, "mapping key is %s", kindName(k)))
			continue
		}
		if seen[k.Value] {
			errs = append(errs, errAt(k.Line, k.Column, ErrInvalid, "duplicate key %q", k.Value))
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, kNode: k, val: v})
	}
	return out, errs
}

// scalar reads a string attribute.
func scalar(key string, n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errAt(n.Line, n.Column, ErrInvalid, "%s must be a string, not %s", key, kindName(n))
	}
	return n.Value, nil
}

// stringList reads a list of strings; a single scalar is a list of one.
func stringList(key string, n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = deref(c)
			if c.Kind != yaml.ScalarNode {
				return nil, errAt(c.Line, c.Column, ErrInvalid, "%s items must be strings, not %s", key, kindName(c))
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errAt(n.Line, n.Column, ErrInvalid, "%s must be a list of strings, not %s", key, kindName(n))
}

func boolValue(key string, n *yaml.Node) (bool, error) {
	if n.Kind == yaml.ScalarNode {
		if b, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return b, nil
		}
	}
	return false, errAt(n.Line, n.Column, ErrInvalid, "%s must be true or false", key)
}
