package escalate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/severity"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)

func update1(level int, c severity.Candidacy, at time.Duration) correlate.Update {
	return correlate.Update{
		Incident:   &correlate.Incident{ID: "inc-1", Organisation: "Harbor Bank", Sources: correlate.Set{}, ClassTechniques: map[event.Class]correlate.Set{}},
		Assessment: severity.Assessment{Level: level, Candidacy: c, Policy: severity.PolicyRef{Name: "p", Version: "1"}},
		Time:       t0.Add(at),
	}
}

func TestLadder(t *testing.T) {
	type step struct {
		level   int
		cand    severity.Candidacy
		at      time.Duration
		publish bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"below the minimum level stays quiet", []step{{0, severity.CandidacyNone, 0, false}}},
		{"first level at the minimum escalates", []step{{1, severity.CandidacyNone, 0, true}}},
		{"a rise escalates, a repeat does not", []step{
			{2, severity.CandidacyNone, 0, true}, {2, severity.CandidacyNone, time.Minute, false}, {3, severity.CandidacySignificant, 2 * time.Minute, true},
		}},
		{"a dip and a return within the cooldown do not flap", []step{
			{3, severity.CandidacySignificant, 0, true}, {2, severity.CandidacyNone, time.Minute, false}, {3, severity.CandidacySignificant, 2 * time.Minute, false},
		}},
		{"candidacy rising at the same level escalates", []step{
			{4, severity.CandidacySignificant, 0, true}, {4, severity.CandidacyAACPending, time.Minute, true}, {4, severity.CandidacyAAC, 2 * time.Minute, true}, {4, severity.CandidacyAAC, 3 * time.Minute, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLadder(Options{MinLevel: 1, Cooldown: time.Hour})
			for i, s := range tc.steps {
				_, ok := l.Consider(update1(s.level, s.cand, s.at))
				if ok != s.publish {
					t.Errorf("step %d (L%d %s): published %v, want %v", i, s.level, s.cand, ok, s.publish)
				}
			}
		})
	}
}

func TestIDIsStableAndDistinct(t *testing.T) {
	p := severity.PolicyRef{Name: "casus-default", Version: "1.0.0"}
	a := ID("inc-1", 4, severity.CandidacyAAC, p)
	if a != ID("inc-1", 4, severity.CandidacyAAC, p) {
		t.Fatal("id not deterministic")
	}
	for _, other := range []string{
		ID("inc-2", 4, severity.CandidacyAAC, p),
		ID("inc-1", 3, severity.CandidacyAAC, p),
		ID("inc-1", 4, severity.CandidacyAACPending, p),
		ID("inc-1", 4, severity.CandidacyAAC, severity.PolicyRef{Name: "casus-default", Version: "1.0.1"}),
	} {
		if other == a {
			t.Errorf("distinct inputs share id %s", a)
		}
	}
}

// TestGolden builds the escalations of a wiper campaign across four banks
// and compares the CloudEvents JSON with testdata/wiper-campaign.golden.ndjson.
func TestGolden(t *testing.T) {
	inv, err := assets.Load("testdata/assets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := intel.Load("testdata/intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := correlate.New(correlate.Options{Assets: inv, Intel: in})
	l := NewLadder(Options{Source: "casus/test", MinLevel: 1, Cooldown: time.Hour})
	var out bytes.Buffer
	sigs := []event.Signal{
		{RuleID: "r-scan", RuleTitle: "Horizontal port scan", RuleLevel: "medium", Class: event.ClassReconnaissance, Tactics: []string{"TA0043"}, Techniques: []string{"T1595.001"},
			Time: t0.Add(-3 * time.Hour), Source: "203.0.113.11", Target: "10.20.3.21", Count: 50, Evidence: event.Evidence{Topic: "telemetry", Partition: 0, Offset: 10, EventTime: t0.Add(-3 * time.Hour)}},
	}
	for i, site := range []string{"10.20", "10.21", "10.22", "10.23"} {
		src := []string{"203.0.113.50", "192.0.2.50"}[i%2]
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		sigs = append(sigs, event.Signal{RuleID: "r-wipe", RuleTitle: "Raw physical drive access", RuleLevel: "critical", Class: event.ClassDestructive,
			Tactics: []string{"TA0040"}, Techniques: []string{"T1561.002", "T1485"}, Time: at, Source: src, Target: site + ".3.21", Count: 1,
			Evidence: event.Evidence{Topic: "telemetry", Partition: i % 3, Offset: int64(100 + i), EventTime: at}})
	}
	for _, s := range sigs {
		for _, u := range tr.Observe(s) {
			if e, ok := l.Consider(u); ok {
				b, err := Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				out.Write(b)
				out.WriteByte('\n')
			}
		}
	}
	checkWording(t, out.String())
	golden := "testdata/wiper-campaign.golden.ndjson"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("escalations differ from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
	// Every line is a CloudEvent with the required attributes.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ce map[string]any
		if err := json.Unmarshal([]byte(line), &ce); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"} {
			if _, ok := ce[k]; !ok {
				t.Errorf("CloudEvent lacks %q", k)
			}
		}
	}
}

// checkWording enforces that casus never states an armed attack as a finding:
// "armed attack" may only appear as part of "armed-attack candidate(cy)".
func checkWording(t *testing.T, s string) {
	t.Helper()
	finding := regexp.MustCompile(`(?i)armed[ -]attack(?:[^-]|$)`)
	for _, m := range finding.FindAllStringIndex(s, -1) {
		ctx := s[m[0]:min(len(s), m[1]+12)]
		if !strings.Contains(strings.ToLower(ctx), "candida") {
			t.Errorf("escalation text states an armed attack: %q", ctx)
		}
	}
	if !strings.Contains(s, DecisionConsultation) {
		t.Errorf("no candidate says %q", DecisionConsultation)
	}
}
