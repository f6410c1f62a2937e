package sigma

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// itemKind is one element of a glob segment.
type itemKind uint8

const (
	itemLit  itemKind = iota // literal text (lowercased unless cased)
	itemOne                  // '?': exactly one character
	itemDash                 // windash: one of - / – — ―
)

type item struct {
	kind itemKind
	lit  string
}

// segment is the part of a glob between two '*'.
type segment []item

// glob is a compiled Sigma string value: literals, '?' and '*' wildcards,
// matched case-insensitively unless cased. Patterns are lowercased at compile
// time; event values are folded byte by byte while matching so nothing is
// allocated for ASCII patterns.
type glob struct {
	segs      []segment
	leadStar  bool // pattern begins with '*'
	trailStar bool // pattern ends with '*'
	cased     bool
	// foldSlow is set for case-insensitive patterns with non-ASCII letters:
	// those lower the event value first (rare; it allocates).
	foldSlow bool
	// exact is the whole literal for wildcard-free patterns (fast path).
	exact    string
	hasExact bool
}

// parseGlob compiles a Sigma string value. Escapes follow the Sigma spec:
// `\*`, `\?` and `\\` are literal; a backslash before anything else is a
// plain backslash. windash turns a '-' or '/' that starts a word into a
// dash class.
func parseGlob(v string, cased, windash, lead, trail bool) glob {
	g := glob{cased: cased, leadStar: lead}
	var cur segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s := lit.String()
			if !cased {
				s = strings.ToLower(s)
			}
			cur = append(cur, item{kind: itemLit, lit: s})
			lit.Reset()
		}
	}
	first := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && (v[i+1] == '*' || v[i+1] == '?' || v[i+1] == '\\'):
			lit.WriteByte(v[i+1])
			i++
		case c == '*':
			flush()
			if first && len(cur) == 0 && len(g.segs) == 0 {
				g.leadStar = true
			}
			if len(cur) > 0 {
				g.segs = append(g.segs, cur)
				cur = nil
			}
			if i == len(v)-1 {
				g.trailStar = true
			}
		case c == '?':
			flush()
			cur = append(cur, item{kind: itemOne})
		case windash && (c == '-' || c == '/') && dashStartsWord(v, i):
			flush()
			cur = append(cur, item{kind: itemDash})
		default:
			lit.WriteByte(c)
		}
		first = false
	}
	flush()
	if len(cur) > 0 {
		g.segs = append(g.segs, cur)
	}
	if trail {
		g.trailStar = true
	}
	if len(g.segs) == 0 && !g.leadStar && !g.trailStar {
		// The empty pattern: matches only the empty (absent) value.
		g.hasExact = true
	}
	if !g.leadStar && !g.trailStar && len(g.segs) == 1 && len(g.segs[0]) == 1 && g.segs[0][0].kind == itemLit {
		g.exact, g.hasExact = g.segs[0][0].lit, true
	}
	if !cased {
		for _, s := range g.segs {
			for _, it := range s {
				if it.kind == itemLit && needsUnicodeFold(it.lit) {
					g.foldSlow = true
				}
			}
		}
	}
	return g
}

// dashStartsWord reports whether the '-' or '/' at i begins a command-line
// switch: at the start or after a non-word character, before a word character.
func dashStartsWord(v string, i int) bool {
	if i > 0 && isWordByte(v[i-1]) {
		return false
	}
	return i+1 < len(v) && isWordByte(v[i+1])
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// needsUnicodeFold reports whether s has a non-ASCII letter with case, which
// byte-wise ASCII folding would not match case-insensitively. Emoji and
// other caseless characters compare byte for byte.
func needsUnicodeFold(s string) bool {
	if isASCII(s) {
		return false
	}
	for _, r := range s {
		if r >= utf8.RuneSelf && (unicode.SimpleFold(r) != r || unicode.ToLower(r) != r) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// match reports whether v matches the whole pattern.
func (g *glob) match(v string) bool {
	if g.foldSlow {
		v = strings.ToLower(v)
	}
	if g.hasExact {
		if g.cased {
			return v == g.exact
		}
		return len(v) == len(g.exact) && g.eq(v, g.exact)
	}
	segs := g.segs
	pos := 0
	if !g.leadStar {
		if len(segs) == 0 {
			return g.trailStar || v == ""
		}
		e := g.matchAt(v, 0, segs[0])
		if e < 0 {
			return false
		}
		if len(segs) == 1 && !g.trailStar {
			return e == len(v)
		}
		pos = e
		segs = segs[1:]
	}
	var last segment
	if !g.trailStar && len(segs) > 0 {
		last = segs[len(segs)-1]
		segs = segs[:len(segs)-1]
	}
	// Leftmost match of each middle segment leaves the most room for the rest.
	for _, s := range segs {
		e := g.find(v, pos, s)
		if e < 0 {
			return false
		}
		pos = e
	}
	if last == nil {
		return true
	}
	return g.matchSuffix(v, pos, last)
}

// matchSuffix reports whether seg matches v[start:] for some start >= pos.
func (g *glob) matchSuffix(v string, pos int, seg segment) bool {
	if len(seg) == 1 && seg[0].kind == itemLit {
		s := len(v) - len(seg[0].lit)
		return s >= pos && g.eq(v[s:], seg[0].lit)
	}
	for s := len(v); s >= pos; s-- {
		if g.matchAt(v, s, seg) == len(v) {
			return true
		}
	}
	return false
}

// find returns the end of the leftmost match of seg in v at or after pos, or -1.
func (g *glob) find(v string, pos int, seg segment) int {
	if seg[0].kind == itemLit {
		first := seg[0].lit[0]
		for i := pos; i+len(seg[0].lit) <= len(v); i++ {
			c := v[i]
			if !g.cased && c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != first {
				continue
			}
			if e := g.matchAt(v, i, seg); e >= 0 {
				return e
			}
		}
		return -1
	}
	for i := pos; i <= len(v); i++ {
		if e := g.matchAt(v, i, seg); e >= 0 {
			return e
		}
	}
	return -1
}

// matchAt matches seg at v[i:] and returns the end offset, or -1.
func (g *glob) matchAt(v string, i int, seg segment) int {
	for _, it := range seg {
		switch it.kind {
		case itemLit:
			if len(v)-i < len(it.lit) || !g.eq(v[i:i+len(it.lit)], it.lit) {
				return -1
			}
			i += len(it.lit)
		case itemOne:
			if i >= len(v) {
				return -1
			}
			_, sz := utf8.DecodeRuneInString(v[i:])
			i += sz
		case itemDash:
			if i >= len(v) {
				return -1
			}
			r, sz := utf8.DecodeRuneInString(v[i:])
			switch r {
			case '-', '/', '\u2013', '\u2014', '\u2015':
			default:
				return -1
			}
			i += sz
		}
	}
	return i
}

// eq compares equal-length a (event text) and b (pattern, lowercased unless
// cased) folding ASCII case in a only.
func (g *glob) eq(a, b string) bool {
	if g.cased || g.foldSlow {
		return a == b
	}
	for i := 0; i < len(b); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}
