// Package indexheap is a min-heap whose items know their own index in it,
// so an item whose key changed can be fixed, or an item removed, in
// O(log n) without a search. The stateful stages keep their eviction and
// closing orders in one.
package indexheap

import "container/heap"

// Heap orders items by less; index returns where an item keeps its
// position (-1 once it left the heap). Not safe for concurrent use.
type Heap[T any] struct{ h inner[T] }

// New returns an empty Heap.
func New[T any](less func(a, b T) bool, index func(T) *int) *Heap[T] {
	return &Heap[T]{h: inner[T]{less: less, index: index}}
}

// Len is the number of items.
func (h *Heap[T]) Len() int { return len(h.h.items) }

// Min returns the least item; the heap must not be empty.
func (h *Heap[T]) Min() T { return h.h.items[0] }

// Push adds an item.
func (h *Heap[T]) Push(x T) { heap.Push(&h.h, x) }

// Fix restores the order after x's key changed.
func (h *Heap[T]) Fix(x T) { heap.Fix(&h.h, *h.h.index(x)) }

// Remove takes x out.
func (h *Heap[T]) Remove(x T) { heap.Remove(&h.h, *h.h.index(x)) }

type inner[T any] struct {
	items []T
	less  func(a, b T) bool
	index func(T) *int
}

func (h inner[T]) Len() int           { return len(h.items) }
func (h inner[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h inner[T]) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.index(h.items[i]), *h.index(h.items[j]) = i, j
}

func (h *inner[T]) Push(x any) {
	t := x.(T)
	*h.index(t) = len(h.items)
	h.items = append(h.items, t)
}

func (h *inner[T]) Pop() any {
	n := len(h.items) - 1
	t := h.items[n]
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	*h.index(t) = -1
	return t
}
