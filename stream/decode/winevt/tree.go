package winevt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// kind is a JSON value's type.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

// node is one JSON value. Children of an object or array are linked in
// document order through first and next, so member order (which the Fields
// order follows) survives and duplicate keys stay visible.
type node struct {
	key   string // member name when the parent is an object
	text  string // string value, number literal, or "true"/"false"
	kind  kind
	first int32 // first child, -1 when none
	last  int32 // last child, -1 when none (used while building)
	next  int32 // next sibling, -1 when none
}

// tree is a parsed record: nodes[0] is the top-level object. Nodes live in
// one slice, so a record costs one growing allocation rather than one per
// value, and the slice is reused across records through a sync.Pool.
type tree struct {
	nodes []node
	stack []int32
}

// parse reads one JSON object from dec into t. It enforces MaxDepth and
// MaxValues while reading, so hostile input is refused before it costs
// memory, and rejects anything after the object other than whitespace.
func (t *tree) parse(dec *json.Decoder) error {
	t.nodes = t.nodes[:0]
	t.stack = t.stack[:0]

	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if tok != json.Delim('{') {
		return decerr.New(Format, decerr.Malformed, "",
			fmt.Errorf("want a JSON object at top level, got %s", decerr.Describe(tok)))
	}
	t.nodes = append(t.nodes, node{kind: kindObject, first: -1, last: -1, next: -1})
	t.stack = append(t.stack, 0)

	var key string
	haveKey := false
	for len(t.stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		parent := t.stack[len(t.stack)-1]
		if t.nodes[parent].kind == kindObject && !haveKey {
			// The tokenizer allows only a key or '}' here.
			if k, ok := tok.(string); ok {
				key, haveKey = k, true
			} else {
				t.stack = t.stack[:len(t.stack)-1]
			}
			continue
		}
		if tok == json.Delim(']') {
			t.stack = t.stack[:len(t.stack)-1]
			continue
		}
		if len(t.nodes) >= MaxValues {
			return decerr.New(Format, decerr.TooLarge, "",
				fmt.Errorf("more than %d JSON values", MaxValues))
		}
		n := node{first: -1, last: -1, next: -1}
		if haveKey {
			n.key = key
			key, haveKey = "", false
		}
		container := false
		switch v := tok.(type) {
		case nil:
			n.kind = kindNull
		case string:
			n.kind, n.text = kindString, v
		case json.Number:
			n.kind, n.text = kindNumber, decimal(string(v))
		case bool:
			n.kind, n.text = kindBool, strconv.FormatBool(v)
		case json.Delim: // '{' or '[' in value position
			if len(t.stack)+1 > MaxDepth {
				return decerr.New(Format, decerr.TooDeep, "",
					fmt.Errorf("nesting deeper than %d at offset %d", MaxDepth, dec.InputOffset()))
			}
			n.kind = kindArray
			if v == '{' {
				n.kind = kindObject
			}
			container = true
		}
		idx := int32(len(t.nodes))
		t.nodes = append(t.nodes, n)
		p := &t.nodes[parent]
		if p.last >= 0 {
			t.nodes[p.last].next = idx
		} else {
			p.first = idx
		}
		p.last = idx
		if container {
			t.stack = append(t.stack, idx)
		}
	}

	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return syntaxError(err)
	default:
		return decerr.New(Format, decerr.Malformed, "",
			fmt.Errorf("data after the top-level object at offset %d", dec.InputOffset()))
	}
}

// child returns the last member of object i named key (duplicate keys:
// last wins), or -1.
func (t *tree) child(i int32, key string) int32 {
	if i < 0 || t.nodes[i].kind != kindObject {
		return -1
	}
	found := int32(-1)
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].key == key {
			found = c
		}
	}
	return found
}

// path returns the member at the end of a chain of keys, or -1.
func (t *tree) path(i int32, keys ...string) int32 {
	for _, k := range keys {
		i = t.child(i, k)
	}
	return i
}

// isAttrKey reports whether an object member carries XML attributes rather
// than content: evtx_dump's "#attributes" and xmltodict's "@Name" style.
func isAttrKey(key string) bool {
	return key == "#attributes" || (len(key) > 0 && key[0] == '@')
}

// leaf renders a value that stands for one piece of text: a scalar; an
// element object holding only "#text" and attributes; or an array of such
// values, joined with newlines. present is false for null (and arrays of
// nulls); isLeaf is false for objects with content members and arrays
// holding such objects, which the caller walks instead.
func (t *tree) leaf(i int32) (text string, present, isLeaf bool) {
	n := &t.nodes[i]
	switch n.kind {
	case kindNull:
		return "", false, true
	case kindString, kindNumber, kindBool:
		return n.text, true, true
	case kindObject:
		txt := int32(-1)
		for c := n.first; c >= 0; c = t.nodes[c].next {
			switch k := t.nodes[c].key; {
			case k == "#text":
				txt = c
			case isAttrKey(k):
			default:
				return "", false, false
			}
		}
		if txt < 0 {
			return "", false, false
		}
		return t.leaf(txt)
	case kindArray:
		var parts []string
		for c := n.first; c >= 0; c = t.nodes[c].next {
			s, ok, isLeaf := t.leaf(c)
			if !isLeaf {
				return "", false, false
			}
			if ok {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			return "", false, true
		}
		if len(parts) == 1 {
			return parts[0], true, true
		}
		return strings.Join(parts, "\n"), true, true
	}
	return "", false, false
}

// text returns the leaf text of member key of object i.
func (t *tree) text(i int32, key string) (string, bool) {
	c := t.child(i, key)
	if c < 0 {
		return "", false
	}
	s, ok, _ := t.leaf(c)
	return s, ok
}

// attr returns XML attribute name of element elem inside object parent, in
// any of the layouts converters use: {"elem":{"#attributes":{"name":v}}}
// (evtx_dump), {"elem":{"@name":v}} (xmltodict) and
// {"elem_attributes":{"name":v}} (evtx_dump --separate-json-attributes).
func (t *tree) attr(parent int32, elem, name string) (string, bool) {
	if e := t.child(parent, elem); e >= 0 {
		if s, ok := t.text(t.child(e, "#attributes"), name); ok {
			return s, true
		}
		if s, ok := t.text(e, "@"+name); ok {
			return s, true
		}
	}
	return t.text(t.child(parent, elem+"_attributes"), name)
}

// describe names a value's JSON type for an error, quoting a short prefix
// of strings and numbers.
func (t *tree) describe(i int32) string {
	n := &t.nodes[i]
	switch n.kind {
	case kindNull:
		return "null"
	case kindBool:
		return "bool"
	case kindNumber:
		return "number " + decerr.Truncate(n.text, maxQuoted)
	case kindString:
		return "string " + strconv.Quote(decerr.Truncate(n.text, maxQuoted))
	case kindArray:
		return "array"
	}
	return "object"
}

// decimal writes a JSON number in exponent notation (1.5e3) as plain
// decimal text (1500), so a field's text matches what Windows renders.
// Magnitudes outside [1e-6, 1e21) keep their literal: written out they
// would be hundreds of digits, an easy amplification for hostile input.
// Other literals are kept as written, digit for digit.
func decimal(s string) string {
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if a := math.Abs(f); err != nil || (a != 0 && (a < 1e-6 || a >= 1e21)) {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("unexpected end of input")
	case errors.As(err, &se):
		err = fmt.Errorf("offset %d: %w", se.Offset, se)
	}
	return decerr.New(Format, decerr.Malformed, "", err)
}
