package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/casus-sec/casus/classify/severity"
)

// Summary is an incident as the campaign stage sees it: published on the
// incidents topic whenever something the campaign stage reads changed, and
// once more when the incident closes or leaves the stage.
type Summary struct {
	ID           string    `json:"id"`
	Version      uint64    `json:"version"`
	Time         time.Time `json:"time"` // event time of the change
	Organisation string    `json:"organisation"`
	Sector       string    `json:"sector,omitempty"`
	Tier         int       `json:"tier"`
	Location     int       `json:"location,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Class        string    `json:"class"`
	Classes      []string  `json:"classes"`
	Techniques   []string  `json:"techniques"`
	Tactics      []string  `json:"tactics"`
	// GraveTechniques are the techniques of the gravest class seen.
	GraveTechniques []string `json:"grave_techniques"`
	Targets         int      `json:"targets"` // distinct targets, reconnaissance-only ones decayed
	Sources         int      `json:"sources"`
	Ports           int      `json:"ports"` // distinct destination ports
	SourceSample    []string `json:"source_sample"`
	// Clusters are the source /24s (/64s); LinkClusters those of sources
	// that did more than reconnaissance.
	Clusters      []string       `json:"clusters"`
	LinkClusters  []string       `json:"link_clusters"`
	Actor         Actor          `json:"actor"`
	ReconToEffect time.Duration  `json:"recon_to_effect,omitempty"`
	LongestDenial time.Duration  `json:"longest_denial,omitempty"`
	ReconWeight   float64        `json:"recon_weight"` // decayed reconnaissance signals as of Time
	Evidence      []EvidenceItem `json:"evidence"`
	// Closed is set on the last summary of an incident: "quiet" after the
	// policy's close_after without signals, "evicted" when the stage
	// made room, "moved" when it joined another campaign.
	Closed string `json:"closed,omitempty"`
}

// Closing reasons.
const (
	ClosedQuiet   = "quiet"
	ClosedEvicted = "evicted"
	ClosedMoved   = "moved"
)

// Actor is what intelligence says about an incident's gravest source.
type Actor struct {
	Name       string  `json:"name,omitempty"`
	Kind       string  `json:"kind,omitempty"`
	Sponsor    string  `json:"sponsor,omitempty"`
	Basis      string  `json:"basis,omitempty"`
	StateNexus float64 `json:"state_nexus,omitempty"`
}

// Known reports whether intelligence names the actor.
func (a Actor) Known() bool { return a.Name != "" }

// KeyNational is the campaign key of incidents no intelligence attributes:
// the campaign stage links them by shared infrastructure and techniques,
// which needs them side by side.
const KeyNational = "national"

// CampaignKey is the key a summary is published under: its actor's
// campaign when attributed, else the national view.
func (s *Summary) CampaignKey() string {
	if s.Actor.Known() {
		return "actor/" + s.Actor.Name
	}
	return KeyNational
}

// Summarise returns the incident's summary as of event time at.
func (inc *Incident) Summarise(at time.Time, half time.Duration) Summary {
	s := Summary{
		ID: inc.ID, Version: inc.Version, Time: at,
		Organisation: inc.Organisation, Sector: inc.Sector, Tier: inc.Tier, Location: inc.Location,
		FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen,
		Class: string(inc.Class), Classes: inc.Classes.Sorted(), Techniques: inc.Techniques.Sorted(),
		Tactics: inc.Tactics.Sorted(), GraveTechniques: inc.ClassTechniques[inc.Class].Sorted(),
		Targets: inc.targets(at, half), Sources: inc.Sources.Count(), Ports: inc.Ports.Count(), SourceSample: sample(inc, 5),
		Clusters: first(inc.Clusters.Sorted(), 64), LinkClusters: first(inc.LinkClusters.Sorted(), 64),
		ReconToEffect: inc.ReconToEffect, LongestDenial: inc.LongestDenial,
		ReconWeight: math.Round(decayed(inc.ReconWeight, inc.ReconAsOf, at, half)*1000) / 1000,
		Evidence:    slices.Clone(inc.Evidence),
	}
	if inc.Actor.Known {
		s.Actor = Actor{Name: inc.Actor.Name, Kind: inc.Actor.Kind, Sponsor: inc.Actor.Sponsor, Basis: inc.Actor.Basis, StateNexus: inc.Actor.StateNexus}
	}
	if s.Evidence == nil {
		s.Evidence = []EvidenceItem{}
	}
	return s
}

// targets counts the incident's distinct targets with those first met by
// reconnaissance decayed, so background scanning does not pile up.
func (inc *Incident) targets(at time.Time, half time.Duration) int {
	all := inc.Targets.Count()
	recon := math.Round(decayed(inc.ReconTargets, inc.ReconAsOf, at, half))
	// Targets first met by reconnaissance count as their decayed weight.
	n := all - min(len(inc.ReconOnly), all) + int(recon)
	return max(min(n, all), min(1, all))
}

func sample(inc *Incident, n int) []string {
	vals := inc.Sources.Values()
	return first(vals, n)
}

func first(s []string, n int) []string {
	if s == nil {
		return []string{}
	}
	if len(s) > n {
		return s[:n:n]
	}
	return s
}

// Facts is the incident's own facts for the policy, without its campaign.
func (s *Summary) Facts() severity.Facts {
	f := severity.Facts{
		Techniques:      s.Techniques,
		Tactics:         s.Tactics,
		Classes:         s.Classes,
		Tier:            s.Tier,
		Location:        s.Location,
		ActorKind:       s.Actor.Kind,
		StateNexus:      s.Actor.StateNexus,
		StateNexusBasis: s.Actor.Basis,
		Targets:         s.Targets,
		Organisations:   1,
		ReconToEffect:   s.ReconToEffect,
		DenialFor:       s.LongestDenial,
		Physical:        slices.Contains(s.Techniques, "T0879") || slices.Contains(s.Techniques, "T0880"),
	}
	if s.Sector != "" {
		f.Sectors = []string{s.Sector}
		f.SectorsCount = 1
		f.GovDefense = s.Sector == "government" || s.Sector == "defence"
	}
	if s.Tier == 1 {
		f.T1Organisations = 1
		if s.Sector != "" {
			f.T1Sectors = 1
		}
	}
	if s.Sources > 0 {
		f.SourceClusters = 1
	}
	return f
}

// Facts summarises the incident for the policy, on its own.
func (inc *Incident) Facts(half time.Duration) severity.Facts {
	// The fields Summary.Facts reads, without the summary's other copies.
	s := Summary{
		Organisation: inc.Organisation, Sector: inc.Sector, Tier: inc.Tier, Location: inc.Location,
		Classes: inc.Classes.Sorted(), Techniques: inc.Techniques.Sorted(), Tactics: inc.Tactics.Sorted(),
		Targets: inc.targets(inc.LastSeen, half), Sources: inc.Sources.Count(),
		ReconToEffect: inc.ReconToEffect, LongestDenial: inc.LongestDenial,
	}
	if inc.Actor.Known {
		s.Actor = Actor{Name: inc.Actor.Name, Kind: inc.Actor.Kind, Basis: inc.Actor.Basis, StateNexus: inc.Actor.StateNexus}
	}
	return s.Facts()
}

// material is what of a summary the campaign stage reads, with the counts
// coarsened to powers of two so that a growing spray does not publish a
// summary per signal.
func (s *Summary) material() string {
	m := *s
	m.Version, m.Time, m.LastSeen = 0, time.Time{}, time.Time{}
	m.Targets, m.Sources, m.Ports = bucket(m.Targets), bucket(m.Sources), bucket(m.Ports)
	m.ReconWeight = math.Floor(math.Log2(1 + m.ReconWeight))
	if len(m.SourceSample) >= 5 {
		m.SourceSample = nil
	}
	// A denial lengthens with every flood signal, which published a
	// summary per signal: only its order of magnitude, and whether it
	// reached the 24h the policy's candidacy test reads, are material.
	m.LongestDenial = time.Duration(bucket(int(s.LongestDenial/time.Minute))) * time.Minute
	b, err := json.Marshal(struct {
		Summary
		DenialDay bool `json:"denial_day"`
	}{m, s.LongestDenial >= denialForce})
	if err != nil {
		panic(fmt.Sprintf("correlate: marshal summary: %v", err)) // plain data always marshals
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// denialForce is how long a denial of a tier-1 service must last for the
// severity policy to count it as a qualifying effect (severity-model §6.4).
const denialForce = 24 * time.Hour

// bucket keeps small counts and rounds larger ones down to a power of two.
func bucket(n int) int {
	if n <= 16 {
		return n
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// MarshalJSON encodes a set as a sorted array.
func (s Set) MarshalJSON() ([]byte, error) { return json.Marshal(s.Sorted()) }

// UnmarshalJSON decodes a sorted (or any) array of strings.
func (s *Set) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("decode set: %w", err)
	}
	*s = make(Set, len(list))
	for _, k := range list {
		(*s)[k] = struct{}{}
	}
	return nil
}
