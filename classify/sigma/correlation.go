package sigma

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/event"
)

type corrType uint8

const (
	ctEventCount corrType = iota
	ctValueCount
	ctValueSum
	ctValueAvg
	ctTemporal
	ctTemporalOrdered
)

var corrTypes = map[string]corrType{
	"event_count":      ctEventCount,
	"value_count":      ctValueCount,
	"value_sum":        ctValueSum,
	"value_avg":        ctValueAvg,
	"temporal":         ctTemporal,
	"temporal_ordered": ctTemporalOrdered,
}

func (t corrType) temporal() bool { return t == ctTemporal || t == ctTemporalOrdered }

// needsField reports whether the condition names the field aggregated.
func (t corrType) needsField() bool { return t == ctValueCount || t == ctValueSum || t == ctValueAvg }

// corrDoc is a parsed correlation document awaiting its references.
type corrDoc struct {
	meta     docMeta
	info     RuleInfo
	node     *yaml.Node
	generate bool
	hasTags  bool
}

// rangeCond is a correlation condition: every bound set must hold.
type rangeCond struct {
	gt, gte, lt, lte, eq         float64
	hasGT, hasGTE, hasLT, hasLTE bool
	hasEQ                        bool
}

func (c *rangeCond) ok(v float64) bool {
	return (!c.hasGT || v > c.gt) && (!c.hasGTE || v >= c.gte) &&
		(!c.hasLT || v < c.lt) && (!c.hasLTE || v <= c.lte) && (!c.hasEQ || v == c.eq)
}

// correlation is a compiled correlation rule.
type correlation struct {
	info     RuleInfo
	typ      corrType
	inputs   []corrInput // the rules: list, in order
	parents  []corrRef   // correlations this one feeds, with its position in theirs
	groupBy  []string    // as written
	value    fieldRef    // value_count / value_sum / value_avg field
	span     int64       // timespan, nanoseconds
	res      int64       // bucket resolution for event_count / value_sum / value_avg
	cond     rangeCond
	generate bool
}

// corrInput is one entry of a correlation's rules: a detection rule whose
// matches it observes, or a correlation whose firings it observes.
type corrInput struct {
	rule int // detection rule index, or -1
	corr int // correlation index, or -1
	// fields read each group-by value from the event, after aliases.
	fields []fieldRef
	// keyIdx, for a correlation input, takes each group-by value from the
	// referenced correlation's group key at that index; -1 reads fields[k]
	// from the event that made it fire.
	keyIdx []int
	srcK   int // group-by index read from source.ip, or -1
	dstK   int // group-by index read from destination.ip, or -1
}

var timespanRe = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}

func parseTimespan(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	unit, ok := timespanRe[s[len(s)-1]]
	if !ok || !digits(s[:len(s)-1]) {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// corrPlan carries one correlation document through compilation: parsed,
// references resolved, then compiled after every correlation it references.
type corrPlan struct {
	doc     corrDoc
	co      correlation
	refs    []corrSpec
	aliases map[string]map[string]string
	condSet bool
	errs    []error
	state   uint8 // 0 unvisited, 1 on the reference path, 2 done
	follow  int   // while on the path: the ref being followed
	cyclic  bool
	idx     int // index in Ruleset.corrs; -1 if it did not compile
}

// corrSpec is one entry of a correlation's rules: list as written.
type corrSpec struct {
	ref  string
	node *yaml.Node
	rule int // detection rule, or -1
	plan int // correlation document, or -1
}

// correlations compiles the correlation documents against the detection
// rules in rs and against each other, and marks the rules they consume. A
// correlation comes after every correlation it references; otherwise the
// load order holds.
func (c *compiler) correlations(rs *Ruleset) []correlation {
	byRef := map[string]int{}
	dup := map[string]bool{}
	add := func(key string, i int, m docMeta, n *yaml.Node) {
		if key == "" {
			return
		}
		if j, ok := byRef[key]; ok && j != i {
			if !dup[key] {
				c.fail(m, errAt(n.Line, n.Column, ErrDuplicate, "%q is used by more than one rule", key))
			}
			dup[key] = true
			return
		}
		byRef[key] = i
	}
	for i := range rs.rules {
		r := &rs.rules[i]
		m := docMeta{file: r.info.File, id: r.info.ID, title: r.info.Title}
		add(r.info.ID, i, m, &yaml.Node{})
		if r.info.Name != r.info.ID {
			add(r.info.Name, i, m, &yaml.Node{})
		}
	}
	plans := make([]corrPlan, len(c.corrDocs))
	byPlan := map[string]int{}
	for i, d := range c.corrDocs {
		plans[i] = corrPlan{doc: d, idx: -1}
		for _, key := range []string{d.info.ID, d.info.Name} {
			if key == "" {
				continue
			}
			j, isCorr := byPlan[key]
			if _, isRule := byRef[key]; isRule || isCorr && j != i {
				plans[i].errs = append(plans[i].errs, errAt(d.node.Line, d.node.Column, ErrDuplicate, "%q is used by more than one rule", key))
				continue
			}
			byPlan[key] = i
		}
	}
	for i := range plans {
		c.parseCorrelation(&plans[i], byRef, byPlan)
	}
	var out []correlation
	var path []int
	var visit func(i int)
	visit = func(i int) {
		p := &plans[i]
		p.state = 1
		path = append(path, i)
		for k := range p.refs {
			j := p.refs[k].plan
			if j < 0 {
				continue
			}
			p.follow = k
			switch plans[j].state {
			case 0:
				visit(j)
			case 1:
				cycleErrors(plans, path[slices.Index(path, j):])
			}
		}
		path = path[:len(path)-1]
		p.state = 2
		if !p.cyclic {
			for _, s := range p.refs {
				if s.plan >= 0 && plans[s.plan].idx < 0 {
					p.errs = append(p.errs, errAt(s.node.Line, s.node.Column, ErrReference, "%q is a correlation that does not compile", s.ref))
				}
			}
		}
		if len(p.errs) == 0 {
			p.idx = len(out)
			out = append(out, c.compileCorrelation(p, rs, plans, out))
		}
	}
	for i := range plans {
		if plans[i].state == 0 {
			visit(i)
		}
	}
	for i := range plans {
		for _, e := range plans[i].errs {
			c.fail(plans[i].doc.meta, e)
		}
	}
	// Wire the inputs: a rule or correlation referenced without generate:
	// true only feeds the correlations referencing it.
	ruleRef, ruleGen := make([]bool, len(rs.rules)), make([]bool, len(rs.rules))
	corrRefd, corrGen := make([]bool, len(out)), make([]bool, len(out))
	for ci := range out {
		co := &out[ci]
		for pos, in := range co.inputs {
			ref := corrRef{corr: ci, pos: pos}
			if in.rule >= 0 {
				rs.rules[in.rule].refs = append(rs.rules[in.rule].refs, ref)
				ruleRef[in.rule] = true
				ruleGen[in.rule] = ruleGen[in.rule] || co.generate
			} else {
				out[in.corr].parents = append(out[in.corr].parents, ref)
				corrRefd[in.corr] = true
				corrGen[in.corr] = corrGen[in.corr] || co.generate
			}
		}
	}
	for i := range rs.rules {
		rs.rules[i].info.Emits = !ruleRef[i] || ruleGen[i]
	}
	for i := range out {
		out[i].info.Emits = !corrRefd[i] || corrGen[i]
	}
	return out
}

// cycleErrors reports a reference cycle at the reference each member
// follows, naming the cycle from that member.
func cycleErrors(plans []corrPlan, cycle []int) {
	refs := make([]string, len(cycle))
	for q, m := range cycle {
		refs[q] = plans[m].refs[plans[m].follow].ref
	}
	for q, m := range cycle {
		p := &plans[m]
		names := []string{strconv.Quote(refs[(q+len(refs)-1)%len(refs)])}
		for r := range refs {
			names = append(names, strconv.Quote(refs[(q+r)%len(refs)]))
		}
		s := p.refs[p.follow]
		p.errs = append(p.errs, errAt(s.node.Line, s.node.Column, ErrReference, "reference cycle %s", strings.Join(names, " → ")))
		p.cyclic = true
	}
}

// parseCorrelation reads a correlation's attributes and resolves its
// references to detection rules (byRef) or correlation documents (byPlan).
func (c *compiler) parseCorrelation(p *corrPlan, byRef, byPlan map[string]int) {
	d := p.doc
	co := correlation{info: d.info, generate: d.generate}
	n := d.node
	if n.Kind != yaml.MappingNode {
		p.errs = append(p.errs, errAt(n.Line, n.Column, ErrInvalid, "correlation must be a mapping, not %s", kindName(n)))
		return
	}
	if co.info.ID == "" {
		co.info.ID = co.info.Name
		if co.info.ID == "" {
			co.info.ID = co.info.Title
		}
	}
	ps, errs := pairs(n)
	var typeName, timespan string
	var refs []string
	var refsNode, condNode, aliasNode *yaml.Node
	var err error
	for _, kv := range ps {
		switch kv.key {
		case "type":
			typeName, err = scalar("correlation.type", kv.val)
		case "rules":
			refs, err = stringList("correlation.rules", kv.val)
			refsNode = kv.val
		case "group-by":
			co.groupBy, err = stringList("correlation.group-by", kv.val)
		case "timespan":
			timespan, err = scalar("correlation.timespan", kv.val)
			if err == nil {
				span, ok := parseTimespan(timespan)
				if !ok {
					err = errAt(kv.val.Line, kv.val.Column, ErrInvalid, "timespan %q is not a number followed by s, m, h or d", timespan)
				}
				co.span = int64(span)
			}
		case "condition":
			condNode = kv.val
		case "generate":
			var g bool
			g, err = boolValue("correlation.generate", kv.val)
			co.generate = co.generate || g
		case "aliases":
			aliasNode = kv.val
		default:
			err = errAt(kv.kNode.Line, kv.kNode.Column, ErrInvalid, "unknown correlation attribute %q", kv.key)
		}
		if err != nil {
			errs = append(errs, err)
			err = nil
		}
	}
	t, known := corrTypes[typeName]
	switch {
	case typeName == "":
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "correlation has no type"))
	case !known && (typeName == "value_percentile" || typeName == "value_median"):
		errs = append(errs, errAt(n.Line, n.Column, ErrUnsupported, "correlation type %q", typeName))
	case !known:
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "unknown correlation type %q", typeName))
	}
	co.typ = t
	co.info.Correlation = typeName
	if timespan == "" {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "correlation has no timespan"))
	}
	if refsNode == nil || len(refs) == 0 {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "correlation has no rules"))
	}
	for i, ref := range refs {
		at := refsNode
		if refsNode.Kind == yaml.SequenceNode && i < len(refsNode.Content) {
			at = refsNode.Content[i]
		}
		s := corrSpec{ref: ref, node: at, rule: -1, plan: -1}
		if ri, ok := byRef[ref]; ok {
			s.rule = ri
		} else if pi, ok := byPlan[ref]; ok {
			s.plan = pi
		} else {
			errs = append(errs, errAt(at.Line, at.Column, ErrReference, "%q", ref))
			continue
		}
		// A rule listed twice is one rule, except in an ordered sequence.
		if co.typ != ctTemporalOrdered && slices.ContainsFunc(p.refs, func(o corrSpec) bool { return o.rule == s.rule && o.plan == s.plan }) {
			continue
		}
		p.refs = append(p.refs, s)
	}
	switch {
	case condNode != nil:
		p.condSet = true
		errs = append(errs, corrCondition(&co, condNode)...)
	case !co.typ.temporal() || !known:
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "correlation has no condition"))
	}
	var aerrs []error
	p.aliases, aerrs = parseAliases(aliasNode)
	errs = append(errs, aerrs...)
	p.errs = append(p.errs, errs...)
	co.res = max(co.span/64, 1)
	p.co = co
}

// compileCorrelation resolves the group-by fields of each input and the
// tags and level a correlation inherits. Every correlation p references is
// compiled, in out.
func (c *compiler) compileCorrelation(p *corrPlan, rs *Ruleset, plans []corrPlan, out []correlation) correlation {
	co := p.co
	var infos []*RuleInfo
	for _, s := range p.refs {
		in := corrInput{rule: -1, corr: -1, srcK: -1, dstK: -1, fields: make([]fieldRef, len(co.groupBy))}
		var info *RuleInfo
		var from *correlation
		if s.rule >= 0 {
			in.rule = s.rule
			info = &rs.rules[s.rule].info
		} else {
			in.corr = plans[s.plan].idx
			from = &out[in.corr]
			info = &from.info
			in.keyIdx = make([]int, len(co.groupBy))
		}
		var missing []string
		for k, g := range co.groupBy {
			name := g
			if a, ok := p.aliases[g]; ok {
				if f, ok := a[info.Name]; ok {
					name = f
				} else if f, ok := a[info.ID]; ok {
					name = f
				}
			}
			in.fields[k] = resolveField(name)
			switch in.fields[k].id {
			case fSourceIP:
				in.srcK = k
			case fDestinationIP:
				in.dstK = k
			}
			if from != nil {
				in.keyIdx[k] = from.keyIndex(name)
				if in.keyIdx[k] < 0 {
					missing = append(missing, name)
				}
			}
		}
		if len(missing) > 0 {
			c.warn(p.doc.meta, s.node, "correlation %q does not group by %s; the value is read from the event that makes it fire", s.ref, strings.Join(missing, ", "))
		}
		co.inputs = append(co.inputs, in)
		infos = append(infos, info)
	}
	if !p.condSet {
		// A temporal correlation without a condition needs every rule.
		co.cond = rangeCond{gte: float64(len(co.inputs)), hasGTE: true}
	}
	// Without ATT&CK tags of its own, a correlation carries those of the
	// rules it observes; without a level, the highest of theirs.
	if !p.doc.hasTags {
		for _, info := range infos {
			co.info.Tactics = append(co.info.Tactics, info.Tactics...)
			co.info.Techniques = append(co.info.Techniques, info.Techniques...)
		}
		slices.Sort(co.info.Tactics)
		slices.Sort(co.info.Techniques)
		co.info.Tactics = slices.Compact(co.info.Tactics)
		co.info.Techniques = slices.Compact(co.info.Techniques)
		co.info.Class = classify(co.info.Tactics)
	}
	if co.info.Level == "" {
		for _, info := range infos {
			if levelRank(info.Level) > levelRank(co.info.Level) {
				co.info.Level = info.Level
			}
		}
	}
	return co
}

// keyIndex returns the group-by index holding field name: the same name as
// written, else the same resolved field; -1 if none.
func (co *correlation) keyIndex(name string) int {
	if i := slices.Index(co.groupBy, name); i >= 0 {
		return i
	}
	f := resolveField(name)
	for i, g := range co.groupBy {
		if h := resolveField(g); h.id == f.id && h.ecs == f.ecs {
			return i
		}
	}
	return -1
}

func levelRank(l string) int {
	return slices.Index([]string{"informational", "low", "medium", "high", "critical"}, l) + 1
}

func corrCondition(co *correlation, n *yaml.Node) []error {
	if n.Kind == yaml.ScalarNode && co.typ.temporal() {
		return []error{errAt(n.Line, n.Column, ErrUnsupported, "%s condition expression", co.info.Correlation)}
	}
	if n.Kind != yaml.MappingNode {
		return []error{errAt(n.Line, n.Column, ErrInvalid, "correlation condition must be a mapping, not %s", kindName(n))}
	}
	ps, errs := pairs(n)
	bounds := 0
	var field *yaml.Node
	for _, p := range ps {
		if p.key == "field" {
			f, err := scalar("condition.field", p.val)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			co.value = resolveField(f)
			field = p.val
			continue
		}
		v, ok := 0.0, false
		if p.val.Kind == yaml.ScalarNode {
			v, ok = parseNumber(p.val.Value)
		}
		if !ok {
			errs = append(errs, errAt(p.val.Line, p.val.Column, ErrInvalid, "condition %s needs a number", p.key))
			continue
		}
		bounds++
		switch p.key {
		case "gt":
			co.cond.gt, co.cond.hasGT = v, true
		case "gte":
			co.cond.gte, co.cond.hasGTE = v, true
		case "lt":
			co.cond.lt, co.cond.hasLT = v, true
		case "lte":
			co.cond.lte, co.cond.hasLTE = v, true
		case "eq":
			co.cond.eq, co.cond.hasEQ = v, true
		case "neq":
			errs = append(errs, errAt(p.kNode.Line, p.kNode.Column, ErrUnsupported, "condition neq"))
		default:
			bounds--
			errs = append(errs, errAt(p.kNode.Line, p.kNode.Column, ErrInvalid, "unknown condition operator %q", p.key))
		}
	}
	if bounds == 0 && len(errs) == 0 {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "condition has no gt, gte, lt, lte or eq"))
	}
	if _, known := corrTypes[co.info.Correlation]; !known {
		return errs
	}
	if co.typ.needsField() && field == nil {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "%s condition needs a field", co.info.Correlation))
	}
	if !co.typ.needsField() && field != nil {
		errs = append(errs, errAt(field.Line, field.Column, ErrInvalid, "%s condition takes no field", co.info.Correlation))
	}
	return errs
}

// parseAliases reads aliases: {alias: {rule name: field}}.
func parseAliases(n *yaml.Node) (map[string]map[string]string, []error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, []error{errAt(n.Line, n.Column, ErrInvalid, "aliases must be a mapping, not %s", kindName(n))}
	}
	out := map[string]map[string]string{}
	ps, errs := pairs(n)
	for _, p := range ps {
		if p.val.Kind != yaml.MappingNode {
			errs = append(errs, errAt(p.val.Line, p.val.Column, ErrInvalid, "alias %q must map rule names to fields", p.key))
			continue
		}
		inner, ierrs := pairs(p.val)
		errs = append(errs, ierrs...)
		out[p.key] = map[string]string{}
		for _, q := range inner {
			f, err := scalar("alias field", q.val)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out[p.key][q.key] = f
		}
	}
	return out, errs
}

// CorrelatorStats are counters for metrics.
type CorrelatorStats struct {
	Groups       int    // groups held now
	Evictions    uint64 // groups dropped: idle longer than their timespan, or over MaxGroups
	CapEvictions uint64 // of Evictions, those forced by MaxGroups
	// Saturations counts values not stored because a group held
	// MaxDistinct: distinct values (value_count), or occurrences of one rule
	// (temporal_ordered, which drops its oldest).
	Saturations uint64
	Fired       uint64 // correlation signals emitted
	Chained     uint64 // correlation firings fed to the correlations referencing them
}

// Correlator holds correlation state: one per partition, not safe for
// concurrent use. All windows run in event time.
type Correlator struct {
	rs      *Ruleset
	states  []corrState
	stats   CorrelatorStats
	now     int64 // latest event time seen
	seq     uint64
	pending []corrRef // inputs the current event matched, in rule order
	buf     []byte
	sc      scratch // candidate selection, reused per event
}

type corrState struct {
	groups     map[string]*group
	head, tail *group // idle order: head is the least recently active
}

// group is one group-by key's window.
type group struct {
	key        string
	prev, next *group
	last       int64 // event time of the latest event
	fired      bool
	firedAt    int64
	// event_count, value_sum, value_avg: time buckets, oldest first
	buckets []bucket
	count   int64
	sum     int64
	// value_count: distinct values with their latest time
	distinct map[string]*dvalue
	dhead    *dvalue
	dtail    *dvalue
	// temporal: per input, the latest time it was seen (noTime: never)
	seen []int64
	// temporal_ordered: per input, its occurrences in order
	occs [][]occurrence
}

type bucket struct{ t, n, sum int64 }

type dvalue struct {
	v          string
	t          int64
	prev, next *dvalue
}

// NewCorrelator returns empty correlation state for rs.
func (rs *Ruleset) NewCorrelator() *Correlator {
	c := &Correlator{
		rs:     rs,
		states: make([]corrState, len(rs.corrs)),
	}
	for i := range c.states {
		c.states[i].groups = map[string]*group{}
	}
	return c
}

// Stats returns the counters.
func (c *Correlator) Stats() CorrelatorStats { return c.stats }

// Observe feeds one event: it runs the single-event rules (emitting those
// that generate signals), updates the windows of the correlations whose
// rules matched, and emits a correlation's signal when its condition is
// first met in a window. Signals come in rule order, then correlation
// order; a correlation's firing feeds the correlations referencing it at
// once, so their signals follow its own.
func (c *Correlator) Observe(ev *event.Event, evid event.Evidence, emit func(event.Signal)) {
	rs := c.rs
	c.seq++
	t, hasTime := eventTime(ev, evid)
	if hasTime && t > c.now {
		c.now = t
		c.expire()
	}
	for _, i := range rs.candidates(ev, &c.sc) {
		r := &rs.rules[i]
		if !r.match(ev) {
			continue
		}
		if r.info.Emits {
			emit(r.signal(ev, evid))
		}
		c.pending = append(c.pending, r.refs...)
	}
	if len(c.pending) > 0 {
		c.feed(ev, evid, t, emit)
	}
}

// feed hands the matched inputs to their correlations, in correlation
// order. A count sees the event once, through the first rule it matched; a
// temporal correlation sees every input the event matched, the last
// position first, so that one event never fills two places of a sequence.
func (c *Correlator) feed(ev *event.Event, evid event.Evidence, t int64, emit func(event.Signal)) {
	slices.SortStableFunc(c.pending, func(a, b corrRef) int { return cmp.Compare(a.corr, b.corr) })
	for i := 0; i < len(c.pending); {
		ci := c.pending[i].corr
		j := i + 1
		for j < len(c.pending) && c.pending[j].corr == ci {
			j++
		}
		co := &c.rs.corrs[ci]
		if !co.typ.temporal() {
			pos := c.pending[i].pos
			c.eventKey(&co.inputs[pos], ev)
			c.apply(ci, pos, ev, evid, t, emit)
			i = j
			continue
		}
		refs := c.pending[i:j]
		slices.SortFunc(refs, func(a, b corrRef) int { return cmp.Compare(b.pos, a.pos) })
		for _, ref := range refs {
			c.eventKey(&co.inputs[ref.pos], ev)
			c.apply(ci, ref.pos, ev, evid, t, emit)
		}
		i = j
	}
	c.pending = c.pending[:0]
}

// eventKey builds in c.buf the group key of an event seen through in.
func (c *Correlator) eventKey(in *corrInput, ev *event.Event) {
	c.buf = c.buf[:0]
	for k := range in.fields {
		if k > 0 {
			c.buf = append(c.buf, 0x1f)
		}
		c.buf, _ = appendValue(c.buf, &in.fields[k], ev)
	}
}

// chainKey builds in c.buf the group key of a firing seen through in: the
// values come from the key of the group that fired, or else from ev.
func (c *Correlator) chainKey(in *corrInput, from string, ev *event.Event) {
	c.buf = c.buf[:0]
	for k := range in.fields {
		if k > 0 {
			c.buf = append(c.buf, 0x1f)
		}
		if j := in.keyIdx[k]; j >= 0 {
			c.buf = append(c.buf, groupPart(from, j)...)
		} else {
			c.buf, _ = appendValue(c.buf, &in.fields[k], ev)
		}
	}
}

// expire drops groups idle for longer than their timespan.
func (c *Correlator) expire() {
	for ci := range c.states {
		st := &c.states[ci]
		span := c.rs.corrs[ci].span
		for st.head != nil && st.head.last <= c.now-span {
			c.drop(ci, st.head)
			c.stats.Evictions++
		}
	}
}

func (c *Correlator) drop(ci int, g *group) {
	st := &c.states[ci]
	st.unlink(g)
	delete(st.groups, g.key)
	c.stats.Groups--
}

func (st *corrState) unlink(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		st.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		st.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

func (st *corrState) pushBack(g *group) {
	g.prev, g.next = st.tail, nil
	if st.tail != nil {
		st.tail.next = g
	} else {
		st.head = g
	}
	st.tail = g
}

// evictOldest drops the least recently active group across correlations:
// under a flood of new keys the idle groups go first.
func (c *Correlator) evictOldest() {
	best := -1
	for ci := range c.states {
		h := c.states[ci].head
		if h != nil && (best < 0 || h.last < c.states[best].head.last) {
			best = ci
		}
	}
	if best >= 0 {
		c.drop(best, c.states[best].head)
		c.stats.Evictions++
		c.stats.CapEvictions++
	}
}

// appendValue appends a field's value as text (numbers in decimal).
func appendValue(b []byte, f *fieldRef, ev *event.Event) ([]byte, bool) {
	s, n, num, ok := f.value(ev)
	if !ok {
		return b, false
	}
	if num {
		return strconv.AppendInt(b, n, 10), true
	}
	return append(b, s...), true
}

// numericValue reads the aggregated field as a number; text is parsed and
// truncated to an integer.
func numericValue(f *fieldRef, ev *event.Event) (int64, bool) {
	s, n, num, ok := f.value(ev)
	switch {
	case !ok:
		return 0, false
	case num:
		return n, true
	}
	v, ok := parseNumber(s)
	return int64(v), ok
}

// groupFor returns the group keyed by c.buf, created if new, and marks it the
// most recently active.
func (c *Correlator) groupFor(ci int, t int64) *group {
	st := &c.states[ci]
	g, ok := st.groups[string(c.buf)]
	if !ok {
		if c.stats.Groups >= c.rs.opt.MaxGroups {
			c.evictOldest()
		}
		g = &group{key: string(c.buf), last: t}
		st.groups[g.key] = g
		st.pushBack(g)
		c.stats.Groups++
		return g
	}
	if t > g.last {
		g.last = t
	}
	st.unlink(g)
	st.pushBack(g)
	return g
}

// apply feeds one input (position pos of correlation ci) at event time t to
// the group keyed by c.buf, and fires when the condition is first met.
func (c *Correlator) apply(ci, pos int, ev *event.Event, evid event.Evidence, t int64, emit func(event.Signal)) {
	co := &c.rs.corrs[ci]
	g := c.groupFor(ci, t)
	cutoff := max(g.last, t) - co.span
	var metric float64
	count := 0
	switch co.typ {
	case ctEventCount:
		g.addBucket(t, 0, co.res)
		g.expireBuckets(cutoff)
		metric = float64(g.count)
		count = int(g.count)
	case ctValueSum:
		add, _ := numericValue(&co.value, ev)
		g.addBucket(t, add, co.res)
		g.expireBuckets(cutoff)
		metric = float64(g.sum)
		count = int(g.count)
	case ctValueAvg:
		// Only events carrying the value take part in the average.
		if v, ok := numericValue(&co.value, ev); ok {
			g.addBucket(t, v, co.res)
		}
		g.expireBuckets(cutoff)
		if g.count == 0 {
			return
		}
		metric = float64(g.sum) / float64(g.count)
		count = int(g.count)
	case ctValueCount:
		c.buf = c.buf[:0]
		var has bool
		c.buf, has = appendValue(c.buf, &co.value, ev)
		if has {
			c.addDistinct(g, t)
		}
		g.expireDistinct(cutoff)
		metric = float64(len(g.distinct))
		count = len(g.distinct)
	case ctTemporal:
		count = g.markSeen(pos, len(co.inputs), t, cutoff)
		metric = float64(count)
	case ctTemporalOrdered:
		c.addOccurrence(g, pos, len(co.inputs), occurrence{t: t, seq: c.seq}, cutoff)
		count = g.orderedPrefix()
		metric = float64(count)
	}
	if !co.cond.ok(metric) || g.fired && t-g.firedAt < co.span {
		return
	}
	g.fired, g.firedAt = true, t
	c.fire(ci, pos, g.key, count, ev, evid, t, emit)
}

// fire emits correlation ci's signal for the group with key (if the
// correlation emits) and feeds the firing to the correlations referencing
// it.
func (c *Correlator) fire(ci, pos int, key string, count int, ev *event.Event, evid event.Evidence, t int64, emit func(event.Signal)) {
	co := &c.rs.corrs[ci]
	if co.info.Emits {
		c.stats.Fired++
		src, dst := ev.Source(), ev.Target()
		in := &co.inputs[pos]
		if in.srcK >= 0 {
			if v := groupPart(key, in.srcK); v != "" {
				src = v
			}
		}
		if in.dstK >= 0 {
			if v := groupPart(key, in.dstK); v != "" {
				dst = v
			}
		}
		emit(event.Signal{
			RuleID:     co.info.ID,
			RuleTitle:  co.info.Title,
			RuleLevel:  co.info.Level,
			Class:      co.info.Class,
			Tactics:    co.info.Tactics,
			Techniques: co.info.Techniques,
			Time:       time.Unix(0, t).UTC(),
			Source:     src,
			Target:     dst,
			Port:       ev.DestinationPort,
			Count:      count,
			Evidence:   evid,
		})
	}
	for _, p := range co.parents {
		c.stats.Chained++
		c.chainKey(&c.rs.corrs[p.corr].inputs[p.pos], key, ev)
		c.apply(p.corr, p.pos, ev, evid, t, emit)
	}
}

// groupPart returns the k-th group-by value of a group key.
func groupPart(key string, k int) string {
	for ; k > 0; k-- {
		i := strings.IndexByte(key, 0x1f)
		if i < 0 {
			return ""
		}
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, 0x1f); i >= 0 {
		return key[:i]
	}
	return key
}

// addBucket counts an event at t. Events within res of the newest bucket
// share it; a late event joins the newest bucket, so it counts at most res
// plus its lateness longer than it should.
func (g *group) addBucket(t, add, res int64) {
	g.count++
	g.sum += add
	if n := len(g.buckets); n > 0 && t-g.buckets[n-1].t < res {
		g.buckets[n-1].n++
		g.buckets[n-1].sum += add
		return
	}
	g.buckets = append(g.buckets, bucket{t: t, n: 1, sum: add})
}

func (g *group) expireBuckets(cutoff int64) {
	i := 0
	for i < len(g.buckets) && g.buckets[i].t <= cutoff {
		g.count -= g.buckets[i].n
		g.sum -= g.buckets[i].sum
		i++
	}
	if i > 0 {
		g.buckets = append(g.buckets[:0], g.buckets[i:]...)
	}
}

// addDistinct records the value in c.buf at t, keeping the list ordered by
// time (a late value walks back from the tail to its place).
func (c *Correlator) addDistinct(g *group, t int64) {
	if g.distinct == nil {
		g.distinct = map[string]*dvalue{}
	}
	d, ok := g.distinct[string(c.buf)]
	if ok {
		if t <= d.t {
			return
		}
		d.t = t
		g.unlinkValue(d)
	} else {
		if len(g.distinct) >= c.rs.opt.MaxDistinct {
			c.stats.Saturations++
			return
		}
		d = &dvalue{v: string(c.buf), t: t}
		g.distinct[d.v] = d
	}
	// Insert after the last value not newer than t.
	at := g.dtail
	for at != nil && at.t > t {
		at = at.prev
	}
	d.prev = at
	if at == nil {
		d.next = g.dhead
		g.dhead = d
	} else {
		d.next = at.next
		at.next = d
	}
	if d.next != nil {
		d.next.prev = d
	} else {
		g.dtail = d
	}
}

func (g *group) unlinkValue(d *dvalue) {
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		g.dhead = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		g.dtail = d.prev
	}
	d.prev, d.next = nil, nil
}

func (g *group) expireDistinct(cutoff int64) {
	for g.dhead != nil && g.dhead.t <= cutoff {
		d := g.dhead
		g.unlinkValue(d)
		delete(g.distinct, d.v)
	}
}
