package severity

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/internal/yamlpos/yamltest"
)

func TestDefault(t *testing.T) {
	p := Default()
	if p.Name != "casus-default" || p.Version != "1.0.0" {
		t.Errorf("default policy is %s %s", p.Name, p.Version)
	}
	want := Weights{6, 5, 4, 4, 2, 4, 3, 6}
	if p.Weights != want || p.Weights.Sum() != 34 {
		t.Errorf("weights = %+v (sum %d), want %+v (sum 34)", p.Weights, p.Weights.Sum(), want)
	}
	if p.Bands != [5]float64{25, 40, 55, 70, 85} {
		t.Errorf("bands = %v", p.Bands)
	}
	if p.StateNexusThreshold != 0.5 || p.Cooldown != time.Hour || p.CloseAfter != 24*time.Hour ||
		p.ReconHalfLife != 6*time.Hour || p.Window != 72*time.Hour || p.EvidenceCap != 10 ||
		p.DedupWindow != 10*time.Minute || p.DeescalateMargin != 5 {
		t.Errorf("settings = %+v", p)
	}
	for opt, v := range map[string]int{"l1": 30, "unknown": 50, "l7": 100} {
		if p.Values.Location[opt] != v {
			t.Errorf("location %s = %d, want %d", opt, p.Values.Location[opt], v)
		}
	}
	if _, ok := p.Values.CrossSector["commercial"]; ok {
		t.Error("commercial facilities must not carry a cross-sector value by default")
	}
	// Each call gives an independent copy.
	p.Values.Actor["unknown"] = 0
	p.Weights.Actor = 99
	if q := Default(); q.Values.Actor["unknown"] != 50 || q.Weights.Actor != 4 {
		t.Error("Default shares state between calls")
	}
}

func TestDefaultFileParses(t *testing.T) {
	data, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("default.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Weights != Default().Weights {
		t.Errorf("parsed default differs from Default()")
	}
}

func TestParseGood(t *testing.T) {
	p, err := Load("testdata/strict.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Ref() != (PolicyRef{"casus-strict", "2.1.0"}) {
		t.Errorf("ref = %+v", p.Ref())
	}
	if p.Weights.Potential != 8 || p.Weights.FunctionalImpact != 6 {
		t.Errorf("weights = %+v, want potential 8 over the defaults", p.Weights)
	}
	if p.Values.CrossSector["commercial"] != 30 || p.Values.CrossSector["energy"] != 100 {
		t.Errorf("cross_sector = %v", p.Values.CrossSector)
	}
	if p.Bands != [5]float64{20, 35, 50, 65, 80} || p.StateNexusThreshold != 0.6 ||
		p.Cooldown != 30*time.Minute || p.EvidenceCap != 25 || p.CloseAfter != 24*time.Hour {
		t.Errorf("settings = %+v", p)
	}
	// The commercial override now counts for an ordinary business.
	x := p.Derive(Facts{Techniques: []string{"T1486"}, Sectors: []string{"commercial"}, Tier: 3})
	if x.CrossSector != 30 {
		t.Errorf("cross-sector = %d, want 30", x.CrossSector)
	}
	if _, err := Load("testdata/minimal.good.yaml"); err != nil {
		t.Error(err)
	}
}

func TestParseBad(t *testing.T) {
	yamltest.RunBad(t, Load, []yamltest.Bad{
		{File: "many.bad.yaml", Want: []string{
			`many.bad.yaml:4:22: weights.functional_impact is 0; weights must be > 0`,
			`many.bad.yaml:5:13: weights.location is -2; weights must be > 0`,
			`many.bad.yaml:6:10: weights.actor must be an integer, got "four"`,
			`many.bad.yaml:7:3: unknown field "colour" in weights`,
			`many.bad.yaml:10:5: unknown field "l8" in values.location (allowed: unknown, l1, l2, l3, l4, l5, l6, l7)`,
			`many.bad.yaml:12:10: values.actor.apt is 150; option values lie in 0..100`,
			`many.bad.yaml:14:5: values.observed_activity.presence (30) is below engage (70)`,
			`many.bad.yaml:15:17: band 40 of level 3 does not rise above 40 of level 2`,
			`many.bad.yaml:15:25: band 120 of level 5 is out of range (0, 100]`,
			`many.bad.yaml:16:24: state_nexus_threshold 1.5 is out of range 0..1`,
			`many.bad.yaml:17:11: cooldown must be a duration such as 1h or 30m, got "soon"`,
			`many.bad.yaml:18:9: window 0s must be positive`,
			`many.bad.yaml:19:15: evidence_cap 0 is out of range 1..1000`,
			`many.bad.yaml:20:1: unknown field "escalate_to" in policy`,
		}},
		{File: "missing.bad.yaml", Want: []string{
			`missing.bad.yaml:2:1: policy needs a name`,
			`missing.bad.yaml:2:1: policy needs a version`,
			`missing.bad.yaml:2:8: bands must list 5 scores (the lowest of levels 1..5), got 4`,
		}},
		{File: "syntax.bad.yaml", Want: []string{`syntax.bad.yaml:4: did not find expected key`}},
		{File: "types.bad.yaml", Want: []string{
			`types.bad.yaml:1:7: name must be a string`,
			`types.bad.yaml:2:10: version "1 0" must be a non-empty word`,
			`types.bad.yaml:3:10: weights must be a mapping`,
			`types.bad.yaml:5:19: values.recoverability must be a mapping`,
			`types.bad.yaml:6:8: bands must be a list`,
		}},
	})
	if _, err := Parse("empty.yaml", nil); err == nil || !strings.Contains(err.Error(), "empty.yaml: policy is empty") {
		t.Errorf("Parse(empty) = %v", err)
	}
	if _, err := Load("testdata/nope.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	yamltest.Seed(f, "default.yaml")
	facts := workedExamples()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", data)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		if p.Name == "" || p.Version == "" || p.Weights.Sum() <= 0 || !(p.StateNexusThreshold >= 0 && p.StateNexusThreshold <= 1) {
			t.Fatalf("invalid policy accepted: %+v", p)
		}
		for i := 1; i < len(p.Bands); i++ {
			if p.Bands[i] <= p.Bands[i-1] {
				t.Fatalf("bands %v accepted", p.Bands)
			}
		}
		for _, ex := range facts {
			a := p.Assess(ex.facts)
			if a.Level < 0 || a.Level > 5 || a.Score < 0 || a.Score > 100 {
				t.Fatalf("assessment out of range: %+v", a)
			}
		}
	})
}
