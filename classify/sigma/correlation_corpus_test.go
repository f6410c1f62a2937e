package sigma

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

// TestPublicCorpusCorrelations compiles the public corpus and checks that
// none of its correlation rules is rejected.
func TestPublicCorpusCorrelations(t *testing.T) {
	root, err := filepath.Abs("../../../shared/data/sigma")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("public Sigma corpus not present at %s: %v", root, err)
	}
	var files []File
	corrFiles := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, File{Name: rel, Data: b})
		if bytes.HasPrefix(b, []byte("correlation:")) || bytes.Contains(b, []byte("\ncorrelation:")) {
			corrFiles[rel] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(corrFiles) == 0 {
		t.Skipf("the public corpus at %s (%d rule files) holds no correlation rules", root, len(files))
	}
	rs, _, err := Compile(files, Options{})
	var joined interface{ Unwrap() []error }
	if err != nil && errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			var re *RuleError
			if errors.As(e, &re) && corrFiles[re.File] {
				t.Errorf("%v", re)
			}
		}
	}
	n := 0
	for _, r := range rs.Rules() {
		if r.Correlation != "" {
			n++
		}
	}
	t.Logf("%d correlation rules compiled from %d files", n, len(corrFiles))
}

// TestSpecShapedChain runs a correlation shaped like the specification's
// worked example: failed logons counted per user, then a successful logon
// by that user, written with Sigma field names.
func TestSpecShapedChain(t *testing.T) {
	yml := `title: Failed logons then a success
id: 7d3c0a52-0000-4000-8000-000000000001
correlation:
  type: temporal_ordered
  rules:
    - failed_logons
    - logon_ok
  group-by:
    - User
  timespan: 10m
level: high
---
title: Several failed logons
id: 7d3c0a52-0000-4000-8000-000000000002
name: failed_logons
correlation:
  type: event_count
  rules:
    - logon_failed
  group-by:
    - User
  timespan: 10m
  condition:
    gte: 5
---
title: Failed logon
id: 7d3c0a52-0000-4000-8000-000000000003
name: logon_failed
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: [529, 4625]
  condition: selection
---
title: Successful logon
id: 7d3c0a52-0000-4000-8000-000000000004
name: logon_ok
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: [528, 4624]
  condition: selection
`
	rs := compileOne(t, yml, Options{})
	logon := func(sec int, code, user string) *event.Event {
		return &event.Event{Timestamp: t0.Add(timeSecond(sec)), EventCode: code, UserName: user, HostOSFamily: "windows",
			Logsource: event.Logsource{Product: "windows", Service: "security"}}
	}
	var evs []*event.Event
	for i := range 5 {
		evs = append(evs, logon(i, "4625", "bob"), logon(i, "4625", "eve"))
	}
	evs = append(evs, logon(30, "4624", "alice"), logon(31, "4624", "bob"))
	if got := observe(rs.NewCorrelator(), evs...); !slices.Equal(got, []string{"7d3c0a52-0000-4000-8000-000000000001@31:2"}) {
		t.Errorf("signals %v", got)
	}
}
