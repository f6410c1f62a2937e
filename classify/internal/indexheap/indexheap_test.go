package indexheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type item struct {
	key, slot int
}

// Whatever the pushes, key changes and removals, the items come out in key
// order and every item's index is where it is.
func TestHeapOrderAndIndex(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	h := New(func(a, b *item) bool { return a.key < b.key }, func(x *item) *int { return &x.slot })
	var live []*item
	for range 2000 {
		switch op := rnd.IntN(4); {
		case op < 2 || len(live) == 0:
			x := &item{key: rnd.IntN(1000)}
			h.Push(x)
			live = append(live, x)
		case op == 2:
			x := live[rnd.IntN(len(live))]
			x.key = rnd.IntN(1000)
			h.Fix(x)
		default:
			i := rnd.IntN(len(live))
			h.Remove(live[i])
			if live[i].slot != -1 {
				t.Fatalf("removed item keeps index %d", live[i].slot)
			}
			live = slices.Delete(live, i, i+1)
		}
		for i, x := range h.h.items {
			if x.slot != i {
				t.Fatalf("item at %d says %d", i, x.slot)
			}
		}
	}
	if h.Len() != len(live) {
		t.Fatalf("Len %d, want %d", h.Len(), len(live))
	}
	var keys []int
	for h.Len() > 0 {
		x := h.Min()
		keys = append(keys, x.key)
		h.Remove(x)
	}
	if !slices.IsSorted(keys) {
		t.Fatalf("keys out of order: %v", keys)
	}
}
