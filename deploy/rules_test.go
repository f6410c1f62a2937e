package deploy

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/severity"
)

const (
	rulesFile     = "prometheus/casus-rules.yml"
	rulesTestFile = "prometheus/casus-rules.test.yml"
	exampleConfig = "prometheus/prometheus.example.yml"
	runbookFile   = "../docs/runbook.md"
	runbookURL    = "https://github.com/casus-sec/casus/blob/main/docs/runbook.md#"
	// firstPagedLevel is the lowest escalation level with an alert of its own.
	firstPagedLevel = 3
)

// prometheusSeries are series Prometheus itself writes for every target,
// which casus cannot export.
var prometheusSeries = map[string]bool{"up": true}

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// ruleTests is the part of a promtool unit-test file these tests read.
type ruleTests struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name        string `yaml:"name"`
		Interval    string `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			EvalTime  string `yaml:"eval_time"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromqlExprTest []struct {
			Expr       string `yaml:"expr"`
			EvalTime   string `yaml:"eval_time"`
			ExpSamples []struct {
				Labels string  `yaml:"labels"`
				Value  float64 `yaml:"value"`
			} `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// decodeStrict decodes a YAML file, refusing keys the target does not know.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) (alerts, records []rule) {
	t.Helper()
	var f ruleFile
	decodeStrict(t, rulesFile, &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r)
			} else {
				records = append(records, r)
			}
		}
	}
	if len(alerts) == 0 || len(records) == 0 {
		t.Fatalf("%s: %d alerts, %d recording rules; want some of each", rulesFile, len(alerts), len(records))
	}
	return alerts, records
}

func TestRulesSelectors(t *testing.T) {
	alerts, records := loadRules(t)
	metrics := exported(t)
	recorded := map[string]bool{}
	for _, r := range records {
		if !strings.HasPrefix(r.Record, "casus:") || strings.Count(r.Record, ":") != 2 {
			t.Errorf("recording rule %s: want a name level:metric:operations starting with casus:", r.Record)
		}
		recorded[r.Record] = true
	}
	for _, r := range slices.Concat(records, alerts) {
		name := r.Record + r.Alert
		sels, err := selectors(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: expression %q reads no metric", name, r.Expr)
		}
		for _, s := range sels {
			if prometheusSeries[s.Metric] {
				continue
			}
			if msg := checkSelector(s, metrics, recorded); msg != "" {
				t.Errorf("%s: %s", name, msg)
			}
		}
	}
}

// TestRulesMatcherValues checks the values the escalation alerts match on
// against the levels and candidacies casus has: a typo such as
// candidacy="armed-attack" would select nothing and never fire.
func TestRulesMatcherValues(t *testing.T) {
	alerts, records := loadRules(t)
	allowed := map[string][]string{"level": levelValues(), "candidacy": candidacyValues(t)}
	for _, r := range slices.Concat(records, alerts) {
		for _, m := range metricMatchers(r.Expr, "casus_escalations_total") {
			vals, ok := allowed[m.label]
			if !ok {
				continue
			}
			if m.op != "=" && m.op != "!=" {
				t.Errorf("%s%s: matcher %s%s%q: use = on escalation labels, so the value can be checked", r.Record, r.Alert, m.label, m.op, m.value)
				continue
			}
			if !slices.Contains(vals, m.value) {
				t.Errorf("%s%s: %s=%q is not a value casus exports (%v)", r.Record, r.Alert, m.label, m.value, vals)
			}
		}
	}
}

func TestRulesAlertsAnnotated(t *testing.T) {
	alerts, _ := loadRules(t)
	anchors := runbookAnchors(t)
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a.Alert] {
			t.Errorf("alert %s defined twice", a.Alert)
		}
		seen[a.Alert] = true
		switch a.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity %q, want critical, warning or info", a.Alert, a.Labels["severity"])
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.Annotations[k]) == "" {
				t.Errorf("%s: no %s annotation", a.Alert, k)
			}
		}
		if !strings.Contains(a.Annotations["description"], "{{ $labels.") {
			t.Errorf("%s: the description names no label value", a.Alert)
		}
		anchor, ok := strings.CutPrefix(a.Annotations["runbook_url"], runbookURL)
		switch {
		case !ok:
			t.Errorf("%s: runbook_url %q does not start with %s", a.Alert, a.Annotations["runbook_url"], runbookURL)
		case anchor != githubAnchor(a.Alert):
			t.Errorf("%s: runbook_url anchor #%s, want #%s (the runbook's heading for the alert)", a.Alert, anchor, githubAnchor(a.Alert))
		case !anchors[anchor]:
			t.Errorf("%s: %s has no heading with anchor #%s", a.Alert, runbookFile, anchor)
		}
	}
}

// TestRulesUnitTestsCoverAlerts checks that promtool's unit tests show every
// alert firing and not firing, and evaluate every recording rule.
func TestRulesUnitTestsCoverAlerts(t *testing.T) {
	alerts, records := loadRules(t)
	var tests ruleTests
	decodeStrict(t, rulesTestFile, &tests)
	if !slices.Contains(tests.RuleFiles, filepath.Base(rulesFile)) {
		t.Errorf("%s: rule_files %v does not load %s", rulesTestFile, tests.RuleFiles, filepath.Base(rulesFile))
	}
	fires, quiet, evaluated := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) == 0 {
				quiet[a.Alertname] = true
				continue
			}
			fires[a.Alertname] = true
			for _, e := range a.ExpAlerts {
				if e.ExpLabels["severity"] == "" || e.ExpAnnotations["description"] == "" {
					t.Errorf("%s: an exp_alerts entry of %s leaves out the severity or the description", tc.Name, a.Alertname)
				}
			}
		}
		for _, e := range tc.PromqlExprTest {
			evaluated[strings.TrimSpace(e.Expr)] = true
		}
	}
	known := map[string]bool{}
	for _, a := range alerts {
		known[a.Alert] = true
		if !fires[a.Alert] {
			t.Errorf("%s: no unit test in %s expects it to fire (exp_alerts)", a.Alert, rulesTestFile)
		}
		if !quiet[a.Alert] {
			t.Errorf("%s: no unit test in %s expects it not to fire (exp_alerts: [])", a.Alert, rulesTestFile)
		}
	}
	for name := range fires {
		if !known[name] {
			t.Errorf("%s tests alert %s, which the rules do not define", rulesTestFile, name)
		}
	}
	for _, r := range records {
		if !evaluated[r.Record] {
			t.Errorf("recording rule %s: no promql_expr_test in %s evaluates it", r.Record, rulesTestFile)
		}
	}
}

// TestRulesEscalationAlerts checks that every escalation level from
// firstPagedLevel up and every armed-attack candidacy has its own alert,
// which pages at once. The expected alerts come from the levels and the
// candidacy values casus has, not from a list kept here.
func TestRulesEscalationAlerts(t *testing.T) {
	alerts, _ := loadRules(t)
	byName := map[string]rule{}
	for _, a := range alerts {
		byName[a.Alert] = a
	}
	type want struct {
		alert, label, value string
		candidate           bool
	}
	var wants []want
	for l := firstPagedLevel; severity.LevelName(l) != ""; l++ {
		wants = append(wants, want{alert: "CasusEscalation" + severity.LevelName(l), label: "level", value: strconv.Itoa(l)})
	}
	for _, c := range candidacyValues(t) {
		if strings.HasPrefix(c, "armed-attack-candidate") {
			wants = append(wants, want{alert: "Casus" + camel(c), label: "candidacy", value: c, candidate: true})
		}
	}
	if len(wants) < 5 {
		t.Fatalf("found only %d levels and candidacies to alert on: %v", len(wants), wants)
	}
	for _, w := range wants {
		a, ok := byName[w.alert]
		if !ok {
			t.Errorf("no alert %s for escalations with %s=%q", w.alert, w.label, w.value)
			continue
		}
		ms := metricMatchers(a.Expr, "casus_escalations_total")
		// A level alert counts significant escalations only: candidates page
		// through their candidacy alert, once.
		wantMatchers := []matcher{{w.label, "=", w.value}}
		if !w.candidate {
			wantMatchers = append(wantMatchers, matcher{"candidacy", "=", string(severity.CandidacySignificant)})
		}
		if !slices.Equal(ms, wantMatchers) {
			t.Errorf("%s: matchers %v on casus_escalations_total, want exactly %v", w.alert, ms, wantMatchers)
		}
		if !strings.Contains(a.Expr, "increase(casus_escalations_total{") || !regexp.MustCompile(`^sum by \([^)]*\)`).MatchString(a.Expr) {
			t.Errorf("%s: want sum by (...) (increase(casus_escalations_total{...}[...])) > 0, got %q", w.alert, a.Expr)
		}
		if a.For != "" {
			t.Errorf("%s: for %s; escalation alerts must page at the first evaluation", w.alert, a.For)
		}
		if w.candidate {
			d := a.Annotations["description"]
			for _, s := range []string{"never decides that an armed attack took place", "case-by-case consultation", "casus verify"} {
				if !strings.Contains(d, s) {
					t.Errorf("%s: description does not say %q", w.alert, s)
				}
			}
			if a.Labels["severity"] != "critical" {
				t.Errorf("%s: severity %q, want critical", w.alert, a.Labels["severity"])
			}
		}
	}
}

// TestRulesExampleConfig checks that the example scrape config loads the
// rules and scrapes casus under the job the rules select.
func TestRulesExampleConfig(t *testing.T) {
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", exampleConfig, err)
	}
	if !slices.Contains(cfg.RuleFiles, filepath.Base(rulesFile)) {
		t.Errorf("%s: rule_files %v does not load %s", exampleConfig, cfg.RuleFiles, filepath.Base(rulesFile))
	}
	alerts, _ := loadRules(t)
	var jobs []string
	for _, a := range alerts {
		for _, m := range metricMatchers(a.Expr, "up") {
			if m.label == "job" {
				jobs = append(jobs, m.value)
			}
		}
	}
	if len(jobs) == 0 {
		t.Fatal("no alert selects up by job")
	}
	for _, j := range jobs {
		if !slices.ContainsFunc(cfg.ScrapeConfigs, func(s struct {
			JobName string `yaml:"job_name"`
		}) bool {
			return s.JobName == j
		}) {
			t.Errorf("the rules select up{job=%q}, which %s does not scrape", j, exampleConfig)
		}
	}
}

func TestRulesGithubAnchor(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"CasusDown", "casusdown"},
		{"What to do with an escalation alert", "what-to-do-with-an-escalation-alert"},
		{"Moving to an actor's campaign", "moving-to-an-actors-campaign"},
		{"`casus rules lint`", "casus-rules-lint"},
		{"Time, and snake_case", "time-and-snake_case"},
	} {
		if got := githubAnchor(tt.heading); got != tt.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// githubAnchor is the fragment GitHub gives a Markdown heading: lower case,
// punctuation other than '-' and '_' dropped, spaces turned into '-'.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// runbookAnchors returns the anchors of the runbook's headings, numbering
// repeats as GitHub does.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	count := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if fenced || level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		a := githubAnchor(line[level:])
		if n := count[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		count[a]++
	}
	return anchors
}

type matcher struct{ label, op, value string }

var (
	matcherList = regexp.MustCompile(`\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?`)
	metricWord  = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// metricMatchers returns the matchers of every selector of metric in expr.
func metricMatchers(expr, metric string) []matcher {
	var out []matcher
	for _, loc := range metricWord.FindAllStringIndex(expr, -1) {
		if expr[loc[0]:loc[1]] != metric || (loc[0] > 0 && strings.ContainsRune("_:", rune(expr[loc[0]-1]))) {
			continue
		}
		rest := strings.TrimLeft(expr[loc[1]:], " ")
		if !strings.HasPrefix(rest, "{") {
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			continue
		}
		for _, m := range matcherList.FindAllStringSubmatch(rest[1:end], -1) {
			v, err := strconv.Unquote(`"` + m[3] + `"`)
			if err != nil {
				v = m[3]
			}
			out = append(out, matcher{m[1], m[2], v})
		}
	}
	return out
}

// levelValues are the values of the level label: the levels with a name.
func levelValues() []string {
	var out []string
	for l := 0; severity.LevelName(l) != ""; l++ {
		out = append(out, strconv.Itoa(l))
	}
	return out
}

// candidacyValues are the values of the candidacy label: the constants of
// type severity.Candidacy, read from the package's source because Go cannot
// list a type's constants at run time.
func candidacyValues(t *testing.T) []string {
	t.Helper()
	dir := "../classify/severity"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Candidacy" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: a Candidacy constant that is not a string literal", fset.Position(v.Pos()))
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
			}
		}
	}
	// The constants the package's own code uses, as a check on the reading.
	for _, c := range []severity.Candidacy{severity.CandidacyNone, severity.CandidacySignificant, severity.CandidacyAACPending, severity.CandidacyAAC} {
		if !slices.Contains(out, string(c)) {
			t.Fatalf("candidacy %q not found reading %s (found %v)", c, dir, out)
		}
	}
	return out
}

// camel turns a label value such as armed-attack-candidate into
// ArmedAttackCandidate.
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
