package sigma

import (
	"slices"
	"sync"

	"github.com/casus-sec/casus/classify/event"
)

// The prefilter keeps an event from being tested against rules that cannot
// match it. For each rule it derives, from the condition, literals one of
// which must occur (case-insensitively) in a given field for the rule to
// match: `Image|endswith: '\psexec.exe'` requires "\psexec.exe" in Image.
// All literals of one field form an Aho-Corasick automaton, so an event's
// field is scanned once for every rule at the same time; a rule is tested
// only when one of its literals was found, or when it has no such literals
// (negations, regular expressions, keywords, numbers...).

// minLiteral is the shortest literal worth indexing: shorter ones occur in
// most values and would only cost marking.
const minLiteral = 3

// pfLit is one required literal of a rule: text that must occur in a field.
type pfLit struct {
	field fieldRef
	text  string // ASCII, lower case
}

// fieldKey identifies where a fieldRef reads from, for grouping literals.
type fieldKey struct {
	native string
	id     fieldID
	ecs    string
}

func keyOf(f fieldRef) fieldKey { return fieldKey{f.native, f.id, f.ecs} }

// pfField is the automaton of one field and, per literal, the rules
// requiring it.
type pfField struct {
	ref   fieldRef
	ac    *automaton
	rules [][]int32 // literal id -> rules
}

type prefilter struct {
	nrules  int
	indexed []bool // rule has literals: test it only if one is found
	fields  []pfField
	// ruleFields lists, per rule, the fields its literals are in.
	ruleFields [][]int
	pool       sync.Pool
}

// scratch is one evaluation's working memory, reused across events.
type scratch struct {
	hit     []uint64 // rule bitset
	litSeen []uint64 // literal bitset of the field being scanned
	marked  []int    // rules set in hit, to clear them
	out     []int
}

func newPrefilter(rules []rule) *prefilter {
	pf := &prefilter{nrules: len(rules), indexed: make([]bool, len(rules)), ruleFields: make([][]int, len(rules))}
	byField := map[fieldKey]int{}
	type litRules struct {
		ids   map[string]int
		texts []string
		rules [][]int32
	}
	var lits []*litRules
	for i := range rules {
		req, ok := ruleLiterals(&rules[i])
		if !ok {
			continue
		}
		pf.indexed[i] = true
		for _, l := range req {
			k := keyOf(l.field)
			fi, ok := byField[k]
			if !ok {
				fi = len(pf.fields)
				byField[k] = fi
				pf.fields = append(pf.fields, pfField{ref: l.field})
				lits = append(lits, &litRules{ids: map[string]int{}})
			}
			lr := lits[fi]
			li, ok := lr.ids[l.text]
			if !ok {
				li = len(lr.texts)
				lr.ids[l.text] = li
				lr.texts = append(lr.texts, l.text)
				lr.rules = append(lr.rules, nil)
			}
			if n := len(lr.rules[li]); n == 0 || lr.rules[li][n-1] != int32(i) {
				lr.rules[li] = append(lr.rules[li], int32(i))
			}
			if !slices.Contains(pf.ruleFields[i], fi) {
				pf.ruleFields[i] = append(pf.ruleFields[i], fi)
			}
		}
	}
	maxLits := 0
	for fi := range pf.fields {
		pf.fields[fi].ac = newAutomaton(lits[fi].texts)
		pf.fields[fi].rules = lits[fi].rules
		maxLits = max(maxLits, len(lits[fi].texts))
	}
	words := (len(rules) + 63) / 64
	litWords := (maxLits + 63) / 64
	pf.pool.New = func() any {
		return &scratch{hit: make([]uint64, words), litSeen: make([]uint64, litWords)}
	}
	return pf
}

func (pf *prefilter) get() *scratch  { return pf.pool.Get().(*scratch) }
func (pf *prefilter) put(s *scratch) { pf.pool.Put(s) }

// route completes a router entry: the fields whose literals belong to
// rules this logsource reaches.
func (pf *prefilter) route(_ event.Logsource, rules []int) *route {
	r := &route{rules: rules}
	for _, i := range rules {
		for _, fi := range pf.ruleFields[i] {
			if !slices.Contains(r.fields, fi) {
				r.fields = append(r.fields, fi)
			}
		}
	}
	slices.Sort(r.fields)
	return r
}

// filter returns the route's rules that are not indexed or had a literal
// found in ev, in rule order, in sc.out.
func (pf *prefilter) filter(ev *event.Event, rt *route, sc *scratch) []int {
	if len(sc.hit)*64 < pf.nrules {
		// A scratch from another rule set (a Correlator's zero value).
		sc.hit = make([]uint64, (pf.nrules+63)/64)
	}
	for _, fi := range rt.fields {
		f := &pf.fields[fi]
		s, _, num, ok := f.ref.value(ev)
		if !ok || num {
			continue
		}
		if need := (len(f.rules) + 63) / 64; len(sc.litSeen) < need {
			sc.litSeen = make([]uint64, need)
		}
		f.ac.scan(s, f, sc)
		clear(sc.litSeen)
	}
	sc.out = sc.out[:0]
	for _, i := range rt.rules {
		if !pf.indexed[i] || sc.hit[i>>6]&(1<<(uint(i)&63)) != 0 {
			sc.out = append(sc.out, i)
		}
	}
	for _, i := range sc.marked {
		sc.hit[i>>6] = 0
	}
	sc.marked = sc.marked[:0]
	return sc.out
}

// found records literal li of field f: its rules become candidates.
func (sc *scratch) found(f *pfField, li int32) {
	w, b := li>>6, uint64(1)<<(uint(li)&63)
	if sc.litSeen[w]&b != 0 {
		return
	}
	sc.litSeen[w] |= b
	for _, r := range f.rules[li] {
		sc.hit[r>>6] |= 1 << (uint(r) & 63)
		sc.marked = append(sc.marked, int(r))
	}
}

// ruleLiterals derives literals one of which must be present for the rule
// to match, or false when the condition gives none.
func ruleLiterals(r *rule) ([]pfLit, bool) {
	return nodeLiterals(r.cond, r.sels)
}

// nodeLiterals: an AND needs only its best child's literals, an OR needs
// every child to have some (their union), a NOT gives none.
func nodeLiterals(n *node, sels []selection) ([]pfLit, bool) {
	switch n.op {
	case nSel:
		return selectionLiterals(&sels[n.sel])
	case nAnd:
		return bestOf(len(n.kids), func(i int) ([]pfLit, bool) { return nodeLiterals(n.kids[i], sels) })
	case nAllOf:
		return bestOf(len(n.sels), func(i int) ([]pfLit, bool) { return selectionLiterals(&sels[n.sels[i]]) })
	case nOr:
		return unionOf(len(n.kids), func(i int) ([]pfLit, bool) { return nodeLiterals(n.kids[i], sels) })
	case nOneOf:
		return unionOf(len(n.sels), func(i int) ([]pfLit, bool) { return selectionLiterals(&sels[n.sels[i]]) })
	}
	return nil, false
}

func selectionLiterals(s *selection) ([]pfLit, bool) {
	return unionOf(len(s.groups), func(gi int) ([]pfLit, bool) {
		g := s.groups[gi]
		return bestOf(len(g), func(i int) ([]pfLit, bool) { return matcherLiterals(&g[i]) })
	})
}

// matcherLiterals: with |all every value must match, so any one value's
// literal will do; otherwise every value needs one.
func matcherLiterals(fm *fieldMatcher) ([]pfLit, bool) {
	if fm.keyword || fm.field.id == fThreatTechnique || fm.field.numeric() {
		return nil, false
	}
	lit := func(i int) ([]pfLit, bool) {
		v := &fm.values[i]
		if v.kind != vGlob || v.absent() {
			return nil, false
		}
		t, ok := longestLiteral(&v.glob)
		if !ok {
			return nil, false
		}
		return []pfLit{{field: fm.field, text: t}}, true
	}
	if fm.all {
		return bestOf(len(fm.values), lit)
	}
	return unionOf(len(fm.values), lit)
}

// longestLiteral returns the glob's longest literal run, lower-cased, if it
// is long enough and folds byte-wise (ASCII letters; caseless characters).
func longestLiteral(g *glob) (string, bool) {
	best := ""
	for _, seg := range g.segs {
		for _, it := range seg {
			if it.kind == itemLit && len(it.lit) > len(best) && !needsUnicodeFold(it.lit) {
				best = it.lit
			}
		}
	}
	if len(best) < minLiteral {
		return "", false
	}
	return toLowerASCII(best), true
}

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// bestOf picks, among the parts that have literals, the most selective set:
// the longest shortest literal, then the fewest literals.
func bestOf(n int, part func(int) ([]pfLit, bool)) ([]pfLit, bool) {
	var best []pfLit
	found := false
	for i := 0; i < n; i++ {
		l, ok := part(i)
		if !ok {
			continue
		}
		if !found || better(l, best) {
			best, found = l, true
		}
	}
	return best, found
}

func better(a, b []pfLit) bool {
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(ls []pfLit) int {
	m := int(^uint(0) >> 1)
	for _, l := range ls {
		m = min(m, len(l.text))
	}
	return m
}

func unionOf(n int, part func(int) ([]pfLit, bool)) ([]pfLit, bool) {
	var all []pfLit
	for i := 0; i < n; i++ {
		l, ok := part(i)
		if !ok {
			return nil, false
		}
		all = append(all, l...)
	}
	return all, n > 0
}
