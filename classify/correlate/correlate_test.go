package correlate

import (
	"fmt"
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
	"github.com/casus-sec/casus/classify/severity"
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func tracker(t *testing.T, maxIncidents int) *Tracker {
	t.Helper()
	inv, err := assets.Load("testdata/assets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := intel.Load("testdata/intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Assets: inv, Intel: in, MaxIncidents: maxIncidents})
}

func recon(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "scan", RuleTitle: "Vertical port scan", Class: event.ClassReconnaissance,
		Tactics: []string{"TA0043"}, Techniques: []string{"T1595.001"}, Time: t0.Add(at), Source: src, Target: dst, Count: 20}
}

func wipe(src, dst string, at time.Duration) event.Signal {
	return event.Signal{RuleID: "wipe", RuleTitle: "Raw disk write", Class: event.ClassDestructive,
		Tactics: []string{"TA0040"}, Techniques: []string{"T1561.002", "T1485"}, Time: t0.Add(at), Source: src, Target: dst, Count: 1}
}

func TestIncidentPerOrganisation(t *testing.T) {
	tr := tracker(t, 0)
	a := tr.Observe(recon("203.0.113.10", "10.20.0.5", 0))
	b := tr.Observe(recon("203.0.113.10", "10.20.9.9", time.Minute))
	c := tr.Observe(recon("198.18.0.1", "10.30.0.80", time.Minute))
	if a[0].Incident.ID != b[0].Incident.ID {
		t.Errorf("two hosts of Harbor Bank gave two incidents")
	}
	if a[0].Incident.ID == c[0].Incident.ID {
		t.Errorf("Harbor Bank and Acme Retail share an incident")
	}
	if got := a[0].Incident.Organisation; got != "Harbor Bank" {
		t.Errorf("organisation %q", got)
	}
	if IncidentID("Harbor Bank") != a[0].Incident.ID {
		t.Errorf("incident id is not derived from the organisation alone")
	}
	if n := len(b[0].Incident.Targets); n != 2 {
		t.Errorf("targets %d, want 2", n)
	}
}

// A wiper across four banks by one attributed actor from two clusters is
// a candidate; the same wiper at one bank with an unattributed source is not.
func TestCampaignScaleMakesCandidate(t *testing.T) {
	tr := tracker(t, 0)
	var ups [][]Update
	for i, site := range []string{"10.20", "10.21", "10.22", "10.23"} {
		src := "203.0.113.50"
		if i%2 == 1 {
			src = "192.0.2.50"
		}
		ups = append(ups, tr.Observe(wipe(src, site+".3.21", time.Duration(i)*10*time.Minute)))
	}
	// The second bank made the campaign concerted and the third gave it
	// three tier-1 organisations: every member was re-assessed. The fourth
	// crosses no threshold the policy reads: only its own incident is.
	for i, want := range []int{1, 2, 3, 1} {
		if len(ups[i]) != want {
			t.Errorf("bank %d: %d updates, want %d", i+1, len(ups[i]), want)
		}
	}
	for _, u := range append(ups[2], ups[3]...) {
		if u.Assessment.Candidacy != severity.CandidacyAAC || u.Assessment.Level != 4 {
			t.Errorf("%s: L%d %s, want L4 armed-attack-candidate (gates %v)", u.Incident.Organisation, u.Assessment.Level, u.Assessment.Candidacy, u.Assessment.Gates)
		}
		if u.Facts.Organisations < 3 || u.Facts.T1Organisations != u.Facts.Organisations || !u.Facts.Concerted {
			t.Errorf("%s: facts %+v", u.Incident.Organisation, u.Facts)
		}
	}
	if f := ups[3][0].Facts; f.Organisations != 4 || f.T1Organisations != 4 || f.T1Sectors != 1 || f.SourceClusters != 2 {
		t.Errorf("fourth bank: facts %+v", f)
	}

	lone := tracker(t, 0)
	u := lone.Observe(wipe("198.18.1.1", "10.20.3.21", 0))
	if c := u[0].Assessment.Candidacy; c == severity.CandidacyAAC || c == severity.CandidacyAACPending {
		t.Errorf("one bank, unattributed: candidacy %s", c)
	}
}

// One attributed source probing thousands of unknown /24s must not
// re-assess every member for every new one, and the campaign keeps at most
// MaxCampaignOrganisations names however many organisations it counts.
func TestCampaignSprayStaysLinear(t *testing.T) {
	tr := tracker(t, 0)
	const n = 5000
	var updates int
	var last []Update
	for i := range n {
		target := fmt.Sprintf("172.%d.%d.1", 16+i/256, i%256)
		last = tr.Observe(recon("203.0.113.10", target, time.Duration(i)*time.Second))
		updates += len(last)
		// The campaign crosses 3 and 10 organisations: 2 + 9 other members
		// are re-assessed then, and never again.
		if updates > i+1+11 {
			t.Fatalf("after %d signals, %d updates: members are re-assessed for every new organisation", i+1, updates)
		}
	}
	if updates != n+11 {
		t.Errorf("%d updates, want %d", updates, n+11)
	}
	c := last[0].Campaign
	if c == nil {
		t.Fatal("no campaign")
	}
	if got := c.OrganisationCount(); got != n {
		t.Errorf("campaign counts %d organisations, want %d", got, n)
	}
	if got := len(c.Organisations(0)); got != 1000 {
		t.Errorf("campaign names %d organisations, want the default cap 1000", got)
	}
	if got := last[0].Facts.Organisations; got != n {
		t.Errorf("facts say %d organisations, want %d", got, n)
	}
	if s := tr.Stats(); s.Saturated != n-1000 || s.Campaigns != 1 {
		t.Errorf("stats %+v, want %d saturated and 1 campaign", s, n-1000)
	}
	names := c.Organisations(20)
	if len(names) != 20 || !slices.IsSorted(names) {
		t.Errorf("Organisations(20) = %v", names)
	}
}

// An organisation's tier-1 host hit after its tier-3 host must count it as
// tier 1 in its campaign, as when the hosts are hit the other way round.
func TestTierOrderDoesNotMatter(t *testing.T) {
	facts := func(first, second string) severity.Facts {
		tr := tracker(t, 0)
		tr.Observe(wipe("192.0.2.50", "10.20.3.21", 0))
		tr.Observe(wipe("192.0.2.50", "10.21.3.21", time.Minute))
		tr.Observe(wipe("203.0.113.50", first, 2*time.Minute))
		u := tr.Observe(wipe("203.0.113.50", second, 3*time.Minute))
		if u[0].Incident.Organisation != "Delta Water" || u[0].Incident.Tier != 1 {
			t.Fatalf("incident %s at tier %d, want Delta Water at tier 1", u[0].Incident.Organisation, u[0].Incident.Tier)
		}
		if u[0].Assessment.Candidacy != severity.CandidacyAAC {
			t.Errorf("%s then %s: candidacy %s, want %s", first, second, u[0].Assessment.Candidacy, severity.CandidacyAAC)
		}
		return u[0].Facts
	}
	tier3First := facts("10.40.1.1", "10.40.7.1")
	tier1First := facts("10.40.7.1", "10.40.1.1")
	if !reflect.DeepEqual(tier3First, tier1First) {
		t.Errorf("facts depend on the order of the hosts:\ntier 3 first %+v\ntier 1 first %+v", tier3First, tier1First)
	}
	if tier3First.T1Organisations != 3 || tier3First.T1Sectors != 2 {
		t.Errorf("tier-1 organisations %d, sectors %d; want 3 and 2", tier3First.T1Organisations, tier3First.T1Sectors)
	}
}

// When a graver actor takes an incident over, the old campaign loses what
// the incident brought and disappears once empty.
func TestActorSwitchLeavesOldCampaign(t *testing.T) {
	tr := tracker(t, 0)
	tr.Observe(wipe("198.51.100.7", "10.30.0.80", 0))           // CRIMSON-LYNX: Acme Retail
	tr.Observe(wipe("198.51.100.7", "10.20.3.21", time.Minute)) // and Harbor Bank
	acme := tr.incidents["Acme Retail"]
	if f := tr.Facts(acme); f.Organisations != 2 || f.SectorsCount != 2 {
		t.Fatalf("before the switch: facts %+v", f)
	}
	ups := tr.Observe(wipe("203.0.113.50", "10.20.3.21", 2*time.Minute)) // ELECTRUM-7 takes Harbor Bank
	if got := ups[0].Incident.Campaign; got != "ELECTRUM-7" {
		t.Fatalf("Harbor Bank in campaign %q", got)
	}
	f := tr.Facts(acme)
	if f.Organisations != 1 || !slices.Equal(f.Sectors, []string{"commercial"}) || f.SectorsCount != 1 || f.T1Organisations != 0 {
		t.Errorf("old campaign kept what Harbor Bank brought: facts %+v", f)
	}
	// Its sector set shrank, so Acme Retail was re-assessed with the switch.
	if len(ups) != 2 || ups[1].Incident != acme || ups[1].Facts.Organisations != 1 {
		t.Errorf("updates after the switch: %d, want Harbor Bank then Acme Retail", len(ups))
	}
	if s := tr.Stats(); s.Campaigns != 2 {
		t.Errorf("%d campaigns, want 2", s.Campaigns)
	}
	tr.Observe(wipe("203.0.113.50", "10.30.0.80", 3*time.Minute)) // and Acme Retail
	if s := tr.Stats(); s.Campaigns != 1 {
		t.Errorf("%d campaigns after the old one emptied, want 1", s.Campaigns)
	}
	if f := tr.Facts(acme); f.Organisations != 2 || f.SourceClusters != 1 {
		t.Errorf("new campaign: facts %+v (CRIMSON-LYNX's cluster is not ELECTRUM-7's)", f)
	}
}

// An evicted incident leaves its campaign; an emptied campaign is deleted.
func TestEvictionLeavesCampaign(t *testing.T) {
	tr := New(Options{Intel: mustIntel(t), MaxIncidents: 3})
	var last []Update
	for i := range 4 {
		last = tr.Observe(recon("203.0.113.10", fmt.Sprintf("172.16.%d.1", i), time.Duration(i)*time.Minute))
	}
	if ids := tr.Evicted(); len(ids) != 1 || ids[0] != IncidentID("unknown 172.16.0.0/24") {
		t.Fatalf("evicted %v, want the first organisation", ids)
	}
	c := last[0].Campaign
	if got, want := c.Organisations(0), []string{"unknown 172.16.1.0/24", "unknown 172.16.2.0/24", "unknown 172.16.3.0/24"}; !slices.Equal(got, want) {
		t.Errorf("campaign names %v, want %v", got, want)
	}
	if f := last[0].Facts; f.Organisations != 3 {
		t.Errorf("facts count %d organisations, want 3", f.Organisations)
	}

	one := New(Options{Intel: mustIntel(t), MaxIncidents: 1})
	one.Observe(recon("203.0.113.10", "172.16.0.1", 0))
	one.Observe(recon("198.18.0.1", "172.17.0.1", time.Minute))
	if s := one.Stats(); s.Campaigns != 0 || s.Incidents != 1 {
		t.Errorf("stats %+v, want no campaign once its only member is evicted", s)
	}
}

// The eviction heap picks the same victim as a scan over every incident.
func TestEvictionOrderMatchesScan(t *testing.T) {
	tr := New(Options{Intel: mustIntel(t), MaxIncidents: 5})
	rng := rand.New(rand.NewPCG(1, 2))
	sources := []string{"203.0.113.10", "198.51.100.7", "198.18.0.1"}
	for i := range 2000 {
		target := fmt.Sprintf("172.16.%d.1", rng.IntN(12))
		at := time.Duration(rng.IntN(3600)) * time.Second // out of order too
		sig := recon(sources[rng.IntN(len(sources))], target, at)
		if rng.IntN(4) == 0 {
			sig = wipe(sig.Source, target, at)
		}
		var want string
		if org := "unknown " + cluster(target); tr.incidents[org] == nil && len(tr.incidents) == 5 {
			var victim *Incident
			for _, inc := range tr.incidents {
				if victim == nil || lessValuable(inc, victim) {
					victim = inc
				}
			}
			want = victim.ID
		}
		tr.Observe(sig)
		got := tr.Evicted()
		if (want == "") != (len(got) == 0) || (want != "" && got[0] != want) {
			t.Fatalf("signal %d: evicted %v, want %q", i, got, want)
		}
	}
}

// Strings from telemetry are clipped where they enter, on a UTF-8 boundary.
func TestObserveClipsTelemetry(t *testing.T) {
	tr := tracker(t, 0)
	src := strings.Repeat("é", 300)                            // 600 bytes
	dst := "host-" + strings.Repeat("ß", 200) + ".example.org" // unknown host
	u := tr.Observe(recon(src, dst, 0))
	inc := u[0].Incident
	for _, s := range append(append([]string{inc.Organisation}, inc.Sources.Sorted()...), inc.Targets.Sorted()...) {
		if len(s) > 255 || !utf8.ValidString(s) {
			t.Errorf("kept %d bytes (valid UTF-8 %v): %.40q...", len(s), utf8.ValidString(s), s)
		}
	}
	if again := tr.Observe(recon(src, dst, time.Minute)); again[0].Incident != inc {
		t.Errorf("the same long target gave a second incident")
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

// The campaign's scale must change wherever the policy's verdict can
// change with a campaign count, or members keep stale assessments.
func TestScaleCoversThePolicy(t *testing.T) {
	p := severity.Default()
	wiper := severity.Facts{
		Techniques: []string{"T1485", "T1561.002"}, Tactics: []string{"TA0040"}, Classes: []string{"destructive"},
		Tier: 1, Location: 3, ActorKind: "apt-targeted", StateNexus: 0.7, StateNexusBasis: "test",
		Targets: 1, Organisations: 1, Sectors: []string{"finance"}, SectorsCount: 1, T1Organisations: 1, T1Sectors: 1, SourceClusters: 1,
	}
	concerted := wiper
	concerted.SourceClusters, concerted.Concerted = 2, true
	wide := concerted
	wide.T1Organisations = 3
	wide.Organisations = 3
	lone := wiper
	lone.T1Organisations, lone.Organisations = 3, 3
	scan := severity.Facts{Techniques: []string{"T1595.001"}, Tactics: []string{"TA0043"}, Classes: []string{"reconnaissance"},
		Tier: 3, ActorKind: "apt-targeted", StateNexus: 0.7, Targets: 1, Organisations: 1, SourceClusters: 1}
	bases := []struct {
		name string
		f    severity.Facts
	}{{"wiper", wiper}, {"concerted wiper", concerted}, {"wide wiper", wide}, {"lone wiper", lone}, {"scan", scan}}
	counts := []struct {
		name string
		set  func(*severity.Facts, int)
	}{
		{"organisations", func(f *severity.Facts, n int) { f.Organisations = max(n, f.T1Organisations) }},
		{"tier-1 organisations", func(f *severity.Facts, n int) { f.T1Organisations = n; f.Organisations = max(n, f.Organisations) }},
		{"tier-1 sectors", func(f *severity.Facts, n int) { f.T1Sectors = n }},
		{"source clusters", func(f *severity.Facts, n int) { f.SourceClusters, f.Concerted = n, n >= 2 }},
	}
	scaleOfFacts := func(f severity.Facts) scale {
		return scaleOf(f.Organisations, f.T1Organisations, f.T1Sectors, f.SourceClusters, f.Sectors)
	}
	for _, b := range bases {
		for _, c := range counts {
			var prev severity.Assessment
			var prevScale scale
			for n := 1; n <= 30; n++ {
				f := b.f
				c.set(&f, n)
				a := p.Assess(f)
				if n > 1 && (a.Score != prev.Score || a.Level != prev.Level || a.Candidacy != prev.Candidacy) && scaleOfFacts(f) == prevScale {
					t.Errorf("%s: %s %d→%d changes the assessment (L%d %s %.1f → L%d %s %.1f) but not the campaign's scale",
						b.name, c.name, n-1, n, prev.Level, prev.Candidacy, prev.Score, a.Level, a.Candidacy, a.Score)
				}
				prev, prevScale = a, scaleOfFacts(f)
			}
		}
	}
}

func TestTransitionOnlyOnSameTarget(t *testing.T) {
	tr := tracker(t, 0)
	tr.Observe(recon("203.0.113.10", "10.20.0.5", 0))
	u := tr.Observe(wipe("203.0.113.50", "10.20.3.21", time.Hour))
	if d := u[0].Incident.ReconToEffect; d != 0 {
		t.Errorf("transition %s across different targets", d)
	}
	tr.Observe(recon("203.0.113.10", "10.20.3.21", 2*time.Hour))
	u = tr.Observe(wipe("203.0.113.50", "10.20.3.21", 3*time.Hour+12*time.Minute))
	if d := u[0].Incident.ReconToEffect; d != time.Hour+12*time.Minute {
		t.Errorf("transition %s, want 1h12m", d)
	}
}

// A spray of scans against new organisations must not evict an incident
// that reached a high level.
func TestEvictionKeepsGraveIncidents(t *testing.T) {
	tr := tracker(t, 3)
	for i, site := range []string{"10.20", "10.21"} {
		tr.Observe(wipe("203.0.113.50", site+".3.21", time.Duration(i)*time.Minute))
	}
	for i := 0; i < 50; i++ {
		tr.Observe(recon("198.18.0.1", "172.16."+itoa(i)+".1", time.Hour+time.Duration(i)*time.Second))
	}
	s := tr.Stats()
	if s.Incidents != 3 || s.Evictions != 49 {
		t.Errorf("stats %+v, want 3 incidents and 49 evictions", s)
	}
	for _, org := range []string{"Harbor Bank", "Meridian Bank"} {
		if tr.incidents[org] == nil {
			t.Errorf("%s was evicted by scanning noise", org)
		}
	}
	if ids := tr.Evicted(); len(ids) != 49 {
		t.Errorf("Evicted returned %d ids", len(ids))
	}
	if ids := tr.Evicted(); len(ids) != 0 {
		t.Errorf("Evicted did not clear")
	}
}

func TestDistinctSetsAreBounded(t *testing.T) {
	inv, _ := assets.Load("testdata/assets.yaml")
	tr := New(Options{Assets: inv, MaxDistinct: 10})
	for i := 0; i < 100; i++ {
		tr.Observe(recon("198.18.0."+itoa(i), "10.20.0.5", time.Duration(i)*time.Second))
	}
	inc := tr.incidents["Harbor Bank"]
	if len(inc.Sources) != 10 {
		t.Errorf("sources %d, want the cap 10", len(inc.Sources))
	}
	if tr.Stats().Saturated == 0 {
		t.Errorf("saturation not counted")
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

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestDenialLastsWhileItsSignalsKeepComing(t *testing.T) {
	flood := func(at time.Duration) event.Signal {
		return event.Signal{RuleID: "flood", Class: event.ClassDestructive, Tactics: []string{"TA0040"}, Techniques: []string{"T1498.001"},
			Time: t0.Add(at), Source: "198.18.0.1", Target: "10.20.0.80", Count: 30}
	}
	tr := tracker(t, 0)
	var u []Update
	for m := 0; m <= 30; m++ { // a flood signalled every minute for 30 minutes
		u = tr.Observe(flood(time.Duration(m) * time.Minute))
	}
	if d := u[0].Facts.DenialFor; d != 30*time.Minute {
		t.Errorf("continuous flood: denial %s, want 30m", d)
	}
	// A second one-minute flood two days later does not make it a 48-hour denial.
	tr.Observe(flood(48 * time.Hour))
	u = tr.Observe(flood(48*time.Hour + time.Minute))
	if d := u[0].Facts.DenialFor; d != 30*time.Minute {
		t.Errorf("two floods two days apart: denial %s, want the longer run, 30m", d)
	}
	// A record stamped long before, out of order, is a run of its own.
	u = tr.Observe(flood(-400 * 24 * time.Hour))
	if d := u[0].Facts.DenialFor; d != 30*time.Minute {
		t.Errorf("out-of-order old flood: denial %s, want 30m", d)
	}
}
