package sigma

// automaton is an Aho-Corasick automaton over ASCII-folded bytes: it finds
// every literal occurring in a text in one pass. Transitions out of the root
// are a full table; other states keep their few edges in a slice.
type automaton struct {
	root  [256]int32
	edges [][]edge
	fail  []int32
	out   [][]int32 // literal ids ending at the state
	dict  []int32   // nearest state on the failure chain with output, or -1
}

type edge struct {
	c    byte
	next int32
}

func fold(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newAutomaton(lits []string) *automaton {
	a := &automaton{edges: [][]edge{nil}, fail: []int32{0}, out: [][]int32{nil}, dict: []int32{-1}}
	for li, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := fold(l[i])
			next := a.child(s, c)
			if next < 0 {
				next = int32(len(a.edges))
				a.edges = append(a.edges, nil)
				a.fail = append(a.fail, 0)
				a.out = append(a.out, nil)
				a.dict = append(a.dict, -1)
				if s == 0 {
					a.root[c] = next
				} else {
					a.edges[s] = append(a.edges[s], edge{c, next})
				}
			}
			s = next
		}
		a.out[s] = append(a.out[s], int32(li))
	}
	// Breadth-first: a state's failure link is the longest proper suffix of
	// its path that is also a path from the root.
	var queue []int32
	for c := 0; c < 256; c++ {
		if s := a.root[c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range a.edges[s] {
			f := a.fail[s]
			for f != 0 && a.child(f, e.c) < 0 {
				f = a.fail[f]
			}
			if n := a.child(f, e.c); n >= 0 && n != e.next {
				a.fail[e.next] = n
			}
			ft := a.fail[e.next]
			if len(a.out[ft]) > 0 {
				a.dict[e.next] = ft
			} else {
				a.dict[e.next] = a.dict[ft]
			}
			queue = append(queue, e.next)
		}
	}
	return a
}

// child returns the state reached from s by c without failure links, or -1.
func (a *automaton) child(s int32, c byte) int32 {
	if s == 0 {
		if n := a.root[c]; n != 0 {
			return n
		}
		return -1
	}
	for _, e := range a.edges[s] {
		if e.c == c {
			return e.next
		}
	}
	return -1
}

// scan reports every literal found in text to sc for field f.
func (a *automaton) scan(text string, f *pfField, sc *scratch) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		c := fold(text[i])
		for {
			if n := a.child(s, c); n >= 0 {
				s = n
				break
			}
			if s == 0 {
				break
			}
			s = a.fail[s]
		}
		for o := s; o > 0; o = a.dict[o] {
			for _, li := range a.out[o] {
				sc.found(f, li)
			}
		}
	}
}

// containsAny reports whether any literal occurs in text.
func (a *automaton) containsAny(text string) bool {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		c := fold(text[i])
		for {
			if n := a.child(s, c); n >= 0 {
				s = n
				break
			}
			if s == 0 {
				break
			}
			s = a.fail[s]
		}
		if len(a.out[s]) > 0 || a.dict[s] > 0 {
			return true
		}
	}
	return false
}
