package sigma

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func TestAutomaton(t *testing.T) {
	lits := []string{"he", "she", "his", "hers", "\\psexec.exe", "exec"}
	a := newAutomaton(lits)
	pf := &pfField{rules: make([][]int32, len(lits))}
	for i := range lits {
		pf.rules[i] = []int32{int32(i)}
	}
	tests := []struct {
		text string
		want []int
	}{
		{"USHERS", []int{0, 1, 3}},
		{"C:\\Tools\\PsExec.EXE", []int{4, 5}},
		{"ahishers", []int{0, 1, 2, 3}},
		{"nothing", nil},
		{"", nil},
	}
	for _, tt := range tests {
		sc := &scratch{hit: make([]uint64, 1), litSeen: make([]uint64, 1)}
		a.scan(tt.text, pf, sc)
		var got []int
		for i := range lits {
			if sc.hit[0]&(1<<i) != 0 {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("scan %q found %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestRuleLiterals(t *testing.T) {
	tests := []struct {
		detection string
		want      []string // field=literal; nil: the rule is not indexed
	}{
		{"sel:\n  Image|endswith: '\\psexec.exe'\ncondition: sel", []string{`Image=\psexec.exe`}},
		{"sel:\n  Image|endswith:\n    - '\\a.exe'\n    - '\\bcd.exe'\ncondition: sel", []string{`Image=\a.exe`, `Image=\bcd.exe`}},
		// An AND keeps the most selective part.
		{"sel:\n  Image|endswith: '\\x.exe'\n  CommandLine|contains: 'delete shadows'\ncondition: sel", []string{"CommandLine=delete shadows"}},
		// An OR needs every branch to have a literal.
		{"a:\n  Image|endswith: '\\abc.exe'\nb:\n  CommandLine|re: 'x+'\ncondition: a or b", nil},
		{"a:\n  Image|endswith: '\\abc.exe'\nb:\n  CommandLine|contains: 'wxyz'\ncondition: 1 of them", []string{`Image=\abc.exe`, "CommandLine=wxyz"}},
		{"a:\n  Image|endswith: '\\abc.exe'\nf:\n  CommandLine|contains: 'wxyz'\ncondition: a and not f", []string{`Image=\abc.exe`}},
		{"f:\n  CommandLine|contains: 'wxyz'\ncondition: not f", nil},
		// Values that can match an absent field, short literals, numbers.
		{"sel:\n  CommandLine: null\ncondition: sel", nil},
		{"sel:\n  CommandLine|contains: 'ab'\ncondition: sel", nil},
		{"sel:\n  destination.port: 4444\ncondition: sel", nil},
		{"sel:\n  CommandLine|contains|all:\n    - 'ab'\n    - 'Longer'\ncondition: sel", []string{"CommandLine=longer"}},
		{"sel:\n  CommandLine: 'a*bcdef?g'\ncondition: sel", []string{"CommandLine=bcdef"}},
	}
	for _, tt := range tests {
		rs := compileOne(t, detectionRule("process_creation", tt.detection), Options{})
		lits, ok := ruleLiterals(&rs.rules[0])
		var got []string
		for _, l := range lits {
			got = append(got, l.field.name+"="+l.text)
		}
		if !ok {
			got = nil
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.detection, got, tt.want)
		}
	}
}

// The prefilter only skips work: on the public corpus, over every regression
// event and variants of them, prefiltered matching fires exactly the rules
// unfiltered matching fires.
func TestPrefilterChangesNothing(t *testing.T) {
	rs, events := windowsCorpus(t)
	plain := *rs
	plain.unfiltered = true
	fired := 0
	for _, ev := range events {
		for _, v := range variants(ev) {
			got, want := matchIDs(rs, &v), matchIDs(&plain, &v)
			if !slices.Equal(got, want) {
				t.Fatalf("event %v:\nprefiltered %v\nunfiltered  %v", v.Fields, got, want)
			}
			fired += len(got)
		}
	}
	if fired == 0 {
		t.Fatal("no rule fired on any regression event: the comparison proves nothing")
	}
	t.Logf("%d events, %d variants each, %d signals, identical", len(events), len(variants(events[0])), fired)
}

// variants are the event, its fields upper-cased, and its fields with one
// character changed in the middle (literals straddle or break).
func variants(ev event.Event) []event.Event {
	out := []event.Event{ev}
	up, mid := ev, ev
	up.Fields, mid.Fields = slices.Clone(ev.Fields), slices.Clone(ev.Fields)
	for i := range ev.Fields {
		up.Fields[i].Value = strings.ToUpper(ev.Fields[i].Value)
		if v := ev.Fields[i].Value; len(v) > 2 {
			mid.Fields[i].Value = v[:len(v)/2] + "#" + v[len(v)/2+1:]
		}
	}
	return append(out, up, mid)
}

// windowsCorpus compiles the public Windows rules and loads the regression
// events into canonical events with their EventData as native fields (the
// Windows decoder is tested on the same files in stream/decode/winevt).
func windowsCorpus(t testing.TB) (*Ruleset, []event.Event) {
	t.Helper()
	root, err := filepath.Abs("../../../shared/data/sigma")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "rules", "windows")); err != nil {
		t.Skipf("public Sigma corpus not present at %s: %v", root, err)
	}
	var files []File
	for _, dir := range []string{"rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), "product: windows") {
				files = append(files, File{Name: p, Data: b})
			}
			return nil
		})
	}
	rs, _, _ := Compile(files, Options{})
	var events []event.Event
	_ = filepath.WalkDir(filepath.Join(root, "regression_data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if ev, ok := regressionEvent(b); ok {
			events = append(events, ev)
		}
		return nil
	})
	if len(events) == 0 {
		t.Skipf("no regression events under %s", root)
	}
	return rs, events
}

// regressionEvent is a minimal reading of a Windows event JSON (Event.System,
// Event.EventData) for this package's tests.
func regressionEvent(b []byte) (event.Event, bool) {
	var doc struct {
		Event struct {
			System struct {
				EventID json.Number
				Channel string
			}
			EventData map[string]any
		}
	}
	if json.Unmarshal(b, &doc) != nil {
		return event.Event{}, false
	}
	ev := event.Event{Logsource: event.Logsource{Product: "windows"}}
	if doc.Event.System.Channel == "Microsoft-Windows-Sysmon/Operational" {
		ev.Logsource.Service = "sysmon"
		ev.Logsource.Category = map[string]string{
			"1": "process_creation", "3": "network_connection", "7": "image_load", "10": "process_access",
			"11": "file_event", "12": "registry_delete", "13": "registry_set", "17": "pipe_created", "18": "pipe_created",
		}[doc.Event.System.EventID.String()]
	}
	ev.Fields = append(ev.Fields, event.Field{Name: "EventID", Value: doc.Event.System.EventID.String()})
	keys := make([]string, 0, len(doc.Event.EventData))
	for k := range doc.Event.EventData {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := doc.Event.EventData[k]; v != nil {
			ev.Fields = append(ev.Fields, event.Field{Name: k, Value: fmt.Sprint(v)})
		}
	}
	return ev, true
}

// BenchmarkWindowsRules matches a Sysmon process creation from the
// regression data against the public Windows rules, with the literal
// prefilter and without it.
func BenchmarkWindowsRules(b *testing.B) {
	rs, events := windowsCorpus(b)
	var ev *event.Event
	for i := range events {
		if events[i].Logsource.Category == "process_creation" {
			ev = &events[i]
			break
		}
	}
	if ev == nil {
		b.Skip("no process creation among the regression events")
	}
	plain := *rs
	plain.unfiltered = true
	for _, bc := range []struct {
		name string
		rs   *Ruleset
	}{{"prefiltered", rs}, {"unfiltered", &plain}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				bc.rs.Match(ev, event.Evidence{}, func(event.Signal) { n++ })
			}
			b.ReportMetric(float64(rs.Len()), "rules")
		})
	}
}
