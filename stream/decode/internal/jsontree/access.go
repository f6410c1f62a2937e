package jsontree

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// Kind returns the kind of value i; Absent when i < 0.
func (t *Tree) Kind(i int32) Kind {
	if i < 0 || int(i) >= len(t.nodes) {
		return Absent
	}
	return t.nodes[i].kind
}

// First returns the first member or element of container i, or -1.
func (t *Tree) First(i int32) int32 {
	if k := t.Kind(i); k != Object && k != Array {
		return -1
	}
	return t.nodes[i].first
}

// Next returns the sibling after i, or -1.
func (t *Tree) Next(i int32) int32 {
	if i < 0 {
		return -1
	}
	return t.nodes[i].next
}

// Child returns the member of object i named key, or -1. With duplicate
// names the last wins, as with encoding/json.
func (t *Tree) Child(i int32, key string) int32 {
	if t.Kind(i) != Object {
		return -1
	}
	found := int32(-1)
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.KeyIs(c, key) {
			found = c
		}
	}
	return found
}

// Path follows a chain of member names from i; -1 when any is missing.
func (t *Tree) Path(i int32, keys ...string) int32 {
	for _, k := range keys {
		i = t.Child(i, k)
	}
	return i
}

// KeyIs reports whether member i is named key, without allocating.
func (t *Tree) KeyIs(i int32, key string) bool {
	n := &t.nodes[i]
	if !n.keyEsc {
		return string(t.data[n.keyOff:n.keyEnd]) == key
	}
	return string(t.KeyBytes(i)) == key
}

// KeyBytes returns member i's name, unescaped. The slice is valid until the
// next call of any method of t (an escaped name or value is unescaped into
// one shared buffer); use it for lookups, copy it to keep it.
func (t *Tree) KeyBytes(i int32) []byte {
	n := &t.nodes[i]
	if !n.keyEsc {
		return t.data[n.keyOff:n.keyEnd]
	}
	t.scratch = unescape(t.scratch[:0], t.data[n.keyOff:n.keyEnd])
	return t.scratch
}

// Key returns member i's name as a new string.
func (t *Tree) Key(i int32) string { return string(t.KeyBytes(i)) }

// TextBytes returns scalar i as text (a string unescaped, a number or bool
// literal as written) and whether it is present: false for null, absent
// and containers. The slice follows KeyBytes' rules.
func (t *Tree) TextBytes(i int32) ([]byte, bool) {
	switch t.Kind(i) {
	case String, Number, Bool:
	default:
		return nil, false
	}
	n := &t.nodes[i]
	if !n.esc {
		return t.data[n.off:n.end], true
	}
	t.scratch = unescape(t.scratch[:0], t.data[n.off:n.end])
	return t.scratch, true
}

// Text returns scalar i as a new string; see TextBytes.
func (t *Tree) Text(i int32) (string, bool) {
	b, ok := t.TextBytes(i)
	if !ok {
		return "", false
	}
	return string(b), true
}

// Int returns value i as an integer: a JSON number with no fraction, or a
// string holding one (sensors write numbers both ways). A float with an
// integral value (80.0, 8e1) is accepted. ok is false when the value is
// null or absent; err describes any other type or a value out of range.
func (t *Tree) Int(i int32) (n int64, ok bool, err error) {
	switch t.Kind(i) {
	case Null, Absent:
		return 0, false, nil
	case Number, String:
	default:
		return 0, false, fmt.Errorf("want integer, got %s", t.Describe(i))
	}
	b, _ := t.TextBytes(i)
	s := strings.TrimSpace(string(b))
	if t.Kind(i) == String && s == "" {
		return 0, false, nil
	}
	if v, perr := strconv.ParseInt(s, 10, 64); perr == nil {
		return v, true, nil
	} else if errors.Is(perr, strconv.ErrRange) {
		return 0, false, fmt.Errorf("want integer, got %s: out of range", t.Describe(i))
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, fmt.Errorf("want integer, got %s", t.Describe(i))
	}
	if f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false, fmt.Errorf("want integer, got %s: out of range", t.Describe(i))
	}
	return int64(f), true, nil
}

// Float returns value i as a number: a JSON number or a string holding one.
// ok and err as for Int; NaN and infinities are errors.
func (t *Tree) Float(i int32) (f float64, ok bool, err error) {
	switch t.Kind(i) {
	case Null, Absent:
		return 0, false, nil
	case Number, String:
	default:
		return 0, false, fmt.Errorf("want number, got %s", t.Describe(i))
	}
	b, _ := t.TextBytes(i)
	s := strings.TrimSpace(string(b))
	if t.Kind(i) == String && s == "" {
		return 0, false, nil
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, fmt.Errorf("want number, got %s", t.Describe(i))
	}
	return f, true, nil
}

// Bool returns value i as a bool: a JSON bool or the strings "true" and
// "false". ok and err as for Int.
func (t *Tree) Bool(i int32) (b, ok bool, err error) {
	switch t.Kind(i) {
	case Null, Absent:
		return false, false, nil
	case Bool, String:
		s, _ := t.TextBytes(i)
		switch string(s) {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
	}
	return false, false, fmt.Errorf("want bool, got %s", t.Describe(i))
}

// maxQuoted bounds how much of a hostile value an error message quotes.
const maxQuoted = 32

// Describe names value i's type for an error, quoting a short prefix of
// strings and numbers.
func (t *Tree) Describe(i int32) string {
	switch k := t.Kind(i); k {
	case String:
		s, _ := t.Text(i)
		return "string " + strconv.Quote(decerr.Truncate(s, maxQuoted))
	case Number:
		s, _ := t.Text(i)
		return "number " + decerr.Truncate(s, maxQuoted)
	default:
		return k.String()
	}
}

// unescape appends the JSON string contents s, escapes resolved, to dst.
// The parser has checked the escapes. A lone surrogate becomes U+FFFD, as
// encoding/json does.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+1 : i+5])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 = hex4(s[i+3 : i+7])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
