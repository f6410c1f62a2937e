package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/stream/decode"
)

// This file backs `casus rules lint` and `casus rules test`. Both walk the
// paths they are given in one pass; problems in rules and failing tests go
// to the report, and an error is returned only when the input itself cannot
// be read (a missing path, a bad placeholders file, nothing to work on).

// regressionDir is the folder of SigmaHQ-style regression cases; rule walks
// skip it because its info.yml files are not rules.
const regressionDir = "regression_data"

// skipDir reports whether a rule or test walk should not descend into the
// directory: hidden folders (.git, .github) and regression data.
func skipDir(name string) bool {
	return (strings.HasPrefix(name, ".") && name != "." && name != "..") || name == regressionDir
}

// collectRuleFiles reads the rule files named by paths: every *.yml and
// *.yaml under a directory (skipping rule tests, hidden folders and
// regression data), and files named directly when they are rule files. A
// file is read once even if several paths reach it.
func collectRuleFiles(paths []string) ([]sigma.File, error) {
	var files []sigma.File
	seen := map[string]bool{}
	add := func(p string) error {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, sigma.File{Name: p, Data: b})
		return nil
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if isRuleFile(filepath.Base(root)) {
				if err := add(root); err != nil {
					return nil, err
				}
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || !isRuleFile(d.Name()) {
				return nil
			}
			return add(p)
		})
		if err != nil {
			return nil, fmt.Errorf("reading rules under %s: %w", root, err)
		}
	}
	return files, nil
}

// LoadPlaceholders reads a YAML file that maps placeholder names to their
// values: a list of strings (a single string is a list of one).
func LoadPlaceholders(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading placeholders: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing placeholders %s: %w", path, err)
	}
	out := map[string][]string{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	ph, probs := placeholderMap(doc.Content[0])
	if len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, m := range probs {
			errs[i] = fmt.Errorf("%s:%s", path, m.String())
		}
		return nil, fmt.Errorf("reading placeholders: %w", errors.Join(errs...))
	}
	return ph, nil
}

// posMsg is a problem at a line and column of a YAML file.
type posMsg struct {
	line, col int
	msg       string
}

func (m posMsg) String() string { return fmt.Sprintf("%d:%d: %s", m.line, m.col, m.msg) }

func posf(n *yaml.Node, format string, args ...any) posMsg {
	return posMsg{n.Line, n.Column, fmt.Sprintf(format, args...)}
}

// placeholderMap reads a mapping of names to value lists. Problems carry
// their position, for the caller to prefix with the file name.
func placeholderMap(n *yaml.Node) (map[string][]string, []posMsg) {
	n = derefNode(n)
	if n.Kind != yaml.MappingNode {
		return nil, []posMsg{posf(n, "placeholders must map names to lists of values")}
	}
	out := map[string][]string{}
	var probs []posMsg
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], derefNode(n.Content[i+1])
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = []string{v.Value}
		case yaml.SequenceNode:
			vals := make([]string, 0, len(v.Content))
			for _, it := range v.Content {
				it = derefNode(it)
				if it.Kind != yaml.ScalarNode {
					probs = append(probs, posf(it, "placeholder %s: values must be strings", k.Value))
					continue
				}
				vals = append(vals, it.Value)
			}
			out[k.Value] = vals
		default:
			probs = append(probs, posf(v, "placeholder %s: want a list of values", k.Value))
		}
	}
	return out, probs
}

func derefNode(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// ---------------------------------------------------------------------------
// lint

// LintOptions configure LintRules.
type LintOptions struct {
	// Paths are rule folders or files.
	Paths []string
	// Placeholders give %name% values; nil takes rules.DefaultPlaceholders().
	Placeholders map[string][]string
	// Out receives one line per problem and the summary.
	Out io.Writer
}

// LintReport counts what LintRules found.
type LintReport struct {
	Files    int // rule files read
	Rules    int // rules that compiled
	Rejected int // rules (or files, for YAML syntax errors) rejected
	Errors   int
	Warnings int
	// Reasons counts rejected rules by reason (a rule rejected for two
	// reasons counts under both).
	Reasons map[string]int
	// Unsupported counts each use of a Sigma feature the engine does not
	// implement, by feature.
	Unsupported map[string]int
}

// LintRules compiles every rule file under the paths in one pass, as the
// service would, and writes every error and warning with its position,
// then a summary. Problems in rules are in the report (Errors > 0 means at
// least one rule is rejected); the error is for unreadable input or paths
// that hold no rule file.
func LintRules(opt LintOptions) (LintReport, error) {
	rep := LintReport{Reasons: map[string]int{}, Unsupported: map[string]int{}}
	if len(opt.Paths) == 0 {
		return rep, errors.New("no rule paths given")
	}
	files, err := collectRuleFiles(opt.Paths)
	if err != nil {
		return rep, err
	}
	if len(files) == 0 {
		return rep, fmt.Errorf("no rule files (*.yml, *.yaml) under %s", strings.Join(opt.Paths, ", "))
	}
	ph := opt.Placeholders
	if ph == nil {
		ph = rules.DefaultPlaceholders()
	}
	rs, warns, cerr := sigma.Compile(files, sigma.Options{Placeholders: ph})
	rep.Files, rep.Rules, rep.Warnings = len(files), rs.Len(), len(warns)

	type problem struct {
		file      string
		line, col int
		text      string
	}
	var probs []problem
	rejected := map[string]map[string]bool{} // rule key -> reasons
	for _, re := range ruleErrors(cerr) {
		rep.Errors++
		kind, msg := errorKind(re)
		probs = append(probs, problem{re.File, re.Line, re.Column,
			fmt.Sprintf("%s: error: %s: %s%s", position(re.File, re.Line, re.Column), kind, ruleLabel(re.RuleID, re.Title), msg)})
		key := re.File + "\x00" + re.RuleID + "\x00" + re.Title
		if rejected[key] == nil {
			rejected[key] = map[string]bool{}
		}
		rejected[key][RejectReason(re)] = true
		if errors.Is(re, sigma.ErrUnsupported) {
			rep.Unsupported[unsupportedFeature(msg)]++
		}
	}
	for _, w := range warns {
		probs = append(probs, problem{w.File, w.Line, w.Column,
			fmt.Sprintf("%s: warning: %s%s", position(w.File, w.Line, w.Column), ruleLabel(w.RuleID, w.Title), w.Msg)})
	}
	slices.SortStableFunc(probs, func(a, b problem) int {
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		if a.line != b.line {
			return a.line - b.line
		}
		return a.col - b.col
	})
	rep.Rejected = len(rejected)
	for _, reasons := range rejected {
		for r := range reasons {
			rep.Reasons[r]++
		}
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	var b strings.Builder
	for _, p := range probs {
		b.WriteString(p.text)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d files read, %d rules loaded, %d rejected, %d errors, %d warnings\n",
		rep.Files, rep.Rules, rep.Rejected, rep.Errors, rep.Warnings)
	writeCounts(&b, "rejected by reason:", rep.Reasons)
	writeCounts(&b, "unsupported features:", rep.Unsupported)
	_, err = io.WriteString(out, b.String())
	return rep, err
}

// writeCounts writes a titled table of counts, largest first.
func writeCounts(b *strings.Builder, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		if m[x] != m[y] {
			return m[y] - m[x]
		}
		return strings.Compare(x, y)
	})
	b.WriteString(title + "\n")
	for _, k := range keys {
		fmt.Fprintf(b, "  %5d  %s\n", m[k], k)
	}
}

// ruleErrors unpacks Compile's joined error into its *sigma.RuleError parts.
func ruleErrors(err error) []*sigma.RuleError {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]*sigma.RuleError, 0, len(errs))
	for _, e := range errs {
		var re *sigma.RuleError
		if !errors.As(e, &re) {
			re = &sigma.RuleError{Err: e}
		}
		out = append(out, re)
	}
	return out
}

func position(file string, line, col int) string {
	switch {
	case line > 0 && col > 0:
		return fmt.Sprintf("%s:%d:%d", file, line, col)
	case line > 0:
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// ruleLabel names a rule for a problem line, with a trailing ": ".
func ruleLabel(id, title string) string {
	switch {
	case title != "" && id != "":
		return fmt.Sprintf("rule %q (%s): ", title, id)
	case title != "":
		return fmt.Sprintf("rule %q: ", title)
	case id != "":
		return fmt.Sprintf("rule %s: ", id)
	}
	return ""
}

// errorKinds pairs the compiler's sentinels with short kind names.
var errorKinds = []struct {
	err  error
	name string
}{
	{sigma.ErrSyntax, "syntax"},
	{sigma.ErrUnsupported, "unsupported"},
	{sigma.ErrPlaceholder, "placeholder"},
	{sigma.ErrRegexp, "regexp"},
	{sigma.ErrReference, "reference"},
	{sigma.ErrDuplicate, "duplicate"},
	{sigma.ErrInvalid, "invalid"},
}

// errorKind returns the short kind of a rule error and its message without
// the kind's own prefix.
func errorKind(re *sigma.RuleError) (kind, msg string) {
	msg = re.Err.Error()
	for _, k := range errorKinds {
		if errors.Is(re, k.err) {
			if k.err == sigma.ErrPlaceholder {
				return k.name, msg // "unresolved placeholder: %name%" reads better whole
			}
			return k.name, strings.TrimPrefix(msg, k.err.Error()+": ")
		}
	}
	return "error", msg
}

// RejectReason reduces a rule error to a bounded reason for counting:
// "syntax", "unresolved placeholder", "unsupported: modifier \"x\"",
// "invalid: missing title", and so on. Values from the rule (regular
// expressions, selection names, rule references) are left out.
func RejectReason(re *sigma.RuleError) string {
	kind, msg := errorKind(re)
	switch kind {
	case "syntax":
		return "syntax"
	case "placeholder":
		return sigma.ErrPlaceholder.Error()
	case "unsupported":
		return "unsupported: " + unsupportedFeature(msg)
	case "regexp", "reference", "duplicate":
		return errorKindErr(kind).Error()
	case "invalid":
		if i := strings.IndexAny(msg, "\"(%"); i > 0 {
			msg = msg[:i]
		}
		return "invalid: " + strings.TrimSpace(msg)
	}
	return kind
}

func errorKindErr(name string) error {
	for _, k := range errorKinds {
		if k.name == name {
			return k.err
		}
	}
	return errors.New(name)
}

// unsupportedFeature names the unsupported Sigma feature in a compiler
// message: `modifier "base64offset"`, `correlation type "temporal"`,
// `aggregation in condition`, ... without rule-specific text.
func unsupportedFeature(msg string) string {
	head, _, _ := strings.Cut(msg, " (")
	head, _, _ = strings.Cut(head, ";")
	switch {
	case strings.HasPrefix(head, "correlation of correlation"):
		return "correlation of correlation"
	case strings.HasPrefix(head, `"`) && strings.HasSuffix(head, `" of`):
		return "quantifier other than 1 of / all of"
	}
	return strings.TrimSpace(head)
}

// ---------------------------------------------------------------------------
// rule tests

// RuleTestStatus is the outcome of one rule-test case.
type RuleTestStatus string

// Outcomes of a rule-test case.
const (
	RuleTestPass RuleTestStatus = "PASS"
	RuleTestFail RuleTestStatus = "FAIL"
	RuleTestSkip RuleTestStatus = "SKIP"
)

// RuleTestOptions configure RunRuleTests.
type RuleTestOptions struct {
	// Paths are folders to search for rule tests, or test files.
	Paths []string
	// Format is the event format for cases that do not name one: "" means
	// ecs for *.test.yml cases and winevt for regression data.
	Format string
	// Rules, if set, are the rule folders or files tests load when they do
	// not list their own, instead of the tree they were found in (or, for
	// regression data, the rules* folders beside regression_data).
	Rules []string
	// Placeholders give %name% values; nil takes rules.DefaultPlaceholders().
	Placeholders map[string][]string
	// Out receives one line per case and the summary.
	Out io.Writer
}

// RuleTestResult is one case's outcome.
type RuleTestResult struct {
	File   string // the test file, or a regression case's info.yml
	Name   string
	Status RuleTestStatus
	Reason string // why it failed or was skipped
}

// RuleTestReport collects the cases run.
type RuleTestReport struct {
	Results                 []RuleTestResult
	Passed, Failed, Skipped int
}

// regressionFormat is the format of SigmaHQ regression events (Windows
// event JSON, as evtx_dump writes it).
const regressionFormat = "winevt"

// RunRuleTests finds rule tests under the paths and runs them: casus's own
// *.test.yml files and SigmaHQ regression cases (info.yml in a
// regression_data tree). It writes a PASS, FAIL or SKIP line per case and a
// summary. Failing cases are in the report; the error is for unreadable
// input, an unknown format or paths that hold no test.
func RunRuleTests(opt RuleTestOptions) (RuleTestReport, error) {
	var rep RuleTestReport
	if len(opt.Paths) == 0 {
		return rep, errors.New("no test paths given")
	}
	reg := decode.Default(0)
	if opt.Format != "" {
		if _, ok := reg.Get(opt.Format); !ok {
			return rep, fmt.Errorf("unknown format %q (known: %s)", opt.Format, strings.Join(reg.Names(), ", "))
		}
	}
	for _, r := range opt.Rules {
		if _, err := os.Stat(r); err != nil {
			return rep, err
		}
	}
	jobs, err := findRuleTests(opt.Paths)
	if err != nil {
		return rep, err
	}
	if len(jobs) == 0 {
		return rep, fmt.Errorf("no rule tests (*.test.yml, or regression_data/**/info.yml) under %s", strings.Join(opt.Paths, ", "))
	}
	ph := opt.Placeholders
	if ph == nil {
		ph = rules.DefaultPlaceholders()
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	r := &testRunner{opt: opt, ph: ph, reg: reg, cache: map[string]*loadedRules{}}
	for _, j := range jobs {
		var res []RuleTestResult
		if j.regression {
			res = r.regression(j)
		} else {
			res = r.testFile(j)
		}
		for _, x := range res {
			line := fmt.Sprintf("%s %s: %s", x.Status, x.File, x.Name)
			if x.Reason != "" {
				line += ": " + x.Reason
			}
			if _, err := fmt.Fprintln(out, line); err != nil {
				return rep, err
			}
			switch x.Status {
			case RuleTestPass:
				rep.Passed++
			case RuleTestFail:
				rep.Failed++
			default:
				rep.Skipped++
			}
		}
		rep.Results = append(rep.Results, res...)
	}
	_, err = fmt.Fprintf(out, "rule tests: %d cases, %d passed, %d failed, %d skipped\n",
		len(rep.Results), rep.Passed, rep.Failed, rep.Skipped)
	return rep, err
}

// testJob is a test file or a regression case found on the paths.
type testJob struct {
	path       string // as walked
	tree       string // the command-line folder it was found in
	regression bool
}

// findRuleTests walks the paths for *.test.yml files and regression
// info.yml files. A path inside a rules* folder of a Sigma tree (a folder
// holding regression_data beside rules* folders) also brings the
// regression cases of that part of the tree.
func findRuleTests(paths []string) ([]testJob, error) {
	var jobs []testJob
	seen := map[string]bool{}
	add := func(j testJob) {
		abs, err := filepath.Abs(j.path)
		if err != nil || seen[abs] {
			return
		}
		seen[abs] = true
		jobs = append(jobs, j)
	}
	walk := func(root, tree string) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch {
			case sigma.IsTestFile(filepath.Base(p)):
				add(testJob{path: p, tree: tree})
			case d.Name() == "info.yml" && underRegressionDir(p):
				add(testJob{path: p, tree: tree, regression: true})
			}
			return nil
		})
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			switch {
			case sigma.IsTestFile(filepath.Base(p)):
				add(testJob{path: p, tree: filepath.Dir(p)})
			case filepath.Base(p) == "info.yml":
				add(testJob{path: p, tree: filepath.Dir(p), regression: true})
			default:
				return nil, fmt.Errorf("%s is not a rule test (*.test.yml) nor a regression info.yml", p)
			}
			continue
		}
		if err := walk(p, p); err != nil {
			return nil, fmt.Errorf("searching %s: %w", p, err)
		}
		// rules/windows in a Sigma tree: its cases are in regression_data/rules/windows.
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if root := sigmaRoot(abs); root != "" {
			rel, err := filepath.Rel(root, abs)
			first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
			up, uerr := filepath.Rel(abs, root)
			if err == nil && uerr == nil && rel != "." && strings.HasPrefix(first, "rules") {
				cases := filepath.Join(p, up, regressionDir, rel) // keeps p's relative form
				if st, err := os.Stat(cases); err == nil && st.IsDir() {
					if err := walk(cases, p); err != nil {
						return nil, fmt.Errorf("searching %s: %w", cases, err)
					}
				}
			}
		}
	}
	return jobs, nil
}

func underRegressionDir(p string) bool {
	return slices.Contains(strings.Split(filepath.ToSlash(filepath.Dir(p)), "/"), regressionDir)
}

// sigmaRoot returns dir or its nearest ancestor that holds a
// regression_data folder beside at least one rules* folder, or "".
func sigmaRoot(dir string) string {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, regressionDir)); err == nil && st.IsDir() && len(sigmaRuleDirs(d)) > 0 {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// sigmaRuleDirs lists the rules* folders of a Sigma tree, sorted.
func sigmaRuleDirs(root string) []string {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "rules") {
			out = append(out, filepath.Join(root, e.Name()))
		}
	}
	return out
}

// displayPath shows an absolute path relative to the working directory
// when it lies below it.
func displayPath(abs string) string {
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return rel
}

// testRunner holds what the cases of one run share.
type testRunner struct {
	opt   RuleTestOptions
	ph    map[string][]string
	reg   *decode.Registry
	cache map[string]*loadedRules
}

// loadedRules is one compiled rule set, shared by the tests that load the
// same sources with the same placeholders.
type loadedRules struct {
	files   []sigma.File
	ph      map[string][]string
	rs      *sigma.Ruleset
	byRef   map[string]sigma.RuleInfo // by id and by name
	errs    []*sigma.RuleError
	readErr error
	// blocks compiles the detection rules alone, so rules that only feed a
	// correlation (building blocks) can be seen to match; built on demand.
	blocks *sigma.Ruleset
}

// rules compiles (once) the rule files under sources with placeholders.
func (r *testRunner) rules(sources []string, ph map[string][]string) *loadedRules {
	abs := make([]string, 0, len(sources))
	for _, s := range sources {
		a, err := filepath.Abs(s)
		if err != nil {
			a = s
		}
		abs = append(abs, a)
	}
	slices.Sort(abs)
	abs = slices.Compact(abs)
	phKeys := make([]string, 0, len(ph))
	for k := range ph {
		phKeys = append(phKeys, k)
	}
	slices.Sort(phKeys)
	var key strings.Builder
	for _, a := range abs {
		key.WriteString(a + "\x00")
	}
	for _, k := range phKeys {
		key.WriteString("\x01" + k + "=" + strings.Join(ph[k], "\x02"))
	}
	if lr, ok := r.cache[key.String()]; ok {
		return lr
	}
	lr := &loadedRules{ph: ph, byRef: map[string]sigma.RuleInfo{}}
	r.cache[key.String()] = lr
	lr.files, lr.readErr = collectRuleFiles(sources)
	if lr.readErr != nil {
		return lr
	}
	if len(lr.files) == 0 {
		lr.readErr = fmt.Errorf("no rule files under %s", strings.Join(sources, ", "))
		return lr
	}
	rs, _, err := sigma.Compile(lr.files, sigma.Options{Placeholders: ph})
	lr.rs, lr.errs = rs, ruleErrors(err)
	for _, info := range rs.Rules() {
		if info.ID != "" {
			lr.byRef[info.ID] = info
		}
		if info.Name != "" {
			if _, dup := lr.byRef[info.Name]; !dup {
				lr.byRef[info.Name] = info
			}
		}
	}
	return lr
}

// blockRules compiles the detection documents alone: without their
// correlations, building blocks emit their matches.
func (lr *loadedRules) blockRules() *sigma.Ruleset {
	if lr.blocks != nil {
		return lr.blocks
	}
	files := make([]sigma.File, 0, len(lr.files))
	for _, f := range lr.files {
		data, err := withoutCorrelations(f.Data)
		if err != nil {
			continue // a syntax error: its rules are rejected in the main set too
		}
		files = append(files, sigma.File{Name: f.Name, Data: data})
	}
	// The main compile reported every problem; here only the rules count.
	lr.blocks, _, _ = sigma.Compile(files, sigma.Options{Placeholders: lr.ph})
	return lr.blocks
}

// withoutCorrelations returns a rule file's YAML without its correlation
// documents; a file without any is returned as is.
func withoutCorrelations(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var keep []*yaml.Node
	dropped := false
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if isCorrelationDoc(&n) {
			dropped = true
			continue
		}
		keep = append(keep, &n)
	}
	if !dropped {
		return data, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	for _, n := range keep {
		if err := enc.Encode(n); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func isCorrelationDoc(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = derefNode(n.Content[0])
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "correlation" {
			return true
		}
	}
	return false
}

// record is one event's bytes and where it came from, for messages.
type record struct {
	where string
	data  []byte
}

// fired runs records through the rules as the service does (decode, then
// Correlator.Observe) and counts, per rule id, the events on which the rule
// fired. Building blocks count when they match, though in the service they
// only feed their correlation; they are evaluated only when refs names one.
func (r *testRunner) fired(lr *loadedRules, format string, recs []record, refs []string) (map[string]int, error) {
	counts := map[string]int{}
	corr := lr.rs.NewCorrelator()
	needBlocks := false
	for _, ref := range refs {
		if info, ok := lr.byRef[ref]; ok && !info.Emits {
			needBlocks = true
		}
	}
	var blocks *sigma.Ruleset
	if needBlocks {
		blocks = lr.blockRules()
	}
	onEvent := map[string]bool{}
	var ev event.Event
	for i, rec := range recs {
		if err := r.reg.Decode(format, rec.data, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", rec.where, err)
		}
		clear(onEvent)
		evid := event.Evidence{Topic: "rule-test", Offset: int64(i), EventTime: ev.Timestamp}
		corr.Observe(&ev, evid, func(s event.Signal) { onEvent[s.RuleID] = true })
		if blocks != nil {
			blocks.Match(&ev, evid, func(s event.Signal) {
				if info, ok := lr.byRef[s.RuleID]; ok && !info.Emits {
					onEvent[s.RuleID] = true
				}
			})
		}
		for id := range onEvent {
			counts[id]++
		}
	}
	return counts, nil
}

// rejection explains why a rule reference is not in the loaded set: the
// compiler's errors for it, or that no loaded file defines it. stem, if
// set, is the rule file's base name without extension, to find errors in a
// file whose rule id could not be read.
func (lr *loadedRules) rejection(ref, stem string) string {
	var reasons []string
	for _, re := range lr.errs {
		match := re.RuleID == ref || re.Title == ref
		if !match && stem != "" && re.RuleID == "" {
			base := filepath.Base(re.File)
			match = strings.TrimSuffix(base, filepath.Ext(base)) == stem
		}
		if match {
			_, msg := errorKind(re)
			reasons = append(reasons, fmt.Sprintf("%s (%s: %s)", RejectReason(re), position(re.File, re.Line, re.Column), msg))
		}
	}
	if len(reasons) == 0 {
		return fmt.Sprintf("rule %s is not loaded (no rule file defines it)", ref)
	}
	return fmt.Sprintf("rule %s rejected by the compiler: %s", ref, strings.Join(reasons, "; "))
}

func (lr *loadedRules) label(ref string) string {
	if info, ok := lr.byRef[ref]; ok && info.Title != "" && info.Title != ref {
		return fmt.Sprintf("%s %q", ref, info.Title)
	}
	return ref
}

// ---------------------------------------------------------------------------
// *.test.yml

// ruleTestFile is a parsed *.test.yml file (see docs/writing-rules.md).
type ruleTestFile struct {
	rules        []string // resolved paths; nil: the default rule set
	placeholders map[string][]string
	format       string
	cases        []ruleTestCase
}

type ruleTestCase struct {
	name         string
	line         int
	format       string
	placeholders map[string][]string
	events       []record
	fire         []string
	notFire      []string
}

// testFile runs the cases of one *.test.yml file.
func (r *testRunner) testFile(j testJob) []RuleTestResult {
	tf, err := parseRuleTestFile(j.path)
	if err != nil {
		return []RuleTestResult{{File: j.path, Name: "invalid test file", Status: RuleTestFail, Reason: err.Error()}}
	}
	sources := tf.rules
	if sources == nil {
		sources = r.opt.Rules
	}
	if sources == nil {
		sources = []string{j.tree}
	}
	var res []RuleTestResult
	for _, c := range tf.cases {
		res = append(res, r.testCase(j.path, sources, tf, c))
	}
	return res
}

func (r *testRunner) testCase(file string, sources []string, tf *ruleTestFile, c ruleTestCase) RuleTestResult {
	res := RuleTestResult{File: file, Name: c.name}
	fail := func(format string, args ...any) RuleTestResult {
		res.Status, res.Reason = RuleTestFail, fmt.Sprintf(format, args...)
		return res
	}
	ph := mergePlaceholders(r.ph, tf.placeholders, c.placeholders)
	lr := r.rules(sources, ph)
	if lr.readErr != nil {
		return fail("loading rules: %v", lr.readErr)
	}
	format := firstNonEmpty(c.format, tf.format, r.opt.Format, "ecs")
	if _, ok := r.reg.Get(format); !ok {
		return fail("unknown format %q", format)
	}
	var problems []string
	for _, ref := range append(slices.Clone(c.fire), c.notFire...) {
		if _, ok := lr.byRef[ref]; !ok {
			problems = append(problems, lr.rejection(ref, ""))
		}
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	counts, err := r.fired(lr, format, c.events, append(slices.Clone(c.fire), c.notFire...))
	if err != nil {
		return fail("%v", err)
	}
	for _, ref := range c.fire {
		if counts[lr.byRef[ref].ID] == 0 {
			problems = append(problems, fmt.Sprintf("rule %s should have fired and did not", lr.label(ref)))
		}
	}
	for _, ref := range c.notFire {
		if n := counts[lr.byRef[ref].ID]; n > 0 {
			problems = append(problems, fmt.Sprintf("rule %s fired on %d of %d events and should not have", lr.label(ref), n, len(c.events)))
		}
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	res.Status = RuleTestPass
	return res
}

func mergePlaceholders(layers ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// testFileParser collects positioned problems while reading a test file.
type testFileParser struct {
	dir  string
	errs []posMsg
}

func (p *testFileParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, posf(n, format, args...))
}

// fields reads a mapping with the allowed keys; unknown keys are errors.
func (p *testFileParser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	n = derefNode(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "%s given twice in %s", k.Value, what)
		}
		out[k.Value] = derefNode(n.Content[i+1])
	}
	return out
}

func (p *testFileParser) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (p *testFileParser) strs(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of strings", what)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, it := range n.Content {
		if s := p.str(derefNode(it), what); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *testFileParser) placeholders(n *yaml.Node) map[string][]string {
	if n == nil {
		return nil
	}
	ph, probs := placeholderMap(n)
	p.errs = append(p.errs, probs...)
	return ph
}

// parseRuleTestFile reads and checks a *.test.yml file; every problem is
// reported with its line and column.
func parseRuleTestFile(path string) (*ruleTestFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty test file")
	}
	p := &testFileParser{dir: filepath.Dir(path)}
	top := p.fields(doc.Content[0], "the test file", "rules", "placeholders", "format", "cases")
	tf := &ruleTestFile{}
	if n := top["rules"]; n != nil {
		for _, s := range p.strs(n, "rules") {
			if !filepath.IsAbs(s) {
				s = filepath.Join(p.dir, s)
			}
			tf.rules = append(tf.rules, s)
		}
		if len(tf.rules) == 0 {
			p.errorf(n, "rules is empty; leave it out to load the tree's rules")
		}
	}
	tf.placeholders = p.placeholders(top["placeholders"])
	tf.format = p.str(top["format"], "format")
	cases := top["cases"]
	switch {
	case top == nil:
	case cases == nil:
		p.errorf(doc.Content[0], "no cases")
	case cases.Kind != yaml.SequenceNode || len(cases.Content) == 0:
		p.errorf(cases, "cases must be a non-empty list")
	default:
		names := map[string]bool{}
		for i, cn := range cases.Content {
			c := p.testCase(derefNode(cn), i)
			if names[c.name] {
				p.errorf(cn, "case name %q used twice", c.name)
			}
			names[c.name] = true
			tf.cases = append(tf.cases, c)
		}
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b posMsg) int {
			if a.line != b.line {
				return a.line - b.line
			}
			return a.col - b.col
		})
		msgs := make([]string, len(p.errs))
		for i, m := range p.errs {
			msgs[i] = m.String()
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return tf, nil
}

func (p *testFileParser) testCase(n *yaml.Node, i int) ruleTestCase {
	c := ruleTestCase{name: fmt.Sprintf("case %d", i+1), line: n.Line}
	f := p.fields(n, "a case", "name", "format", "placeholders", "events", "expect")
	if f == nil {
		return c
	}
	if s := p.str(f["name"], "name"); s != "" {
		c.name = s
	}
	c.format = p.str(f["format"], "format")
	c.placeholders = p.placeholders(f["placeholders"])
	ev := f["events"]
	switch {
	case ev == nil:
		p.errorf(n, "case %q has no events", c.name)
	case ev.Kind != yaml.SequenceNode || len(ev.Content) == 0:
		p.errorf(ev, "events must be a non-empty list")
	default:
		for _, item := range ev.Content {
			c.events = append(c.events, p.eventItem(derefNode(item), len(c.events))...)
		}
	}
	if x := f["expect"]; x == nil {
		p.errorf(n, "case %q has no expect", c.name)
	} else if e := p.fields(x, "expect", "fire", "not_fire"); e != nil {
		c.fire = p.strs(e["fire"], "fire")
		c.notFire = p.strs(e["not_fire"], "not_fire")
		if len(c.fire)+len(c.notFire) == 0 {
			p.errorf(x, "expect names no rule (fire or not_fire)")
		}
		for _, ref := range c.fire {
			if slices.Contains(c.notFire, ref) {
				p.errorf(x, "rule %s is in both fire and not_fire", ref)
			}
		}
	}
	return c
}

// maxRepeat bounds a repeat item, so a typo cannot exhaust memory.
const maxRepeat = 100000

// eventItem reads one item of events: an inline object, a raw string, a
// file: reference to NDJSON, or a repeat: generator. seq is the number of
// events before it, for messages.
func (p *testFileParser) eventItem(n *yaml.Node, seq int) []record {
	where := func(k int) string { return fmt.Sprintf("event %d (line %d)", seq+k+1, n.Line) }
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			p.errorf(n, "an event must be an object, a string or a file: reference")
			return nil
		}
		return []record{{where(0), []byte(n.Value)}}
	case yaml.MappingNode:
	default:
		p.errorf(n, "an event must be an object, a string or a file: reference")
		return nil
	}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys[n.Content[i].Value] = derefNode(n.Content[i+1])
	}
	if f, ok := keys["file"]; ok && len(keys) == 1 && f.Kind == yaml.ScalarNode {
		return p.ndjson(f, seq)
	}
	if _, ok := keys["repeat"]; ok {
		return p.repeat(n, seq)
	}
	var b bytes.Buffer
	if err := nodeJSON(&b, n, nil); err != nil {
		p.errorf(n, "event: %v", err)
		return nil
	}
	return []record{{where(0), b.Bytes()}}
}

// ndjson reads a file: reference, one record per non-blank line.
func (p *testFileParser) ndjson(n *yaml.Node, seq int) []record {
	name := filepath.Join(p.dir, n.Value)
	b, err := os.ReadFile(name)
	if err != nil {
		p.errorf(n, "events file: %v", err)
		return nil
	}
	var out []record
	for i, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out = append(out, record{fmt.Sprintf("event %d (%s:%d)", seq+len(out)+1, n.Value, i+1), line})
	}
	if len(out) == 0 {
		p.errorf(n, "events file %s holds no event", n.Value)
	}
	return out
}

// repeat expands {repeat: N, every: D, event: {...}}: N copies of event,
// "{i}" in its strings replaced by 0..N-1, and its @timestamp advanced by
// i*D.
func (p *testFileParser) repeat(n *yaml.Node, seq int) []record {
	f := p.fields(n, "a repeat", "repeat", "every", "event")
	if f == nil {
		return nil
	}
	count, err := strconv.Atoi(p.str(f["repeat"], "repeat"))
	if err != nil || count < 1 || count > maxRepeat {
		p.errorf(f["repeat"], "repeat must be a whole number from 1 to %d", maxRepeat)
		return nil
	}
	var every time.Duration
	if e := f["every"]; e != nil {
		if every, err = time.ParseDuration(p.str(e, "every")); err != nil || every < 0 {
			p.errorf(e, "every must be a duration such as 1s or 500ms")
			return nil
		}
	}
	ev := f["event"]
	if ev == nil || ev.Kind != yaml.MappingNode {
		p.errorf(n, "repeat needs an event object")
		return nil
	}
	var tsNode *yaml.Node
	var t0 time.Time
	for i := 0; i+1 < len(ev.Content); i += 2 {
		if ev.Content[i].Value == "@timestamp" {
			tsNode = derefNode(ev.Content[i+1])
		}
	}
	if tsNode != nil {
		if t0, err = time.Parse(time.RFC3339Nano, tsNode.Value); err != nil {
			p.errorf(tsNode, "@timestamp of a repeated event must be RFC 3339")
			return nil
		}
	} else if every > 0 {
		p.errorf(ev, "every needs the event to have an @timestamp")
		return nil
	}
	out := make([]record, 0, count)
	for i := range count {
		idx := strconv.Itoa(i)
		subst := func(m *yaml.Node, s string) string {
			if m == tsNode {
				return t0.Add(time.Duration(i) * every).UTC().Format(time.RFC3339Nano)
			}
			return strings.ReplaceAll(s, "{i}", idx)
		}
		var b bytes.Buffer
		if err := nodeJSON(&b, ev, subst); err != nil {
			p.errorf(ev, "event: %v", err)
			return nil
		}
		out = append(out, record{fmt.Sprintf("event %d (repeat at line %d, i=%d)", seq+i+1, n.Line, i), b.Bytes()})
	}
	return out
}

// nodeJSON writes a YAML node as JSON, keeping key order (the decoders'
// "last key wins" depends on it) and string text exactly. subst, if set,
// rewrites string scalars.
func nodeJSON(b *bytes.Buffer, n *yaml.Node, subst func(*yaml.Node, string) string) error {
	n = derefNode(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return nodeJSON(b, n.Content[0], subst)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k := derefNode(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: keys must be strings", k.Line)
			}
			kb, _ := json.Marshal(k.Value)
			b.Write(kb)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1], subst); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, it := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, it, subst); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
			return nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			vb, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
			}
			b.Write(vb)
			return nil
		}
		s := n.Value
		if subst != nil {
			s = subst(n, s)
		}
		sb, _ := json.Marshal(s)
		b.Write(sb)
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// ---------------------------------------------------------------------------
// SigmaHQ regression data

// regressionInfo is the part of a regression case's info.yml casus reads.
type regressionInfo struct {
	RuleMetadata []struct {
		ID    string `yaml:"id"`
		Title string `yaml:"title"`
	} `yaml:"rule_metadata"`
	Tests []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		Provider   string `yaml:"provider"`
		MatchCount *int   `yaml:"match_count"`
		Path       string `yaml:"path"`
	} `yaml:"regression_tests_info"`
}

// regression runs the cases of one info.yml: each named rule must fire on
// at least one of the events in the case's JSON file.
func (r *testRunner) regression(j testJob) []RuleTestResult {
	fail := func(name, format string, args ...any) []RuleTestResult {
		return []RuleTestResult{{File: j.path, Name: name, Status: RuleTestFail, Reason: fmt.Sprintf(format, args...)}}
	}
	b, err := os.ReadFile(j.path)
	if err != nil {
		return fail("(file)", "%v", err)
	}
	var info regressionInfo
	if err := yaml.Unmarshal(b, &info); err != nil {
		return fail("(file)", "%v", err)
	}
	if len(info.RuleMetadata) == 0 {
		return fail("(file)", "info.yml names no rule (rule_metadata)")
	}
	if len(info.Tests) == 0 {
		return []RuleTestResult{{File: j.path, Name: firstNonEmpty(info.RuleMetadata[0].Title, info.RuleMetadata[0].ID, "(no title)"), Status: RuleTestSkip,
			Reason: "no regression test (regression_tests_info is empty)"}}
	}
	sources := r.opt.Rules
	if sources == nil {
		abs, err := filepath.Abs(j.path)
		if err != nil {
			return fail("(file)", "%v", err)
		}
		for _, d := range sigmaRuleDirs(sigmaRoot(filepath.Dir(abs))) {
			sources = append(sources, displayPath(d))
		}
	}
	dir := filepath.Dir(j.path)
	stem := filepath.Base(dir) // SigmaHQ names the case folder after the rule file
	var res []RuleTestResult
	for _, t := range info.Tests {
		name := t.Name
		if len(info.RuleMetadata) == 1 && info.RuleMetadata[0].Title != "" {
			name += ": " + info.RuleMetadata[0].Title
		}
		res = append(res, RuleTestResult{File: j.path, Name: name, Status: RuleTestFail})
		last := &res[len(res)-1]
		if len(sources) == 0 {
			last.Reason = "no rule folders: no rules* folder beside regression_data; name them with --rules"
			continue
		}
		lr := r.rules(sources, r.ph)
		if lr.readErr != nil {
			last.Reason = fmt.Sprintf("loading rules: %v", lr.readErr)
			continue
		}
		recs, err := regressionEvents(dir, t.Path)
		if err != nil {
			last.Reason = err.Error()
			continue
		}
		var problems []string
		var ids []string
		for _, m := range info.RuleMetadata {
			if _, ok := lr.byRef[m.ID]; !ok {
				problems = append(problems, lr.rejection(m.ID, stem))
				continue
			}
			ids = append(ids, m.ID)
		}
		if len(problems) > 0 {
			last.Reason = strings.Join(problems, "; ")
			continue
		}
		format := firstNonEmpty(r.opt.Format, regressionFormat)
		counts, err := r.fired(lr, format, recs, ids)
		if err != nil {
			last.Reason = err.Error()
			continue
		}
		// As SigmaHQ's own runner, a case passes when the rule fires; a
		// match_count that differs is noted, since the converted event
		// files may hold more or fewer events than the count was taken on.
		var notes []string
		for _, id := range ids {
			got := counts[id]
			switch {
			case got == 0:
				problems = append(problems, fmt.Sprintf("rule %s should have fired and did not (0 of %d events)", lr.label(id), len(recs)))
			case t.MatchCount != nil && got != *t.MatchCount:
				notes = append(notes, fmt.Sprintf("note: fired on %d of %d events, match_count is %d", got, len(recs), *t.MatchCount))
			}
		}
		if len(problems) > 0 {
			last.Reason = strings.Join(problems, "; ")
			continue
		}
		last.Status, last.Reason = RuleTestPass, strings.Join(notes, "; ")
	}
	return res
}

// regressionEvents reads a case's events: the JSON file named like the
// test's path (an .evtx converted to .json) beside info.yml, else every
// *.json there. A file may hold several JSON values one after another.
func regressionEvents(dir, path string) ([]record, error) {
	var names []string
	if path != "" {
		base := filepath.Base(filepath.FromSlash(path))
		name := filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+".json")
		if _, err := os.Stat(name); err == nil {
			names = []string{name}
		}
	}
	if names == nil {
		var err error
		if names, err = filepath.Glob(filepath.Join(dir, "*.json")); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no event file (*.json) beside info.yml")
	}
	var out []record
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for k := 1; ; k++ {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: event %d: %w", filepath.Base(name), k, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, raw); err != nil {
				return nil, fmt.Errorf("%s: event %d: %w", filepath.Base(name), k, err)
			}
			out = append(out, record{fmt.Sprintf("%s: event %d", filepath.Base(name), k), c.Bytes()})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no event in %s", strings.Join(names, ", "))
	}
	return out, nil
}
