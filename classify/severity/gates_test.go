package severity

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func all(v int) Factors { return Factors{v, v, v, v, v, v, v, v} }

func TestGates(t *testing.T) {
	p := Default()
	recon := Facts{Tactics: []string{"TA0043"}, Classes: []string{"reconnaissance"}, Tier: 1}
	engage := Facts{Tactics: []string{"TA0001"}, Classes: []string{"intrusion"}, Tier: 1}
	presence := Facts{Tactics: []string{"TA0007"}, Classes: []string{"reconnaissance"}, Tier: 1}
	effect := Facts{Techniques: []string{"T1485"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"}, Tier: 1}
	with := func(f Facts, mod func(*Facts)) Facts { mod(&f); return f }
	for _, tc := range []struct {
		name  string
		facts Facts
		x     Factors
		level int
		gates []string // each a substring of the gate at that index; nil = none fired
	}{
		{"recon cap lowers", recon, all(100), 2,
			[]string{"recon cap (stage prepare; probing is not damage): L5 Emergency lowered to L2 Medium"}},
		{"recon cap holds", recon, all(45), 2, []string{"recon cap (stage prepare; probing is not damage): level held at L2"}},
		{"recon cap silent below", recon, all(30), 1, nil},
		{"engage is capped like recon", engage, all(75), 2, []string{"recon cap (stage engage; probing is not damage): L4 Severe lowered to L2 Medium"}},
		{"presence cap lowers", presence, all(90), 3, []string{"presence cap (access without effect): L5 Emergency lowered to L3 High"}},
		{"presence cap holds", presence, all(60), 3, []string{"presence cap (access without effect): level held at L3 High"}},
		{"L5 gate closes", effect, all(90), 4, []string{"L5 gate closed"}},
		{"L5 gate opens for scale", with(effect, func(f *Facts) { f.Organisations = 10 }), all(90), 5,
			[]string{"L5 gate open: wide-scale critical-infrastructure disruption (10 organisations, 0 sectors)"}},
		{"L5 gate opens for three sectors", with(effect, func(f *Facts) { f.Sectors = []string{"energy", "water", "finance"} }), all(90), 5,
			[]string{"L5 gate open: wide-scale"}},
		{"L5 gate opens for safety systems", with(effect, func(f *Facts) { f.Location = 7 }), all(90), 5,
			[]string{"L5 gate open: physical or safety effect"}},
		{"L5 gate opens for physical", with(effect, func(f *Facts) { f.Physical = true }), all(90), 5,
			[]string{"L5 gate open: physical or safety effect"}},
		{"L5 gate never opens without effect", with(presence, func(f *Facts) { f.Organisations = 50 }), all(100), 3,
			[]string{"presence cap"}},
		{"tier-1 effect floor raises", effect, f8(70, 0, 0, 0, 0, 0, 0, 0), 3,
			[]string{"floor (effect on a tier-1 target, functional impact 70): L0 Baseline raised to L3 High"}},
		{"tier-1 floor needs functional impact 70", effect, f8(50, 0, 0, 0, 0, 0, 0, 0), 0, nil},
		{"tier-1 floor needs tier 1", with(effect, func(f *Facts) { f.Tier = 2 }), f8(100, 0, 0, 0, 0, 0, 0, 0), 0, nil},
		{"physical floor raises", with(effect, func(f *Facts) { f.Techniques = []string{"T0880"}; f.Tier = 3 }), all(10), 4,
			[]string{"floor (physical or safety consequence): L0 Baseline raised to L4 Severe"}},
		{"both floors in order", with(effect, func(f *Facts) { f.Physical = true }), f8(100, 0, 0, 0, 0, 0, 0, 0), 4,
			[]string{"floor (effect on a tier-1 target, functional impact 100): L0 Baseline raised to L3 High",
				"floor (physical or safety consequence): L3 High raised to L4 Severe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := p.Evaluate(tc.facts, tc.x)
			if a.Level != tc.level {
				t.Errorf("level = %d (score %.1f), want %d; gates %q", a.Level, a.Score, tc.level, a.Gates)
			}
			if len(a.Gates) != len(tc.gates) {
				t.Fatalf("gates = %q, want %d like %q", a.Gates, len(tc.gates), tc.gates)
			}
			for i, g := range tc.gates {
				if !strings.Contains(a.Gates[i], g) {
					t.Errorf("gate %d = %q, want it to contain %q", i, a.Gates[i], g)
				}
			}
		})
	}
}

func TestBands(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		score float64
		level int
	}{{0, 0}, {24.9, 0}, {25, 1}, {39.9, 1}, {40, 2}, {54.9, 2}, {55, 3}, {69.9, 3}, {70, 4}, {84.9, 4}, {85, 5}, {100, 5}} {
		if got := p.band(tc.score); got != tc.level {
			t.Errorf("band(%.1f) = %d, want %d", tc.score, got, tc.level)
		}
	}
}

func TestCandidacy(t *testing.T) {
	p := Default()
	wiper := workedExamples()[3].facts // example 4: an armed-attack candidate
	ddos := Facts{
		Techniques: []string{"T1498.001", "T1499.002"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"},
		Tier: 1, Sectors: []string{"finance"}, Location: 4, ActorKind: "apt", StateNexus: 0.6, StateNexusBasis: "advisory",
		Targets: 9, Organisations: 3, SectorsCount: 1, T1Organisations: 3, T1Sectors: 1, SourceClusters: 4,
		DenialFor: 30 * time.Hour,
	}
	with := func(f Facts, mod func(*Facts)) Facts {
		f.Techniques = slices.Clone(f.Techniques)
		mod(&f)
		return f
	}
	for _, tc := range []struct {
		name  string
		facts Facts
		want  Candidacy
	}{
		{"wiper, attributed", wiper, CandidacyAAC},
		{"wiper, weak attribution", with(wiper, func(f *Facts) { f.StateNexus = 0.3 }), CandidacyAACPending},
		{"wiper, no attribution", with(wiper, func(f *Facts) { f.StateNexus = 0; f.StateNexusBasis = "" }), CandidacyAACPending},
		{"wiper at threshold", with(wiper, func(f *Facts) { f.StateNexus = 0.5 }), CandidacyAAC},
		{"wiper, not concerted", with(wiper, func(f *Facts) { f.Concerted = false; f.SourceClusters = 1 }), CandidacySignificant},
		{"wiper, concerted by source clusters", with(wiper, func(f *Facts) { f.Concerted = false; f.SourceClusters = 2 }), CandidacyAAC},
		{"wiper, two tier-1 organisations", with(wiper, func(f *Facts) { f.T1Organisations = 2 }), CandidacySignificant},
		{"wiper, two tier-1 sectors", with(wiper, func(f *Facts) { f.T1Organisations = 2; f.T1Sectors = 2 }), CandidacyAAC},
		{"wiper at tier 2", with(wiper, func(f *Facts) { f.Tier = 2 }), CandidacySignificant},
		{"wiper at tier 2 government", with(wiper, func(f *Facts) { f.Tier = 2; f.GovDefense = true }), CandidacyAAC},
		{"inhibit recovery alone", with(wiper, func(f *Facts) { f.Techniques = []string{"T1490"} }), CandidacySignificant},
		{"ransomware with inhibit recovery", with(wiper, func(f *Facts) { f.Techniques = []string{"T1486", "T1490"} }), CandidacyAAC},
		{"shutdown of critical systems", with(wiper, func(f *Facts) { f.Techniques = []string{"T1529"}; f.Location = 6 }), CandidacyAAC},
		{"shutdown of business systems", with(wiper, func(f *Facts) { f.Techniques = []string{"T1529"}; f.Location = 2 }), CandidacySignificant},
		{"denial for 30h across 3 banks", ddos, CandidacyAAC},
		{"denial for 3h across 3 banks", with(ddos, func(f *Facts) { f.DenialFor = 3 * time.Hour }), CandidacySignificant},
		{"denial duration unknown", with(ddos, func(f *Facts) { f.DenialFor = 0 }), CandidacySignificant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := p.Assess(tc.facts)
			if a.Candidacy != tc.want {
				t.Errorf("candidacy = %s, want %s (level %d, score %.1f); conditions %v", a.Candidacy, tc.want, a.Level, a.Score, a.Conditions)
			}
		})
	}
}

// TestReconNeverCandidate: reconnaissance and presence, however large and
// whatever the factor values, never make a candidate.
func TestReconNeverCandidate(t *testing.T) {
	p := Default()
	for _, tactics := range [][]string{{"TA0043"}, {"TA0001"}, {"TA0007"}, {"TA0102", "TA0011"}, nil} {
		f := Facts{
			Tactics: tactics, Classes: []string{"reconnaissance"}, Tier: 1, Sectors: []string{"energy", "water", "finance"},
			GovDefense: true, Location: 7, ActorKind: "apt-targeted", StateNexus: 1, StateNexusBasis: "certain",
			Targets: 5000, Organisations: 500, SectorsCount: 3, T1Organisations: 500, T1Sectors: 3,
			SourceClusters: 50, Concerted: true, Physical: false,
		}
		a := p.Evaluate(f, all(100))
		if a.Level > 3 || (a.Candidacy != CandidacyNone && a.Candidacy != CandidacySignificant) {
			t.Errorf("tactics %v: level %d candidacy %s", tactics, a.Level, a.Candidacy)
		}
		if a.Level >= 3 {
			i := slices.IndexFunc(a.Checklist, func(c Check) bool { return c.Name == "presumptive-legality" })
			if i < 0 || !strings.Contains(a.Checklist[i].Finding, "weighs against force") {
				t.Errorf("tactics %v: checklist %v lacks the presumptive-legality finding", tactics, a.Checklist)
			}
		}
	}
}

// TestNoDetermination: no text the package produces states that an armed
// attack took place.
func TestNoDetermination(t *testing.T) {
	p := Default()
	for _, ex := range workedExamples() {
		a := p.Assess(ex.facts)
		var texts []string
		texts = append(texts, a.Gates...)
		for _, c := range append(a.Conditions, a.Checklist...) {
			texts = append(texts, c.Finding)
		}
		for _, s := range texts {
			l := strings.ToLower(s)
			if strings.Contains(l, "armed attack") || strings.Contains(l, "is an attack") {
				t.Errorf("%s: text %q speaks of an armed attack", ex.name, s)
			}
		}
	}
}

func TestStage(t *testing.T) {
	for _, tc := range []struct {
		f    Facts
		want string
	}{
		{Facts{}, StageNone},
		{Facts{Classes: []string{"reconnaissance"}}, StagePrepare},
		{Facts{Techniques: []string{"T1595.002"}}, StagePrepare},
		{Facts{Tactics: []string{"TA0043"}, Techniques: []string{"T1046"}}, StagePrepare},
		{Facts{Techniques: []string{"T1046"}}, StagePresence},
		{Facts{Techniques: []string{"t1190"}}, StageEngage},
		{Facts{Classes: []string{"intrusion"}}, StageEngage},
		{Facts{Tactics: []string{"TA0001"}}, StageEngage},
		{Facts{Tactics: []string{"TA0001", "TA0011"}}, StagePresence},
		{Facts{Tactics: []string{"TA0102"}}, StagePresence},
		{Facts{Tactics: []string{"TA0043"}, Techniques: []string{"T1561.002"}}, StageEffect},
		{Facts{Tactics: []string{"TA0107"}}, StageEffect},
		{Facts{Classes: []string{"destructive"}}, StageEffect},
		{Facts{Physical: true}, StageEffect},
	} {
		if got := stageOf(tc.f); got != tc.want {
			t.Errorf("stageOf(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestDeriveHeuristics(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		name string
		f    Facts
		want Factors
	}{
		{"service stop on tier 1", Facts{Techniques: []string{"T1489"}, Tier: 1, Location: 2},
			f8(70, 100, 40, 50, 0, 20, 0, 75)},
		{"service stop on tier 3", Facts{Techniques: []string{"T1489"}, Tier: 3},
			f8(50, 100, 50, 50, 0, 20, 0, 25)},
		{"ransomware on a tier-1 bank", Facts{Techniques: []string{"T1486"}, Tier: 1, Sectors: []string{"finance"}},
			f8(100, 100, 50, 50, 60, 60, 35, 75)},
		{"commercial adds no dependency but counts as a sector", Facts{Techniques: []string{"T1486"}, Tier: 1, Sectors: []string{"finance", "commercial"}},
			f8(100, 100, 50, 50, 60, 60, 35, 100)},
		{"wiper at tier 4", Facts{Techniques: []string{"T1561.001"}, Tier: 4, ActorKind: "hacktivist"},
			f8(70, 100, 50, 20, 60, 60, 0, 0)},
		{"unknown tier counts as 3, unknown kind as unknown", Facts{Tactics: []string{"TA0011"}, ActorKind: "martian"},
			f8(0, 80, 50, 50, 0, 20, 0, 25)},
		{"two sectors bump, three bump twice", Facts{Tactics: []string{"TA0007"}, Tier: 2, Sectors: []string{"water", "it", "dams"}},
			f8(0, 80, 50, 50, 0, 20, 80, 100)},
		{"concerted bumps once", Facts{Tactics: []string{"TA0007"}, Tier: 4, Concerted: true},
			f8(0, 80, 50, 50, 0, 20, 0, 25)},
	} {
		if got := p.Derive(tc.f); got != tc.want {
			t.Errorf("%s: Derive =\n %+v\nwant\n %+v", tc.name, got, tc.want)
		}
	}
}
