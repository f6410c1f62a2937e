package eventtime

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mark is a source's progress: nothing older than Watermark will come from
// it again, unless late. Of is how many sources feed the stage, so an
// Orderer knows when it has heard from all of them.
type Mark struct {
	Source    string    `json:"source"`
	Of        int       `json:"of"`
	Watermark time.Time `json:"watermark"`
	Idle      bool      `json:"idle,omitempty"`
}

// Item is a held record.
type Item[T any] struct {
	Time  time.Time `json:"time"`
	Key   string    `json:"key"`
	Value T         `json:"value"`
}

// State is an Orderer's content, for durable state: the sources' marks, the
// watermark released up to, and the held items in release order.
type State[T any] struct {
	Sources  []Mark    `json:"sources"`
	Released time.Time `json:"released"`
	Items    []Item[T] `json:"items,omitempty"`
}

// Orderer holds items until the watermark of every source has passed them.
// Not safe for concurrent use.
type Orderer[T any] struct {
	sources  map[string]Mark
	of       int
	released time.Time
	held     items[T]
	late     uint64
	// Durable state of the held items: the keys written, and the changes
	// since the last HeldChanges (nil: delete).
	written map[string]bool
	changed map[string]*Item[T]
}

// New returns an empty Orderer.
func New[T any]() *Orderer[T] {
	return &Orderer[T]{sources: map[string]Mark{}, written: map[string]bool{}, changed: map[string]*Item[T]{}}
}

// StateKey names a held item in durable state: its time and key.
func (it Item[T]) StateKey() string { return it.Time.UTC().Format(time.RFC3339Nano) + "/" + it.Key }

// Mark records a source's watermark. A source's watermark never goes back:
// a lower one (a restarted source replaying) keeps the higher.
func (o *Orderer[T]) Mark(m Mark) {
	if m.Of > o.of {
		o.of = m.Of
	}
	if old, ok := o.sources[m.Source]; ok && old.Watermark.After(m.Watermark) {
		m.Watermark = old.Watermark
	}
	o.sources[m.Source] = m
}

// Watermark is the event time before which items can be released: the
// lowest watermark of the sources that are not idle, once every source has
// been heard from; the latest watermark when all are idle; zero before.
func (o *Orderer[T]) Watermark() time.Time {
	w, _ := o.watermark()
	return w
}

// watermark is Watermark, and whether every source is idle (then all that
// is held can go, whatever its time).
func (o *Orderer[T]) watermark() (time.Time, bool) {
	if len(o.sources) == 0 || len(o.sources) < o.of {
		return o.released, false
	}
	var low, high time.Time
	active := false
	for _, m := range o.sources {
		if m.Watermark.After(high) {
			high = m.Watermark
		}
		if m.Idle {
			continue
		}
		if !active || m.Watermark.Before(low) {
			low = m.Watermark
		}
		active = true
	}
	w := low
	if !active {
		w = high
		if n := len(o.held); n > 0 {
			// Every source is idle: all they sent has arrived.
			w = maxTime(w, o.held.latest())
		}
	}
	return maxTime(w, o.released), !active
}

// Add holds an item, or reports it late (older than what was already
// released) so the caller processes it at once.
func (o *Orderer[T]) Add(t time.Time, key string, v T) (late bool) {
	// A mark promises nothing older than its watermark, so an item at the
	// watermark itself is on time (a source's next record may share its
	// latest event time); released is past every item already released.
	if t.Before(o.released) {
		o.late++
		return true
	}
	it := Item[T]{Time: t, Key: key, Value: v}
	heap.Push(&o.held, it)
	o.changed[it.StateKey()] = &it
	return false
}

// pop takes the next item out, noting that its state is to go.
func (o *Orderer[T]) pop() Item[T] {
	it := heap.Pop(&o.held).(Item[T])
	if k := it.StateKey(); o.written[k] {
		o.changed[k] = nil
	} else {
		delete(o.changed, k) // held and released between two HeldChanges
	}
	return it
}

// HeldChanges calls put with every held item added since the last call,
// as JSON, and with nil for every one released that a previous call had
// put, so a caller can keep the held items in durable state (RestoreItem
// reads them back).
func (o *Orderer[T]) HeldChanges(put func(key string, value []byte) error) error {
	for k, it := range o.changed {
		var v []byte
		if it != nil {
			b, err := json.Marshal(it)
			if err != nil {
				return fmt.Errorf("encode held item %s: %w", k, err)
			}
			v = b
		}
		if err := put(k, v); err != nil {
			return err
		}
		if it == nil {
			delete(o.written, k)
		} else {
			o.written[k] = true
		}
		delete(o.changed, k)
	}
	return nil
}

// Release calls fn with every held item before the watermark, in (time,
// key) order; with every held item when all sources are idle.
func (o *Orderer[T]) Release(fn func(Item[T])) {
	w, all := o.watermark()
	// Items at the watermark wait: their source may still send another at
	// that time, with a lower key, which must come first.
	for len(o.held) > 0 && (all || o.held[0].Time.Before(w)) {
		it := o.pop()
		o.released = maxTime(o.released, justAfter(it.Time))
		fn(it)
	}
	o.released = maxTime(o.released, w)
}

// Flush releases everything held, in order (the end of a finite input).
func (o *Orderer[T]) Flush(fn func(Item[T])) {
	for len(o.held) > 0 {
		it := o.pop()
		o.released = maxTime(o.released, justAfter(it.Time))
		fn(it)
	}
}

// justAfter is the least time after t: once an item at t is released, a
// later one at t is late.
func justAfter(t time.Time) time.Time { return t.Add(time.Nanosecond) }

// DecodeItem reads back a held item HeldChanges wrote.
func DecodeItem[T any](value []byte) (Item[T], error) {
	var it Item[T]
	if err := json.Unmarshal(value, &it); err != nil {
		return it, fmt.Errorf("decode held item: %w", err)
	}
	return it, nil
}

// Released is the event time up to which items have been released.
func (o *Orderer[T]) Released() time.Time { return o.released }

// Held is the number of items waiting for the watermark.
func (o *Orderer[T]) Held() int { return len(o.held) }

// Late is the number of late items seen.
func (o *Orderer[T]) Late() uint64 { return o.late }

// Sources returns the marks of every source heard from, by name.
func (o *Orderer[T]) Sources() []Mark {
	out := make([]Mark, 0, len(o.sources))
	for _, m := range o.sources {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Mark) int { return strings.Compare(a.Source, b.Source) })
	return out
}

// State returns the Orderer's content; the items are copies in release order.
func (o *Orderer[T]) State() State[T] {
	s := State[T]{Sources: o.Sources(), Released: o.released, Items: slices.Clone([]Item[T](o.held))}
	slices.SortFunc(s.Items, compare[T])
	return s
}

// Restore replaces the Orderer's content with s.
func (o *Orderer[T]) Restore(s State[T]) error {
	o.sources, o.of, o.held, o.released = map[string]Mark{}, 0, nil, s.Released
	o.written, o.changed = map[string]bool{}, map[string]*Item[T]{}
	for _, m := range s.Sources {
		if m.Source == "" {
			return fmt.Errorf("restore event-time state: a source without a name")
		}
		o.Mark(m)
	}
	for _, it := range s.Items {
		heap.Push(&o.held, it)
		o.written[it.StateKey()] = true
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func compare[T any](a, b Item[T]) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Key, b.Key))
}

// items is a min-heap in release order.
type items[T any] []Item[T]

func (h items[T]) Len() int           { return len(h) }
func (h items[T]) Less(i, j int) bool { return compare(h[i], h[j]) < 0 }
func (h items[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *items[T]) Push(x any)        { *h = append(*h, x.(Item[T])) }
func (h *items[T]) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func (h items[T]) latest() time.Time {
	var t time.Time
	for _, it := range h {
		t = maxTime(t, it.Time)
	}
	return t
}
