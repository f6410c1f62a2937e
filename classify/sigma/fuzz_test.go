package sigma

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func FuzzCompile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yml")
	builtin, _ := filepath.Glob("../rules/*.yml")
	for _, p := range append(paths, builtin...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(corrRule("type: value_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {field: destination.port, gte: 3}")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		rs, _, err := Compile([]File{{Name: "fuzz.yml", Data: data}}, Options{Placeholders: map[string][]string{"engineering_hosts": {"10.0.0.0/8"}}})
		if rs == nil {
			t.Fatal("nil ruleset")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		ev := &event.Event{EventCategory: "process", ProcessCommandLine: "vssadmin delete shadows", SourceIP: "10.1.1.1", DestinationPort: 445}
		rs.Match(ev, event.Evidence{}, func(event.Signal) {})
		c := rs.NewCorrelator()
		for i := range 3 {
			ev.Timestamp = t0.Add(timeSecond(i))
			c.Observe(ev, event.Evidence{}, func(event.Signal) {})
		}
	})
}

// globRegexp is a reference implementation of Sigma wildcards for ASCII
// patterns: the same escapes, translated to a regular expression.
func globRegexp(p string, lead, trail bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?is)^`)
	if lead {
		b.WriteString(`.*`)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '?' || p[i+1] == '\\'):
			b.WriteString(regexp.QuoteMeta(string(p[i+1])))
			i++
		case c == '*':
			b.WriteString(`.*`)
		case c == '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if trail {
		b.WriteString(`.*`)
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func FuzzMatch(f *testing.F) {
	f.Add(`*\vssadmin.exe`, `C:\Windows\System32\VSSADMIN.EXE`, false, false)
	f.Add(`a?c*`, "abcdef", true, false)
	f.Add(`x\*y`, "x*y", false, true)
	f.Add(`\\server\*`, `\\server\share`, false, false)
	f.Add(`*a*a*a`, "aaaa", false, false)
	f.Fuzz(func(t *testing.T, pattern, value string, lead, trail bool) {
		// Long inputs only slow the reference regexp down.
		if len(pattern) > 128 || len(value) > 512 || !isASCII(pattern) || !isASCII(value) {
			return
		}
		g := parseGlob(pattern, false, false, lead, trail)
		got := g.match(value)
		want := globRegexp(pattern, lead, trail).MatchString(value)
		if got != want {
			t.Fatalf("glob %q (lead=%v trail=%v) on %q = %v, reference %v", pattern, lead, trail, value, got, want)
		}
		// The same pattern through a rule and an event.
		ev := &event.Event{EventCategory: "process", ProcessCommandLine: value}
		fm := fieldMatcher{field: resolveField("CommandLine"), values: []valueMatcher{{kind: vGlob, glob: g}}}
		if value != "" && fm.match(ev) != want {
			t.Fatalf("field match on %q differs from reference %v", value, want)
		}
	})
}
