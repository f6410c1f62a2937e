package native

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// MaxFields bounds the distinct names in ev.Fields: a record with more is
// refused (too_large) rather than truncated, so padding cannot push a value
// out of the rules' sight.
const MaxFields = 1024

// maxKeptBuf is the largest buffer kept for the next record.
const maxKeptBuf = 64 << 10

// linearNames is how many names are looked up by scanning before an index
// map is built: most records have fewer, and then need no map at all.
const linearNames = 96

// Fields flattens a record's scalars into source-native fields: nested
// object members are joined with dots, values of one array (at any depth
// below it) that share a name are joined with a separator, and a name set
// again outside such an array keeps its last value. Names live in one
// arena and values in reused buffers, so long arrays cost linear time and
// the event's fields cost two allocations, not two per field.
type Fields struct {
	format string   // names the decoder in errors
	names  []span   // into arena
	arena  []byte   // names, back to back
	vals   [][]byte // per field
	gens   []uint32 // array that last set the value; 0 outside arrays
	index  map[string]int32
	path   []byte
	gen    uint32
}

type span struct{ off, end int32 }

// New returns a collector whose errors name format.
func New(format string) *Fields { return &Fields{format: format} }

// Reset readies the collector for the next record.
func (n *Fields) Reset() {
	n.names = n.names[:0]
	n.arena = n.arena[:0]
	if cap(n.arena) > maxKeptBuf {
		n.arena = nil
	}
	for i := range n.vals {
		if cap(n.vals[i]) > maxKeptBuf {
			n.vals[i] = nil
		}
	}
	n.vals = n.vals[:0]
	n.gens = n.gens[:0]
	n.index = nil
	n.path = n.path[:0]
	n.gen = 0
}

// Member walks member c of an object, and everything below it, under its
// own name.
func (n *Fields) Member(t *jsontree.Tree, c int32) error { return n.member(t, c, 0) }

// Walk adds value i and everything below it; a top-level object's members
// are named by their keys.
func (n *Fields) Walk(t *jsontree.Tree, i int32) error { return n.walk(t, i, 0) }

// List adds the scalars of array i under name, joined with sep.
func (n *Fields) List(name string, t *jsontree.Tree, i int32, sep string) error {
	n.path = append(n.path[:0], name...)
	n.gen++
	for e := t.First(i); e >= 0; e = t.Next(e) {
		v, _ := t.TextBytes(e)
		if err := n.add(v, n.gen, sep); err != nil {
			return err
		}
	}
	n.path = n.path[:0]
	return nil
}

// member walks member c of an object under the current path.
func (n *Fields) member(t *jsontree.Tree, c int32, gen uint32) error {
	l := len(n.path)
	if l > 0 {
		n.path = append(n.path, '.')
	}
	n.path = append(n.path, t.KeyBytes(c)...)
	err := n.walk(t, c, gen)
	n.path = n.path[:l]
	return err
}

// walk adds value i, named by the current path, and everything below it.
func (n *Fields) walk(t *jsontree.Tree, i int32, gen uint32) error {
	switch t.Kind(i) {
	case jsontree.Object:
		for c := t.First(i); c >= 0; c = t.Next(c) {
			if err := n.member(t, c, gen); err != nil {
				return err
			}
		}
	case jsontree.Array:
		if gen == 0 {
			n.gen++
			gen = n.gen
		}
		for c := t.First(i); c >= 0; c = t.Next(c) {
			if err := n.walk(t, c, gen); err != nil {
				return err
			}
		}
	case jsontree.String, jsontree.Number, jsontree.Bool:
		if len(n.path) == 0 {
			return nil
		}
		v, _ := t.TextBytes(i)
		return n.add(v, gen, "\n")
	}
	return nil
}

// lookup returns the position of the current path's field, or -1.
func (n *Fields) lookup() int32 {
	if n.index != nil {
		if k, ok := n.index[string(n.path)]; ok {
			return k
		}
		return -1
	}
	for k, s := range n.names {
		if bytes.Equal(n.arena[s.off:s.end], n.path) {
			return int32(k)
		}
	}
	return -1
}

// add stores v under the current path: appended with sep when the same
// array set the name before, else replacing any earlier value.
func (n *Fields) add(v []byte, gen uint32, sep string) error {
	if k := n.lookup(); k >= 0 {
		if gen != 0 && n.gens[k] == gen {
			n.vals[k] = append(append(n.vals[k], sep...), v...)
		} else {
			n.vals[k] = append(n.vals[k][:0], v...)
			n.gens[k] = gen
		}
		return nil
	}
	if len(n.names) >= MaxFields {
		return decerr.New(n.format, decerr.TooLarge, "",
			fmt.Errorf("more than %d distinct field names", MaxFields))
	}
	k := int32(len(n.names))
	off := int32(len(n.arena))
	n.arena = append(n.arena, n.path...)
	n.names = append(n.names, span{off, int32(len(n.arena))})
	switch {
	case n.index != nil:
		n.index[string(n.path)] = k
	case len(n.names) > linearNames:
		n.index = make(map[string]int32, 2*linearNames)
		for j, s := range n.names {
			n.index[string(n.arena[s.off:s.end])] = int32(j)
		}
	}
	if len(n.vals) < cap(n.vals) {
		n.vals = n.vals[:k+1]
		n.vals[k] = append(n.vals[k][:0], v...)
	} else {
		n.vals = append(n.vals, append([]byte(nil), v...))
	}
	n.gens = append(n.gens, gen)
	return nil
}

// Fields returns the collected fields in record order. Their names and
// values share one new string, so they refer to nothing of the record.
func (n *Fields) Fields() []event.Field {
	if len(n.names) == 0 {
		return nil
	}
	size := len(n.arena)
	for _, v := range n.vals {
		size += len(v)
	}
	var b strings.Builder
	b.Grow(size)
	b.Write(n.arena)
	for _, v := range n.vals {
		b.Write(v)
	}
	all := b.String()
	fs := make([]event.Field, len(n.names))
	at := len(n.arena)
	for i, s := range n.names {
		end := at + len(n.vals[i])
		fs[i] = event.Field{Name: all[s.off:s.end], Value: all[at:end]}
		at = end
	}
	return fs
}
