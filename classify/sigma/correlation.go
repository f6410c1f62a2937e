package sigma

import (
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
)

var corrTypes = map[string]corrType{
	"event_count": ctEventCount,
	"value_count": ctValueCount,
	"value_sum":   ctValueSum,
}

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
	rules    []int        // referenced detection rules
	groupBy  []string     // as written
	fields   [][]fieldRef // [position in rules][group-by index], after aliases
	srcK     []int        // [position]: group-by index read from source.ip, or -1
	dstK     []int        // [position]: group-by index read from destination.ip, or -1
	value    fieldRef     // value_count / value_sum field
	span     int64        // timespan, nanoseconds
	res      int64        // bucket resolution for event_count / value_sum
	cond     rangeCond
	generate bool
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

// correlations compiles the correlation documents against the detection
// rules in rs and marks the rules they consume.
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
	corrRefs := map[string]bool{}
	for _, d := range c.corrDocs {
		corrRefs[d.info.ID] = true
		corrRefs[d.info.Name] = true
	}
	var out []correlation
	generate := make([]bool, len(rs.rules))
	referenced := make([]bool, len(rs.rules))
	for _, d := range c.corrDocs {
		co, errs := c.correlation(d, rs, byRef, corrRefs)
		if len(errs) > 0 {
			for _, e := range errs {
				c.fail(d.meta, e)
			}
			continue
		}
		ci := len(out)
		for pos, ri := range co.rules {
			rs.rules[ri].refs = append(rs.rules[ri].refs, corrRef{corr: ci, pos: pos})
			referenced[ri] = true
			generate[ri] = generate[ri] || co.generate
		}
		out = append(out, co)
	}
	for i := range rs.rules {
		rs.rules[i].info.Emits = !referenced[i] || generate[i]
	}
	return out
}

func (c *compiler) correlation(d corrDoc, rs *Ruleset, byRef map[string]int, corrRefs map[string]bool) (correlation, []error) {
	co := correlation{info: d.info, generate: d.generate}
	n := d.node
	if n.Kind != yaml.MappingNode {
		return co, []error{errAt(n.Line, n.Column, ErrInvalid, "correlation must be a mapping, not %s", kindName(n))}
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
	for _, p := range ps {
		switch p.key {
		case "type":
			typeName, err = scalar("correlation.type", p.val)
		case "rules":
			refs, err = stringList("correlation.rules", p.val)
			refsNode = p.val
		case "group-by":
			co.groupBy, err = stringList("correlation.group-by", p.val)
		case "timespan":
			timespan, err = scalar("correlation.timespan", p.val)
			if err == nil {
				span, ok := parseTimespan(timespan)
				if !ok {
					err = errAt(p.val.Line, p.val.Column, ErrInvalid, "timespan %q is not a number followed by s, m, h or d", timespan)
				}
				co.span = int64(span)
			}
		case "condition":
			condNode = p.val
		case "generate":
			var g bool
			g, err = boolValue("correlation.generate", p.val)
			co.generate = co.generate || g
		case "aliases":
			aliasNode = p.val
		default:
			err = errAt(p.kNode.Line, p.kNode.Column, ErrInvalid, "unknown correlation attribute %q", p.key)
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
	case !known && slices.Contains([]string{"temporal", "temporal_ordered", "value_avg", "value_percentile", "value_median"}, typeName):
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
		ri, ok := byRef[ref]
		switch {
		case ok:
			if !slices.Contains(co.rules, ri) {
				co.rules = append(co.rules, ri)
			}
		case corrRefs[ref]:
			errs = append(errs, errAt(at.Line, at.Column, ErrUnsupported, "correlation of correlation %q", ref))
		default:
			errs = append(errs, errAt(at.Line, at.Column, ErrReference, "%q", ref))
		}
	}
	if condNode == nil {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "correlation has no condition"))
	} else {
		errs = append(errs, c.corrCondition(&co, condNode)...)
	}
	aliases, aerrs := parseAliases(aliasNode)
	errs = append(errs, aerrs...)
	if len(errs) > 0 {
		return co, errs
	}
	co.res = max(co.span/64, 1)
	// Group-by fields per referenced rule, after aliases.
	for _, ri := range co.rules {
		r := &rs.rules[ri]
		fs := make([]fieldRef, len(co.groupBy))
		src, dst := -1, -1
		for k, g := range co.groupBy {
			name := g
			if a, ok := aliases[g]; ok {
				if f, ok := a[r.info.Name]; ok {
					name = f
				} else if f, ok := a[r.info.ID]; ok {
					name = f
				}
			}
			fs[k] = resolveField(name)
			switch fs[k].id {
			case fSourceIP:
				src = k
			case fDestinationIP:
				dst = k
			}
		}
		co.fields = append(co.fields, fs)
		co.srcK = append(co.srcK, src)
		co.dstK = append(co.dstK, dst)
	}
	// Without ATT&CK tags of its own, a correlation carries those of the
	// rules it counts; without a level, the highest of theirs.
	if !d.hasTags {
		for _, ri := range co.rules {
			co.info.Tactics = append(co.info.Tactics, rs.rules[ri].info.Tactics...)
			co.info.Techniques = append(co.info.Techniques, rs.rules[ri].info.Techniques...)
		}
		slices.Sort(co.info.Tactics)
		slices.Sort(co.info.Techniques)
		co.info.Tactics = slices.Compact(co.info.Tactics)
		co.info.Techniques = slices.Compact(co.info.Techniques)
		co.info.Class = classify(co.info.Tactics)
	}
	if co.info.Level == "" {
		for _, ri := range co.rules {
			if levelRank(rs.rules[ri].info.Level) > levelRank(co.info.Level) {
				co.info.Level = rs.rules[ri].info.Level
			}
		}
	}
	return co, nil
}

func levelRank(l string) int {
	return slices.Index([]string{"informational", "low", "medium", "high", "critical"}, l) + 1
}

func (c *compiler) corrCondition(co *correlation, n *yaml.Node) []error {
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
	needField := co.info.Correlation == "value_count" || co.info.Correlation == "value_sum"
	if needField && field == nil {
		errs = append(errs, errAt(n.Line, n.Column, ErrInvalid, "%s condition needs a field", co.info.Correlation))
	}
	if !needField && field != nil {
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
	Saturations  uint64 // distinct values not stored because a group held MaxDistinct
	Fired        uint64 // correlation signals emitted
}

// Correlator holds correlation state: one per partition, not safe for
// concurrent use. All windows run in event time.
type Correlator struct {
	rs     *Ruleset
	states []corrState
	stats  CorrelatorStats
	now    int64 // latest event time seen
	seq    uint64
	seen   []uint64 // per correlation: seq of the event that last touched it
	refPos []int    // per correlation: position of the first rule the event matched
	touch  []int
	buf    []byte
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
	// event_count, value_sum: time buckets, oldest first
	buckets []bucket
	count   int64
	sum     int64
	// value_count: distinct values with their latest time
	distinct map[string]*dvalue
	dhead    *dvalue
	dtail    *dvalue
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
		seen:   make([]uint64, len(rs.corrs)),
		refPos: make([]int, len(rs.corrs)),
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
// first met in a window. Signals come in rule order, then correlation order.
func (c *Correlator) Observe(ev *event.Event, evid event.Evidence, emit func(event.Signal)) {
	rs := c.rs
	c.seq++
	t, hasTime := eventTime(ev, evid)
	if hasTime && t > c.now {
		c.now = t
		c.expire()
	}
	for _, i := range rs.candidates(ev) {
		r := &rs.rules[i]
		if !r.match(ev) {
			continue
		}
		if r.info.Emits {
			emit(r.signal(ev, evid))
		}
		for _, ref := range r.refs {
			if c.seen[ref.corr] != c.seq {
				c.seen[ref.corr] = c.seq
				c.refPos[ref.corr] = ref.pos
				c.touch = append(c.touch, ref.corr)
			}
		}
	}
	if len(c.touch) == 0 {
		return
	}
	slices.Sort(c.touch)
	for _, ci := range c.touch {
		c.update(ci, ev, evid, t, emit)
	}
	c.touch = c.touch[:0]
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

func (c *Correlator) update(ci int, ev *event.Event, evid event.Evidence, t int64, emit func(event.Signal)) {
	co := &c.rs.corrs[ci]
	st := &c.states[ci]
	pos := c.refPos[ci]
	fields := co.fields[pos]
	c.buf = c.buf[:0]
	for k := range fields {
		if k > 0 {
			c.buf = append(c.buf, 0x1f)
		}
		c.buf, _ = appendValue(c.buf, &fields[k], ev)
	}
	g, ok := st.groups[string(c.buf)]
	if !ok {
		if c.stats.Groups >= c.rs.opt.MaxGroups {
			c.evictOldest()
		}
		g = &group{key: string(c.buf), last: t}
		st.groups[g.key] = g
		st.pushBack(g)
		c.stats.Groups++
	} else {
		if t > g.last {
			g.last = t
		}
		st.unlink(g)
		st.pushBack(g)
	}
	now := max(g.last, t)
	cutoff := now - co.span
	var metric float64
	switch co.typ {
	case ctEventCount, ctValueSum:
		var add int64
		if co.typ == ctValueSum {
			_, n, num, ok := co.value.value(ev)
			if ok && num {
				add = n
			} else if ok {
				s, _, _, _ := co.value.value(ev)
				f, _ := parseNumber(s)
				add = int64(f)
			}
		}
		g.addBucket(t, add, co.res)
		g.expireBuckets(cutoff)
		metric = float64(g.count)
		if co.typ == ctValueSum {
			metric = float64(g.sum)
		}
	case ctValueCount:
		c.buf = c.buf[:0]
		var has bool
		c.buf, has = appendValue(c.buf, &co.value, ev)
		if has {
			c.addDistinct(g, t)
		}
		g.expireDistinct(cutoff)
		metric = float64(len(g.distinct))
	}
	if !co.cond.ok(metric) || g.fired && t-g.firedAt < co.span {
		return
	}
	g.fired, g.firedAt = true, t
	c.stats.Fired++
	count := int(metric)
	if co.typ == ctValueSum {
		count = int(g.count)
	}
	src, dst := ev.Source(), ev.Target()
	if k := co.srcK[pos]; k >= 0 {
		if v := groupPart(g.key, k); v != "" {
			src = v
		}
	}
	if k := co.dstK[pos]; k >= 0 {
		if v := groupPart(g.key, k); v != "" {
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
		Count:      count,
		Evidence:   evid,
	})
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
