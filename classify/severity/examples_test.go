package severity

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// workedExample is one of severity-model.md §7's worked examples: facts we
// construct for it, the factor values the document states, and its result.
type workedExample struct {
	name      string
	facts     Facts
	factors   Factors // in §7's order: FI, OA, Loc, Actor, Info, Recov, XSector, Potential
	score     float64
	level     int
	candidacy Candidacy
	gate      string // a substring of a gate note that must fire, "" for none
}

func f8(fi, oa, loc, actor, info, recov, xs, pot int) Factors {
	return Factors{fi, oa, loc, actor, info, recov, xs, pot}
}

func workedExamples() []workedExample {
	return []workedExample{
		{
			name: "1 single port scan of a business host",
			facts: Facts{
				Techniques: []string{"T1595.001"}, Tactics: []string{"TA0043"}, Classes: []string{"reconnaissance"},
				Tier: 3, Sectors: []string{"commercial"}, Targets: 1, Organisations: 1, SectorsCount: 1, SourceClusters: 1,
			},
			factors: f8(0, 40, 30, 50, 0, 20, 0, 25), score: 22.1, level: 0, candidacy: CandidacyNone,
		},
		{
			name: "2 scanning campaign against 40 power utilities",
			facts: Facts{
				Techniques: []string{"T1595.001", "T1595.002"}, Tactics: []string{"TA0043"}, Classes: []string{"reconnaissance"},
				Tier: 1, Sectors: []string{"energy"}, Location: 6,
				Targets: 120, Organisations: 40, SectorsCount: 1, T1Organisations: 40, T1Sectors: 1,
				SourceClusters: 5, Concerted: true,
			},
			factors: f8(0, 40, 30, 50, 0, 20, 100, 100), score: 44.1, level: 2, candidacy: CandidacyNone,
			gate: "recon cap (stage prepare; probing is not damage): level held at L2 Medium",
		},
		{
			name: "3 ransomware at one business",
			facts: Facts{
				Techniques: []string{"T1486", "T1490"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"},
				Tier: 3, Sectors: []string{"commercial"}, Location: 3, ActorKind: "criminal",
				Targets: 30, Organisations: 1, SectorsCount: 1, SourceClusters: 1,
			},
			factors: f8(70, 100, 60, 40, 60, 60, 0, 25), score: 53.8, level: 2, candidacy: CandidacyNone,
		},
		{
			name: "4 wiper across 4 banks, concerted, c=0.7",
			facts: Facts{
				Techniques: []string{"T1561.002", "T1485", "T1490"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"},
				Tier: 1, Sectors: []string{"finance"}, Location: 5, ActorKind: "apt-targeted",
				StateNexus: 0.7, StateNexusBasis: "government attribution",
				Targets: 60, Organisations: 4, SectorsCount: 1, T1Organisations: 4, T1Sectors: 1,
				SourceClusters: 3, Concerted: true, ReconToEffect: 36 * time.Hour,
			},
			factors: f8(100, 100, 80, 100, 100, 60, 35, 100), score: 87.2, level: 4, candidacy: CandidacyAAC,
			gate: "L5 gate closed",
		},
		{
			name: "5 ICS manipulation at a power plant",
			facts: Facts{
				Techniques: []string{"T0855", "T0836", "T0831", "T0878", "T0826"},
				Tactics:    []string{"TA0106", "TA0107", "TA0105"}, Classes: []string{"destructive"},
				Tier: 1, Sectors: []string{"energy"}, Location: 6,
				Targets: 3, Organisations: 1, SectorsCount: 1, T1Organisations: 1, T1Sectors: 1, SourceClusters: 1,
			},
			factors: f8(100, 100, 90, 50, 70, 60, 100, 75), score: 82.1, level: 4, candidacy: CandidacySignificant,
		},
		{
			name: "5 variant with damage to property confirmed",
			facts: Facts{
				Techniques: []string{"T0855", "T0836", "T0831", "T0878", "T0826", "T0879"},
				Tactics:    []string{"TA0106", "TA0107", "TA0105"}, Classes: []string{"destructive"},
				Tier: 1, Sectors: []string{"energy"}, Location: 6, Physical: true,
				Targets: 3, Organisations: 1, SectorsCount: 1, T1Organisations: 1, T1Sectors: 1, SourceClusters: 1,
			},
			factors: f8(100, 100, 90, 50, 70, 60, 100, 100), score: 86.5, level: 5, candidacy: CandidacyAACPending,
			gate: "L5 gate open: physical or safety effect",
		},
		{
			name: "6 DDoS on a financial exchange, 3h halt",
			facts: Facts{
				Techniques: []string{"T1498.002", "T1499.002"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"},
				Tier: 1, Sectors: []string{"finance"}, Location: 4,
				Targets: 4, Organisations: 1, SectorsCount: 1, T1Organisations: 1, T1Sectors: 1, SourceClusters: 1,
				DenialFor: 3 * time.Hour,
			},
			factors: f8(100, 100, 70, 50, 0, 40, 35, 75), score: 67.5, level: 3, candidacy: CandidacySignificant,
			gate: "floor (effect on a tier-1 target, functional impact 100): level kept at least L3 High",
		},
	}
}

func TestWorkedExamplesEvaluate(t *testing.T) {
	p := Default()
	for _, ex := range workedExamples() {
		t.Run(ex.name, func(t *testing.T) {
			a := p.Evaluate(ex.facts, ex.factors)
			if math.Abs(a.Score-ex.score) > 0.1 {
				t.Errorf("score = %.1f, want %.1f", a.Score, ex.score)
			}
			if a.Level != ex.level || a.LevelName != LevelName(ex.level) {
				t.Errorf("level = %d %s, want %d", a.Level, a.LevelName, ex.level)
			}
			if a.Candidacy != ex.candidacy {
				t.Errorf("candidacy = %s, want %s; conditions %v", a.Candidacy, ex.candidacy, a.Conditions)
			}
			if ex.gate != "" && !slices.ContainsFunc(a.Gates, func(g string) bool { return strings.Contains(g, ex.gate) }) {
				t.Errorf("gates %q lack %q", a.Gates, ex.gate)
			}
			if a.Policy != (PolicyRef{"casus-default", "1.0.0"}) {
				t.Errorf("policy = %+v", a.Policy)
			}
			var sum float64
			for _, f := range a.Factors {
				sum += f.Points
			}
			if math.Abs(sum-a.Score) > 0.5 {
				t.Errorf("factor points sum to %.1f, score %.1f", sum, a.Score)
			}
		})
	}
}

func TestWorkedExamplesDerive(t *testing.T) {
	p := Default()
	for _, ex := range workedExamples() {
		t.Run(ex.name, func(t *testing.T) {
			if got := p.Derive(ex.facts); got != ex.factors {
				t.Errorf("Derive =\n %+v\nwant\n %+v", got, ex.factors)
			}
			a := p.Assess(ex.facts)
			if math.Abs(a.Score-ex.score) > 0.1 || a.Level != ex.level || a.Candidacy != ex.candidacy {
				t.Errorf("Assess = score %.1f level %d %s, want %.1f %d %s",
					a.Score, a.Level, a.Candidacy, ex.score, ex.level, ex.candidacy)
			}
		})
	}
}

// TestWorkedExampleCandidacyConditions checks the reasons §7 gives.
func TestWorkedExampleCandidacyConditions(t *testing.T) {
	p := Default()
	exs := workedExamples()
	cond := func(a Assessment, name string) string {
		for _, c := range a.Conditions {
			if c.Name == name {
				return c.Finding
			}
		}
		return ""
	}
	for _, tc := range []struct {
		example int
		cond    string
		prefix  string
	}{
		{3, "a-level", "met:"}, // example 4
		{3, "b-effect", "met: qualifying effect: T1485, T1561.002, T1490 with destruction"},
		{3, "d-gravity", "met: concerted campaign against 4 tier-1 organisations"},
		{3, "attribution", "met: state-nexus confidence 0.70 (basis: government attribution)"},
		{4, "b-effect", "met: qualifying effect: T0826, T0831"}, // example 5
		{4, "d-gravity", "not met: no physical consequence"},
		{5, "d-gravity", "met: physical or safety consequence"}, // variant
		{5, "attribution", "not met: state-nexus confidence 0.00"},
		{6, "a-level", "not met: level 3"}, // example 6
		{6, "b-effect", "not met: denial of a tier-1 service for 3h, under 24h"},
	} {
		a := p.Assess(exs[tc.example].facts)
		if got := cond(a, tc.cond); !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("%s: %s = %q, want prefix %q", exs[tc.example].name, tc.cond, got, tc.prefix)
		}
	}
	// Example 3 fails (a) and (c); below level 3 nothing is listed.
	if a := p.Assess(exs[2].facts); a.Conditions != nil || a.Checklist != nil {
		t.Errorf("example 3 at level %d has conditions %v, checklist %v", a.Level, a.Conditions, a.Checklist)
	}
}
