package correlate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/severity"
)

// Options configure a Tracker. Zero values take the defaults noted.
type Options struct {
	Assets *assets.Inventory // default: empty inventory
	Intel  *intel.Intel      // default: no intelligence
	Policy *severity.Policy  // default: severity.Default()

	MaxIncidents int           // default 10000
	MaxDistinct  int           // per set (targets, sources, ...), default 4096
	EvidenceCap  int           // evidence items kept per incident, default 10
	Window       time.Duration // campaign window, default 72h
}

// EvidenceItem is one signal kept as evidence of an incident.
type EvidenceItem struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	Class     event.Class    `json:"class"`
	Record    event.Evidence `json:"record"`
}

// Incident is the state of one target organisation's incident.
type Incident struct {
	ID           string
	Organisation string
	Sector       string
	Tier         int
	Location     int
	FirstSeen    time.Time
	LastSeen     time.Time
	FirstRecon   time.Time
	FirstEffect  time.Time
	// ReconToEffect is the delay from the first reconnaissance of a target
	// to the first destructive signal on that same target (0: none yet).
	ReconToEffect time.Duration
	FirstDenial   time.Time
	LastDenial    time.Time
	Signals       int
	Class         event.Class // gravest class seen

	Techniques Set
	Tactics    Set
	Classes    Set
	Targets    Set
	Sources    Set
	Clusters   Set // source /24s (/64s for IPv6)
	Evidence   []EvidenceItem
	// ClassTechniques are the techniques seen per activity class, so an
	// explanation can name what made the incident grave.
	ClassTechniques map[event.Class]Set
	reconAt         map[string]time.Time // target → first reconnaissance

	Actor    intel.Actor // the gravest known actor among the sources
	Campaign string      // actor name when attributed, else ""

	Assessment severity.Assessment // latest
}

// Update is an incident whose assessment changed because of a signal.
type Update struct {
	Incident   *Incident
	Assessment severity.Assessment
	Facts      severity.Facts
	Campaign   *Campaign // nil when unattributed
	Time       time.Time // event time of the signal that caused it
}

// Campaign links the incidents of one attributed actor.
type Campaign struct {
	Actor         intel.Actor
	Organisations map[string]int // organisation → tier
	Sectors       Set
	Clusters      Set
	Incidents     Set // incident ids
	LastSeen      time.Time
}

// Stats are counters for metrics.
type Stats struct {
	Incidents int
	Campaigns int
	Evictions uint64
	Saturated uint64 // inserts refused because a distinct set was full
}

// Tracker holds incidents and campaigns. It is not safe for concurrent use.
type Tracker struct {
	opt       Options
	incidents map[string]*Incident // by organisation
	byIncID   map[string]*Incident // by incident id
	campaigns map[string]*Campaign // by actor name
	stats     Stats
	evicted   []string
}

// Evicted returns and clears the ids of incidents evicted since the last
// call, so the caller can forget what it keeps about them.
func (t *Tracker) Evicted() []string {
	ids := t.evicted
	t.evicted = nil
	return ids
}

// New returns an empty Tracker.
func New(opt Options) *Tracker {
	if opt.Assets == nil {
		opt.Assets = assets.Empty()
	}
	if opt.Intel == nil {
		opt.Intel = intel.Empty()
	}
	if opt.Policy == nil {
		opt.Policy = severity.Default()
	}
	if opt.MaxIncidents <= 0 {
		opt.MaxIncidents = 10000
	}
	if opt.MaxDistinct <= 0 {
		opt.MaxDistinct = 4096
	}
	if opt.EvidenceCap <= 0 {
		opt.EvidenceCap = 10
	}
	if opt.Window <= 0 {
		opt.Window = 72 * time.Hour
	}
	return &Tracker{opt: opt, incidents: map[string]*Incident{}, byIncID: map[string]*Incident{}, campaigns: map[string]*Campaign{}}
}

// Stats returns the current counters.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.Incidents = len(t.incidents)
	s.Campaigns = len(t.campaigns)
	return s
}

// IncidentID derives the stable id of an organisation's incident.
func IncidentID(organisation string) string {
	h := sha256.Sum256([]byte("casus/incident/v1\x00" + organisation))
	return "inc-" + hex.EncodeToString(h[:8])
}

// Observe folds one signal in and returns the incidents whose assessment it
// changed: the signal's own incident and, when the signal widened an actor's
// campaign, every other incident of that campaign, in id order.
func (t *Tracker) Observe(sig event.Signal) []Update {
	asset := t.opt.Assets.Lookup(sig.Target)
	inc := t.incidents[asset.Organisation]
	if inc == nil {
		t.makeRoom()
		inc = &Incident{
			ID:           IncidentID(asset.Organisation),
			Organisation: asset.Organisation,
			Sector:       asset.Sector,
			Tier:         asset.Tier,
			FirstSeen:    sig.Time,
			Techniques:   Set{}, Tactics: Set{}, Classes: Set{}, Targets: Set{}, Sources: Set{}, Clusters: Set{},
			ClassTechniques: map[event.Class]Set{},
			reconAt:         map[string]time.Time{},
		}
		t.incidents[asset.Organisation] = inc
		t.byIncID[inc.ID] = inc
	}
	t.fold(inc, sig, asset)

	var widened bool
	if inc.Actor.Known {
		widened = t.joinCampaign(inc, sig.Time)
	}

	var ups []Update
	ups = append(ups, t.assess(inc, sig.Time))
	if widened {
		c := t.campaigns[inc.Campaign]
		for _, id := range c.Incidents.Sorted() {
			if id == inc.ID {
				continue
			}
			if other := t.byID(id); other != nil {
				ups = append(ups, t.assess(other, sig.Time))
			}
		}
	}
	return ups
}

func (t *Tracker) fold(inc *Incident, sig event.Signal, asset assets.Asset) {
	if sig.Time.Before(inc.FirstSeen) {
		inc.FirstSeen = sig.Time
	}
	if sig.Time.After(inc.LastSeen) {
		inc.LastSeen = sig.Time
	}
	if asset.Location > inc.Location {
		inc.Location = asset.Location
	}
	if asset.Tier > 0 && (inc.Tier == 0 || asset.Tier < inc.Tier) {
		inc.Tier = asset.Tier
	}
	inc.Signals++
	if sig.Class.Rank() > inc.Class.Rank() {
		inc.Class = sig.Class
	}
	inc.Classes.add(string(sig.Class), t.opt.MaxDistinct, &t.stats)
	ct := inc.ClassTechniques[sig.Class]
	if ct == nil {
		ct = Set{}
		inc.ClassTechniques[sig.Class] = ct
	}
	for _, x := range sig.Techniques {
		inc.Techniques.add(x, t.opt.MaxDistinct, &t.stats)
		ct.add(x, t.opt.MaxDistinct, &t.stats)
	}
	for _, x := range sig.Tactics {
		inc.Tactics.add(x, t.opt.MaxDistinct, &t.stats)
	}
	if sig.Target != "" {
		inc.Targets.add(sig.Target, t.opt.MaxDistinct, &t.stats)
	}
	if sig.Source != "" {
		inc.Sources.add(sig.Source, t.opt.MaxDistinct, &t.stats)
		if c := cluster(sig.Source); c != "" {
			inc.Clusters.add(c, t.opt.MaxDistinct, &t.stats)
		}
		if a := t.opt.Intel.Lookup(sig.Source); a.Known && graver(a, inc.Actor) {
			inc.Actor = a
		}
	}
	switch sig.Class {
	case event.ClassReconnaissance:
		if inc.FirstRecon.IsZero() || sig.Time.Before(inc.FirstRecon) {
			inc.FirstRecon = sig.Time
		}
		if at, ok := inc.reconAt[sig.Target]; sig.Target != "" && (!ok || sig.Time.Before(at)) && (ok || len(inc.reconAt) < t.opt.MaxDistinct) {
			inc.reconAt[sig.Target] = sig.Time
		}
	case event.ClassDestructive:
		if inc.FirstEffect.IsZero() || sig.Time.Before(inc.FirstEffect) {
			inc.FirstEffect = sig.Time
		}
		if at, ok := inc.reconAt[sig.Target]; ok && inc.ReconToEffect == 0 && sig.Time.After(at) {
			inc.ReconToEffect = sig.Time.Sub(at)
		}
		if isDenial(sig.Techniques) {
			if inc.FirstDenial.IsZero() || sig.Time.Before(inc.FirstDenial) {
				inc.FirstDenial = sig.Time
			}
			if sig.Time.After(inc.LastDenial) {
				inc.LastDenial = sig.Time
			}
		}
	}
	t.keepEvidence(inc, sig)
}

// keepEvidence keeps the first signals of an incident, and once full lets a
// graver signal replace the oldest less grave one, so the destructive evidence
// is never crowded out by earlier scanning.
func (t *Tracker) keepEvidence(inc *Incident, sig event.Signal) {
	item := EvidenceItem{RuleID: sig.RuleID, RuleTitle: sig.RuleTitle, Class: sig.Class, Record: sig.Evidence}
	if len(inc.Evidence) < t.opt.EvidenceCap {
		inc.Evidence = append(inc.Evidence, item)
		return
	}
	for i, e := range inc.Evidence {
		if e.Class.Rank() < sig.Class.Rank() {
			inc.Evidence = append(inc.Evidence[:i], inc.Evidence[i+1:]...)
			inc.Evidence = append(inc.Evidence, item)
			return
		}
	}
}

func (t *Tracker) joinCampaign(inc *Incident, now time.Time) (widened bool) {
	name := inc.Actor.Name
	if inc.Campaign != "" && inc.Campaign != name {
		// A graver actor took over the incident: leave the old campaign.
		if old := t.campaigns[inc.Campaign]; old != nil {
			delete(old.Incidents, inc.ID)
		}
	}
	inc.Campaign = name
	c := t.campaigns[name]
	if c == nil {
		c = &Campaign{Actor: inc.Actor, Organisations: map[string]int{}, Sectors: Set{}, Clusters: Set{}, Incidents: Set{}}
		t.campaigns[name] = c
	}
	if now.After(c.LastSeen) {
		c.LastSeen = now
	}
	if _, ok := c.Organisations[inc.Organisation]; !ok {
		c.Organisations[inc.Organisation] = inc.Tier
		widened = true
	}
	if inc.Sector != "" && !c.Sectors.has(inc.Sector) {
		c.Sectors.add(inc.Sector, t.opt.MaxDistinct, &t.stats)
		widened = true
	}
	for _, cl := range inc.Clusters.Sorted() {
		if !c.Clusters.has(cl) && t.opt.Intel.Lookup(firstAddr(inc, cl)).Name == name {
			c.Clusters.add(cl, t.opt.MaxDistinct, &t.stats)
			widened = true
		}
	}
	c.Incidents.add(inc.ID, t.opt.MaxIncidents, &t.stats)
	return widened
}

// firstAddr returns one source address of the incident inside cluster cl, to
// ask the intelligence whether that cluster belongs to the campaign's actor.
func firstAddr(inc *Incident, cl string) string {
	for _, s := range inc.Sources.Sorted() {
		if cluster(s) == cl {
			return s
		}
	}
	return ""
}

// Facts summarises an incident, widened by its campaign, for the policy.
func (t *Tracker) Facts(inc *Incident) severity.Facts {
	f := severity.Facts{
		Techniques:      inc.Techniques.Sorted(),
		Tactics:         inc.Tactics.Sorted(),
		Classes:         inc.Classes.Sorted(),
		Tier:            inc.Tier,
		Location:        inc.Location,
		ActorKind:       inc.Actor.Kind,
		StateNexus:      inc.Actor.StateNexus,
		StateNexusBasis: inc.Actor.Basis,
		Targets:         len(inc.Targets),
		Organisations:   1,
		ReconToEffect:   inc.ReconToEffect,
		Physical:        inc.Techniques.has("T0879") || inc.Techniques.has("T0880"),
	}
	if inc.Sector != "" {
		f.Sectors = []string{inc.Sector}
		f.SectorsCount = 1
		f.GovDefense = inc.Sector == "government" || inc.Sector == "defence"
	}
	if inc.Tier == 1 {
		f.T1Organisations = 1
		if inc.Sector != "" {
			f.T1Sectors = 1
		}
	}
	if !inc.FirstDenial.IsZero() {
		f.DenialFor = inc.LastDenial.Sub(inc.FirstDenial)
	}
	if len(inc.Sources) > 0 {
		f.SourceClusters = 1
	}
	if c := t.campaigns[inc.Campaign]; c != nil && inc.Campaign != "" {
		f.Organisations = len(c.Organisations)
		f.Sectors = c.Sectors.Sorted()
		f.SectorsCount = len(c.Sectors)
		// Only clusters the intelligence ties to the actor make the
		// campaign concerted; unattributed sources are not linked.
		f.SourceClusters = max(f.SourceClusters, len(c.Clusters))
		f.T1Organisations, f.T1Sectors = 0, 0
		for _, tier := range c.Organisations {
			if tier == 1 {
				f.T1Organisations++
			}
		}
		if f.T1Organisations > 0 {
			f.T1Sectors = t1Sectors(t, c)
		}
		for _, s := range f.Sectors {
			if s == "government" || s == "defence" {
				f.GovDefense = true
			}
		}
	}
	f.Concerted = f.SourceClusters >= 2
	return f
}

func t1Sectors(t *Tracker, c *Campaign) int {
	seen := Set{}
	for org, tier := range c.Organisations {
		if tier != 1 {
			continue
		}
		if inc := t.incidents[org]; inc != nil && inc.Sector != "" {
			seen[inc.Sector] = struct{}{}
		}
	}
	return len(seen)
}

func (t *Tracker) assess(inc *Incident, now time.Time) Update {
	f := t.Facts(inc)
	a := t.opt.Policy.Assess(f)
	inc.Assessment = a
	return Update{Incident: inc, Assessment: a, Facts: f, Campaign: t.campaigns[inc.Campaign], Time: now}
}

func (t *Tracker) byID(id string) *Incident { return t.byIncID[id] }

// makeRoom evicts one incident when the cap is reached: the lowest level
// first, then the least recently seen, then the lowest id, so a spray of new
// targets cannot push out a grave incident while a lighter one remains.
func (t *Tracker) makeRoom() {
	if len(t.incidents) < t.opt.MaxIncidents {
		return
	}
	var victim *Incident
	for _, inc := range t.incidents {
		if victim == nil || lessValuable(inc, victim) {
			victim = inc
		}
	}
	delete(t.incidents, victim.Organisation)
	delete(t.byIncID, victim.ID)
	t.evicted = append(t.evicted, victim.ID)
	if c := t.campaigns[victim.Campaign]; c != nil {
		delete(c.Incidents, victim.ID)
		if len(c.Incidents) == 0 {
			delete(t.campaigns, victim.Campaign)
		}
	}
	t.stats.Evictions++
}

func lessValuable(a, b *Incident) bool {
	if c := cmp.Compare(a.Assessment.Level, b.Assessment.Level); c != 0 {
		return c < 0
	}
	if !a.LastSeen.Equal(b.LastSeen) {
		return a.LastSeen.Before(b.LastSeen)
	}
	return a.ID < b.ID
}

// graver reports whether actor a weighs more than b: higher state nexus,
// then name order for determinism.
func graver(a, b intel.Actor) bool {
	if !b.Known {
		return true
	}
	if a.StateNexus != b.StateNexus {
		return a.StateNexus > b.StateNexus
	}
	return a.Name < b.Name
}

func isDenial(techniques []string) bool {
	for _, t := range techniques {
		if strings.HasPrefix(t, "T1498") || strings.HasPrefix(t, "T1499") || t == "T0814" || t == "T0813" {
			return true
		}
	}
	return false
}

// cluster names the /24 (IPv4) or /64 (IPv6) of an address; "" for host names.
func cluster(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 64
	}
	p, _ := a.Unmap().Prefix(bits)
	return p.String()
}

// Set is a string set with sorted iteration for deterministic output.
type Set map[string]struct{}

func (s Set) has(k string) bool { _, ok := s[k]; return ok }

func (s Set) add(k string, limit int, st *Stats) {
	if _, ok := s[k]; ok {
		return
	}
	if len(s) >= limit {
		st.Saturated++
		return
	}
	s[k] = struct{}{}
}

func (s Set) Sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
