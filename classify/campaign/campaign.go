package campaign

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/severity"
)

// Links, as escalations name them.
const (
	LinkActor          = "actor"
	LinkInfrastructure = "infrastructure"
	LinkTechniques     = "techniques"
)

// member is an incident the stage knows.
type member struct {
	s   correlate.Summary
	key string // campaign key
	// level is the incident's latest assessed level; scale the scale of
	// its campaign when it was assessed.
	level    int
	scale    scale
	scaleSet bool
	slot     int
	// episode is the first escalation episode of the incident's ladder
	// here: 0 when the stage met the incident at its first summary, else
	// derived from its campaign key and the version it arrived at (see
	// firstEpisode).
	episode int
}

// firstEpisode is the escalation episode an incident's ladder starts at
// when the task meets it. An incident met at its first summary starts at
// 0. One met later has been known before, by this task or another: it
// moved from another campaign key (attribution arrived: the old key's task
// forgot it) or was evicted here and came back. Its old ladder is lost, so
// a fresh one starting at episode 0 would publish the levels told before
// under the same escalation ids with other bodies. Starting at an episode
// derived from the key and version keeps its ids apart from those; the
// offset is far above any count of de-escalations.
func firstEpisode(s correlate.Summary) int {
	if s.Version <= 1 {
		return 0
	}
	h := sha256.Sum256(fmt.Appendf(nil, "casus/campaign/episode/v1\x00%s\x00%s\x00%d", s.ID, s.CampaignKey(), s.Version))
	return 1<<16 + int(binary.BigEndian.Uint32(h[:4])%(1<<30))
}

// group is a campaign: linked incidents and how they are linked.
type group struct {
	id       string
	members  []*member // in incident id order
	linkedBy []string
}

// Scale is a campaign's breadth reduced to the thresholds the policy reads:
// the potential factor rises at 3 and 10 organisations, 2 and 3 sectors, or
// 2 source clusters; candidacy (d) needs 3 tier-1 organisations or 2
// tier-1 sectors; the L5 gate needs 10 organisations or 3 sectors. Sectors
// count by name too (cross-sector value, government or defence).
type scale struct {
	Orgs      int    `json:"orgs"`
	T1Orgs    int    `json:"t1_orgs"`
	T1Sectors int    `json:"t1_sectors"`
	Clusters  int    `json:"clusters"`
	Sectors   string `json:"sectors"`
}

func step(n int, thresholds ...int) int {
	k := 0
	for _, th := range thresholds {
		if n >= th {
			k++
		}
	}
	return k
}

// breadth is a campaign's facts as of an event time.
type breadth struct {
	orgs, t1Orgs []string
	sectors      []string
	t1Sectors    []string
	clusters     int
	gov          bool
}

// counts reports whether a member adds to its campaign's scale at t: any
// incident beyond reconnaissance does; a reconnaissance-only one while its
// decayed weight lasts.
func counts(m *member, t time.Time, half time.Duration) bool {
	if m.s.Class != "reconnaissance" {
		return true
	}
	w := m.s.ReconWeight
	if half > 0 && t.After(m.s.Time) {
		w *= math.Exp2(-float64(t.Sub(m.s.Time)) / float64(half))
	}
	return w >= 0.5
}

func (g *group) breadth(t time.Time, half time.Duration) breadth {
	orgs, t1, sectors, t1s, clusters := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var b breadth
	for _, m := range g.members {
		if !counts(m, t, half) {
			continue
		}
		orgs[m.s.Organisation] = true
		if m.s.Sector != "" {
			sectors[m.s.Sector] = true
		}
		if m.s.Tier == 1 {
			t1[m.s.Organisation] = true
			if m.s.Sector != "" {
				t1s[m.s.Sector] = true
			}
		}
		for _, c := range m.s.LinkClusters {
			clusters[c] = true
		}
		if slices.Contains(g.linkedBy, LinkActor) {
			for _, c := range m.s.Clusters {
				clusters[c] = true
			}
		}
	}
	b.orgs, b.t1Orgs, b.sectors, b.t1Sectors = keys(orgs), keys(t1), keys(sectors), keys(t1s)
	b.clusters = len(clusters)
	b.gov = sectors["government"] || sectors["defence"]
	return b
}

func (b breadth) scale() scale {
	return scale{
		Orgs:      step(len(b.orgs), 3, 10),
		T1Orgs:    step(len(b.t1Orgs), 3),
		T1Sectors: step(len(b.t1Sectors), 2),
		Clusters:  step(b.clusters, 2),
		Sectors:   strings.Join(b.sectors, ","),
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// facts widens an incident's own facts by its campaign.
func facts(m *member, g *group, b breadth) severity.Facts {
	f := m.s.Facts()
	if g == nil || len(g.members) < 2 {
		return f
	}
	f.Organisations = max(len(b.orgs), 1)
	f.Sectors = b.sectors
	f.SectorsCount = len(b.sectors)
	f.T1Organisations, f.T1Sectors = len(b.t1Orgs), len(b.t1Sectors)
	f.GovDefense = f.GovDefense || b.gov
	f.SourceClusters = max(f.SourceClusters, b.clusters)
	f.Concerted = f.SourceClusters >= 2
	return f
}

// groupID names a campaign: its actor, else its first incident.
func groupID(key string, members []*member) string {
	seed := key
	if key == correlate.KeyNational {
		seed = members[0].s.ID
	}
	h := sha256.Sum256([]byte("casus/campaign/v1\x00" + seed))
	return "cmp-" + hex.EncodeToString(h[:8])
}

// view is what an escalation says of a campaign.
func view(g *group, b breadth) *escalate.Campaign {
	if g == nil || len(g.members) < 2 {
		return nil
	}
	orgs := b.orgs
	if len(orgs) == 0 {
		orgs = []string{}
	}
	return &escalate.Campaign{
		ID: g.id, LinkedBy: slices.Clone(g.linkedBy), Incidents: len(g.members),
		Organisations: first(orgs, escalate.ListedOrganisations), OrganisationCount: len(b.orgs),
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n:n]
	}
	return s
}
