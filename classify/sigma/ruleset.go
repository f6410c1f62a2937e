package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/event"
)

// Options configure compilation and correlation state. Zero values take the
// defaults noted.
type Options struct {
	// Placeholders give the values of %name% in expand modifiers.
	Placeholders map[string][]string
	// MaxGroups caps correlation groups per Correlator, across its
	// correlation rules (default 100000). A new group over the cap evicts the
	// least recently active one.
	MaxGroups int
	// MaxDistinct caps distinct values per value_count group (default 10000);
	// beyond it the count saturates.
	MaxDistinct int
	// Pipelines map field names before the built-in mapping, after any
	// *.pipeline.yml among the files, first match wins.
	Pipelines []Pipeline
}

func (o Options) withDefaults() Options {
	if o.MaxGroups <= 0 {
		o.MaxGroups = 100000
	}
	if o.MaxDistinct <= 0 {
		o.MaxDistinct = 10000
	}
	return o
}

// File is one rule file.
type File struct {
	Name string
	Data []byte
}

// RuleInfo describes a loaded rule.
type RuleInfo struct {
	ID          string
	Name        string
	Title       string
	Level       string
	Class       event.Class
	Tactics     []string
	Techniques  []string
	Logsource   Logsource
	Correlation string // correlation type; "" for a detection rule
	// Emits is false for a rule (detection or correlation) referenced by a
	// correlation without generate: true; its matches only feed the
	// correlation.
	Emits bool
	File  string
}

// rule is a compiled detection rule.
type rule struct {
	info   RuleInfo
	source Logsource // lower case, for routing
	sels   []selection
	cond   *node
	refs   []corrRef // correlations this rule feeds
}

type corrRef struct {
	corr int // correlation index
	pos  int // position of this rule in the correlation's rules
}

// Ruleset is a compiled, immutable set of rules, safe for concurrent Match.
type Ruleset struct {
	opt    Options
	rules  []rule
	corrs  []correlation
	router *router
	pf     *prefilter
	// unfiltered skips the literal prefilter (tests compare with it).
	unfiltered bool
}

// Len returns the number of rules loaded, detection and correlation.
func (rs *Ruleset) Len() int { return len(rs.rules) + len(rs.corrs) }

// Rules describes the loaded rules: detection rules in load order, then
// correlation rules. The slices inside are shared; do not modify them.
func (rs *Ruleset) Rules() []RuleInfo {
	out := make([]RuleInfo, 0, rs.Len())
	for i := range rs.rules {
		out = append(out, rs.rules[i].info)
	}
	for i := range rs.corrs {
		out = append(out, rs.corrs[i].info)
	}
	return out
}

// LoadFS compiles every *.yml and *.yaml file under fsys, in path order.
func LoadFS(fsys fs.FS, opt Options) (*Ruleset, []Warning, error) {
	var files []File
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: p, Data: b})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading rules: %w", err)
	}
	return Compile(files, opt)
}

// compiler carries one Compile call's state.
type compiler struct {
	opt       Options
	warnings  []Warning
	errs      []error
	rules     []rule
	corrDocs  []corrDoc
	pipelines []Pipeline
	source    Logsource // the logsource of the rule being compiled
}

// docMeta is what every rule document has, for error reports.
type docMeta struct {
	file, id, title string
}

func (c *compiler) fail(m docMeta, err error) {
	re := &RuleError{File: m.file, RuleID: m.id, Title: m.title, Err: err}
	var pe *posError
	if errors.As(err, &pe) {
		re.Line, re.Column, re.Err = pe.line, pe.col, pe.err
	}
	c.errs = append(c.errs, re)
}

func (c *compiler) warn(m docMeta, n *yaml.Node, format string, args ...any) {
	w := Warning{File: m.file, RuleID: m.id, Title: m.title, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		w.Line, w.Column = n.Line, n.Column
	}
	c.warnings = append(c.warnings, w)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// Compile parses and compiles rule files. Every problem is reported: the
// error is an errors.Join of *RuleError, one per problem. The Ruleset is
// never nil and holds every rule that compiled, so a caller may choose to
// run with the good rules; callers that want all-or-nothing treat a non-nil
// error as fatal.
func Compile(files []File, opt Options) (*Ruleset, []Warning, error) {
	c := &compiler{opt: opt.withDefaults()}
	var ruleFiles []File
	for _, f := range files {
		switch {
		case IsTestFile(f.Name):
		case IsPipelineFile(f.Name):
			p, err := ParsePipeline(f.Name, f.Data)
			if err != nil {
				c.errs = append(c.errs, err)
				continue
			}
			c.pipelines = append(c.pipelines, p)
		default:
			ruleFiles = append(ruleFiles, f)
		}
	}
	c.pipelines = append(c.pipelines, c.opt.Pipelines...)
	for _, f := range ruleFiles {
		dec := yaml.NewDecoder(bytes.NewReader(f.Data))
		for doc := 0; ; doc++ {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				re := &RuleError{File: f.Name, Err: fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "yaml: "))}
				if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
					re.Line, _ = strconv.Atoi(m[1])
				}
				c.errs = append(c.errs, re)
				break
			}
			c.document(f.Name, &n)
		}
	}
	rs := &Ruleset{opt: c.opt, rules: c.rules}
	rs.corrs = c.correlations(rs)
	rs.index()
	return rs, c.warnings, errors.Join(c.errs...)
}

var knownKeys = map[string]bool{
	"title": true, "id": true, "name": true, "status": true, "description": true,
	"references": true, "author": true, "date": true, "modified": true, "tags": true,
	"logsource": true, "detection": true, "falsepositives": true, "level": true,
	"fields": true, "related": true, "license": true, "taxonomy": true, "scope": true,
	"regression_tests_path": true, "simulation": true, "correlation": true, "generate": true,
}

var levels = map[string]bool{"informational": true, "low": true, "medium": true, "high": true, "critical": true}

// document compiles one YAML document: a detection rule, or a correlation
// rule kept for the second pass.
func (c *compiler) document(file string, doc *yaml.Node) {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		doc = deref(doc.Content[0])
	}
	m := docMeta{file: file}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return // an empty document, e.g. a trailing ---
	}
	if doc.Kind != yaml.MappingNode {
		c.fail(m, errAt(doc.Line, doc.Column, ErrInvalid, "rule must be a mapping, not %s", kindName(doc)))
		return
	}
	ps, perrs := pairs(doc)
	byKey := map[string]pair{}
	for _, p := range ps {
		byKey[p.key] = p
	}
	// Identity first, so every later error can name the rule.
	if p, ok := byKey["title"]; ok && p.val.Kind == yaml.ScalarNode {
		m.title = p.val.Value
	}
	if p, ok := byKey["id"]; ok && p.val.Kind == yaml.ScalarNode {
		m.id = p.val.Value
	}
	for _, e := range perrs {
		c.fail(m, e)
	}
	info := RuleInfo{File: file, ID: m.id, Title: m.title, Emits: true}
	var tags []string
	bad := len(perrs) > 0
	check := func(err error) {
		if err != nil {
			c.fail(m, err)
			bad = true
		}
	}
	var detection, logsource, correlation *yaml.Node
	generate := false
	for _, p := range ps {
		var err error
		switch p.key {
		case "title":
			info.Title, err = scalar(p.key, p.val)
		case "id":
			info.ID, err = scalar(p.key, p.val)
		case "name":
			info.Name, err = scalar(p.key, p.val)
		case "status", "description", "author", "date", "modified", "license":
			_, err = scalar(p.key, p.val)
		case "level":
			info.Level, err = scalar(p.key, p.val)
			if err == nil && !levels[info.Level] {
				err = errAt(p.val.Line, p.val.Column, ErrInvalid, "level %q is not one of informational, low, medium, high, critical", info.Level)
			}
		case "tags":
			tags, err = stringList(p.key, p.val)
		case "references", "falsepositives", "fields":
			_, err = stringList(p.key, p.val)
		case "logsource":
			logsource = p.val
		case "detection":
			detection = p.val
		case "correlation":
			correlation = p.val
		case "generate":
			generate, err = boolValue(p.key, p.val)
		default:
			if !knownKeys[p.key] {
				c.warn(m, p.kNode, "unknown attribute %q", p.key)
			}
		}
		check(err)
	}
	if _, ok := byKey["title"]; !ok {
		check(errAt(doc.Line, doc.Column, ErrInvalid, "missing title"))
	}
	info.Tactics, info.Techniques = attackTags(tags)
	info.Class = classify(info.Tactics)
	if correlation != nil {
		if detection != nil {
			check(errAt(detection.Line, detection.Column, ErrInvalid, "a correlation rule cannot have a detection"))
		}
		if !bad {
			c.corrDocs = append(c.corrDocs, corrDoc{meta: m, info: info, node: correlation, generate: generate, hasTags: len(info.Tactics)+len(info.Techniques) > 0})
		}
		return
	}
	if info.ID == "" && !bad {
		c.warn(m, doc, "missing id; the rule is identified by its title")
		info.ID = info.Title
		if info.Name != "" {
			info.ID = info.Name
		}
	}
	r := rule{info: info}
	c.source = Logsource{}
	if logsource == nil {
		check(errAt(doc.Line, doc.Column, ErrInvalid, "missing logsource"))
	} else {
		check(c.logsource(m, &r, logsource))
	}
	if detection == nil {
		check(errAt(doc.Line, doc.Column, ErrInvalid, "missing detection"))
	} else if errs := c.detection(m, &r, detection); len(errs) > 0 {
		for _, e := range errs {
			check(e)
		}
	}
	if !bad {
		c.rules = append(c.rules, r)
	}
}

func (c *compiler) logsource(m docMeta, r *rule, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n.Line, n.Column, ErrInvalid, "logsource must be a mapping, not %s", kindName(n))
	}
	ps, errs := pairs(n)
	if len(errs) > 0 {
		return errs[0]
	}
	for _, p := range ps {
		var err error
		switch p.key {
		case "product":
			r.info.Logsource.Product, err = scalar("logsource.product", p.val)
		case "category":
			r.info.Logsource.Category, err = scalar("logsource.category", p.val)
		case "service":
			r.info.Logsource.Service, err = scalar("logsource.service", p.val)
		case "definition":
		default:
			c.warn(m, p.kNode, "unknown logsource attribute %q", p.key)
		}
		if err != nil {
			return err
		}
	}
	r.source = r.info.Logsource.lower()
	c.source = r.source
	return nil
}

// detection compiles the selections and the condition.
func (c *compiler) detection(m docMeta, r *rule, n *yaml.Node) []error {
	if n.Kind != yaml.MappingNode {
		return []error{errAt(n.Line, n.Column, ErrInvalid, "detection must be a mapping, not %s", kindName(n))}
	}
	ps, errs := pairs(n)
	names := map[string]int{}
	var order []string
	var condNode *yaml.Node
	unmapped := map[string]bool{}
	for _, p := range ps {
		switch p.key {
		case "condition":
			condNode = p.val
			continue
		case "timeframe":
			c.warn(m, p.kNode, "timeframe is ignored; use a correlation rule")
			continue
		}
		sel, serrs := c.selection(p.key, p.val, unmapped)
		if len(serrs) > 0 {
			errs = append(errs, serrs...)
			continue
		}
		names[p.key] = len(r.sels)
		order = append(order, p.key)
		r.sels = append(r.sels, sel)
	}
	if len(unmapped) > 0 {
		fields := make([]string, 0, len(unmapped))
		for f := range unmapped {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		c.warn(m, n, "fields without a canonical mapping, read from the source's own fields or labels: %s", strings.Join(fields, ", "))
	}
	if condNode == nil {
		return append(errs, errAt(n.Line, n.Column, ErrInvalid, "detection has no condition"))
	}
	if len(errs) > 0 {
		// Unknown-selection errors would only repeat the selection's own error.
		return errs
	}
	conds, err := stringList("condition", condNode)
	if err != nil {
		return []error{err}
	}
	if len(conds) == 0 {
		return []error{errAt(condNode.Line, condNode.Column, ErrInvalid, "empty condition")}
	}
	var kids []*node
	for _, cs := range conds {
		k, err := parseCondition(cs, names, order)
		if err != nil {
			return []error{&posError{line: condNode.Line, col: condNode.Column, err: err}}
		}
		kids = append(kids, k)
	}
	r.cond = kids[0]
	if len(kids) > 1 {
		r.cond = &node{op: nOr, kids: kids}
	}
	return nil
}

// selection compiles one named detection item.
func (c *compiler) selection(name string, n *yaml.Node, unmapped map[string]bool) (selection, []error) {
	sel := selection{name: name}
	switch n.Kind {
	case yaml.MappingNode:
		g, errs := c.group(n, unmapped)
		if len(errs) > 0 {
			return sel, errs
		}
		sel.groups = [][]fieldMatcher{g}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return sel, []error{errAt(n.Line, n.Column, ErrInvalid, "selection %q is empty", name)}
		}
		first := deref(n.Content[0])
		if first.Kind == yaml.MappingNode {
			var errs []error
			for _, item := range n.Content {
				item = deref(item)
				if item.Kind != yaml.MappingNode {
					errs = append(errs, errAt(item.Line, item.Column, ErrInvalid, "selection %q mixes mappings and %s", name, kindName(item)))
					continue
				}
				g, gerrs := c.group(item, unmapped)
				errs = append(errs, gerrs...)
				sel.groups = append(sel.groups, g)
			}
			return sel, errs
		}
		fm, err := c.values(fieldMatcher{keyword: true}, keywordMods(), n)
		if err != nil {
			return sel, []error{err}
		}
		sel.groups = [][]fieldMatcher{{fm}}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return sel, []error{errAt(n.Line, n.Column, ErrInvalid, "selection %q is null", name)}
		}
		fm, err := c.values(fieldMatcher{keyword: true}, keywordMods(), n)
		if err != nil {
			return sel, []error{err}
		}
		sel.groups = [][]fieldMatcher{{fm}}
	default:
		return sel, []error{errAt(n.Line, n.Column, ErrInvalid, "selection %q is %s", name, kindName(n))}
	}
	return sel, nil
}

// group compiles a mapping of field|modifiers to values (an AND).
func (c *compiler) group(n *yaml.Node, unmapped map[string]bool) ([]fieldMatcher, []error) {
	ps, errs := pairs(n)
	if len(ps) == 0 && len(errs) == 0 {
		return nil, []error{errAt(n.Line, n.Column, ErrInvalid, "empty selection")}
	}
	var out []fieldMatcher
	for _, p := range ps {
		parts := strings.Split(p.key, "|")
		fm := fieldMatcher{}
		if parts[0] == "" {
			fm.keyword = true
		} else {
			fm.field = c.resolve(parts[0], c.source)
			if fm.field.label && c.source.Product != "windows" {
				unmapped[parts[0]] = true
			}
		}
		mods, err := parseModifiers(parts[1:])
		if err != nil {
			errs = append(errs, &posError{line: p.kNode.Line, col: p.kNode.Column, err: err})
			continue
		}
		fm.all = mods.all
		fm, err = c.values(fm, &mods, p.val)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fm.compileAnyOf()
		out = append(out, fm)
	}
	return out, errs
}

// values compiles a field's value or list of values.
func (c *compiler) values(fm fieldMatcher, mods *modifiers, n *yaml.Node) (fieldMatcher, error) {
	var m modifiers
	if mods != nil {
		m = *mods
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			return fm, errAt(n.Line, n.Column, ErrInvalid, "empty value list")
		}
		items = n.Content
	}
	for _, it := range items {
		it = deref(it)
		if it.Kind != yaml.ScalarNode {
			return fm, errAt(it.Line, it.Column, ErrInvalid, "value must be a scalar, not %s", kindName(it))
		}
		if it.Tag == "!!null" {
			if fm.keyword {
				return fm, errAt(it.Line, it.Column, ErrInvalid, "null keyword")
			}
			fm.values = append(fm.values, valueMatcher{kind: vNull})
			continue
		}
		vals := []string{it.Value}
		if m.expand {
			var err error
			if vals, err = expandPlaceholders(it.Value, c.opt.Placeholders); err != nil {
				return fm, &posError{line: it.Line, col: it.Column, err: err}
			}
		}
		if len(m.enc) > 0 {
			var enc []string
			for _, v := range vals {
				e, err := encodeValue(v, m.enc)
				if err != nil {
					return fm, &posError{line: it.Line, col: it.Column, err: err}
				}
				enc = append(enc, e...)
			}
			vals = enc
		}
		for _, v := range vals {
			if m.fieldref {
				if fm.keyword {
					return fm, errAt(it.Line, it.Column, ErrInvalid, "fieldref needs a field")
				}
				fm.values = append(fm.values, refValue(m, c.resolve(v, c.source)))
				continue
			}
			vm, err := compileValue(m, v, it.Tag == "!!int" && len(m.enc) == 0)
			if err != nil {
				return fm, &posError{line: it.Line, col: it.Column, err: err}
			}
			fm.values = append(fm.values, vm)
		}
	}
	if m.exists && len(fm.values) != 1 {
		return fm, errAt(n.Line, n.Column, ErrInvalid, "exists takes one value")
	}
	return fm, nil
}

// index builds the logsource router and the literal prefilter.
func (rs *Ruleset) index() {
	sources := make([]Logsource, len(rs.rules))
	for i := range rs.rules {
		sources[i] = rs.rules[i].source
	}
	rs.router = newRouter(sources)
	rs.pf = newPrefilter(rs.rules)
}

// candidates returns the rules ev can match, in rule order: those its
// logsource reaches whose prefilter literals (if any) occur in the event.
// The result lives in sc until its next use.
func (rs *Ruleset) candidates(ev *event.Event, sc *scratch) []int {
	rt := rs.router.lookup(ev.RuleLogsource(), rs.pf.route)
	if rs.unfiltered {
		return rt.rules
	}
	return rs.pf.filter(ev, rt, sc)
}

func (r *rule) match(ev *event.Event) bool {
	return r.cond.eval(r.sels, ev)
}

func eventTime(ev *event.Event, evid event.Evidence) (t int64, ok bool) {
	switch {
	case !ev.Timestamp.IsZero():
		return ev.Timestamp.UnixNano(), true
	case !evid.EventTime.IsZero():
		return evid.EventTime.UnixNano(), true
	}
	return 0, false
}

func (r *rule) signal(ev *event.Event, evid event.Evidence) event.Signal {
	t := ev.Timestamp
	if t.IsZero() {
		t = evid.EventTime
	}
	return event.Signal{
		RuleID:     r.info.ID,
		RuleTitle:  r.info.Title,
		RuleLevel:  r.info.Level,
		Class:      r.info.Class,
		Tactics:    r.info.Tactics,
		Techniques: r.info.Techniques,
		Time:       t,
		Source:     ev.Source(),
		Target:     ev.Target(),
		Port:       ev.DestinationPort,
		Count:      1,
		Evidence:   evid,
	}
}

// Match evaluates the single-event rules against ev and calls emit for each
// signal, in rule order. Rules whose matches only feed a correlation are
// not emitted. Evaluating text and number fields does not allocate, so a
// benign event costs no garbage. The Tactics and Techniques slices of
// emitted signals are shared; do not modify them.
func (rs *Ruleset) Match(ev *event.Event, evid event.Evidence, emit func(event.Signal)) {
	sc := rs.pf.get()
	defer rs.pf.put(sc)
	for _, i := range rs.candidates(ev, sc) {
		r := &rs.rules[i]
		if r.info.Emits && r.match(ev) {
			emit(r.signal(ev, evid))
		}
	}
}

// keywordMods are the modifiers of a keyword list: a keyword matches
// anywhere in a text field, as a full-text search does.
func keywordMods() *modifiers { return &modifiers{contains: true} }
