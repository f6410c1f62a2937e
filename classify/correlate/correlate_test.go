package correlate

import (
	"testing"
	"time"

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
	var last []Update
	for i, site := range []string{"10.20", "10.21", "10.22", "10.23"} {
		src := "203.0.113.50"
		if i%2 == 1 {
			src = "192.0.2.50"
		}
		last = tr.Observe(wipe(src, site+".3.21", time.Duration(i)*10*time.Minute))
	}
	// The fourth bank widened the campaign: every member was re-assessed.
	if len(last) != 4 {
		t.Fatalf("%d updates after the campaign widened, want 4 (one per bank)", len(last))
	}
	for _, u := range last {
		if u.Assessment.Candidacy != severity.CandidacyAAC || u.Assessment.Level != 4 {
			t.Errorf("%s: L%d %s, want L4 armed-attack-candidate (gates %v)", u.Incident.Organisation, u.Assessment.Level, u.Assessment.Candidacy, u.Assessment.Gates)
		}
		if u.Facts.Organisations != 4 || !u.Facts.Concerted {
			t.Errorf("%s: facts %+v", u.Incident.Organisation, u.Facts)
		}
	}

	lone := tracker(t, 0)
	u := lone.Observe(wipe("198.18.1.1", "10.20.3.21", 0))
	if c := u[0].Assessment.Candidacy; c == severity.CandidacyAAC || c == severity.CandidacyAACPending {
		t.Errorf("one bank, unattributed: candidacy %s", c)
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

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
