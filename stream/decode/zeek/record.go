package zeek

import (
	"fmt"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// kind is what a flat field held in the source: JSON types, or the Zeek
// column type of a TSV log.
type kind uint8

const (
	kindText   kind = iota // JSON string; TSV string, addr, enum, ...
	kindNumber             // JSON number; TSV count, int, double, time, interval, port
	kindBool               // JSON bool; TSV bool (T/F, rendered true/false)
	kindList               // JSON array; TSV set, vector, table (elements joined by "\n")
	kindObject             // JSON object: a marker only, never a native field
)

func (k kind) String() string {
	switch k {
	case kindNumber:
		return "number"
	case kindBool:
		return "bool"
	case kindList:
		return "array"
	case kindObject:
		return "object"
	}
	return "string"
}

// entry is one Zeek field under its dotted name. Its value is
// buf[off:end] until finish sets value.
type entry struct {
	name     string
	value    string
	off, end int
	kind     kind
}

// indexFrom is the entry count above which duplicate names are found
// through a map rather than a scan.
const indexFrom = 32

// record is one Zeek log record in flat form, whatever it was read from;
// the mapping to ECS reads only this. It is reused across records.
type record struct {
	entries []entry
	index   map[string]int
	fields  int    // entries that become native fields (not object markers)
	buf     []byte // every value, back to back: one string for the event
}

func (r *record) reset() {
	clear(r.entries) // drop the previous record's strings
	r.entries = r.entries[:0]
	clear(r.index)
	r.fields = 0
	r.buf = r.buf[:0]
}

// add stores a field with a copy of value; a name given twice keeps its
// first position and its last value. It fails beyond MaxFields native
// fields. Values are readable once finish has run.
func (r *record) add(name string, value []byte, k kind) error {
	off := len(r.buf)
	r.buf = append(r.buf, value...)
	if i := r.find(name); i >= 0 {
		e := &r.entries[i]
		if e.kind == kindObject && k != kindObject {
			r.fields++
		} else if e.kind != kindObject && k == kindObject {
			r.fields--
		}
		e.off, e.end, e.kind = off, len(r.buf), k
		return nil
	}
	if k != kindObject {
		if r.fields >= MaxFields {
			return decerr.New(Format, decerr.TooLarge, "", fmt.Errorf("more than %d fields", MaxFields))
		}
		r.fields++
	}
	r.entries = append(r.entries, entry{name: name, off: off, end: len(r.buf), kind: k})
	n := len(r.entries)
	switch {
	case n == indexFrom+1:
		if r.index == nil {
			r.index = make(map[string]int, 2*indexFrom)
		}
		for i := range r.entries {
			r.index[r.entries[i].name] = i
		}
	case n > indexFrom+1:
		r.index[name] = n - 1
	}
	return nil
}

// finish makes the values readable: one string holds them all, so a
// record costs one allocation for its values.
func (r *record) finish() {
	all := string(r.buf)
	for i := range r.entries {
		e := &r.entries[i]
		e.value = all[e.off:e.end]
	}
}

func (r *record) find(name string) int {
	if len(r.entries) > indexFrom {
		if i, ok := r.index[name]; ok {
			return i
		}
		return -1
	}
	for i := range r.entries {
		if r.entries[i].name == name {
			return i
		}
	}
	return -1
}

// get returns the field name, or nil.
func (r *record) get(name string) *entry {
	if i := r.find(name); i >= 0 {
		return &r.entries[i]
	}
	return nil
}

// text returns a scalar field's value and whether it is present.
func (r *record) text(name string) (string, bool) {
	if e := r.get(name); e != nil && e.kind != kindObject {
		return e.value, true
	}
	return "", false
}

// nativeFields copies the record's fields, in record order, for
// event.Event.Fields.
func (r *record) nativeFields() []event.Field {
	if r.fields == 0 {
		return nil
	}
	out := make([]event.Field, 0, r.fields)
	for _, e := range r.entries {
		if e.kind != kindObject {
			out = append(out, event.Field{Name: e.name, Value: e.value})
		}
	}
	return out
}

// validText returns b with every byte that is not part of valid UTF-8
// written as \xHH, the way Zeek's own JSON writer escapes such bytes, so
// the event holds only valid UTF-8 and still shows what was sent.
func validText(b []byte) string { return string(validBytes(nil, b)) }

// validBytes appends b to out as validText renders it.
func validBytes(out, b []byte) []byte {
	if utf8.Valid(b) {
		return append(out, b...)
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, '\\', 'x', hex[b[i]>>4], hex[b[i]&0xf])
			i++
			continue
		}
		out = append(out, b[i:i+size]...)
		i += size
	}
	return out
}
