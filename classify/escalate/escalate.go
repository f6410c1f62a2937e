package escalate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/severity"
)

// EventType is the CloudEvents type of an escalation.
const EventType = "casus.escalation.v1"

// DecisionConsultation is the only decision casus ever states: the people
// who decide are to be consulted. casus never makes the determination.
const DecisionConsultation = "case-by-case consultation required"

// Escalation is the CloudEvents 1.0 structured envelope.
type Escalation struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Data            Data   `json:"data"`
}

// Data is the escalation payload.
type Data struct {
	IncidentID       string                   `json:"incident_id"`
	Level            int                      `json:"level"`
	LevelName        string                   `json:"level_name"`
	PreviousLevel    int                      `json:"previous_level"`
	Candidacy        severity.Candidacy       `json:"candidacy"`
	Class            string                   `json:"class"`
	Tactics          []string                 `json:"tactics"`
	Techniques       []string                 `json:"techniques"`
	FunctionalImpact string                   `json:"functional_impact"`
	Targets          Targets                  `json:"targets"`
	Sources          Sources                  `json:"sources"`
	Score            float64                  `json:"score"`
	Factors          []severity.Factor        `json:"factors"`
	Gates            []string                 `json:"gates"`
	Transition       string                   `json:"transition,omitempty"`
	Checklist        []severity.Check         `json:"checklist,omitempty"`
	Window           Window                   `json:"window"`
	Evidence         []correlate.EvidenceItem `json:"evidence"`
	Rationale        string                   `json:"rationale"`
	Decision         string                   `json:"decision,omitempty"`
	Policy           severity.PolicyRef       `json:"policy"`
}

// Targets describes who was hit.
// Organisation, Sector and Tier are the incident's own; Organisations,
// OrganisationCount and Sectors span its campaign (the same attributed
// actor), which is where scale is judged.
type Targets struct {
	Organisation string `json:"organisation"`
	Sector       string `json:"sector,omitempty"`
	Tier         int    `json:"tier"`
	HostCount    int    `json:"host_count"`
	// Organisations are the first ListedOrganisations names in sorted order
	// of those the campaign keeps; OrganisationCount counts them all.
	Organisations     []string `json:"organisations"`
	OrganisationCount int      `json:"organisation_count"`
	Sectors           []string `json:"sectors"`
}

// ListedOrganisations bounds Targets.Organisations, so an escalation's size
// does not grow with its campaign.
const ListedOrganisations = 20

// Sources describes who acted.
type Sources struct {
	Count           int      `json:"count"`
	Sample          []string `json:"sample"`
	Clusters        int      `json:"clusters"`
	Actor           string   `json:"actor,omitempty"`
	StateNexus      float64  `json:"state_nexus_confidence"`
	StateNexusBasis string   `json:"state_nexus_basis,omitempty"`
}

// Window is the event-time span of the incident.
type Window struct {
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Options configure a Ladder.
type Options struct {
	Source   string // CloudEvents source, e.g. "casus/<group>"
	MinLevel int    // lowest level that escalates (DESIGN: default 1)
}

// Ladder remembers the highest level and candidacy each incident escalated
// at. Not safe for concurrent use.
type Ladder struct {
	opt  Options
	last map[string]rung
}

type rung struct {
	level     int
	candidacy int
}

// NewLadder returns a Ladder.
func NewLadder(opt Options) *Ladder {
	if opt.Source == "" {
		opt.Source = "casus"
	}
	return &Ladder{opt: opt, last: map[string]rung{}}
}

// Len is the number of incidents the ladder remembers.
func (l *Ladder) Len() int { return len(l.last) }

// Forget drops what the ladder remembers of an incident (after eviction).
func (l *Ladder) Forget(incidentID string) { delete(l.last, incidentID) }

// Consider returns an escalation when the update raises the incident's level
// or candidacy above the highest published for it. Both only ratchet up, so
// each (level, candidacy) pair is published at most once per incident, and a
// level that dips and returns is never republished, however long after.
func (l *Ladder) Consider(u correlate.Update) (Escalation, bool) {
	a := u.Assessment
	prev, seen := l.last[u.Incident.ID]
	cand := candidacyRank(a.Candidacy)
	rises := a.Level > prev.level || cand > prev.candidacy
	if !seen {
		rises = a.Level >= l.opt.MinLevel || cand > 0
	}
	if !rises || (a.Level < l.opt.MinLevel && cand == 0) {
		return Escalation{}, false
	}
	l.last[u.Incident.ID] = rung{level: max(a.Level, prev.level), candidacy: max(cand, prev.candidacy)}
	return l.build(u, prev.level), true
}

func candidacyRank(c severity.Candidacy) int {
	switch c {
	case severity.CandidacySignificant:
		return 1
	case severity.CandidacyAACPending:
		return 2
	case severity.CandidacyAAC:
		return 3
	}
	return 0
}

// ID derives an escalation's id.
func ID(incidentID string, level int, c severity.Candidacy, p severity.PolicyRef) string {
	h := sha256.Sum256(fmt.Appendf(nil, "casus/escalation/v1\x00%s\x00%d\x00%s\x00%s\x00%s", incidentID, level, c, p.Name, p.Version))
	return "esc-" + hex.EncodeToString(h[:12])
}

func (l *Ladder) build(u correlate.Update, previous int) Escalation {
	inc, a, f := u.Incident, u.Assessment, u.Facts
	d := Data{
		IncidentID:       inc.ID,
		Level:            a.Level,
		LevelName:        a.LevelName,
		PreviousLevel:    previous,
		Candidacy:        a.Candidacy,
		Class:            string(inc.Class),
		Tactics:          nonNil(f.Tactics),
		Techniques:       nonNil(f.Techniques),
		FunctionalImpact: a.Impact,
		Targets: Targets{
			Organisation:      inc.Organisation,
			Sector:            inc.Sector,
			Organisations:     []string{inc.Organisation},
			OrganisationCount: 1,
			Sectors:           nonNil(f.Sectors),
			Tier:              inc.Tier,
			HostCount:         len(inc.Targets),
		},
		Sources: Sources{
			Count:           len(inc.Sources),
			Sample:          sample(inc, 5),
			Clusters:        f.SourceClusters,
			Actor:           inc.Actor.Name,
			StateNexus:      inc.Actor.StateNexus,
			StateNexusBasis: inc.Actor.Basis,
		},
		Score:     a.Score,
		Factors:   a.Factors,
		Gates:     nonNil(a.Gates),
		Checklist: a.Checklist,
		Window:    Window{FirstSeen: inc.FirstSeen.UTC(), LastSeen: inc.LastSeen.UTC()},
		Evidence:  append([]correlate.EvidenceItem(nil), inc.Evidence...),
		Policy:    a.Policy,
	}
	if u.Campaign != nil {
		d.Targets.Organisations = nonNil(u.Campaign.Organisations(ListedOrganisations))
		d.Targets.OrganisationCount = u.Campaign.OrganisationCount()
	}
	if inc.ReconToEffect > 0 {
		d.Transition = fmt.Sprintf("reconnaissance → destructive in %s", humanDuration(inc.ReconToEffect))
	}
	switch a.Candidacy {
	case severity.CandidacyAAC:
		d.Decision = DecisionConsultation
	case severity.CandidacyAACPending:
		d.Decision = DecisionConsultation + "; attribution pending"
	}
	d.Rationale = rationale(d, f, inc.ClassTechniques[inc.Class].Sorted())
	return Escalation{
		SpecVersion:     "1.0",
		ID:              ID(inc.ID, a.Level, a.Candidacy, a.Policy),
		Source:          l.opt.Source,
		Type:            EventType,
		Subject:         inc.ID,
		Time:            u.Time.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		Data:            d,
	}
}

// Marshal renders an escalation as its canonical JSON bytes.
func Marshal(e Escalation) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal escalation %s: %w", e.ID, err)
	}
	return b, nil
}

func rationale(d Data, f severity.Facts, grave []string) string {
	var b strings.Builder
	what := map[string]string{"reconnaissance": "Reconnaissance", "intrusion": "Intrusion activity", "destructive": "Destructive activity"}[d.Class]
	if what == "" {
		what = "Activity"
	}
	fmt.Fprintf(&b, "%s (%s) against %s", what, strings.Join(first(grave, 6), ", "), d.Targets.Organisation)
	if d.Targets.Sector != "" {
		fmt.Fprintf(&b, " (%s, tier %d)", d.Targets.Sector, d.Targets.Tier)
	} else {
		fmt.Fprintf(&b, " (tier %d)", d.Targets.Tier)
	}
	if d.Sources.Actor != "" {
		fmt.Fprintf(&b, " from sources attributed to %s (state-nexus confidence %.2f)", d.Sources.Actor, d.Sources.StateNexus)
	} else {
		fmt.Fprintf(&b, " from %d unattributed source(s)", d.Sources.Count)
	}
	b.WriteString(". ")
	if f.Organisations > 1 {
		fmt.Fprintf(&b, "The same actor has hit %d organisations in %d sector(s)", f.Organisations, f.SectorsCount)
		if f.Concerted {
			fmt.Fprintf(&b, ", concerted across %d source clusters", f.SourceClusters)
		}
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "Score %.1f gives level %d (%s)", d.Score, d.Level, d.LevelName)
	switch d.Candidacy {
	case severity.CandidacyAAC:
		b.WriteString("; it meets the policy's armed-attack-candidate criteria, so case-by-case consultation is required.")
	case severity.CandidacyAACPending:
		b.WriteString("; all armed-attack-candidate criteria but attribution hold, so it is watched pending attribution.")
	case severity.CandidacySignificant:
		b.WriteString("; a significant incident.")
	default:
		b.WriteString(".")
	}
	return b.String()
}

func sample(inc *correlate.Incident, n int) []string {
	out := make([]string, 0, n)
	for _, s := range inc.Sources.Sorted() {
		if len(out) == n {
			break
		}
		out = append(out, s)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// humanDuration renders 3h12m0s as 3h12m and drops sub-second noise.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
