package sigma

import (
	"path"
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

type nodeOp uint8

const (
	nSel   nodeOp = iota // one selection
	nNot                 // not kids[0]
	nAnd                 // all kids
	nOr                  // any kid
	nOneOf               // any of sels
	nAllOf               // all of sels
)

// node is a compiled condition expression over selection indices.
type node struct {
	op   nodeOp
	sel  int
	sels []int
	kids []*node
}

func (n *node) eval(sels []selection, e *event.Event) bool {
	switch n.op {
	case nSel:
		return sels[n.sel].match(e)
	case nNot:
		return !n.kids[0].eval(sels, e)
	case nAnd:
		for _, k := range n.kids {
			if !k.eval(sels, e) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.eval(sels, e) {
				return true
			}
		}
		return false
	case nOneOf:
		for _, i := range n.sels {
			if sels[i].match(e) {
				return true
			}
		}
		return false
	case nAllOf:
		for _, i := range n.sels {
			if !sels[i].match(e) {
				return false
			}
		}
		return true
	}
	return false
}

// String renders the expression fully parenthesised (for tests and lint).
func (n *node) String(sels []selection) string {
	names := func(ix []int) string {
		s := make([]string, len(ix))
		for i, x := range ix {
			s[i] = sels[x].name
		}
		return strings.Join(s, ",")
	}
	switch n.op {
	case nSel:
		return sels[n.sel].name
	case nNot:
		return "not " + n.kids[0].String(sels)
	case nAnd, nOr:
		op := " and "
		if n.op == nOr {
			op = " or "
		}
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.String(sels)
		}
		return "(" + strings.Join(parts, op) + ")"
	case nOneOf:
		return "1of(" + names(n.sels) + ")"
	default:
		return "allof(" + names(n.sels) + ")"
	}
}

// condParser parses a Sigma condition: or < and < not, parentheses,
// `1 of X`, `all of X` where X is `them` or a name pattern with '*'.
type condParser struct {
	toks  []string
	pos   int
	names map[string]int
	order []string // selection names in definition order
}

func tokenize(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

// parseCondition compiles cond against the named selections (order gives
// the definition order used by `them` and patterns).
func parseCondition(cond string, names map[string]int, order []string) (*node, error) {
	if strings.Contains(cond, "|") {
		return nil, errf(ErrUnsupported, "aggregation in condition (%q); use a correlation rule", cond)
	}
	p := &condParser{toks: tokenize(cond), names: names, order: order}
	if len(p.toks) == 0 {
		return nil, errf(ErrInvalid, "empty condition")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, errf(ErrInvalid, "unexpected %q in condition", p.toks[p.pos])
	}
	return n, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) or() (*node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []*node{n}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		k, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return &node{op: nOr, kids: kids}, nil
}

func (p *condParser) and() (*node, error) {
	n, err := p.not()
	if err != nil {
		return nil, err
	}
	kids := []*node{n}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		k, err := p.not()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return &node{op: nAnd, kids: kids}, nil
}

func (p *condParser) not() (*node, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.pos++
		k, err := p.not()
		if err != nil {
			return nil, err
		}
		return &node{op: nNot, kids: []*node{k}}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, errf(ErrInvalid, "condition ends early")
	case t == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errf(ErrInvalid, "missing ')' in condition")
		}
		p.pos++
		return n, nil
	case t == ")":
		return nil, errf(ErrInvalid, "unexpected ')' in condition")
	case isKeyword(t):
		return nil, errf(ErrInvalid, "unexpected %q in condition", t)
	}
	p.pos++
	if p.pos < len(p.toks) && strings.EqualFold(p.toks[p.pos], "of") {
		p.pos++
		target := p.peek()
		if target == "" || target == "(" || target == ")" || isKeyword(target) {
			return nil, errf(ErrInvalid, "%q of needs a selection pattern or them", t)
		}
		p.pos++
		var op nodeOp
		switch strings.ToLower(t) {
		case "1", "any":
			op = nOneOf
		case "all":
			op = nAllOf
		default:
			return nil, errf(ErrUnsupported, "%q of (only 1 of and all of)", t)
		}
		sels, err := p.expand(target)
		if err != nil {
			return nil, err
		}
		return &node{op: op, sels: sels}, nil
	}
	i, ok := p.names[t]
	if !ok {
		return nil, errf(ErrInvalid, "unknown selection %q in condition", t)
	}
	return &node{op: nSel, sel: i}, nil
}

// expand resolves `them` (every selection not starting with '_') or a
// name pattern to selection indices in definition order.
func (p *condParser) expand(target string) ([]int, error) {
	var out []int
	for _, name := range p.order {
		var hit bool
		if strings.EqualFold(target, "them") {
			hit = !strings.HasPrefix(name, "_")
		} else {
			hit, _ = path.Match(target, name)
		}
		if hit {
			out = append(out, p.names[name])
		}
	}
	if len(out) == 0 {
		return nil, errf(ErrInvalid, "no selection matches %q in condition", target)
	}
	return out, nil
}

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}
