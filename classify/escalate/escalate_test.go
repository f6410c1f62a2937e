package escalate

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		{"a rise below the minimum stays quiet", []step{{0, severity.CandidacyNone, 0, false}, {0, severity.CandidacyNone, time.Minute, false}, {1, severity.CandidacyNone, 2 * time.Minute, true}}},
		{"a rise escalates, a repeat does not", []step{
			{2, severity.CandidacyNone, 0, true}, {2, severity.CandidacyNone, time.Minute, false}, {3, severity.CandidacySignificant, 2 * time.Minute, true},
		}},
		{"a repeat long after is not republished", []step{
			{2, severity.CandidacyNone, 0, true}, {2, severity.CandidacyNone, 30 * 24 * time.Hour, false},
		}},
		{"a dip and a return do not flap, however far apart", []step{
			{3, severity.CandidacySignificant, 0, true}, {2, severity.CandidacyNone, time.Minute, false}, {3, severity.CandidacySignificant, 2 * time.Minute, false},
			{2, severity.CandidacyNone, 48 * time.Hour, false}, {3, severity.CandidacySignificant, 96 * time.Hour, false},
		}},
		{"only a rise past the highest published escalates", []step{
			{4, severity.CandidacySignificant, 0, true}, {2, severity.CandidacyNone, time.Hour, false}, {3, severity.CandidacySignificant, 2 * time.Hour, false}, {5, severity.CandidacySignificant, 3 * time.Hour, true},
		}},
		{"candidacy rising at the same level escalates", []step{
			{4, severity.CandidacySignificant, 0, true}, {4, severity.CandidacyAACPending, time.Minute, true}, {4, severity.CandidacyAAC, 2 * time.Minute, true}, {4, severity.CandidacyAAC, 3 * time.Minute, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLadder(Options{MinLevel: 1})
			published := map[string]bool{}
			for i, s := range tc.steps {
				e, ok := l.Consider(update1(s.level, s.cand, s.at))
				if ok != s.publish {
					t.Errorf("step %d (L%d %s): published %v, want %v", i, s.level, s.cand, ok, s.publish)
				}
				if ok && published[e.ID] {
					t.Errorf("step %d: L%d %s published twice", i, s.level, s.cand)
				}
				published[e.ID] = ok
			}
		})
	}
}

// An escalation of a wide campaign names at most ListedOrganisations of its
// organisations, the first in sorted order, and counts them all.
func TestTargetsAreBounded(t *testing.T) {
	tr := correlate.New(correlate.Options{Intel: mustIntel(t), MaxCampaignOrganisations: 25})
	scan := func(src, dst string, at time.Duration) []correlate.Update {
		return tr.Observe(event.Signal{RuleID: "scan", Class: event.ClassReconnaissance, Tactics: []string{"TA0043"}, Techniques: []string{"T1595.001"},
			Time: t0.Add(at), Source: src, Target: dst})
	}
	for i := range 30 {
		scan("203.0.113.10", fmt.Sprintf("172.16.%d.1", 29-i), time.Duration(i)*time.Second)
	}
	last := scan(strings.Repeat("é", 200)+".example", "172.16.0.1", time.Minute) // 409 bytes
	e, ok := NewLadder(Options{}).Consider(last[0])
	if !ok {
		t.Fatal("no escalation")
	}
	tg := e.Data.Targets
	// The campaign keeps the names of the first 25 to join (172.16.29 down
	// to 172.16.5); the escalation lists the first 20 of them in sorted order.
	var want []string
	for i := 5; i <= 29; i++ {
		want = append(want, fmt.Sprintf("unknown 172.16.%d.0/24", i))
	}
	slices.Sort(want)
	want = want[:ListedOrganisations]
	if !slices.Equal(tg.Organisations, want) {
		t.Errorf("organisations %v, want %v", tg.Organisations, want)
	}
	if tg.OrganisationCount != 30 {
		t.Errorf("organisation_count %d, want 30", tg.OrganisationCount)
	}
	if len(e.Data.Sources.Sample) != 2 {
		t.Errorf("sample %q, want the two sources", e.Data.Sources.Sample)
	}
	for _, s := range e.Data.Sources.Sample {
		if len(s) > 255 || !utf8.ValidString(s) {
			t.Errorf("sample of %d bytes (valid UTF-8 %v)", len(s), utf8.ValidString(s))
		}
	}
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"organisation_count":30`)) {
		t.Errorf("no organisation_count in %s", b)
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
	tr := correlate.New(correlate.Options{Assets: inv, Intel: mustIntel(t)})
	l := NewLadder(Options{Source: "casus/test", MinLevel: 1})
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

func mustIntel(t *testing.T) *intel.Intel {
	t.Helper()
	in, err := intel.Load("testdata/intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return in
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
