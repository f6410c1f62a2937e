package sigma

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

type valueKind uint8

const (
	vGlob     valueKind = iota // string value with wildcards
	vRegexp                    // |re
	vCIDR                      // |cidr
	vCmp                       // |gt |gte |lt |lte
	vNull                      // null: the field is absent
	vExists                    // |exists
	vFieldRef                  // |fieldref: compared with another field
)

type cmpOp uint8

const (
	opGT cmpOp = iota
	opGTE
	opLT
	opLTE
)

// valueMatcher is one compiled value of a field (or keyword) selection.
type valueMatcher struct {
	kind   valueKind
	glob   glob
	isInt  bool // a plain integer: numeric fields compare it as a number
	intVal int64
	re     *regexp.Regexp
	prefix netip.Prefix
	op     cmpOp
	num    float64
	exists bool
	// |fieldref: the other field, how to compare (ref* modifiers) and
	// whether case matters.
	ref      fieldRef
	refMode  refMode
	refCased bool
}

type refMode uint8

const (
	refEqual refMode = iota
	refContains
	refStartsWith
	refEndsWith
)

// refMatch compares a field's value with the value of the field the rule
// names (|fieldref); both must be set.
func (m *valueMatcher) refMatch(e *event.Event, s string, n int64, num, ok bool) bool {
	o, on, onum, ook := m.ref.value(e)
	if !ok || !ook {
		return false
	}
	if num || onum {
		if num && onum {
			return m.refMode == refEqual && n == on
		}
		var a, b [24]byte
		if num {
			s = string(strconv.AppendInt(a[:0], n, 10))
		}
		if onum {
			o = string(strconv.AppendInt(b[:0], on, 10))
		}
	}
	eq := strings.EqualFold
	if m.refCased {
		eq = func(x, y string) bool { return x == y }
	}
	switch m.refMode {
	case refContains:
		for i := 0; i+len(o) <= len(s); i++ {
			if eq(s[i:i+len(o)], o) {
				return true
			}
		}
		return false
	case refStartsWith:
		return len(s) >= len(o) && eq(s[:len(o)], o)
	case refEndsWith:
		return len(s) >= len(o) && eq(s[len(s)-len(o):], o)
	}
	return eq(s, o)
}

// present matches a value that is set: s for text fields, n when num.
func (m *valueMatcher) present(s string, n int64, num bool) bool {
	switch m.kind {
	case vGlob:
		if num {
			if m.isInt {
				return n == m.intVal
			}
			var buf [24]byte
			return m.glob.match(string(strconv.AppendInt(buf[:0], n, 10)))
		}
		return m.glob.match(s)
	case vRegexp:
		if num {
			var buf [24]byte
			return m.re.Match(strconv.AppendInt(buf[:0], n, 10))
		}
		return m.re.MatchString(s)
	case vCIDR:
		if num {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && m.prefix.Contains(a.Unmap())
	case vCmp:
		x := float64(n)
		if !num {
			var ok bool
			if x, ok = parseNumber(s); !ok {
				return false
			}
		}
		switch m.op {
		case opGT:
			return x > m.num
		case opGTE:
			return x >= m.num
		case opLT:
			return x < m.num
		default:
			return x <= m.num
		}
	case vNull:
		return false
	case vExists:
		return m.exists
	}
	return false
}

// absent is the result for a field the event does not set.
func (m *valueMatcher) absent() bool {
	switch m.kind {
	case vNull:
		return true
	case vExists:
		return !m.exists
	case vGlob:
		// '' matches an empty field, which the event cannot tell from absent.
		return m.glob.hasExact && m.glob.exact == "" && len(m.glob.segs) == 0
	}
	return false
}

// parseNumber parses a decimal number without allocating on bad input
// (strconv allocates its error).
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// fieldMatcher is one `field|modifiers: values` item of a selection, or a
// keyword list when keyword is set.
type fieldMatcher struct {
	field   fieldRef
	keyword bool
	all     bool // every value must match (|all); otherwise any
	values  []valueMatcher
	// anyOf replaces the values when there are many plain `contains`
	// literals: one scan of the field finds whether any occurs.
	anyOf *automaton
}

// minAnyOf is the number of contains literals from which one automaton
// beats testing them one by one.
const minAnyOf = 8

// compileAnyOf builds fm.anyOf when every value is a case-insensitive,
// wildcard-free contains literal that folds byte-wise.
func (fm *fieldMatcher) compileAnyOf() {
	if fm.keyword || fm.all || len(fm.values) < minAnyOf || fm.field.numeric() || fm.field.id == fThreatTechnique {
		return
	}
	lits := make([]string, 0, len(fm.values))
	for i := range fm.values {
		g := &fm.values[i].glob
		if fm.values[i].kind != vGlob || g.cased || g.foldSlow || !g.leadStar || !g.trailStar ||
			len(g.segs) != 1 || len(g.segs[0]) != 1 || g.segs[0][0].kind != itemLit || g.segs[0][0].lit == "" {
			return
		}
		lits = append(lits, g.segs[0][0].lit)
	}
	fm.anyOf = newAutomaton(lits)
}

func (fm *fieldMatcher) match(e *event.Event) bool {
	if fm.keyword {
		return fm.matchKeywords(e)
	}
	if fm.field.id == fThreatTechnique && len(e.ThreatTechniques) > 1 {
		return fm.matchMulti(e.ThreatTechniques)
	}
	s, n, num, ok := fm.field.value(e)
	if fm.anyOf != nil {
		return ok && !num && fm.anyOf.containsAny(s)
	}
	if fm.all {
		for i := range fm.values {
			if !fm.values[i].test(e, s, n, num, ok) {
				return false
			}
		}
		return true
	}
	for i := range fm.values {
		if fm.values[i].test(e, s, n, num, ok) {
			return true
		}
	}
	return false
}

// test matches one value against a field's value (ok: the field is set).
func (m *valueMatcher) test(e *event.Event, s string, n int64, num, ok bool) bool {
	switch {
	case m.kind == vFieldRef:
		return m.refMatch(e, s, n, num, ok)
	case ok:
		return m.present(s, n, num)
	}
	return m.absent()
}

// matchMulti matches a multi-valued field: a value matches if any element does.
func (fm *fieldMatcher) matchMulti(vals []string) bool {
	any1 := func(v *valueMatcher) bool {
		for _, s := range vals {
			if s != "" && v.present(s, 0, false) {
				return true
			}
		}
		return false
	}
	for i := range fm.values {
		hit := any1(&fm.values[i])
		if fm.all && !hit {
			return false
		}
		if !fm.all && hit {
			return true
		}
	}
	return fm.all
}

// matchKeywords searches the event's text fields (keywordFields) and its
// source-native fields.
func (fm *fieldMatcher) matchKeywords(e *event.Event) bool {
	for i := range fm.values {
		v := &fm.values[i]
		hit := false
		for _, id := range keywordFields {
			if s := textValue(e, id); s != "" && v.present(s, 0, false) {
				hit = true
				break
			}
		}
		for j := 0; !hit && j < len(e.Fields); j++ {
			if s := e.Fields[j].Value; s != "" && v.present(s, 0, false) {
				hit = true
			}
		}
		if fm.all && !hit {
			return false
		}
		if !fm.all && hit {
			return true
		}
	}
	return fm.all
}

// selection is a named detection item: an OR of AND-groups.
type selection struct {
	name   string
	groups [][]fieldMatcher
}

func (s *selection) match(e *event.Event) bool {
	for _, g := range s.groups {
		ok := true
		for i := range g {
			if !g[i].match(e) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// knownModifiers are the value modifiers this engine implements.
var knownModifiers = map[string]bool{
	"contains": true, "startswith": true, "endswith": true, "all": true,
	"re": true, "i": true, "m": true, "s": true, "cidr": true,
	"gt": true, "gte": true, "lt": true, "lte": true,
	"windash": true, "exists": true, "expand": true, "cased": true,
	"base64": true, "base64offset": true, "wide": true, "utf16": true,
	"utf16le": true, "utf16be": true, "fieldref": true,
}

// specModifiers are Sigma modifiers that exist but are not implemented here.
var specModifiers = map[string]bool{
	"neq":    true,
	"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true,
}

type modifiers struct {
	contains, startswith, endswith, all, re, cidr, windash, exists, expand, cased bool
	reI, reM, reS                                                                 bool
	cmp                                                                           int // 0 none, else op+1
	fieldref                                                                      bool
	// enc are the value transformations (wide, utf16*, base64, base64offset)
	// in the order written: each applies to the previous one's output.
	enc []string
}

func parseModifiers(mods []string) (modifiers, error) {
	var m modifiers
	for _, s := range mods {
		if !knownModifiers[s] {
			if specModifiers[s] {
				return m, errf(ErrUnsupported, "modifier %q", s)
			}
			return m, errf(ErrInvalid, "unknown modifier %q", s)
		}
		switch s {
		case "contains":
			m.contains = true
		case "startswith":
			m.startswith = true
		case "endswith":
			m.endswith = true
		case "all":
			m.all = true
		case "re":
			m.re = true
		case "i":
			m.reI = true
		case "m":
			m.reM = true
		case "s":
			m.reS = true
		case "cidr":
			m.cidr = true
		case "windash":
			m.windash = true
		case "exists":
			m.exists = true
		case "expand":
			m.expand = true
		case "cased":
			m.cased = true
		case "fieldref":
			m.fieldref = true
		case "wide", "utf16le", "utf16be", "utf16", "base64", "base64offset":
			m.enc = append(m.enc, s)
		case "gt":
			m.cmp = int(opGT) + 1
		case "gte":
			m.cmp = int(opGTE) + 1
		case "lt":
			m.cmp = int(opLT) + 1
		case "lte":
			m.cmp = int(opLTE) + 1
		}
	}
	kinds := 0
	for _, b := range []bool{m.contains || m.startswith || m.endswith || m.windash || m.cased || len(m.enc) > 0 || m.fieldref, m.re, m.cidr, m.exists, m.cmp != 0} {
		if b {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return m, errf(ErrInvalid, "modifiers %s cannot be combined", strings.Join(mods, "|"))
	case (m.reI || m.reM || m.reS) && !m.re:
		return m, errf(ErrInvalid, "regular expression flags need the re modifier")
	case btoi(m.contains)+btoi(m.startswith)+btoi(m.endswith) > 1:
		return m, errf(ErrInvalid, "modifiers %s cannot be combined", strings.Join(mods, "|"))
	case m.fieldref && (len(m.enc) > 0 || m.windash || m.expand):
		return m, errf(ErrInvalid, "fieldref cannot be combined with %s", strings.Join(mods, "|"))
	}
	return m, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compileValue compiles one scalar value (after placeholder expansion).
func compileValue(m modifiers, v string, isInt bool) (valueMatcher, error) {
	switch {
	case m.re:
		flags := ""
		if m.reI {
			flags += "i"
		}
		if m.reM {
			flags += "m"
		}
		if m.reS {
			flags += "s"
		}
		expr := v
		if flags != "" {
			expr = "(?" + flags + ")" + v
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return valueMatcher{}, errf(ErrRegexp, "%v", err)
		}
		return valueMatcher{kind: vRegexp, re: re}, nil
	case m.cidr:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return valueMatcher{}, errf(ErrInvalid, "bad CIDR %q", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		return valueMatcher{kind: vCIDR, prefix: p.Masked()}, nil
	case m.cmp != 0:
		f, ok := parseNumber(v)
		if !ok {
			return valueMatcher{}, errf(ErrInvalid, "%q is not a number", v)
		}
		return valueMatcher{kind: vCmp, op: cmpOp(m.cmp - 1), num: f}, nil
	case m.exists:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return valueMatcher{}, errf(ErrInvalid, "exists needs true or false, not %q", v)
		}
		return valueMatcher{kind: vExists, exists: b}, nil
	}
	vm := valueMatcher{kind: vGlob, glob: parseGlob(v, m.cased, m.windash, m.contains || m.endswith, m.contains || m.startswith)}
	if isInt && !m.contains && !m.startswith && !m.endswith {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			vm.isInt, vm.intVal = true, n
		}
	}
	return vm, nil
}

// expandPlaceholders replaces every %name% in v by each of its values.
func expandPlaceholders(v string, ph map[string][]string) ([]string, error) {
	i := strings.IndexByte(v, '%')
	if i < 0 {
		return []string{v}, nil
	}
	j := strings.IndexByte(v[i+1:], '%')
	if j < 0 {
		return []string{v}, nil
	}
	name := v[i+1 : i+1+j]
	vals, ok := ph[name]
	if !ok || len(vals) == 0 {
		return nil, errf(ErrPlaceholder, "%%%s%%", name)
	}
	rest, err := expandPlaceholders(v[i+2+j:], ph)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals)*len(rest))
	for _, a := range vals {
		for _, r := range rest {
			out = append(out, v[:i]+a+r)
		}
	}
	return out, nil
}

// refValue compiles a |fieldref value: the other field, compared whole or
// by contains/startswith/endswith.
func refValue(m modifiers, other fieldRef) valueMatcher {
	vm := valueMatcher{kind: vFieldRef, ref: other, refCased: m.cased}
	switch {
	case m.contains:
		vm.refMode = refContains
	case m.startswith:
		vm.refMode = refStartsWith
	case m.endswith:
		vm.refMode = refEndsWith
	}
	return vm
}
