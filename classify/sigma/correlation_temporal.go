package sigma

import "math"

// noTime marks an input not seen in a temporal group.
const noTime = math.MinInt64

// markSeen records input pos at t in a temporal group and returns how many
// inputs were seen after cutoff. Only the latest time of each input
// matters: the window always ends at the group's newest event.
func (g *group) markSeen(pos, n int, t, cutoff int64) int {
	if g.seen == nil {
		g.seen = make([]int64, n)
		for i := range g.seen {
			g.seen[i] = noTime
		}
	}
	if t > g.seen[pos] {
		g.seen[pos] = t
	}
	k := 0
	for _, s := range g.seen {
		if s > cutoff {
			k++
		}
	}
	return k
}

// occurrence is one input of a temporal_ordered group, ordered by event
// time, then by arrival: one event (one seq) never precedes itself.
type occurrence struct {
	t   int64
	seq uint64
}

func (o occurrence) before(p occurrence) bool {
	return o.t < p.t || o.t == p.t && o.seq < p.seq
}

// addOccurrence inserts o at input pos of a temporal_ordered group and
// drops the occurrences at or before cutoff. An input holding MaxDistinct
// occurrences drops its oldest.
func (c *Correlator) addOccurrence(g *group, pos, n int, o occurrence, cutoff int64) {
	if g.occs == nil {
		g.occs = make([][]occurrence, n)
	}
	if o.t > cutoff {
		l := g.occs[pos]
		i := len(l)
		for i > 0 && o.before(l[i-1]) { // a late event walks back to its place
			i--
		}
		l = append(l, occurrence{})
		copy(l[i+1:], l[i:])
		l[i] = o
		if len(l) > c.rs.opt.MaxDistinct {
			l = append(l[:0], l[1:]...)
			c.stats.Saturations++
		}
		g.occs[pos] = l
	}
	for k, l := range g.occs {
		i := 0
		for i < len(l) && l[i].t <= cutoff {
			i++
		}
		if i > 0 {
			g.occs[k] = append(l[:0], l[i:]...)
		}
	}
}

// orderedPrefix returns how many leading inputs occur in order: the
// earliest occurrence of the first, then the earliest of the second after
// it, and so on. Taking the earliest each time finds an ordered sequence
// whenever one exists.
func (g *group) orderedPrefix() int {
	var prev occurrence
	for k, l := range g.occs {
		i := 0
		if k > 0 {
			lo, hi := 0, len(l)
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				if prev.before(l[m]) {
					hi = m
				} else {
					lo = m + 1
				}
			}
			i = lo
		}
		if i == len(l) {
			return k
		}
		prev = l[i]
	}
	return len(g.occs)
}
