package sigma

import (
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
)

// compileOne compiles YAML text as one file and fails the test on error.
func compileOne(t testing.TB, yml string, opt Options) *Ruleset {
	t.Helper()
	rs, _, err := Compile([]File{{Name: "test.yml", Data: []byte(yml)}}, opt)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return rs
}

// matchIDs returns the ids of the signals Match emits for ev.
func matchIDs(rs *Ruleset, ev *event.Event) []string {
	var ids []string
	rs.Match(ev, event.Evidence{}, func(s event.Signal) { ids = append(ids, s.RuleID) })
	return ids
}

// detectionRule builds a one-rule document around a detection body.
func detectionRule(category, detection string) string {
	return "title: t\nid: r1\nlevel: high\nlogsource:\n  category: " + category + "\ndetection:\n" + indent(detection, "  ")
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func timeSecond(i int) time.Duration { return time.Duration(i) * time.Second }
