package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/casus-sec/casus/internal/app"
)

const dashboardFile = "grafana/casus-dashboard.json"

// dashboard is the part of a Grafana dashboard model the checks read.
type dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []dashPanel `json:"panels"`
	Templating    struct {
		List []dashVariable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []dashAnnotation `json:"list"`
	} `json:"annotations"`
}

type dashPanel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  json.RawMessage `json:"datasource"`
	GridPos     gridPos         `json:"gridPos"`
	Collapsed   bool            `json:"collapsed"`
	Panels      []dashPanel     `json:"panels"`
	Targets     []dashTarget    `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type gridPos struct{ X, Y, W, H int }

type dashTarget struct {
	RefID        string          `json:"refId"`
	Datasource   json.RawMessage `json:"datasource"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
}

type dashVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource json.RawMessage `json:"datasource"`
	Query      json.RawMessage `json:"query"`
}

type dashAnnotation struct {
	Name       string          `json:"name"`
	BuiltIn    int             `json:"builtIn"`
	Datasource json.RawMessage `json:"datasource"`
	Expr       string          `json:"expr"`
	TextFormat string          `json:"textFormat"`
}

// dashboardMetrics is what a dashboard may read: the families casus
// exports, and up, which Prometheus itself writes for every target it
// scrapes.
func dashboardMetrics(t *testing.T) map[string]app.Metric {
	t.Helper()
	ms := exported(t)
	ms["up"] = app.Metric{Name: "up", Type: "gauge"}
	return ms
}

func loadDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d, data
}

func TestDashboard(t *testing.T) {
	d, _ := loadDashboard(t)
	if d.UID != "casus" || d.Title != "casus" {
		t.Errorf("uid %q, title %q: both must be casus, links and provisioning use them", d.UID, d.Title)
	}
	for _, p := range checkDashboard(d, dashboardMetrics(t)) {
		t.Error(p)
	}
}

// TestDashboardCoverage keeps the dashboard showing every casus metric
// family, and the topics operators look for first.
func TestDashboardCoverage(t *testing.T) {
	d, _ := loadDashboard(t)
	metrics := dashboardMetrics(t)
	reads := dashboardReads(d, metrics)
	for name := range metrics {
		if strings.HasPrefix(name, "casus_") && len(reads[name]) == 0 {
			t.Errorf("no panel reads %s", name)
		}
	}
	for _, want := range []struct{ metric, matcher string }{
		{"casus_records_consumed_total", ""},
		{"casus_records_decoded_total", ""},
		{"casus_kafka_writes_total", ""},
		{"casus_decode_failures_total", ""},
		{"casus_deadletters_total", ""},
		{"casus_timestamp_fallbacks_total", ""},
		{"casus_signals_total", ""},
		{"casus_incidents_open", ""},
		{"casus_escalations_total", "candidacy"},
		{"casus_escalations_closed_total", ""},
		{"casus_consumer_lag", ""},
		{"casus_group_assigned_partitions", ""},
		{"casus_record_to_output_seconds_bucket", ""},
		{"casus_rule_evaluation_seconds_bucket", ""},
		{"casus_state_entries", ""},
		{"casus_state_evictions_total", ""},
		{"casus_watermark_seconds", ""},
		{"casus_rules_reloads_total", ""},
		{"casus_rules_last_reload_successful", ""},
		{"process_resident_memory_bytes", ""},
		{"process_cpu_seconds_total", ""},
		{"go_goroutines", ""},
		{"up", ""},
	} {
		found := false
		for _, r := range reads[baseMetric(want.metric, metrics)] {
			if r.sel.Metric == want.metric && (want.matcher == "" || slices.Contains(r.sel.Labels, want.matcher)) {
				found = true
			}
		}
		switch {
		case !found && want.matcher == "":
			t.Errorf("no panel reads %s", want.metric)
		case !found:
			t.Errorf("no panel reads %s with a %s matcher", want.metric, want.matcher)
		}
	}
}

// TestDashboardPromtool has Prometheus's own parser read every expression
// of the dashboard, with Grafana's variables replaced by sample values.
func TestDashboardPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH; the expressions are only lexed")
	}
	d, _ := loadDashboard(t)
	replacer := strings.NewReplacer(
		"${datasource}", "x", "$__rate_interval", "1m", "$__range", "1h", "$__interval", "30s",
		"$job", "casus", "$instance", ".*",
	)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, e := range dashboardExprs(d) {
		expr := e.expr
		if e.variable {
			expr, _, err = variableExpr(expr)
			if err != nil {
				continue // reported by TestDashboard
			}
		}
		n++
		q, _ := json.Marshal(replacer.Replace(expr))
		fmt.Fprintf(&b, "      - record: dashboard_expr_%d # %s\n        expr: %s\n", n, e.where, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard-exprs.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules on the dashboard's %d expressions: %v\n%s", n, err, out)
	}
}

// exprAt is one PromQL expression of a dashboard and where it is.
type exprAt struct {
	where    string
	expr     string
	legend   string
	variable bool // a templating query such as label_values(...)
	filtered bool // must select by $job and $instance
}

// walkPanels calls fn for every panel, rows' nested panels included.
func walkPanels(ps []dashPanel, fn func(p dashPanel)) {
	for _, p := range ps {
		fn(p)
		walkPanels(p.Panels, fn)
	}
}

func panelName(p dashPanel) string { return fmt.Sprintf("panel %d %q", p.ID, p.Title) }

func dashboardExprs(d dashboard) []exprAt {
	var out []exprAt
	walkPanels(d.Panels, func(p dashPanel) {
		for _, tg := range p.Targets {
			out = append(out, exprAt{where: panelName(p) + " target " + tg.RefID, expr: tg.Expr,
				legend: tg.LegendFormat, filtered: true})
		}
	})
	for _, a := range d.Annotations.List {
		if a.BuiltIn == 0 {
			out = append(out, exprAt{where: fmt.Sprintf("annotation %q", a.Name), expr: a.Expr,
				legend: a.TextFormat, filtered: true})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := variableQuery(v.Query)
		if err != nil {
			q = "" // reported by checkDashboard
		}
		out = append(out, exprAt{where: fmt.Sprintf("variable %s", v.Name), expr: q, variable: true})
	}
	return out
}

// checkDashboard returns every problem of a dashboard, each naming where
// it is.
func checkDashboard(d dashboard, metrics map[string]app.Metric) []string {
	var probs []string
	add := func(where, format string, args ...any) {
		probs = append(probs, where+": "+fmt.Sprintf(format, args...))
	}
	if d.SchemaVersion < 36 {
		add("dashboard", "schemaVersion %d: Grafana 10 writes 38 or later", d.SchemaVersion)
	}

	vars := map[string]bool{}
	var dsVar *dashVariable
	for i, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Name == "datasource" {
			dsVar = &d.Templating.List[i]
		}
		if v.Type == "query" {
			if msg := datasourceProblem(v.Datasource); msg != "" {
				add("variable "+v.Name, "%s", msg)
			}
			if _, err := variableQuery(v.Query); err != nil {
				add("variable "+v.Name, "%v", err)
			}
		}
	}
	switch {
	case dsVar == nil:
		add("templating", "no variable named datasource")
	case dsVar.Type != "datasource" || string(dsVar.Query) != `"prometheus"`:
		add("variable datasource", "type %q, query %s: want type datasource, query prometheus", dsVar.Type, dsVar.Query)
	}

	for _, a := range d.Annotations.List {
		if a.BuiltIn != 0 {
			continue
		}
		if msg := datasourceProblem(a.Datasource); msg != "" {
			add(fmt.Sprintf("annotation %q", a.Name), "%s", msg)
		}
	}

	ids := map[int]string{}
	walkPanels(d.Panels, func(p dashPanel) {
		where := panelName(p)
		if other, dup := ids[p.ID]; dup {
			add(where, "id also used by %s", other)
		}
		ids[p.ID] = where
		if p.Type == "row" {
			if len(p.Datasource) > 0 && string(p.Datasource) != "null" {
				if msg := datasourceProblem(p.Datasource); msg != "" {
					add(where, "%s", msg)
				}
			}
			if !p.Collapsed && len(p.Panels) > 0 {
				add(where, "an expanded row holds its panels after it, not inside it")
			}
			return
		}
		if msg := datasourceProblem(p.Datasource); msg != "" {
			add(where, "%s", msg)
		}
		if strings.TrimSpace(p.Description) == "" {
			add(where, "no description: say what to look for")
		}
		if p.FieldConfig.Defaults.Unit == "" {
			add(where, "no unit")
		}
		if len(p.Targets) == 0 {
			add(where, "no query")
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				add(where, "target refId %q is empty or repeated", tg.RefID)
			}
			refs[tg.RefID] = true
			if msg := datasourceProblem(tg.Datasource); msg != "" {
				add(where+" target "+tg.RefID, "%s", msg)
			}
		}
	})
	probs = append(probs, layoutProblems(d.Panels)...)

	for _, e := range dashboardExprs(d) {
		expr := e.expr
		var label string
		if e.variable {
			var err error
			if expr, label, err = variableExpr(expr); err != nil {
				add(e.where, "%v", err)
				continue
			}
		}
		if strings.TrimSpace(expr) == "" {
			add(e.where, "empty expression")
			continue
		}
		for _, p := range exprProblems(expr, e.legend, metrics) {
			add(e.where, "%s", p)
		}
		if label != "" && !slices.Contains(append(metricLabelsOf(expr, metrics), "job", "instance"), label) {
			add(e.where, "label %q is not a label of %s", label, expr)
		}
		for _, v := range variableRefs(expr) {
			if !vars[v] && !grafanaBuiltins[v] {
				add(e.where, "variable $%s is not defined", v)
			}
		}
		if e.filtered {
			sels, _ := selectors(expr)
			for _, s := range sels {
				if !slices.Contains(s.Labels, "job") || !slices.Contains(s.Labels, "instance") {
					add(e.where, "%s does not select by job and instance: the variables would not apply", s.Metric)
				}
			}
		}
	}
	return probs
}

var grafanaBuiltins = map[string]bool{
	"__rate_interval": true, "__interval": true, "__interval_ms": true, "__range": true,
	"__range_s": true, "__range_ms": true, "__from": true, "__to": true,
}

// datasourceProblem says what is wrong with a panel's, target's or query
// variable's datasource, or "" when it is the dashboard's Prometheus
// variable, so that one dashboard serves any Prometheus.
func datasourceProblem(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "no datasource: Grafana would use its default, not ${datasource}"
	}
	isVar := func(s string) bool { return s == "${datasource}" || s == "$datasource" }
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if isVar(s) {
			return ""
		}
		return fmt.Sprintf("datasource %s, want ${datasource}", raw)
	}
	var ref struct{ Type, UID string }
	if err := json.Unmarshal(raw, &ref); err != nil {
		return fmt.Sprintf("unreadable datasource %s", raw)
	}
	if ref.Type != "prometheus" || !isVar(ref.UID) {
		return fmt.Sprintf(`datasource %s, want {"type":"prometheus","uid":"${datasource}"}`, raw)
	}
	return ""
}

// layoutProblems reports repeated positions: panels overlap when their
// gridPos rectangles share a cell. Panels of a collapsed row are laid out
// among themselves when it opens.
func layoutProblems(ps []dashPanel) []string {
	var probs []string
	for i, p := range ps {
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			probs = append(probs, fmt.Sprintf("%s: gridPos %+v is outside the 24-column grid", panelName(p), g))
		}
		for _, q := range ps[:i] {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				probs = append(probs, fmt.Sprintf("%s: gridPos %+v overlaps %s at %+v", panelName(p), g, panelName(q), h))
			}
		}
		if p.Collapsed {
			probs = append(probs, layoutProblems(p.Panels)...)
		}
	}
	return probs
}

// exprProblems checks one PromQL expression of a dashboard: it lexes, reads
// only metrics casus exports (no recording rules: the dashboard must work
// without the rule file), by their real labels, and uses no fixed range.
func exprProblems(expr, legend string, metrics map[string]app.Metric) []string {
	var probs []string
	if err := balanced(expr); err != nil {
		probs = append(probs, err.Error())
	}
	sels, err := selectors(expr)
	if err != nil {
		return append(probs, err.Error())
	}
	if len(sels) == 0 {
		probs = append(probs, fmt.Sprintf("%s reads no metric", expr))
	}
	for _, s := range sels {
		if msg := checkSelector(s, metrics, map[string]bool{}); msg != "" {
			probs = append(probs, msg)
		}
	}
	probs = append(probs, labelProblems(expr, legend, metrics)...)
	ranges, err := exprRanges(expr)
	if err != nil {
		return append(probs, err.Error())
	}
	for _, r := range ranges {
		switch r {
		case "$__rate_interval", "${__rate_interval}", "$__range", "${__range}":
		default:
			probs = append(probs, fmt.Sprintf("range [%s]: use $__rate_interval (or $__range for totals over the time range) so the panel follows the scrape interval", r))
		}
	}
	return probs
}

// alwaysLabels exist on any series a dashboard reads: the target labels
// Prometheus adds, and those of histogram buckets and summary quantiles.
var alwaysLabels = []string{"job", "instance", "le", "quantile"}

// labelProblems checks the label names an expression groups or matches on
// (by, without, on, ignoring, group_left, group_right) and those its legend
// shows ({{label}}) against the labels of the metrics it reads. A legend
// label must also survive the expression's `by` aggregations, or it
// shows empty.
func labelProblems(expr, legend string, metrics map[string]app.Metric) []string {
	var probs []string
	avail := append(metricLabelsOf(expr, metrics), alwaysLabels...)
	gs, err := groupings(expr)
	if err != nil {
		return []string{err.Error()}
	}
	var kept []string
	onlyBy := len(gs) > 0
	for _, g := range gs {
		for _, l := range g.Labels {
			if !slices.Contains(avail, l) {
				probs = append(probs, fmt.Sprintf("%s (%s): %q is not a label of the metrics read (%v)", g.Keyword, strings.Join(g.Labels, ", "), l, avail))
			}
		}
		switch g.Keyword {
		case "by":
			kept = append(kept, g.Labels...)
		case "without":
			onlyBy = false
		}
	}
	for _, l := range legendLabels(legend) {
		switch {
		case !slices.Contains(avail, l):
			probs = append(probs, fmt.Sprintf("legend {{%s}}: not a label of the metrics read (%v)", l, avail))
		case onlyBy && !slices.Contains(kept, l):
			probs = append(probs, fmt.Sprintf("legend {{%s}}: the aggregation keeps only %v", l, kept))
		}
	}
	return probs
}

// metricLabelsOf is the union of the labels of the metrics an expression
// reads, with le for histogram buckets and quantile for summaries.
func metricLabelsOf(expr string, metrics map[string]app.Metric) []string {
	sels, _ := selectors(expr)
	var out []string
	for _, s := range sels {
		m, ok := metrics[baseMetric(s.Metric, metrics)]
		if !ok {
			continue
		}
		out = append(out, m.Labels...)
		if m.Type == "histogram" && strings.HasSuffix(s.Metric, "_bucket") {
			out = append(out, "le")
		}
		if m.Type == "summary" && s.Metric == m.Name {
			out = append(out, "quantile")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// baseMetric maps a histogram's or summary's _bucket, _sum and _count
// series to its family.
func baseMetric(name string, metrics map[string]app.Metric) string {
	if _, ok := metrics[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, found := strings.CutSuffix(name, suffix); found {
			if m, ok := metrics[base]; ok && (m.Type == "histogram" || m.Type == "summary") {
				return base
			}
		}
	}
	return name
}

// grouping is one label list of an expression: `by (a, b)`, `on (c)`.
// An aggregation without a list is a `by` with no labels.
type grouping struct {
	Keyword string
	Labels  []string
}

// dropping are the aggregations whose result keeps only the grouping
// labels; topk and the like keep their input's labels.
var dropping = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "quantile": true,
}

// groupings returns the label lists of an expression, in order.
func groupings(expr string) ([]grouping, error) {
	s := []rune(expr)
	var out []grouping
	word := func(i int) (string, int) {
		start := i
		for i < len(s) && isIdent(s[i]) {
			i++
		}
		return string(s[start:i]), i
	}
	skipSpace := func(i int) int {
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(s, &i); err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
		case c == '{' || c == '[':
			closing := map[rune]rune{'{': '}', '[': ']'}[c]
			for i < len(s) && s[i] != closing {
				if s[i] == '"' || s[i] == '\'' || s[i] == '`' {
					if err := skipString(s, &i); err != nil {
						return nil, fmt.Errorf("%w in %q", err, expr)
					}
					continue
				}
				i++
			}
			i++
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				for i < len(s) && s[i] != '}' {
					i++
				}
				i++
				continue
			}
			_, i = word(i)
		case unicode.IsDigit(c):
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			var w string
			w, i = word(i)
			j := skipSpace(i)
			kw := strings.ToLower(w)
			switch {
			case labelListKeywords[kw] && j < len(s) && s[j] == '(':
				end := strings.IndexRune(string(s[j:]), ')')
				if end < 0 {
					return nil, fmt.Errorf("unclosed %s ( in %q", w, expr)
				}
				g := grouping{Keyword: kw}
				for _, l := range strings.Split(string(s[j+1:j+end]), ",") {
					if l = strings.TrimSpace(l); l != "" {
						g.Labels = append(g.Labels, l)
					}
				}
				out = append(out, g)
				i = j + end + 1
			case dropping[kw] && j < len(s) && s[j] == '(':
				// `sum (x) by (l)` names its list after the arguments.
				end, err := matchingParen(s, j)
				if err != nil {
					return nil, fmt.Errorf("%w in %q", err, expr)
				}
				after, _ := word(skipSpace(end + 1))
				if a := strings.ToLower(after); a != "by" && a != "without" {
					out = append(out, grouping{Keyword: "by"})
				}
			}
		default:
			i++
		}
	}
	return out, nil
}

// matchingParen returns the index of the parenthesis closing the one at open.
func matchingParen(s []rune, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); {
		switch s[i] {
		case '"', '\'', '`':
			if err := skipString(s, &i); err != nil {
				return 0, err
			}
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
		i++
	}
	return 0, fmt.Errorf("unclosed (")
}

// balanced reports unbalanced parentheses, braces and brackets, which the
// selector lexer does not look for.
func balanced(expr string) error {
	s := []rune(expr)
	var stack []rune
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '"', '\'', '`':
			if err := skipString(s, &i); err != nil {
				return fmt.Errorf("%w in %q", err, expr)
			}
			continue
		case '(', '{', '[':
			stack = append(stack, c)
		case ')', '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unbalanced %q at %d in %q", c, i, expr)
			}
			stack = stack[:len(stack)-1]
		}
		i++
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q in %q", stack[len(stack)-1], expr)
	}
	return nil
}

// exprRanges returns the contents of an expression's range brackets.
func exprRanges(expr string) ([]string, error) {
	s := []rune(expr)
	var out []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '"', '\'', '`':
			if err := skipString(s, &i); err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			continue
		case '[':
			end := strings.IndexRune(string(s[i:]), ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", expr)
			}
			out = append(out, strings.TrimSpace(string(s[i+1:i+end])))
			i += end
		}
		i++
	}
	return out, nil
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// legendLabels returns the labels a legend format shows.
func legendLabels(format string) []string {
	var out []string
	for _, m := range legendLabel.FindAllStringSubmatch(format, -1) {
		out = append(out, m[1])
	}
	return out
}

var variableRef = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[^}]*)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)`)

// variableRefs returns the Grafana variables an expression uses.
func variableRefs(expr string) []string {
	var out []string
	for _, m := range variableRef.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// variableQuery reads a query variable's query: a string, or the object
// Grafana 10's Prometheus variable editor writes.
func variableQuery(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var q struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		return "", fmt.Errorf("unreadable query %s", raw)
	}
	return q.Query, nil
}

// variableExpr returns the PromQL a variable query evaluates and, for
// label_values, the label whose values it lists.
func variableExpr(q string) (expr, label string, err error) {
	q = strings.TrimSpace(q)
	if inner, ok := strings.CutPrefix(q, "query_result("); ok && strings.HasSuffix(inner, ")") {
		return strings.TrimSuffix(inner, ")"), "", nil
	}
	inner, ok := strings.CutPrefix(q, "label_values(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return "", "", fmt.Errorf("query %q: want label_values(metric{...}, label) or query_result(expr)", q)
	}
	inner = strings.TrimSuffix(inner, ")")
	comma := strings.LastIndex(inner, ",")
	if comma < 0 || strings.LastIndex(inner, "}") > comma {
		return "", "", fmt.Errorf("query %q: label_values without a metric reads every series of the server", q)
	}
	return strings.TrimSpace(inner[:comma]), strings.TrimSpace(inner[comma+1:]), nil
}

// dashboardRead is one selector of a dashboard and where it is.
type dashboardRead struct {
	where string
	sel   selector
}

// dashboardReads returns the selectors of a dashboard's panels by metric
// family.
func dashboardReads(d dashboard, metrics map[string]app.Metric) map[string][]dashboardRead {
	out := map[string][]dashboardRead{}
	for _, e := range dashboardExprs(d) {
		if e.variable {
			continue
		}
		sels, _ := selectors(e.expr)
		for _, s := range sels {
			base := baseMetric(s.Metric, metrics)
			out[base] = append(out[base], dashboardRead{e.where, s})
		}
	}
	return out
}

func TestDashboardGroupings(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`sum by (topic, format) (rate(casus_records_decoded_total[$__rate_interval]))`, `by[topic format]`},
		{`sum(rate(x{by="by (a)"}[5m])) by (reason)`, `by[reason]`},
		{`sum(rate(x[5m]))`, `by[]`},
		{`max without (partition) (casus_consumer_lag)`, `without[partition]`},
		{`topk(3, casus_consumer_lag)`, ``},
		{`a / on (instance) group_left (version) b`, `on[instance] group_left[version]`},
		{`histogram_quantile(0.9, sum by (le, output) (rate(b[$__rate_interval])))`, `by[le output]`},
		{`count(count by (version) (casus_build_info{job=~"$job"}))`, `by[] by[version]`},
		{`x{job=~"${job:regex}"} and ignoring(reason) y`, `ignoring[reason]`},
		{`SUM BY (topic) (x)`, `by[topic]`},
	}
	for _, tt := range tests {
		gs, err := groupings(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		var got []string
		for _, g := range gs {
			got = append(got, fmt.Sprintf("%s%v", g.Keyword, g.Labels))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("groupings(%s) = %q, want %q", tt.expr, strings.Join(got, " "), tt.want)
		}
	}
	if _, err := groupings(`sum(x{a="b}`); err == nil {
		t.Error("an unclosed string was not reported")
	}
}

func TestDashboardLabelProblems(t *testing.T) {
	metrics := dashboardMetrics(t)
	tests := []struct {
		expr, legend string
		want         string // substring of a problem; "" for none
	}{
		{`sum by (topic, format) (rate(casus_records_decoded_total[$__rate_interval]))`, `{{topic}} {{format}}`, ``},
		{`sum by (topic) (rate(casus_records_decoded_total[$__rate_interval]))`, `{{ topic }}`, ``},
		{`sum by (severity) (rate(casus_signals_total[$__rate_interval]))`, `{{severity}}`, `"severity" is not a label`},
		{`sum by (topic) (rate(casus_records_consumed_total[$__rate_interval]))`, `{{reason}}`, `legend {{reason}}: not a label`},
		{`sum by (topic) (rate(casus_records_decoded_total[$__rate_interval]))`, `{{format}}`, `the aggregation keeps only [topic]`},
		{`sum(rate(casus_signals_total[$__rate_interval]))`, `{{class}}`, `the aggregation keeps only []`},
		{`max without (partition) (casus_consumer_lag)`, `{{topic}}`, ``},
		{`casus_consumer_lag`, `{{instance}} {{job}} {{topic}}/{{partition}}`, ``},
		{`histogram_quantile(0.99, sum by (le, output) (rate(casus_record_to_output_seconds_bucket[$__rate_interval])))`, `{{output}}`, ``},
		{`histogram_quantile(0.99, sum by (le, stage) (rate(casus_record_to_output_seconds_bucket[$__rate_interval])))`, `{{stage}}`, `"stage" is not a label`},
		{`sum by (instance) (rate(go_gc_duration_seconds_sum[$__rate_interval])) / sum by (instance) (rate(go_gc_duration_seconds_count[$__rate_interval]))`, `{{instance}}`, ``},
		{`casus_incidents_open * on (level) group_left (class) casus_signals_total`, ``, ``},
		{`casus_incidents_open * on (topic) casus_signals_total`, ``, `"topic" is not a label`},
		{`topk(5, casus_consumer_lag)`, `{{partition}}`, ``},
	}
	for _, tt := range tests {
		probs := labelProblems(tt.expr, tt.legend, metrics)
		got := strings.Join(probs, "\n")
		if tt.want == "" && len(probs) > 0 || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("labelProblems(%s, %q) = %q, want %q", tt.expr, tt.legend, got, tt.want)
		}
	}
}

func TestDashboardVariableExpr(t *testing.T) {
	tests := []struct {
		q, expr, label string
		fail           bool
	}{
		{`label_values(casus_build_info, job)`, `casus_build_info`, `job`, false},
		{`label_values(casus_build_info{job=~"$job", a=","}, instance)`, `casus_build_info{job=~"$job", a=","}`, `instance`, false},
		{`query_result(count by (version) (casus_build_info))`, `count by (version) (casus_build_info)`, ``, false},
		{`label_values(instance)`, ``, ``, true},
		{`label_values(x{a=","})`, ``, ``, true},
		{`metrics(casus_.*)`, ``, ``, true},
	}
	for _, tt := range tests {
		expr, label, err := variableExpr(tt.q)
		if (err != nil) != tt.fail || expr != tt.expr || label != tt.label {
			t.Errorf("variableExpr(%s) = %q, %q, %v; want %q, %q, failure %v", tt.q, expr, label, err, tt.expr, tt.label, tt.fail)
		}
	}
}

// miniPanel is a valid timeseries panel for the dashboard checks' cases.
func miniPanel(id, y int, expr, legend string) string {
	p := map[string]any{
		"id": id, "type": "timeseries", "title": fmt.Sprint("p", id), "description": "what to look for",
		"datasource":  map[string]string{"type": "prometheus", "uid": "${datasource}"},
		"gridPos":     map[string]int{"x": 0, "y": y, "w": 12, "h": 8},
		"fieldConfig": map[string]any{"defaults": map[string]string{"unit": "ops"}},
		"targets": []map[string]any{{
			"refId": "A", "datasource": map[string]string{"type": "prometheus", "uid": "$datasource"},
			"expr": expr, "legendFormat": legend,
		}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const (
	miniVars = `[
		{"name": "datasource", "type": "datasource", "query": "prometheus"},
		{"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
		 "query": {"query": "label_values(casus_build_info, job)", "refId": "A"}},
		{"name": "instance", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
		 "query": "label_values(casus_build_info{job=~\"$job\"}, instance)"}]`
	goodExpr = `sum by (topic) (rate(casus_records_consumed_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))`
)

func miniDashboard(vars, annotations string, panels ...string) string {
	if vars == "" {
		vars = miniVars
	}
	if annotations == "" {
		annotations = "[]"
	}
	return fmt.Sprintf(`{"uid": "casus", "title": "casus", "schemaVersion": 39,
		"templating": {"list": %s}, "annotations": {"list": %s}, "panels": [%s]}`,
		vars, annotations, strings.Join(panels, ",\n"))
}

// TestDashboardChecks shows that checkDashboard fails on each kind of
// mistake, on small dashboards that differ from a good one in one place.
func TestDashboardChecks(t *testing.T) {
	sel := `{job=~"$job", instance=~"$instance"}`
	good := miniPanel(2, 1, goodExpr, "{{topic}}")
	row := `{"id": 1, "type": "row", "title": "r", "collapsed": false, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []}`
	tests := []struct {
		name string
		dash string
		want string // substring of a problem; "" for none
	}{
		{"good", miniDashboard("", "", row, good), ""},
		{"good collapsed row", miniDashboard("", "", `{"id": 1, "type": "row", "title": "r", "collapsed": true,
			"gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [`+good+`]}`), ""},
		{"metric typo", miniDashboard("", "", row, miniPanel(2, 1, `sum(rate(casus_records_consumd_total`+sel+`[$__rate_interval]))`, "")),
			"metric casus_records_consumd_total is not exported"},
		{"metric typo in a collapsed row", miniDashboard("", "", `{"id": 1, "type": "row", "title": "r", "collapsed": true,
			"gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [`+miniPanel(2, 1, `casus_stat_entries`+sel, "")+`]}`),
			"casus_stat_entries is not exported"},
		{"wrong matcher label", miniDashboard("", "", row, miniPanel(2, 1, `sum(rate(casus_signals_total{job=~"$job", instance=~"$instance", severity="high"}[$__rate_interval]))`, "")),
			`has no label "severity"`},
		{"wrong by label", miniDashboard("", "", row, miniPanel(2, 1, `sum by (severity) (rate(casus_signals_total`+sel+`[$__rate_interval]))`, "")),
			`"severity" is not a label`},
		{"wrong legend label", miniDashboard("", "", row, miniPanel(2, 1, goodExpr, "{{reason}}")),
			"legend {{reason}}: not a label"},
		{"recording rule", miniDashboard("", "", row, miniPanel(2, 1, `casus:records_consumed:rate5m`+sel, "")),
			"recording rule casus:records_consumed:rate5m is not defined"},
		{"fixed range", miniDashboard("", "", row, miniPanel(2, 1, strings.Replace(goodExpr, "$__rate_interval", "5m", 1), "")),
			"range [5m]"},
		{"unbalanced", miniDashboard("", "", row, miniPanel(2, 1, strings.TrimSuffix(goodExpr, ")"), "")),
			"unclosed '('"},
		{"unclosed string", miniDashboard("", "", row, miniPanel(2, 1, `casus_consumer_lag{job=~"$job}`, "")),
			"unclosed string"},
		{"unknown variable", miniDashboard("", "", row, miniPanel(2, 1, strings.Replace(goodExpr, "$job", "$jobs", 1), "")),
			"variable $jobs is not defined"},
		{"not filtered", miniDashboard("", "", row, miniPanel(2, 1, `sum(casus_consumer_lag{job=~"$job"})`, "")),
			"casus_consumer_lag does not select by job and instance"},
		{"fixed panel datasource", miniDashboard("", "", row, strings.Replace(good, `"uid":"${datasource}"`, `"uid":"P1809F7CD0C75ACF3"`, 1)),
			`datasource {"type":"prometheus","uid":"P1809F7CD0C75ACF3"}`},
		{"fixed target datasource", miniDashboard("", "", row, strings.Replace(good, `"uid":"$datasource"`, `"uid":"prometheus"`, 1)),
			"target A: datasource"},
		{"no panel datasource", miniDashboard("", "", row, strings.Replace(good, `"datasource":{"type":"prometheus","uid":"${datasource}"},`, "", 1)),
			"no datasource"},
		{"no datasource variable", miniDashboard(`[]`, "", row, miniPanel(2, 1, `sum(casus_consumer_lag{instance=~".*", job="casus"})`, "")),
			"no variable named datasource"},
		{"datasource variable of another type", miniDashboard(strings.Replace(miniVars, `"query": "prometheus"`, `"query": "loki"`, 1), "", row, good),
			"want type datasource, query prometheus"},
		{"variable label typo", miniDashboard(strings.Replace(miniVars, `\"}, instance)`, `\"}, instanse)`, 1), "", row, good),
			`label "instanse" is not a label`},
		{"variable metric typo", miniDashboard(strings.Replace(miniVars, `label_values(casus_build_info, job)`, `label_values(casus_bild_info, job)`, 1), "", row, good),
			"casus_bild_info is not exported"},
		{"variable without metric", miniDashboard(strings.Replace(miniVars, `label_values(casus_build_info, job)`, `label_values(job)`, 1), "", row, good),
			"without a metric"},
		{"duplicate id", miniDashboard("", "", row, good, miniPanel(2, 9, goodExpr, "")),
			"id also used by"},
		{"overlap", miniDashboard("", "", row, good, miniPanel(3, 5, goodExpr, "")),
			"overlaps panel 2"},
		{"overlap in a collapsed row", miniDashboard("", "", `{"id": 1, "type": "row", "title": "r", "collapsed": true,
			"gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [`+good+`,`+miniPanel(3, 8, goodExpr, "")+`]}`),
			"overlaps panel 2"},
		{"off the grid", miniDashboard("", "", row, strings.Replace(good, `"x":0`, `"x":16`, 1)),
			"outside the 24-column grid"},
		{"expanded row holding panels", miniDashboard("", "", `{"id": 1, "type": "row", "title": "r", "collapsed": false,
			"gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [`+good+`]}`),
			"an expanded row holds its panels after it"},
		{"no unit", miniDashboard("", "", row, strings.Replace(good, `"unit":"ops"`, `"unit":""`, 1)),
			"no unit"},
		{"no description", miniDashboard("", "", row, strings.Replace(good, `"description":"what to look for"`, `"description":""`, 1)),
			"no description"},
		{"annotation", miniDashboard("", `[{"name": "a", "datasource": {"type": "prometheus", "uid": "${datasource}"},
			"expr": "increase(casus_escalation_total{job=~\"$job\", instance=~\"$instance\"}[$__rate_interval]) > 0"}]`, row, good),
			"casus_escalation_total is not exported"},
	}
	metrics := dashboardMetrics(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dashboard
			if err := json.Unmarshal([]byte(tt.dash), &d); err != nil {
				t.Fatalf("%v\n%s", err, tt.dash)
			}
			probs := checkDashboard(d, metrics)
			got := strings.Join(probs, "\n")
			if tt.want == "" && len(probs) > 0 {
				t.Errorf("problems in a good dashboard:\n%s", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("want a problem containing %q, got:\n%s", tt.want, got)
			}
		})
	}
}
