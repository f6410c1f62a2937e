package winevt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Helpers over the parsed record. The tree keeps member order (ev.Fields
// follows the record). The parser refuses a name given twice in one
// object; names that collide across objects (EventData repeating a System
// name) resolve to the last member, as encoding/json would.

// isAttrKey reports whether member c carries XML attributes rather than
// content: evtx_dump's "#attributes" and xmltodict's "@Name" style.
func isAttrKey(t *jsontree.Tree, c int32) bool {
	k := t.KeyBytes(c)
	return (len(k) > 0 && k[0] == '@') || string(k) == "#attributes"
}

// scalar returns scalar i as text: a string unescaped, a number through
// decimal, a bool as "true"/"false". present is false for null, absent and
// containers.
func scalar(t *jsontree.Tree, i int32) (s string, present bool) {
	b, ok := t.TextBytes(i)
	if !ok {
		return "", false
	}
	if t.Kind(i) == jsontree.Number {
		return decimal(b), true
	}
	return string(b), true
}

// leaf renders a value that stands for one piece of text: a scalar; an
// element object holding only "#text" and attributes; or an array of such
// values, joined with newlines. present is false for null (and arrays of
// nulls); isLeaf is false for objects with content members and arrays
// holding such objects, which the caller walks instead.
func leaf(t *jsontree.Tree, i int32) (text string, present, isLeaf bool) {
	switch t.Kind(i) {
	case jsontree.Null:
		return "", false, true
	case jsontree.String, jsontree.Number, jsontree.Bool:
		s, _ := scalar(t, i)
		return s, true, true
	case jsontree.Object:
		txt := int32(-1)
		for c := t.First(i); c >= 0; c = t.Next(c) {
			switch {
			case t.KeyIs(c, "#text"):
				txt = c
			case isAttrKey(t, c):
			default:
				return "", false, false
			}
		}
		if txt < 0 {
			return "", false, false
		}
		return leaf(t, txt)
	case jsontree.Array:
		var parts []string
		for c := t.First(i); c >= 0; c = t.Next(c) {
			s, ok, isLeaf := leaf(t, c)
			if !isLeaf {
				return "", false, false
			}
			if ok {
				parts = append(parts, s)
			}
		}
		switch len(parts) {
		case 0:
			return "", false, true
		case 1:
			return parts[0], true, true
		}
		return strings.Join(parts, "\n"), true, true
	}
	return "", false, false
}

// text returns the leaf text of member key of object i.
func text(t *jsontree.Tree, i int32, key string) (string, bool) {
	c := t.Child(i, key)
	if c < 0 {
		return "", false
	}
	s, ok, _ := leaf(t, c)
	return s, ok
}

// attr returns XML attribute name of element elem inside object parent, in
// any of the layouts converters use: {"elem":{"#attributes":{"name":v}}}
// (evtx_dump), {"elem":{"@name":v}} (xmltodict) and
// {"elem_attributes":{"name":v}} (evtx_dump --separate-json-attributes).
func attr(t *jsontree.Tree, parent int32, elem, name string) (string, bool) {
	if e := t.Child(parent, elem); e >= 0 {
		if s, ok := text(t, t.Child(e, "#attributes"), name); ok {
			return s, true
		}
		if s, ok := text(t, e, "@"+name); ok {
			return s, true
		}
	}
	return text(t, t.Child(parent, elem+"_attributes"), name)
}

// decimal writes a JSON number in exponent notation (1.5e3) as plain
// decimal text (1500), so a field's text matches what Windows renders.
// Magnitudes outside [1e-6, 1e21) keep their literal: written out they
// would be hundreds of digits, an easy amplification for hostile input.
// Other literals are kept as written, digit for digit.
func decimal(b []byte) string {
	s := string(b)
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if a := math.Abs(f); err != nil || (a != 0 && (a < 1e-6 || a >= 1e21)) {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// checkTree refuses a tree parsed by someone else with laxer limits than
// the package's, so DecodeTree keeps Decode's guarantees.
func checkTree(t *jsontree.Tree) error {
	switch {
	case t.Kind(jsontree.Root) != jsontree.Object:
		return decerr.New(Format, decerr.Malformed, "", errors.New("want a JSON object at top level, got an empty tree"))
	case t.Len() > MaxValues:
		return decerr.New(Format, decerr.TooLarge, "", fmt.Errorf("more than %d JSON values", MaxValues))
	case tooDeep(t, jsontree.Root, 1):
		return decerr.New(Format, decerr.TooDeep, "", fmt.Errorf("nesting deeper than %d", MaxDepth))
	}
	return nil
}

// tooDeep reports whether container i, at nesting level depth, holds
// containers beyond MaxDepth. The recursion stops at MaxDepth+1.
func tooDeep(t *jsontree.Tree, i int32, depth int) bool {
	if depth > MaxDepth {
		return true
	}
	for c := t.First(i); c >= 0; c = t.Next(c) {
		if k := t.Kind(c); (k == jsontree.Object || k == jsontree.Array) && tooDeep(t, c, depth+1) {
			return true
		}
	}
	return false
}

// parseError restates a parse error for a record whose top-level value is
// not an object: malformed, as the decoder has always reported it, naming
// the value's type when the value itself is valid JSON. This runs only on
// failure.
func parseError(data []byte, err error) error {
	got, ok := topLevel(data, err)
	if !ok {
		var de *decerr.Error
		if errors.As(err, &de) && de.Reason == decerr.WrongType {
			// jsontree calls a non-object top level wrong_type.
			return decerr.New(Format, decerr.Malformed, "", de.Err)
		}
		return err
	}
	if got == "" {
		got = "an invalid or unterminated string"
	}
	return decerr.New(Format, decerr.Malformed, "", fmt.Errorf("want a JSON object at top level, got %s", got))
}

// topLevel describes the first value of a record that failed to parse and
// does not start with an object. ok is false when the record starts with
// an object, or with a scalar that is not a string and does not parse with
// what follows it. A string is judged alone, as a tokenizer reads it: got
// is "" for a broken one. The value is parsed again wrapped in an object,
// so jsontree both checks and describes it.
func topLevel(data []byte, err error) (got string, ok bool) {
	var de *decerr.Error
	if !errors.As(err, &de) || (de.Reason != decerr.WrongType && de.Reason != decerr.Malformed) {
		return "", false
	}
	v := bytes.TrimLeft(data, " \t\n\r")
	switch {
	case len(v) == 0 || v[0] == '{':
		return "", false
	case v[0] == '[':
		return "array", true // whatever follows, the record is no object
	}
	str := v[0] == '"'
	if str {
		v = v[:stringEnd(v)]
	}
	wrapped := make([]byte, 0, len(v)+len(`{"":}`))
	wrapped = append(append(append(wrapped, `{"":`...), v...), '}')
	var w jsontree.Tree
	if w.Parse(Format, wrapped, jsontree.Limits{MaxDepth: MaxDepth + 1, MaxValues: MaxValues + 1}) != nil {
		return "", str
	}
	return w.Describe(w.First(jsontree.Root)), true
}

// stringEnd returns the length of the JSON string at the start of v,
// closing quote included, or 0 when it is not closed.
func stringEnd(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return 0
}
