package escalate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
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
	Campaign         *Campaign                `json:"campaign,omitempty"`
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
	PortCount    int    `json:"port_count"` // distinct destination ports
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

// Update is an incident's assessment, widened by its campaign, that the
// ladder considers.
type Update struct {
	Incident   *correlate.Summary
	Assessment severity.Assessment
	Facts      severity.Facts
	Campaign   *Campaign // nil when the incident stands alone
	Time       time.Time // event time of the change
}

// Campaign is what an escalation says of the incident's campaign.
type Campaign struct {
	ID string `json:"id"`
	// LinkedBy says what links the incidents: actor (intelligence names
	// the same actor), infrastructure (shared source /24s) or techniques
	// (the same destructive techniques in overlapping windows).
	LinkedBy          []string `json:"linked_by"`
	Incidents         int      `json:"incidents"`
	Organisations     []string `json:"-"`
	OrganisationCount int      `json:"-"`
}

// Options configure a Ladder.
type Options struct {
	Source   string // CloudEvents source, e.g. "casus/<group>"
	MinLevel int    // lowest level that escalates (DESIGN: default 1)
	// Policy gives the cooldown, the de-escalation margin and the quiet
	// period; default severity.Default().
	Policy *severity.Policy
}

// DeescalateAfter is how long an incident's score must stay below its
// level's band (less the policy's margin) before the ladder lowers the
// level it remembers (severity-model §6.3), so a later rise is told again.
const DeescalateAfter = 24 * time.Hour

// Ladder remembers, per incident, the level and candidacy it escalated at.
// Not safe for concurrent use.
type Ladder struct {
	opt      Options
	rungs    map[string]*Rung
	changed  map[string]bool
	suppress uint64
}

// Rung is what the ladder remembers of an incident: its durable state.
type Rung struct {
	Level     int `json:"level"`
	Candidacy int `json:"candidacy"` // rank, latched: only people clear it
	// Episode counts de-escalations; it is part of escalation ids, so a
	// level told again after one is a new event.
	Episode int `json:"episode,omitempty"`
	// Told is when each level was last published, for the cooldown.
	Told [6]time.Time `json:"told"`
	// Below is since when the score has stayed under the level's band.
	Below     time.Time          `json:"below,omitzero"`
	Published bool               `json:"published"`
	Policy    severity.PolicyRef `json:"policy"`
}

// NewLadder returns a Ladder.
func NewLadder(opt Options) *Ladder {
	if opt.Source == "" {
		opt.Source = "casus"
	}
	if opt.Policy == nil {
		opt.Policy = severity.Default()
	}
	return &Ladder{opt: opt, rungs: map[string]*Rung{}, changed: map[string]bool{}}
}

// Len is the number of incidents the ladder remembers.
func (l *Ladder) Len() int { return len(l.rungs) }

// Suppressed counts rises not published because the level was told within
// the cooldown.
func (l *Ladder) Suppressed() uint64 { return l.suppress }

// Forget drops what the ladder remembers of an incident.
func (l *Ladder) Forget(incidentID string) {
	delete(l.rungs, incidentID)
	l.changed[incidentID] = true
}

// Rung returns what the ladder remembers of an incident (nil: nothing).
func (l *Ladder) Rung(incidentID string) *Rung { return l.rungs[incidentID] }

// SetRung restores what the ladder remembered of an incident.
func (l *Ladder) SetRung(incidentID string, r *Rung) { l.rungs[incidentID] = r }

// Changed calls fn with every incident whose rung changed since the last
// call (nil rung: forgotten), in no particular order.
func (l *Ladder) Changed(fn func(id string, r *Rung)) {
	for id := range l.changed {
		fn(id, l.rungs[id])
	}
	clear(l.changed)
}

// Consider returns an escalation when the update raises the incident's
// level above the level the ladder remembers and at least to the minimum,
// or raises its candidacy. Candidacy is latched. The remembered level
// falls only when the score has stayed the policy's margin below the
// level's band for DeescalateAfter, below level 3 (from 3 up people
// de-escalate). A level told within the policy's cooldown is not told
// again.
func (l *Ladder) Consider(u Update) (Escalation, bool) {
	a := u.Assessment
	id := u.Incident.ID
	r := l.rungs[id]
	if r == nil {
		r = &Rung{}
		l.rungs[id] = r
		l.changed[id] = true
	}
	l.deescalate(id, r, a, u.Time)
	cand := candidacyRank(a.Candidacy)
	rises := a.Level > r.Level || cand > r.Candidacy
	if !r.Published {
		rises = a.Level >= l.opt.MinLevel || cand > 0
	}
	if !rises || (a.Level < l.opt.MinLevel && cand == 0) {
		return Escalation{}, false
	}
	if cand <= r.Candidacy && !r.Told[a.Level].IsZero() && u.Time.Sub(r.Told[a.Level]) < l.opt.Policy.Cooldown {
		l.suppress++
		return Escalation{}, false
	}
	previous := r.Level
	r.Level, r.Candidacy = max(a.Level, r.Level), max(cand, r.Candidacy)
	u.Assessment.Candidacy = candidacyOf(r.Candidacy) // latched
	r.Told[a.Level] = u.Time
	r.Published, r.Below, r.Policy = true, time.Time{}, a.Policy
	l.changed[id] = true
	return l.build(u, previous, r.Episode), true
}

func (l *Ladder) deescalate(id string, r *Rung, a severity.Assessment, at time.Time) {
	if !r.Published || a.Level >= r.Level || r.Level >= 3 || a.Stage == severity.StageEffect {
		if !r.Below.IsZero() {
			r.Below = time.Time{}
			l.changed[id] = true
		}
		return
	}
	band := l.opt.Policy.Bands[r.Level-1]
	if a.Score > band-l.opt.Policy.DeescalateMargin {
		if !r.Below.IsZero() {
			r.Below = time.Time{}
			l.changed[id] = true
		}
		return
	}
	l.changed[id] = true
	if r.Below.IsZero() {
		r.Below = at
		return
	}
	if at.Sub(r.Below) >= DeescalateAfter {
		r.Level, r.Below = a.Level, time.Time{}
		r.Episode++
	}
}

// Close ends an incident: when it was escalated, it returns the closing
// event. The ladder forgets it.
func (l *Ladder) Close(s *correlate.Summary, at time.Time) (Closed, bool) {
	r := l.rungs[s.ID]
	l.Forget(s.ID)
	if r == nil || !r.Published {
		return Closed{}, false
	}
	d := ClosedData{
		IncidentID: s.ID, Level: r.Level, LevelName: severity.LevelName(r.Level), Candidacy: candidacyOf(r.Candidacy),
		Reason: s.Closed, LastSeen: s.LastSeen.UTC(), ClosedAt: at.UTC(), Policy: r.Policy,
	}
	h := sha256.Sum256(fmt.Appendf(nil, "casus/escalation-closed/v1\x00%s\x00%d", s.ID, r.Episode))
	return Closed{
		SpecVersion: "1.0", ID: "esc-closed-" + hex.EncodeToString(h[:12]), Source: l.opt.Source, Type: ClosedType,
		Subject: s.ID, Time: at.UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: d,
	}, true
}

// ClosedType is the CloudEvents type of the event that ends an escalated
// incident.
const ClosedType = "casus.escalation.closed"

// Closed is the CloudEvents envelope of a closing event.
type Closed struct {
	SpecVersion     string     `json:"specversion"`
	ID              string     `json:"id"`
	Source          string     `json:"source"`
	Type            string     `json:"type"`
	Subject         string     `json:"subject"`
	Time            string     `json:"time"`
	DataContentType string     `json:"datacontenttype"`
	Data            ClosedData `json:"data"`
}

// ClosedData says which escalated incident ended, why, and at what level
// and candidacy it stood.
type ClosedData struct {
	IncidentID string             `json:"incident_id"`
	Level      int                `json:"level"`
	LevelName  string             `json:"level_name"`
	Candidacy  severity.Candidacy `json:"candidacy"`
	// Reason is quiet (no signal for the policy's close_after) or evicted.
	Reason   string             `json:"reason"`
	LastSeen time.Time          `json:"last_seen"`
	ClosedAt time.Time          `json:"closed_at"`
	Policy   severity.PolicyRef `json:"policy"`
}

func candidacyOf(rank int) severity.Candidacy {
	return [...]severity.Candidacy{severity.CandidacyNone, severity.CandidacySignificant, severity.CandidacyAACPending, severity.CandidacyAAC}[max(0, min(rank, 3))]
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

// ID derives an escalation's id: the incident, the de-escalation episode,
// the level, the candidacy and the policy.
func ID(incidentID string, episode, level int, c severity.Candidacy, p severity.PolicyRef) string {
	h := sha256.Sum256(fmt.Appendf(nil, "casus/escalation/v2\x00%s\x00%d\x00%d\x00%s\x00%s\x00%s", incidentID, episode, level, c, p.Name, p.Version))
	return "esc-" + hex.EncodeToString(h[:12])
}

func (l *Ladder) build(u Update, previous, episode int) Escalation {
	inc, a, f := u.Incident, u.Assessment, u.Facts
	d := Data{
		IncidentID:       inc.ID,
		Level:            a.Level,
		LevelName:        a.LevelName,
		PreviousLevel:    previous,
		Candidacy:        a.Candidacy,
		Class:            inc.Class,
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
			HostCount:         inc.Targets,
			PortCount:         inc.Ports,
		},
		Sources: Sources{
			Count:           inc.Sources,
			Sample:          nonNil(inc.SourceSample),
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
		Evidence:  append([]correlate.EvidenceItem{}, inc.Evidence...),
		Policy:    a.Policy,
		Campaign:  u.Campaign,
	}
	if c := u.Campaign; c != nil {
		// The bound and the order are this package's promise (ListedOrganisations),
		// not only its callers'.
		orgs := slices.Clone(c.Organisations)
		slices.Sort(orgs)
		d.Targets.Organisations = nonNil(first(orgs, ListedOrganisations))
		d.Targets.OrganisationCount = max(c.OrganisationCount, len(c.Organisations))
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
	d.Rationale = rationale(d, f, inc.GraveTechniques)
	return Escalation{
		SpecVersion:     "1.0",
		ID:              ID(inc.ID, episode, a.Level, a.Candidacy, a.Policy),
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
	// Trim only a zero seconds field after minutes ("3h12m0s"): trimming
	// any "0s" turned 1m30s into "1m3" and 30s into "3".
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
