package correlate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/intel"
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func inventory(t testing.TB) *assets.Inventory {
	t.Helper()
	inv, err := assets.Load("testdata/assets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func mustIntel(t testing.TB) *intel.Intel {
	t.Helper()
	in, err := intel.Load("testdata/intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func options(t testing.TB, maxIncidents int) Options {
	return Options{Assets: inventory(t), Intel: mustIntel(t), MaxIncidents: maxIncidents}
}

func tracker(t testing.TB, maxIncidents int) *Tracker { return New(options(t, maxIncidents)) }

func recon(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "scan", RuleTitle: "Vertical port scan", Class: event.ClassReconnaissance,
		Tactics: []string{"TA0043"}, Techniques: []string{"T1595.001"}, Time: t0.Add(at), Source: src, Target: dst, Count: 20}
}

func wipe(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "wipe", RuleTitle: "Raw disk write", Class: event.ClassDestructive,
		Tactics: []string{"TA0040"}, Techniques: []string{"T1561.002", "T1485"}, Time: t0.Add(at), Source: src, Target: dst, Count: 1}
}

func intrude(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "logon", RuleTitle: "Valid account from abroad", Class: event.ClassIntrusion,
		Tactics: []string{"TA0001"}, Techniques: []string{"T1078"}, Time: t0.Add(at), Source: src, Target: dst, Count: 1}
}

func flood(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "flood", RuleTitle: "SYN flood", Class: event.ClassDestructive, Tactics: []string{"TA0040"},
		Techniques: []string{"T1498.001"}, Time: t0.Add(at), Source: src, Target: dst, Count: 30}
}

func observe(tr *Tracker, sig event.Signal) *Incident {
	inc, _ := tr.Observe(sig)
	return inc
}

func TestIncidentPerOrganisation(t *testing.T) {
	tr := tracker(t, 0)
	a := observe(tr, recon("203.0.113.10", "10.20.0.5", 0))
	b := observe(tr, recon("203.0.113.10", "10.20.9.9", time.Minute))
	c := observe(tr, recon("198.18.0.1", "10.30.0.80", time.Minute))
	if a != b {
		t.Errorf("two hosts of Harbor Bank gave two incidents")
	}
	if a == c || a.ID == c.ID {
		t.Errorf("Harbor Bank and Acme Retail share an incident")
	}
	if a.Organisation != "Harbor Bank" || a.Sector != "finance" || a.Tier != 1 || a.Location != 3 {
		t.Errorf("incident %q %q tier %d location %d", a.Organisation, a.Sector, a.Tier, a.Location)
	}
	if IncidentID("Harbor Bank", t0) != a.ID {
		t.Errorf("incident id is not derived from the organisation and the opening time")
	}
	if IncidentID("Harbor Bank", t0.Add(time.Second)) == a.ID || IncidentID("Meridian Bank", t0) == a.ID {
		t.Errorf("incident ids collide")
	}
	// The id names the instant, not the time zone it was written in.
	if IncidentID("Harbor Bank", t0.In(time.FixedZone("x", 3600))) != a.ID {
		t.Errorf("incident id depends on the time zone")
	}
	if n := a.Targets.Count(); n != 2 {
		t.Errorf("targets %d, want 2", n)
	}
	if a.Signals != 2 || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("signals %d, window %s..%s", a.Signals, a.FirstSeen, a.LastSeen)
	}
	sa, sc := a.Summarise(a.LastSeen, time.Hour), c.Summarise(c.LastSeen, time.Hour)
	if k := sa.CampaignKey(); k != "actor/ELECTRUM-7" {
		t.Errorf("attributed incident keyed %q", k)
	}
	if k := sc.CampaignKey(); k != KeyNational {
		t.Errorf("unattributed incident keyed %q", k)
	}
	if got := len(tr.Incidents()); got != 2 || !slices.IsSortedFunc(tr.Incidents(), func(x, y *Incident) int { return strings.Compare(x.ID, y.ID) }) {
		t.Errorf("Incidents: %d, want 2 in id order", got)
	}
}

// An organisation's tier-1 host hit after its tier-3 host must make it a
// tier-1 incident, as when the hosts are hit the other way round.
func TestTierOrderDoesNotMatter(t *testing.T) {
	summary := func(first, second string) Summary {
		tr := tracker(t, 0)
		observe(tr, wipe("203.0.113.50", first, 0))
		inc := observe(tr, wipe("203.0.113.50", second, time.Minute))
		if inc.Organisation != "Delta Water" || inc.Tier != 1 {
			t.Fatalf("%s then %s: incident %s at tier %d, want Delta Water at tier 1", first, second, inc.Organisation, inc.Tier)
		}
		return inc.Summarise(inc.LastSeen, time.Hour)
	}
	tier3First := summary("10.40.1.1", "10.40.7.1")
	tier1First := summary("10.40.7.1", "10.40.1.1")
	if f3, f1 := tier3First.Facts(), tier1First.Facts(); !reflect.DeepEqual(f3, f1) {
		t.Errorf("facts depend on the order of the hosts:\ntier 3 first %+v\ntier 1 first %+v", f3, f1)
	}
	if f := tier3First.Facts(); f.T1Organisations != 1 || f.T1Sectors != 1 || f.Tier != 1 || f.Targets != 2 {
		t.Errorf("facts %+v, want one tier-1 organisation and sector, two targets", f)
	}
}

// A summary's own facts: one organisation, its tier and sector.
func TestSummaryFacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Summary
		t1   int
		gov  bool
		srcs int
		phys bool
	}{
		{"tier-1 bank", Summary{Tier: 1, Sector: "finance", Sources: 2}, 1, false, 1, false},
		{"tier-3 government", Summary{Tier: 3, Sector: "government"}, 0, true, 0, false},
		{"damage to property", Summary{Tier: 2, Techniques: []string{"T0879"}, Sources: 1}, 0, false, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.s.Facts()
			if f.Organisations != 1 || f.T1Organisations != tc.t1 || f.GovDefense != tc.gov || f.SourceClusters != tc.srcs || f.Physical != tc.phys {
				t.Errorf("facts %+v", f)
			}
			if tc.s.Sector != "" && (f.SectorsCount != 1 || !slices.Equal(f.Sectors, []string{tc.s.Sector})) {
				t.Errorf("sectors %v (%d)", f.Sectors, f.SectorsCount)
			}
		})
	}
}

// Strings from telemetry are clipped where they enter, on a UTF-8 boundary.
func TestObserveClipsTelemetry(t *testing.T) {
	tr := tracker(t, 0)
	src := strings.Repeat("é", 300)                            // 600 bytes
	dst := "host-" + strings.Repeat("ß", 200) + ".example.org" // unknown host
	inc := observe(tr, recon(src, dst, 0))
	kept := append(append([]string{inc.Organisation}, inc.Sources.Values()...), inc.Targets.Values()...)
	for k := range inc.ReconAt {
		kept = append(kept, k)
	}
	for _, s := range kept {
		if len(s) > maxString || !utf8.ValidString(s) {
			t.Errorf("kept %d bytes (valid UTF-8 %v): %.40q...", len(s), utf8.ValidString(s), s)
		}
	}
	if again := observe(tr, recon(src, dst, time.Minute)); again != inc {
		t.Errorf("the same long target gave a second incident")
	}
	if n := len(tr.Incidents()); n != 1 {
		t.Errorf("%d incidents", n)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want int // length kept
	}{
		{"short", "10.0.0.1", 8},
		{"at the bound", strings.Repeat("a", 255), 255},
		{"ascii over", strings.Repeat("a", 300), 255},
		{"two-byte rune across the bound", strings.Repeat("a", 254) + "é", 254},
		{"four-byte rune across the bound", strings.Repeat("a", 253) + "😀", 253},
		{"rune ending at the bound", strings.Repeat("a", 253) + "éx", 255},
		{"continuation bytes only", strings.Repeat("\x80", 300), 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := clip(tc.in)
			if len(got) != tc.want || got != tc.in[:len(got)] {
				t.Errorf("clip kept %d bytes, want %d", len(got), tc.want)
			}
			if utf8.ValidString(tc.in) && !utf8.ValidString(got) {
				t.Errorf("clip split a rune")
			}
		})
	}
}

func TestTransitionOnlyOnSameTarget(t *testing.T) {
	tr := tracker(t, 0)
	observe(tr, recon("203.0.113.10", "10.20.0.5", 0))
	inc := observe(tr, wipe("203.0.113.50", "10.20.3.21", time.Hour))
	if d := inc.ReconToEffect; d != 0 {
		t.Errorf("transition %s across different targets", d)
	}
	observe(tr, recon("203.0.113.10", "10.20.3.21", 2*time.Hour))
	inc = observe(tr, wipe("203.0.113.50", "10.20.3.21", 3*time.Hour+12*time.Minute))
	if d := inc.ReconToEffect; d != time.Hour+12*time.Minute {
		t.Errorf("transition %s, want 1h12m", d)
	}
	// The first transition stands.
	observe(tr, recon("203.0.113.10", "10.20.3.22", 4*time.Hour))
	inc = observe(tr, wipe("203.0.113.50", "10.20.3.22", 4*time.Hour+time.Minute))
	if d := inc.ReconToEffect; d != time.Hour+12*time.Minute {
		t.Errorf("transition %s after a second one, want the first, 1h12m", d)
	}
}

// A spray of scans against new organisations must not evict an incident
// that reached a high level.
func TestEvictionKeepsGraveIncidents(t *testing.T) {
	tr := tracker(t, 3)
	for i, site := range []string{"10.20", "10.21"} {
		observe(tr, wipe("203.0.113.50", site+".3.21", time.Duration(i)*time.Minute))
	}
	var evicted []string
	for i := range 50 {
		if _, ev := tr.Observe(recon("198.18.0.1", fmt.Sprintf("172.16.%d.1", i), time.Hour+time.Duration(i)*time.Second)); ev != nil {
			evicted = append(evicted, ev.Organisation)
		}
	}
	s := tr.Stats()
	if s.Incidents != 3 || s.Evictions != 49 || len(evicted) != 49 {
		t.Errorf("stats %+v, %d evicted; want 3 incidents and 49 evictions", s, len(evicted))
	}
	for _, org := range []string{"Harbor Bank", "Meridian Bank"} {
		if tr.incidents[org] == nil || slices.Contains(evicted, org) {
			t.Errorf("%s was evicted by scanning noise", org)
		}
	}
	// The least recently seen scan goes first.
	if len(evicted) > 0 && evicted[0] != "unknown 172.16.0.0/24" {
		t.Errorf("first evicted %q", evicted[0])
	}
}

// At one level, a reconnaissance-only incident is evicted before one that
// did more, even when it was seen more recently.
func TestEvictionPrefersReconnaissanceOnly(t *testing.T) {
	tr := tracker(t, 2)
	older := observe(tr, intrude("198.18.0.1", "172.16.1.1", 0))
	newer := observe(tr, recon("203.0.113.11", "10.20.3.21", time.Minute)) // attributed scan of a bank
	if older.Level != newer.Level {
		t.Fatalf("levels %d and %d: the case needs one level", older.Level, newer.Level)
	}
	_, ev := tr.Observe(recon("198.18.0.1", "172.16.3.1", 2*time.Minute))
	if ev != newer {
		t.Errorf("evicted %v, want the reconnaissance-only incident", ev)
	}
}

// The eviction heap picks the same victim as a scan over every incident.
func TestEvictionOrderMatchesScan(t *testing.T) {
	tr := tracker(t, 5)
	rng := rand.New(rand.NewPCG(1, 2))
	sources := []string{"203.0.113.10", "198.51.100.7", "198.18.0.1"}
	for i := range 2000 {
		target := fmt.Sprintf("172.16.%d.1", rng.IntN(12))
		at := time.Duration(rng.IntN(3600)) * time.Second // out of order too
		sig := recon(sources[rng.IntN(len(sources))], target, at)
		if rng.IntN(4) == 0 {
			sig = wipe(sig.Source, target, at)
		}
		var want *Incident
		if org := "unknown " + cluster(target); tr.incidents[org] == nil && len(tr.incidents) == 5 {
			for _, inc := range tr.incidents {
				if want == nil || lessValuable(inc, want) {
					want = inc
				}
			}
		}
		if _, got := tr.Observe(sig); got != want {
			t.Fatalf("signal %d: evicted %v, want %v", i, got, want)
		}
	}
}

func TestDistinctSetsAreBounded(t *testing.T) {
	tr := New(Options{Assets: inventory(t), MaxDistinct: 10})
	var inc *Incident
	for i := range 100 {
		inc = observe(tr, recon(fmt.Sprintf("198.18.%d.1", i), fmt.Sprintf("10.20.0.%d", i), time.Duration(i)*time.Second))
	}
	if len(inc.Clusters) != 10 || len(inc.ReconAt) != 10 {
		t.Errorf("clusters %d, targets awaiting a transition %d; want the cap 10", len(inc.Clusters), len(inc.ReconAt))
	}
	if s := tr.Stats(); s.Saturated != 90 {
		t.Errorf("saturated %d, want 90", s.Saturated)
	}
	// Hosts are counted beyond the cap, by sketch.
	if n := inc.Sources.Count(); n < 95 || n > 105 {
		t.Errorf("sources %d, want about 100", n)
	}
}

func TestDenialLastsWhileItsSignalsKeepComing(t *testing.T) {
	tr := tracker(t, 0)
	var inc *Incident
	for m := 0; m <= 30; m++ { // a flood signalled every minute for 30 minutes
		inc = observe(tr, flood("198.18.0.1", "10.20.0.80", time.Duration(m)*time.Minute))
	}
	if d := inc.LongestDenial; d != 30*time.Minute {
		t.Errorf("continuous flood: denial %s, want 30m", d)
	}
	// A second one-minute flood two days later does not make it a 48-hour denial.
	observe(tr, flood("198.18.0.1", "10.20.0.80", 48*time.Hour))
	inc = observe(tr, flood("198.18.0.1", "10.20.0.80", 48*time.Hour+time.Minute))
	if d := inc.LongestDenial; d != 30*time.Minute {
		t.Errorf("two floods two days apart: denial %s, want the longer run, 30m", d)
	}
	// A record stamped long before, out of order, is a run of its own.
	inc = observe(tr, flood("198.18.0.1", "10.20.0.80", -400*24*time.Hour))
	if d := inc.LongestDenial; d != 30*time.Minute {
		t.Errorf("out-of-order old flood: denial %s, want 30m", d)
	}
	if s := inc.Summarise(inc.LastSeen, time.Hour); s.Facts().DenialFor != 30*time.Minute {
		d := s.Facts().DenialFor
		t.Errorf("facts: denial %s, want 30m", d)
	}
	// A silence longer than DenialGap ends a run.
	tr = tracker(t, 0)
	observe(tr, flood("198.18.0.1", "10.20.0.80", 0))
	observe(tr, flood("198.18.0.1", "10.20.0.80", DenialGap))
	inc = observe(tr, flood("198.18.0.1", "10.20.0.80", 2*DenialGap+time.Second))
	if d := inc.LongestDenial; d != DenialGap {
		t.Errorf("gap over DenialGap: denial %s, want %s", d, DenialGap)
	}
}

// Reconnaissance-only targets decay with the policy's half-life; targets
// of graver activity do not.
func TestReconTargetsDecay(t *testing.T) {
	tr := tracker(t, 0)
	half := tr.opt.Policy.ReconHalfLife
	if half <= 0 {
		t.Fatal("the default policy has no reconnaissance half-life")
	}
	var inc *Incident
	for i := range 40 {
		inc = observe(tr, recon("198.18.0.1", fmt.Sprintf("10.20.1.%d", i), 0))
	}
	for _, tc := range []struct {
		after   time.Duration
		targets int
	}{
		// 40 halved per half-life, rounded; never below one while any host was hit.
		{0, 40}, {half, 20}, {2 * half, 10}, {4 * half, 3}, {10 * half, 1},
	} {
		s := inc.Summarise(t0.Add(tc.after), half)
		if s.Targets != tc.targets {
			t.Errorf("after %s: targets %d, want %d", tc.after, s.Targets, tc.targets)
		}
		weight := 40 * math.Exp2(-float64(tc.after)/float64(half))
		if math.Abs(s.ReconWeight-weight) > 0.001 {
			t.Errorf("after %s: reconnaissance weight %.3f, want %.3f", tc.after, s.ReconWeight, weight)
		}
	}
	// One wiped host is not decayed away.
	inc = observe(tr, wipe("198.18.0.1", "10.20.2.1", 0))
	if got := inc.Summarise(t0.Add(10*half), half).Targets; got != 1 {
		t.Errorf("after a wipe and 10 half-lives: targets %d, want 1 (the wiped host)", got)
	}
	if got := inc.Summarise(t0.Add(half), half).Targets; got != 21 {
		t.Errorf("after a wipe and one half-life: targets %d, want 21", got)
	}
}
