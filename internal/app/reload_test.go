package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

// probeRule is a detection rule for a process no bundled rule knows; title
// and process name vary so a test can hold several.
func probeRule(title, id, process string) string {
	return `title: ` + title + `
id: ` + id + `
status: test
description: A process only tests start.
tags:
  - attack.discovery
  - attack.t1082
logsource:
  category: process_creation
detection:
  selection:
    process.name: ` + process + `
  condition: selection
level: low
`
}

const (
	probeTitle   = "Reload probe"
	probeProcess = "casus-probe.exe"
)

var probeA = probeRule(probeTitle, "0b7e3f1c-5a2d-4e8b-9c61-2f4d8a7b3e90", probeProcess)

// brokenRule has a condition naming a selection that does not exist, at
// line 9 column 14.
const brokenRule = `title: Broken probe
id: 6a1f2e3d-4c5b-4a69-8e7f-0d1c2b3a4f5e
status: test
logsource:
  category: process_creation
detection:
  selection:
    process.name: broken.exe
  condition: nosuchselection
level: low
`

// probeRecord is an ECS process event the probe rule matches.
func probeRecord(process, note string) []byte {
	return []byte(`{"@timestamp":"2026-03-02T08:00:00Z","message":"` + note + `","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"` + process + `"}}`)
}

// ruleWriter writes rule files with strictly increasing modification
// times, so a rewrite is visible to the stamp whatever the file system's
// time resolution.
type ruleWriter struct {
	t    *testing.T
	next time.Time
}

func newRuleWriter(t *testing.T) *ruleWriter {
	return &ruleWriter{t: t, next: time.Now().Add(-time.Hour).Truncate(time.Second)}
}

func (w *ruleWriter) write(path, content string) {
	w.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.next = w.next.Add(time.Second)
	if err := os.Chtimes(path, w.next, w.next); err != nil {
		w.t.Fatal(err)
	}
}

func bundledRules(t *testing.T) int {
	t.Helper()
	rs, _, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		t.Fatal(err)
	}
	return rs.Len()
}

func hasRule(rs *sigma.Ruleset, title string) bool {
	for _, r := range rs.Rules() {
		if r.Title == title {
			return true
		}
	}
	return false
}

func TestLoadKnowledgeRuleDirs(t *testing.T) {
	bundled := bundledRules(t)
	a, b := t.TempDir(), t.TempDir()
	w := newRuleWriter(t)
	w.write(filepath.Join(a, "probe.yml"), probeA)
	if err := os.MkdirAll(filepath.Join(b, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write(filepath.Join(b, "sub", "second.yaml"), probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	// Neither rule tests nor hidden files are rules: broken as rules, they
	// would stop the load if read as such.
	w.write(filepath.Join(a, "probe.test.yml"), "tests:\n  - name: probe fires\n")
	w.write(filepath.Join(b, "sub", "second.test.yaml"), "not: [a rule\n")
	if err := os.MkdirAll(filepath.Join(a, "..2026_03_02"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write(filepath.Join(a, "..2026_03_02", "probe.yml"), probeA) // a ConfigMap's hidden copy: a duplicate if read
	w.write(filepath.Join(a, ".probe.yml.swp"), brokenRule)
	w.write(filepath.Join(a, "README.md"), "rules for the probe\n")

	know, err := LoadKnowledge(config.Files{RulesDirs: []string{a, b}})
	if err != nil {
		t.Fatalf("LoadKnowledge: %v", err)
	}
	if got := know.Rules.Len(); got != bundled+2 {
		t.Errorf("%d rules, want %d bundled + 2", got, bundled)
	}
	for _, title := range []string{probeTitle, "Second probe"} {
		if !hasRule(know.Rules, title) {
			t.Errorf("rule %q not loaded", title)
		}
	}

	file := filepath.Join(a, "probe.yml")
	for _, tc := range []struct {
		name string
		dirs []string
		want []string
	}{
		{"missing directory", []string{a, "/does/not/exist"}, []string{"CASUS_RULES_DIRS: /does/not/exist: no such directory"}},
		{"a file", []string{file}, []string{"CASUS_RULES_DIRS: " + file + ": not a directory"}},
		{"every problem at once", []string{"/nope/1", "/nope/2"}, []string{"/nope/1: no such directory", "/nope/2: no such directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadKnowledge(config.Files{RulesDirs: tc.dirs})
			if err == nil {
				t.Fatal("LoadKnowledge accepted the directories")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// logBuffer collects JSON log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the logged records with the given message.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type reloaderFixture struct {
	dir  string
	w    *ruleWriter
	r    *Reloader
	reg  *prometheus.Registry
	logs *logBuffer
}

func newReloaderFixture(t *testing.T, interval time.Duration) *reloaderFixture {
	t.Helper()
	f := &reloaderFixture{dir: t.TempDir(), w: newRuleWriter(t), reg: prometheus.NewRegistry(), logs: &logBuffer{}}
	f.w.write(filepath.Join(f.dir, "probe.yml"), probeA)
	know, err := LoadKnowledge(config.Files{RulesDirs: []string{f.dir}, RulesPollInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if f.r, err = NewReloader(know, ReloaderOptions{Logger: log, Registerer: f.reg}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *reloaderFixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// want checks the reload counters and the active set's size.
func (f *reloaderFixture) want(t *testing.T, success, failure, successful float64, rules int) {
	t.Helper()
	if got := f.metric(t, "casus_rules_reloads_total", "result", "success"); got != success {
		t.Errorf("reloads{success} = %v, want %v", got, success)
	}
	if got := f.metric(t, "casus_rules_reloads_total", "result", "failure"); got != failure {
		t.Errorf("reloads{failure} = %v, want %v", got, failure)
	}
	if got := f.metric(t, "casus_rules_last_reload_successful"); got != successful {
		t.Errorf("last_reload_successful = %v, want %v", got, successful)
	}
	if got := f.metric(t, "casus_rules_loaded"); got != float64(rules) {
		t.Errorf("rules_loaded = %v, want %d", got, rules)
	}
	if got := f.r.Rules().Len(); got != rules {
		t.Errorf("active set has %d rules, want %d", got, rules)
	}
}

func TestReloaderCheck(t *testing.T) {
	bundled := bundledRules(t)
	f := newReloaderFixture(t, 0)
	first := f.r.Rules()
	f.want(t, 0, 0, 1, bundled+1)
	startedAt := f.metric(t, "casus_rules_last_reload_success_timestamp_seconds")
	if now := float64(time.Now().Unix()); startedAt < now-60 || startedAt > now+1 {
		t.Errorf("last success timestamp %v is not the start-up load (now %v)", startedAt, now)
	}

	check := func(wantChanged, wantErr bool) error {
		t.Helper()
		changed, err := f.r.Check()
		if changed != wantChanged || (err != nil) != wantErr {
			t.Fatalf("Check() = %v, %v; want changed %v, error %v", changed, err, wantChanged, wantErr)
		}
		return err
	}
	check(false, false) // nothing changed since the load
	f.want(t, 0, 0, 1, bundled+1)
	// Rule tests and hidden files are not rules: no change.
	f.w.write(filepath.Join(f.dir, "probe.test.yml"), "tests: []\n")
	f.w.write(filepath.Join(f.dir, ".probe.yml.swp"), "x")
	check(false, false)

	// A new file is a change; its rule joins the set.
	second := filepath.Join(f.dir, "second.yml")
	f.w.write(second, probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	check(true, false)
	withSecond := f.r.Rules()
	if withSecond == first || !hasRule(withSecond, "Second probe") {
		t.Fatal("the new rule is not in the active set")
	}
	f.want(t, 1, 0, 1, bundled+2)

	// Touched but identical: the set in force (and its correlation state) stays.
	f.w.write(second, probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	check(true, false)
	if f.r.Rules() != withSecond {
		t.Error("identical files replaced the rule set")
	}
	f.want(t, 2, 0, 1, bundled+2)

	// A broken file keeps the previous set, counts a failure and logs the
	// problem with its file, line and column.
	broken := filepath.Join(f.dir, "broken.yml")
	f.w.write(broken, brokenRule)
	err := check(true, true)
	if f.r.Rules() != withSecond {
		t.Error("a failed reload replaced the rule set")
	}
	f.want(t, 2, 1, 0, bundled+2)
	if re, ok := errors.AsType[*sigma.RuleError](err); !ok || re.File != broken || re.Line != 9 || re.Column != 14 {
		t.Errorf("error %v is not a rule error at %s:9:14", err, broken)
	}
	var logged []string
	for _, rec := range f.logs.lines(t, "rule error") {
		if rec["level"] == "ERROR" {
			logged = append(logged, rec["err"].(string))
		}
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], broken+":9:14: ") {
		t.Errorf("rule errors logged %q, want one at %s:9:14", logged, broken)
	}
	if sum := f.logs.lines(t, "rules reload failed; the previous rule set stays in force"); len(sum) != 1 || sum[0]["level"] != "ERROR" || sum[0]["errors"] != 1.0 {
		t.Errorf("failure summary %v", sum)
	}
	// Unchanged since, the broken file is not reported again at every poll.
	check(false, false)
	f.want(t, 2, 1, 0, bundled+2)

	// Fixed, it loads.
	f.w.write(broken, strings.Replace(brokenRule, "nosuchselection", "selection", 1))
	check(true, false)
	if !hasRule(f.r.Rules(), "Broken probe") {
		t.Error("the fixed rule is not in the active set")
	}
	f.want(t, 3, 1, 1, bundled+3)
	summary := f.logs.lines(t, "rules reloaded; in force from the next batch")
	if len(summary) != 2 || summary[1]["rules"] != float64(bundled+3) || summary[1]["warnings"] != 0.0 || summary[1]["trigger"] != TriggerPoll {
		t.Errorf("reload summaries %v", summary)
	}

	// A removed file is a change too.
	if err := os.Remove(second); err != nil {
		t.Fatal(err)
	}
	check(true, false)
	if hasRule(f.r.Rules(), "Second probe") {
		t.Error("the removed rule is still active")
	}
	f.want(t, 4, 1, 1, bundled+2)

	// A directory that disappears fails the reload; the set stays.
	before := f.r.Rules()
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	check(true, true)
	if f.r.Rules() != before {
		t.Error("a vanished directory replaced the rule set")
	}
	f.want(t, 4, 2, 0, bundled+2)
}

// Reload (what SIGHUP does) recompiles even when the files' stamps did not
// change, e.g. a file rewritten with its old modification time.
func TestReloaderReloadIgnoresStamp(t *testing.T) {
	bundled := bundledRules(t)
	f := newReloaderFixture(t, 0)
	path := filepath.Join(f.dir, "probe.yml")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Same size and modification time, another process name.
	changed := strings.Replace(probeA, probeProcess, "casus-pro2e.exe", 1)
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if ch, _ := f.r.Check(); ch {
		t.Fatal("the stamp saw a change that keeps size and time; the test proves nothing")
	}
	old := f.r.Rules()
	if err := f.r.Reload(TriggerSIGHUP); err != nil {
		t.Fatal(err)
	}
	if f.r.Rules() == old {
		t.Error("Reload kept the old set although a file's content changed")
	}
	f.want(t, 1, 0, 1, bundled+1)
	if err := f.r.Reload(TriggerSIGHUP); err != nil {
		t.Fatal(err)
	}
	if got := f.logs.lines(t, "rules unchanged; the rule set in force stays"); len(got) != 1 || got[0]["trigger"] != TriggerSIGHUP {
		t.Errorf("unchanged reload logs %v", got)
	}
	f.want(t, 2, 0, 1, bundled+1)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runReloader runs r until the test ends.
func runReloader(t *testing.T, r *Reloader, hup <-chan os.Signal) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, hup)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Without polling, a changed file waits for SIGHUP; SIGHUP reloads it.
func TestReloaderRunSIGHUP(t *testing.T) {
	f := newReloaderFixture(t, 0)
	hup := make(chan os.Signal, 1)
	runReloader(t, f.r, hup)
	f.w.write(filepath.Join(f.dir, "second.yml"), probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	time.Sleep(50 * time.Millisecond)
	if hasRule(f.r.Rules(), "Second probe") {
		t.Fatal("reloaded with polling disabled and no SIGHUP")
	}
	hup <- syscall.SIGHUP
	waitFor(t, "the SIGHUP reload", 5*time.Second, func() bool { return hasRule(f.r.Rules(), "Second probe") })
	if got := f.logs.lines(t, "rules reloaded; in force from the next batch"); len(got) != 1 || got[0]["trigger"] != TriggerSIGHUP {
		t.Errorf("reload logs %v", got)
	}
}

// With polling, a new file is found without a signal.
func TestReloaderRunPolls(t *testing.T) {
	f := newReloaderFixture(t, 10*time.Millisecond)
	runReloader(t, f.r, nil)
	f.w.write(filepath.Join(f.dir, "second.yml"), probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	waitFor(t, "the polled reload", 5*time.Second, func() bool { return hasRule(f.r.Rules(), "Second probe") })
}

// A real SIGHUP sent to this process reloads through the service's own
// subscription (notifyReload). A guard subscription, made first and kept
// to the end, makes the signal safe: with any subscription in place SIGHUP
// never ends the test binary, even if it arrives before the reloader's or
// after it stopped.
func TestReloaderRealSIGHUP(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no SIGHUP to send on " + runtime.GOOS)
	}
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	f := newReloaderFixture(t, 0)
	hup, stop := notifyReload()
	defer stop()
	runReloader(t, f.r, hup)
	f.w.write(filepath.Join(f.dir, "second.yml"), probeRule("Second probe", "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", "second.exe"))
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("send SIGHUP: %v", err)
	}
	waitFor(t, "the reload after a real SIGHUP", 5*time.Second, func() bool { return hasRule(f.r.Rules(), "Second probe") })
}

func TestNewReloaderNeedsConfiguredRules(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewReloader(know, ReloaderOptions{}); !errors.Is(err, ErrRulesNotReloadable) {
		t.Fatalf("NewReloader on given rules: %v, want ErrRulesNotReloadable", err)
	}
	svc, _ := testService(t)
	if svc.Reloader() != nil {
		t.Error("a service on given rules has a reloader")
	}
	if n := metricValue(t, svc, "casus_rules_loaded"); n != float64(know.Rules.Len()) {
		t.Errorf("casus_rules_loaded %v, want %d", n, know.Rules.Len())
	}
}

// The handler takes a reloaded set between batches only: a reload that
// completes while a batch is being processed leaves the rest of that batch
// with the old set, and the next batch sees the new rule.
func TestHandlerSwapsRulesBetweenBatches(t *testing.T) {
	dir := t.TempDir()
	know, err := LoadKnowledge(config.Files{RulesDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	svc, err := NewService(cfg, know, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h := svc.handler
	pub := &recordingPublisher{}
	h.out = pub

	// A decoder that completes a reload in the middle of a batch, at the
	// record saying so, as SIGHUP or a poll would from another goroutine.
	w := newRuleWriter(t)
	decoders := decode.Default(cfg.MaxRecordBytes)
	ecs, _ := decoders.Get("ecs")
	reloads := 0
	decoders.Register("hooked", decode.DecoderFunc(func(data []byte, ev *event.Event) error {
		if bytes.Contains(data, []byte("reload-now")) {
			w.write(filepath.Join(dir, "probe.yml"), probeA)
			if err := svc.Reloader().Reload("test"); err != nil {
				t.Errorf("reload: %v", err)
			}
			reloads++
		}
		return ecs.Decode(data, ev)
	}))
	h.newPipeline = func(rs *sigma.Ruleset) *pipeline.Pipeline {
		opt := pipelineOptions(know, decoders, nil)
		opt.Rules = rs
		p, err := pipeline.New(opt)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	h.Reset()
	h.formats["telemetry"] = "hooked"

	var offset int64
	batch := func(notes ...string) []kafka.Message {
		var b []kafka.Message
		for _, n := range notes {
			b = append(b, kafka.Message{Topic: "telemetry", Offset: offset, Time: recordTime, Value: probeRecord(probeProcess, n)})
			offset++
		}
		return b
	}
	probeSignals := func() []int64 {
		var offsets []int64
		for _, m := range pub.got {
			var s event.Signal
			if m.Topic == cfg.Signals {
				if err := json.Unmarshal(m.Value, &s); err != nil {
					t.Fatal(err)
				}
				if s.RuleTitle == probeTitle {
					offsets = append(offsets, s.Evidence.Offset)
				}
			}
		}
		return offsets
	}

	if err := h.Handle(context.Background(), batch("before", "reload-now", "after")); err != nil {
		t.Fatal(err)
	}
	if reloads != 1 || !hasRule(svc.Reloader().Rules(), probeTitle) {
		t.Fatalf("the reload in the batch did not complete (%d reloads)", reloads)
	}
	if got := probeSignals(); len(got) != 0 {
		t.Fatalf("the batch in flight met the new rule at offsets %v; it must finish with the old set", got)
	}
	if err := h.Handle(context.Background(), batch("next", "next")); err != nil {
		t.Fatal(err)
	}
	if got := probeSignals(); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("probe signals at offsets %v, want 3 and 4: the next batch runs the new set", got)
	}

	// A new assignment (Reset) starts from the newest set too.
	h.Reset()
	if h.current != svc.Reloader().Rules() {
		t.Error("Reset built a pipeline on an old rule set")
	}
	if v := testutil.ToFloat64(svc.reloader.m.loaded); v != float64(svc.Reloader().Rules().Len()) {
		t.Errorf("casus_rules_loaded %v, want %d", v, svc.Reloader().Rules().Len())
	}
}
