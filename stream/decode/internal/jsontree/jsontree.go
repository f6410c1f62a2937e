package jsontree

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// Kind is a JSON value's type. Absent stands for a member that is not there
// (index -1), so lookups can be chained without checks.
type Kind uint8

// Kinds of value.
const (
	Absent Kind = iota
	Null
	String
	Number
	Bool
	Object
	Array
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Object:
		return "object"
	case Array:
		return "array"
	}
	return "absent"
}

// Root is the index of the top-level value.
const Root int32 = 0

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	// MaxDepth is the deepest nesting accepted; the top-level container is
	// level 1. Default 64.
	MaxDepth int
	// MaxValues is the most values (scalars and containers) in a record.
	// Default 65,536.
	MaxValues int
}

// Default limits.
const (
	DefaultMaxDepth  = 64
	DefaultMaxValues = 1 << 16
)

type node struct {
	keyOff, keyEnd int32 // member name span (without quotes)
	off, end       int32 // value span: string contents, or the literal
	first, last    int32 // children, -1 when none
	next           int32 // next sibling, -1 when none
	kind           Kind
	keyEsc, esc    bool // the span holds backslash escapes
}

// Tree is one parsed record. The zero value is ready to use.
type Tree struct {
	data    []byte
	nodes   []node
	stack   []int32
	scratch []byte
	format  string

	// uniqueNames's scratch, reused across objects and records.
	members     []int32
	slots       []int32
	nameScratch []byte
	seed        maphash.Seed
	seeded      bool
}

// Reset drops the tree's reference to the last record.
func (t *Tree) Reset() {
	t.data = nil
	if cap(t.scratch) > maxScratch {
		t.scratch = nil // a huge escaped value's buffer is not kept
	}
	if cap(t.nameScratch) > maxScratch {
		t.nameScratch = nil
	}
	t.nodes = t.nodes[:0]
	t.stack = t.stack[:0]
}

// maxScratch bounds the unescape buffer a Tree keeps between records.
const maxScratch = 64 << 10

// Cap returns the node capacity, so a pool can drop trees a huge record
// grew.
func (t *Tree) Cap() int { return cap(t.nodes) }

// Len returns the number of values in the tree.
func (t *Tree) Len() int { return len(t.nodes) }

// Parse reads data, one JSON value, into t. The top-level value must be an
// object. format names the decoder in errors. On failure the tree is empty.
func (t *Tree) Parse(format string, data []byte, lim Limits) error {
	t.Reset()
	t.format = format
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if lim.MaxValues <= 0 {
		lim.MaxValues = DefaultMaxValues
	}
	if decerr.Blank(data) {
		return decerr.New(format, decerr.Empty, "", nil)
	}
	if len(data) > math.MaxInt32 {
		return decerr.New(format, decerr.TooLarge, "", fmt.Errorf("value of %d bytes", len(data)))
	}
	if !utf8.Valid(data) {
		return decerr.New(format, decerr.InvalidUTF8, "",
			fmt.Errorf("invalid UTF-8 at offset %d", decerr.InvalidUTF8At(data)))
	}
	t.data = data
	p := parser{t: t, data: data, lim: lim}
	if err := p.parse(); err != nil {
		t.Reset()
		return err
	}
	return nil
}

type parser struct {
	t    *Tree
	data []byte
	pos  int
	lim  Limits
	// scalarLen is the length of the literal scalarAt recognised.
	scalarLen int
}

func (p *parser) errorf(reason decerr.Reason, format string, args ...any) error {
	return decerr.New(p.t.format, reason, "", fmt.Errorf(format, args...))
}

func (p *parser) syntax(what string) error {
	if p.pos >= len(p.data) {
		return p.errorf(decerr.Malformed, "unexpected end of input, want %s", what)
	}
	return p.errorf(decerr.Malformed, "offset %d: want %s, got %s", p.pos, what, p.near())
}

// near quotes the input at pos for an error message.
func (p *parser) near() string {
	end := min(p.pos+16, len(p.data))
	s := p.data[p.pos:end]
	for i := len(s); i > 0; i-- { // do not cut a rune in two
		if utf8.Valid(s[:i]) {
			s = s[:i]
			break
		}
	}
	return strconv.Quote(string(s))
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) parse() error {
	t := p.t
	p.ws()
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		return p.notObject()
	}
	p.pos++
	t.nodes = append(t.nodes, node{kind: Object, first: -1, last: -1, next: -1})
	t.stack = append(t.stack, 0)

	for len(t.stack) > 0 {
		parent := t.stack[len(t.stack)-1]
		pk := t.nodes[parent].kind
		p.ws()
		if p.pos >= len(p.data) {
			return p.syntax("a value")
		}
		c := p.data[p.pos]
		// Close the container, or step over the comma between members.
		if (pk == Object && c == '}') || (pk == Array && c == ']') {
			if pk == Object {
				if err := p.uniqueNames(parent); err != nil {
					return err
				}
			}
			p.pos++
			t.stack = t.stack[:len(t.stack)-1]
			continue
		}
		if t.nodes[parent].first >= 0 {
			if c != ',' {
				if pk == Object {
					return p.syntax("',' or '}'")
				}
				return p.syntax("',' or ']'")
			}
			p.pos++
			p.ws()
		}
		if len(t.nodes) >= p.lim.MaxValues {
			return p.errorf(decerr.TooLarge, "more than %d JSON values", p.lim.MaxValues)
		}
		n := node{first: -1, last: -1, next: -1}
		if pk == Object {
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return p.syntax("a member name")
			}
			off, end, esc, err := p.str()
			if err != nil {
				return err
			}
			n.keyOff, n.keyEnd, n.keyEsc = int32(off), int32(end), esc
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return p.syntax("':'")
			}
			p.pos++
			p.ws()
		}
		if p.pos >= len(p.data) {
			return p.syntax("a value")
		}
		container := false
		switch c := p.data[p.pos]; c {
		case '{', '[':
			if len(t.stack)+1 > p.lim.MaxDepth {
				return p.errorf(decerr.TooDeep, "nesting deeper than %d at offset %d", p.lim.MaxDepth, p.pos)
			}
			n.kind = Array
			if c == '{' {
				n.kind = Object
			}
			n.off = int32(p.pos)
			p.pos++
			container = true
		case '"':
			off, end, esc, err := p.str()
			if err != nil {
				return err
			}
			n.kind, n.off, n.end, n.esc = String, int32(off), int32(end), esc
		default:
			k, err := p.scalarAt()
			if err != nil {
				return err
			}
			n.kind, n.off, n.end = k, int32(p.pos), int32(p.pos+p.scalarLen)
			p.pos += p.scalarLen
		}
		idx := int32(len(t.nodes))
		t.nodes = append(t.nodes, n)
		pn := &t.nodes[parent]
		if pn.last >= 0 {
			t.nodes[pn.last].next = idx
		} else {
			pn.first = idx
		}
		pn.last = idx
		if container {
			t.stack = append(t.stack, idx)
		}
	}
	p.ws()
	if p.pos < len(p.data) {
		return p.errorf(decerr.Malformed, "data after the top-level object at offset %d", p.pos)
	}
	return nil
}

// uniqueNames refuses an object that names a member twice. Readers differ
// on which of the two values counts (the first, the last, both), so a
// record could say one thing to casus and another to the SIEM beside it.
// Names are compared unescaped: "a" and "\u0061" are the same name.
func (p *parser) uniqueNames(obj int32) error {
	t := p.t
	t.members = t.members[:0]
	escaped := false
	for i := t.nodes[obj].first; i >= 0; i = t.nodes[i].next {
		t.members = append(t.members, i)
		escaped = escaped || t.nodes[i].keyEsc
	}
	ms := t.members
	if len(ms) < 2 {
		return nil
	}
	if !escaped && len(ms) <= 4 {
		// The common small object: pairwise, without hashing.
		for a := 1; a < len(ms); a++ {
			for b := 0; b < a; b++ {
				if t.sameName(ms[a], ms[b]) {
					return p.duplicate(ms[a])
				}
			}
		}
		return nil
	}
	// An open-addressing set of member indexes. The hash is seeded per
	// tree, so crafted names cannot all collide and make this quadratic.
	size := 8
	for size < 2*len(ms) {
		size <<= 1
	}
	if cap(t.slots) < size {
		t.slots = make([]int32, size)
	}
	t.slots = t.slots[:size]
	for i := range t.slots {
		t.slots[i] = -1
	}
	if !t.seeded {
		t.seed, t.seeded = maphash.MakeSeed(), true
	}
	mask := uint64(size - 1)
	for _, m := range ms {
		h := maphash.Bytes(t.seed, t.KeyBytes(m)) & mask
		for t.slots[h] >= 0 {
			if t.sameName(m, t.slots[h]) {
				return p.duplicate(m)
			}
			h = (h + 1) & mask
		}
		t.slots[h] = m
	}
	return nil
}

// sameName reports whether members a and b have the same unescaped name.
func (t *Tree) sameName(a, b int32) bool {
	na, nb := &t.nodes[a], &t.nodes[b]
	if !na.keyEsc && !nb.keyEsc {
		return na.keyEnd-na.keyOff == nb.keyEnd-nb.keyOff && string(t.data[na.keyOff:na.keyEnd]) == string(t.data[nb.keyOff:nb.keyEnd])
	}
	ka := t.KeyBytes(a) // in t.scratch
	t.nameScratch = append(t.nameScratch[:0], ka...)
	return string(t.nameScratch) == string(t.KeyBytes(b))
}

// duplicate reports member m as naming a member already named.
func (p *parser) duplicate(m int32) error {
	return p.errorf(decerr.Malformed, "offset %d: duplicate member name %s: readers disagree on which value counts",
		p.t.nodes[m].keyOff-1, strconv.Quote(decerr.Truncate(p.t.Key(m), 64)))
}

// notObject explains a record whose top-level value is not an object: a
// complete scalar or an array is the wrong type, anything else malformed.
func (p *parser) notObject() error {
	if p.pos >= len(p.data) {
		return p.syntax("a JSON object")
	}
	start := p.pos
	switch c := p.data[p.pos]; {
	case c == '[':
		return p.errorf(decerr.WrongType, "want a JSON object at top level, got an array")
	case c == '"':
		if _, _, _, err := p.str(); err != nil {
			return err
		}
	default:
		if _, err := p.scalarAt(); err != nil {
			return p.syntax("a JSON object")
		}
		p.pos += p.scalarLen
	}
	value := string(p.data[start:p.pos])
	p.ws()
	if p.pos < len(p.data) {
		return p.errorf(decerr.Malformed, "data after the top-level value at offset %d", p.pos)
	}
	return p.errorf(decerr.WrongType, "want a JSON object at top level, got %s", strconv.Quote(decerr.Truncate(value, 32)))
}

// str scans a string starting at the opening quote and returns the span of
// its contents.
func (p *parser) str() (off, end int, esc bool, err error) {
	p.pos++ // opening quote
	off = p.pos
	d := p.data
	for i := p.pos; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			return off, i, esc, nil
		case c == '\\':
			esc = true
			i++
			if i >= len(d) {
				p.pos = i
				return 0, 0, false, p.syntax("an escape")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) || !isHex4(d[i+1:i+5]) {
					p.pos = i - 1
					return 0, 0, false, p.errorf(decerr.Malformed, "offset %d: invalid \\u escape", p.pos)
				}
				// A NUL ends a string for C readers further down the
				// pipeline, so a value could read differently there.
				if string(d[i+1:i+5]) == "0000" {
					p.pos = i - 1
					return 0, 0, false, p.errorf(decerr.Malformed, "offset %d: NUL character (\\u0000) in string", p.pos)
				}
				i += 4
			default:
				p.pos = i - 1
				return 0, 0, false, p.errorf(decerr.Malformed, "offset %d: invalid escape %s", p.pos, p.near())
			}
		case c < 0x20:
			p.pos = i
			return 0, 0, false, p.errorf(decerr.Malformed, "offset %d: control character 0x%02x in string", i, c)
		}
	}
	p.pos = len(d)
	return 0, 0, false, p.syntax("the closing '\"' of a string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// scalarAt recognises a number or literal at pos and stores its length in
// scalarLen.
func (p *parser) scalarAt() (Kind, error) {
	d := p.data[p.pos:]
	for _, lit := range [...]struct {
		s string
		k Kind
	}{{"true", Bool}, {"false", Bool}, {"null", Null}} {
		if bytes.HasPrefix(d, []byte(lit.s)) {
			p.scalarLen = len(lit.s)
			return lit.k, nil
		}
	}
	n := numberLen(d)
	if n == 0 {
		return 0, p.syntax("a value")
	}
	p.scalarLen = n
	return Number, nil
}

// numberLen returns the length of the JSON number at the start of d, or 0.
func numberLen(d []byte) int {
	i := 0
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			return 0
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			return 0
		}
	}
	return i
}
