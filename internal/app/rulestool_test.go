package app

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
)

const toolData = "testdata/rulestool"

// golden compares got with testdata/rulestool/<name>.golden, rewriting it
// under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(toolData, name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestLintRules(t *testing.T) {
	lint := filepath.Join(toolData, "lint")
	withPH, err := LoadPlaceholders(filepath.Join(lint, "placeholders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		paths        []string
		placeholders map[string][]string
		files, rules int
		rejected     int
		errors       int
		warnings     int
		reasons      map[string]int
	}{
		{name: "good", paths: []string{filepath.Join(lint, "good")}, files: 2, rules: 3},
		{name: "bad", paths: []string{filepath.Join(lint, "bad")}, files: 7, rules: 3, rejected: 10, errors: 11,
			reasons: map[string]int{
				"syntax": 1, "unresolved placeholder": 1, "bad regular expression": 1, "unknown rule reference": 1,
				"duplicate rule": 1, "invalid: missing title": 1, "invalid: level": 1,
				`unsupported: modifier "neq"`: 1, "unsupported: aggregation in condition": 1,
				"unsupported: quantifier other than 1 of / all of": 1, "unsupported: temporal condition expression": 1,
			}},
		{name: "warnings", paths: []string{filepath.Join(lint, "warnings")}, files: 1, rules: 1, warnings: 2},
		{name: "placeholder-default", paths: []string{filepath.Join(lint, "placeholder")}, files: 1, rejected: 1, errors: 1,
			reasons: map[string]int{"unresolved placeholder": 1}},
		{name: "placeholder-file", paths: []string{filepath.Join(lint, "placeholder")}, placeholders: withPH, files: 1, rules: 1},
		{name: "files-and-overlap", paths: []string{filepath.Join(lint, "good", "process.yml"), filepath.Join(lint, "good"), filepath.Join(lint, "warnings", "warn.yml")},
			files: 3, rules: 4, warnings: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			rep, err := LintRules(LintOptions{Paths: tc.paths, Placeholders: tc.placeholders, Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Files != tc.files || rep.Rules != tc.rules || rep.Rejected != tc.rejected || rep.Errors != tc.errors || rep.Warnings != tc.warnings {
				t.Errorf("files %d rules %d rejected %d errors %d warnings %d; want %d %d %d %d %d\n%s",
					rep.Files, rep.Rules, rep.Rejected, rep.Errors, rep.Warnings,
					tc.files, tc.rules, tc.rejected, tc.errors, tc.warnings, out.String())
			}
			if tc.reasons == nil {
				tc.reasons = map[string]int{}
			}
			for k, v := range tc.reasons {
				if rep.Reasons[k] != v {
					t.Errorf("reason %q: %d, want %d", k, rep.Reasons[k], v)
				}
			}
			for k := range rep.Reasons {
				if _, ok := tc.reasons[k]; !ok {
					t.Errorf("unexpected reason %q", k)
				}
			}
			golden(t, "lint-"+tc.name, out.String())
		})
	}
}

func TestLintOutputLines(t *testing.T) {
	var out bytes.Buffer
	if _, err := LintRules(LintOptions{Paths: []string{filepath.Join(toolData, "lint", "bad")}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		// file:line:column, severity, kind, rule title and id, message
		`bad/modifier.yml:9:5: error: unsupported: rule "Unsupported modifier" (00000000-0000-4000-8000-000000000011): modifier "neq"`,
		`bad/placeholder.yml:7:28: error: placeholder: rule "Unresolved placeholder" (00000000-0000-4000-8000-000000000015): unresolved placeholder: %jump_hosts%`,
		`bad/syntax.yml:3: error: syntax: `,
		"unsupported features:\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	var warn bytes.Buffer
	if _, err := LintRules(LintOptions{Paths: []string{filepath.Join(toolData, "lint", "warnings")}, Out: &warn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), `warn.yml:3:1: warning: rule "Rule with warnings" (00000000-0000-4000-8000-000000000020): unknown attribute "colour"`) {
		t.Errorf("warning not labelled with its position:\n%s", warn.String())
	}
}

func TestLintUsageErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"no paths", nil, "no rule paths"},
		{"missing path", []string{filepath.Join(toolData, "nope")}, "no such file"},
		{"no rule files", []string{empty}, "no rule files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LintRules(LintOptions{Paths: tc.paths})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadPlaceholders(t *testing.T) {
	ph, err := LoadPlaceholders(filepath.Join(toolData, "lint", "placeholders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ph["jump_hosts"], []string{"10.0.9.0/24", "10.0.8.7/32"}) || !slices.Equal(ph["single"], []string{"192.0.2.1"}) {
		t.Errorf("placeholders %v", ph)
	}
	_, err = LoadPlaceholders(filepath.Join(toolData, "lint", "placeholders.bad.yaml"))
	for _, want := range []string{"placeholders.bad.yaml:2:3: placeholder jump_hosts: want a list of values", "placeholders.bad.yaml:3:13: placeholder other: values must be strings"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if _, err := LoadPlaceholders(filepath.Join(toolData, "nope.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}

func runTests(t *testing.T, opt RuleTestOptions) (RuleTestReport, string) {
	t.Helper()
	var out bytes.Buffer
	opt.Out = &out
	rep, err := RunRuleTests(opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

func TestRuleTestFiles(t *testing.T) {
	dir := filepath.Join(toolData, "ruletest")
	rep, out := runTests(t, RuleTestOptions{Paths: []string{filepath.Join(dir, "pass")}})
	if rep.Passed != 7 || rep.Failed != 0 || rep.Skipped != 0 {
		t.Errorf("pass tree: %d passed %d failed %d skipped, want 7/0/0\n%s", rep.Passed, rep.Failed, rep.Skipped, out)
	}
	golden(t, "test-pass", out)

	rep, out = runTests(t, RuleTestOptions{Paths: []string{filepath.Join(dir, "fail")}})
	if rep.Passed != 0 || rep.Failed != 7 {
		t.Errorf("fail tree: %d passed %d failed, want 0/7\n%s", rep.Passed, rep.Failed, out)
	}
	golden(t, "test-fail", out)
	want := map[string]string{
		"should fire and does not":           `rule 00000000-0000-4000-8000-000000000101 "Shadow copies deleted (fixture)" should have fired and did not`,
		"fires and should not":               `rule 00000000-0000-4000-8000-000000000101 "Shadow copies deleted (fixture)" fired on 1 of 1 events and should not have`,
		"names a rule that is not loaded":    "rule no-such-rule is not loaded",
		"names a rule the compiler rejected": "rejected by the compiler: unresolved placeholder",
		"event that does not decode":         "event 1 (line 34): decode ecs: malformed",
		"unknown format":                     `unknown format "pcap"`,
		"invalid test file":                  `5:5: unknown key "expected" in a case`,
	}
	for _, r := range rep.Results {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected case %q", r.Name)
			continue
		}
		if r.Status != RuleTestFail || !strings.Contains(r.Reason, w) {
			t.Errorf("%s: %s %q, want FAIL with %q", r.Name, r.Status, r.Reason, w)
		}
	}
}

// TestRuleTestNestedTree checks that a test file found below the path given
// loads the rules of the whole tree, and that naming the test file alone
// loads the rules of its own folder only.
func TestRuleTestNestedTree(t *testing.T) {
	nested := filepath.Join(toolData, "ruletest", "pass", "sub", "nested.test.yml")
	rep, out := runTests(t, RuleTestOptions{Paths: []string{nested}})
	if rep.Failed != 1 || !strings.Contains(out, "no rule files under") {
		t.Errorf("test file alone should find no rules beside it:\n%s", out)
	}
	rep, out = runTests(t, RuleTestOptions{Paths: []string{nested}, Rules: []string{filepath.Join(toolData, "ruletest", "pass", "rules")}})
	if rep.Passed != 1 {
		t.Errorf("with --rules the nested test should pass:\n%s", out)
	}
}

func TestRuleTestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  RuleTestOptions
		want string
	}{
		{"no paths", RuleTestOptions{}, "no test paths"},
		{"missing path", RuleTestOptions{Paths: []string{filepath.Join(toolData, "nope")}}, "no such file"},
		{"no tests", RuleTestOptions{Paths: []string{filepath.Join(toolData, "lint", "warnings")}}, "no rule tests"},
		{"not a test file", RuleTestOptions{Paths: []string{filepath.Join(toolData, "lint", "warnings", "warn.yml")}}, "is not a rule test"},
		{"unknown format", RuleTestOptions{Paths: []string{filepath.Join(toolData, "ruletest", "pass")}, Format: "pcap"}, `unknown format "pcap"`},
		{"missing rules folder", RuleTestOptions{Paths: []string{filepath.Join(toolData, "ruletest", "pass")}, Rules: []string{filepath.Join(toolData, "nope")}}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunRuleTests(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRegressionLayout(t *testing.T) {
	root := filepath.Join(toolData, "sigma")
	ph, err := LoadPlaceholders(filepath.Join(toolData, "lint", "placeholders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ pass, fail, skip int }
	for _, tc := range []struct {
		name   string
		opt    RuleTestOptions
		want   counts
		status map[string]RuleTestStatus // by case folder
		reason map[string]string
	}{
		{
			name: "root", opt: RuleTestOptions{Paths: []string{root}},
			want: counts{2, 2, 1},
			status: map[string]RuleTestStatus{
				"proc_creation_win_fixture_vssadmin": RuleTestPass,
				"proc_creation_win_fixture_cmd":      RuleTestPass,
				"proc_creation_win_fixture_whoami":   RuleTestFail,
				"proc_creation_win_fixture_notest":   RuleTestSkip,
				"net_connection_win_fixture_jump":    RuleTestFail,
			},
			reason: map[string]string{
				// Fires, so it passes; the differing match_count is noted.
				"proc_creation_win_fixture_cmd":    "note: fired on 1 of 3 events, match_count is 2",
				"proc_creation_win_fixture_whoami": `rule 00000000-0000-4000-8000-000000000205 "Whoami All (fixture)" should have fired and did not (0 of 1 events)`,
				"proc_creation_win_fixture_notest": "no regression test",
				"net_connection_win_fixture_jump":  "rejected by the compiler: unresolved placeholder (",
			},
		},
		{
			// A rules folder brings its part of regression_data.
			name: "rules subfolder", opt: RuleTestOptions{Paths: []string{filepath.Join(root, "rules", "windows")}},
			want: counts{2, 1, 1},
		},
		{
			name: "regression subfolder with placeholders",
			opt:  RuleTestOptions{Paths: []string{filepath.Join(root, "regression_data", "rules-placeholder")}, Placeholders: ph},
			want: counts{1, 0, 0},
		},
		{
			name: "explicit rules folder",
			opt:  RuleTestOptions{Paths: []string{filepath.Join(root, "regression_data", "rules-placeholder")}, Rules: []string{filepath.Join(root, "rules")}},
			want: counts{0, 1, 0},
			reason: map[string]string{
				"net_connection_win_fixture_jump": "is not loaded",
			},
		},
		{
			name: "one info.yml",
			opt:  RuleTestOptions{Paths: []string{filepath.Join(root, "regression_data", "rules", "windows", "process_creation", "proc_creation_win_fixture_vssadmin", "info.yml")}},
			want: counts{1, 0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Format = "ecs"
			rep, out := runTests(t, tc.opt)
			if got := (counts{rep.Passed, rep.Failed, rep.Skipped}); got != tc.want {
				t.Errorf("got %+v, want %+v\n%s", got, tc.want, out)
			}
			for _, r := range rep.Results {
				folder := filepath.Base(filepath.Dir(r.File))
				if s, ok := tc.status[folder]; ok && s != r.Status {
					t.Errorf("%s: %s, want %s (%s)", folder, r.Status, s, r.Reason)
				}
				if w, ok := tc.reason[folder]; ok && !strings.Contains(r.Reason, w) {
					t.Errorf("%s: reason %q lacks %q", folder, r.Reason, w)
				}
			}
			if tc.name == "root" {
				golden(t, "test-regression", out)
			}
		})
	}
}

// TestRegressionWinevt runs a regression case with a Windows event JSON in
// the default format, as SigmaHQ's data needs.
func TestRegressionWinevt(t *testing.T) {
	if _, ok := defaultRegistryHas(regressionFormat); !ok {
		t.Skipf("no %q decoder registered in this build", regressionFormat)
	}
	rep, out := runTests(t, RuleTestOptions{Paths: []string{filepath.Join(toolData, "sigma-winevt")}})
	if rep.Passed != 1 || rep.Failed != 0 {
		t.Errorf("winevt case: %d passed %d failed, want 1/0\n%s", rep.Passed, rep.Failed, out)
	}
}

// TestBuiltinRuleTests runs the *.test.yml files beside the built-in rules
// (casus rules test classify/rules): all must pass, and every built-in rule
// must have a case where it fires and one where it does not.
func TestBuiltinRuleTests(t *testing.T) {
	dir := filepath.Join("..", "..", "classify", "rules")
	rep, out := runTests(t, RuleTestOptions{Paths: []string{dir}})
	if rep.Failed > 0 || rep.Passed == 0 {
		t.Errorf("built-in rule tests: %d passed, %d failed\n%s", rep.Passed, rep.Failed, out)
	}
	files, err := collectRuleFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := sigma.Compile(files, sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]string{}
	for _, r := range rs.Rules() {
		byRef[r.ID] = r.ID
		if r.Name != "" {
			byRef[r.Name] = r.ID
		}
	}
	tests, err := filepath.Glob(filepath.Join(dir, "*.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	fire, notFire := map[string]bool{}, map[string]bool{}
	for _, f := range tests {
		tf, err := parseRuleTestFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range tf.cases {
			for _, ref := range c.fire {
				fire[byRef[ref]] = true
			}
			for _, ref := range c.notFire {
				notFire[byRef[ref]] = true
			}
		}
	}
	for _, r := range rs.Rules() {
		if !fire[r.ID] {
			t.Errorf("no case where %s %q fires", r.ID, r.Title)
		}
		if !notFire[r.ID] {
			t.Errorf("no case where %s %q does not fire", r.ID, r.Title)
		}
	}
	t.Logf("%d built-in rules, %d cases", len(rs.Rules()), len(rep.Results))
}

// TestSigmaRegressionData runs SigmaHQ's regression cases from the shared
// snapshot and requires every one to pass.
func TestSigmaRegressionData(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, regressionDir)); err != nil {
		t.Skipf("SigmaHQ regression data not present at %s: %v", root, err)
	}
	rep, out := runTests(t, RuleTestOptions{Paths: []string{root}})
	run := rep.Passed + rep.Failed
	t.Logf("SigmaHQ regression data: %d cases, %d run, %d passed (%.1f%%), %d failed, %d skipped (no test event)",
		len(rep.Results), run, rep.Passed, 100*float64(rep.Passed)/float64(max(run, 1)), rep.Failed, rep.Skipped)
	if rep.Failed > 0 {
		var fails []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "FAIL ") {
				fails = append(fails, line)
			}
		}
		t.Errorf("%d of %d regression cases fail:\n%s", rep.Failed, run, strings.Join(fails, "\n"))
	}
	if run == 0 {
		t.Error("no regression case ran")
	}
}

func defaultRegistryHas(format string) (string, bool) {
	for _, f := range KnownFormats() {
		if f == format {
			return f, true
		}
	}
	return "", false
}

func TestUnsupportedFeature(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{`modifier "neq"`, `modifier "neq"`},
		{`correlation type "temporal_ordered"`, `correlation type "temporal_ordered"`},
		{`aggregation in condition ("sel | count() > 5"); use a correlation rule`, "aggregation in condition"},
		{`"2" of (only 1 of and all of)`, "quantifier other than 1 of / all of"},
		{`correlation of correlation "my_corr"`, "correlation of correlation"},
		{"condition neq", "condition neq"},
	} {
		if got := unsupportedFeature(tc.msg); got != tc.want {
			t.Errorf("unsupportedFeature(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestWithoutCorrelations(t *testing.T) {
	in := []byte("title: a\nid: 1\n---\ntitle: c\ncorrelation:\n  type: event_count\n---\ntitle: b\nid: 2\n")
	out, err := withoutCorrelations(in)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); strings.Contains(s, "correlation") || !strings.Contains(s, "title: a") || !strings.Contains(s, "title: b") {
		t.Errorf("got %q", s)
	}
	plain := []byte("title: a\n")
	if out, _ := withoutCorrelations(plain); !bytes.Equal(out, plain) {
		t.Errorf("file without correlations changed: %q", out)
	}
}
