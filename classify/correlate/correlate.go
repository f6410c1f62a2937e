package correlate

import (
	"cmp"
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

	MaxIncidents int // default 10000
	MaxDistinct  int // per set (targets, sources, ...), default 4096
	EvidenceCap  int // evidence items kept per incident, default 10
	// MaxCampaignOrganisations caps the organisation names a campaign
	// keeps, default 1000; organisations beyond it are counted, not named.
	MaxCampaignOrganisations int
}

// EvidenceItem is one signal kept as evidence of an incident.
type EvidenceItem struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	Class     event.Class    `json:"class"`
	Record    event.Evidence `json:"record"`
}

// Incident is the state of one target organisation's incident. Callers
// read it; the Tracker alone changes it.
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
	// The current run of denial-of-service signals and the longest run so
	// far: a denial lasts while its signals keep coming, not from the first
	// flood to the last one days later.
	DenialStart   time.Time
	DenialLast    time.Time
	LongestDenial time.Duration
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
	member   membership  // what the incident adds to its campaign

	Assessment severity.Assessment // latest
	slot       int                 // index in Tracker.byValue
}

// Update is an incident whose assessment changed because of a signal.
type Update struct {
	Incident   *Incident
	Assessment severity.Assessment
	Facts      severity.Facts
	Campaign   *Campaign // nil when unattributed
	Time       time.Time // event time of the signal that caused it
}

// Campaign links the incidents of one attributed actor. It keeps its scale
// as running totals, so assessing a member costs the same whatever the size
// of the campaign.
type Campaign struct {
	Actor    intel.Actor
	LastSeen time.Time

	members    Set            // incident ids, one per organisation
	names      Set            // organisation names, up to MaxCampaignOrganisations
	t1Orgs     int            // members at tier 1
	sectors    map[string]int // sector → members in it
	sectorList []string       // sorted keys of sectors; replaced, never changed in place
	t1Sectors  map[string]int // sector → tier-1 members in it
	clusters   map[string]int // source cluster tied to the actor → members that saw it
}

// membership is what one incident adds to its campaign's totals, so that
// leaving subtracts exactly that.
type membership struct {
	named    bool   // its organisation is among the campaign's names
	tier1    bool   // counted among the tier-1 organisations
	sector   string // "" when it has none
	clusters Set    // the actor's clusters it contributed
}

// OrganisationCount is the number of organisations in the campaign, named
// or not.
func (c *Campaign) OrganisationCount() int { return len(c.members) }

// Organisations returns up to n of the organisation names the campaign
// keeps, in sorted order (all of them when n <= 0).
func (c *Campaign) Organisations(n int) []string {
	s := c.names.Sorted()
	if n > 0 && len(s) > n {
		s = s[:n:n]
	}
	return s
}

// Sectors returns the sectors of the campaign's organisations, sorted.
func (c *Campaign) Sectors() []string { return slices.Clone(c.sectorList) }

// Clusters is the number of source clusters the intelligence ties to the
// campaign's actor.
func (c *Campaign) Clusters() int { return len(c.clusters) }

// scale is the breadth of a campaign reduced to the thresholds at which
// classify/severity reads it: the potential factor rises at 3 and 10
// organisations, 2 and 3 sectors, or 2 source clusters (concerted);
// candidacy (d) needs 3 tier-1 organisations or 2 tier-1 sectors; the L5
// gate needs 10 organisations or 3 sectors. Sectors also count by name (the
// cross-sector value, government or defence), so any change of the sector
// set counts; there are few sectors. Only a change of scale can change the
// assessment of another member. The state nexus is not here: each incident
// takes it from its own sources.
type scale struct {
	orgs, t1Orgs, t1Sectors, clusters int
	sectors                           string
}

func (c *Campaign) scale() scale {
	return scaleOf(len(c.members), c.t1Orgs, len(c.t1Sectors), len(c.clusters), c.sectorList)
}

func scaleOf(orgs, t1Orgs, t1Sectors, clusters int, sectors []string) scale {
	return scale{
		orgs:      step(orgs, 3, 10),
		t1Orgs:    step(t1Orgs, 3),
		t1Sectors: step(t1Sectors, 2),
		clusters:  step(clusters, 2),
		sectors:   strings.Join(sectors, ","),
	}
}

// step counts the thresholds n has reached.
func step(n int, thresholds ...int) int {
	k := 0
	for _, th := range thresholds {
		if n >= th {
			k++
		}
	}
	return k
}

// Stats are counters for metrics.
type Stats struct {
	Incidents int
	Campaigns int
	Evictions uint64
	// Saturated counts inserts refused because a distinct set was full,
	// campaign organisations counted beyond the names kept among them.
	Saturated uint64
}

// Tracker holds incidents and campaigns. It is not safe for concurrent use.
type Tracker struct {
	opt       Options
	incidents map[string]*Incident // by organisation
	byIncID   map[string]*Incident // by incident id
	campaigns map[string]*Campaign // by actor name
	byValue   byValue              // eviction order, least valuable first
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
	if opt.MaxCampaignOrganisations <= 0 {
		opt.MaxCampaignOrganisations = 1000
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

// Observe folds one signal in and returns the incidents it re-assessed: the
// signal's own incident first and, when the signal changed the scale of a
// campaign (the breadth its members are judged by), every other incident of
// that campaign, in id order.
func (t *Tracker) Observe(sig event.Signal) []Update {
	// Telemetry strings are kept and published: bound them where they enter.
	sig.Source, sig.Target = clip(sig.Source), clip(sig.Target)
	asset := t.opt.Assets.Lookup(sig.Target)
	asset.Organisation = clip(asset.Organisation)
	var rescaled []string // campaigns whose members are to be re-assessed
	inc := t.incidents[asset.Organisation]
	if inc == nil {
		rescaled = addName(rescaled, t.makeRoom())
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
		heap.Push(&t.byValue, inc)
	}
	t.fold(inc, sig, asset)

	if inc.Actor.Known {
		left, joined := t.joinCampaign(inc, sig.Source, sig.Time)
		rescaled = addName(addName(rescaled, left), joined)
	}

	ups := []Update{t.assess(inc, sig.Time)}
	for _, name := range rescaled {
		c := t.campaigns[name]
		if c == nil {
			continue
		}
		for _, id := range c.members.Sorted() {
			if other := t.byIncID[id]; other != nil && other != inc {
				ups = append(ups, t.assess(other, sig.Time))
			}
		}
	}
	return ups
}

func addName(names []string, name string) []string {
	if name == "" || slices.Contains(names, name) {
		return names
	}
	return append(names, name)
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
			inc.foldDenial(sig.Time)
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

// joinCampaign keeps the incident in its actor's campaign and the totals of
// the campaign in step with the incident. It names the campaign the incident
// left and the one it is in when their scale changed.
func (t *Tracker) joinCampaign(inc *Incident, src string, now time.Time) (left, joined string) {
	name := inc.Actor.Name
	if inc.Campaign != "" && inc.Campaign != name {
		// A graver actor took over the incident: it leaves the old campaign
		// with everything it brought there.
		left = t.leave(inc)
	}
	c := t.campaigns[name]
	if c == nil {
		c = &Campaign{Actor: inc.Actor, members: Set{}, names: Set{},
			sectors: map[string]int{}, t1Sectors: map[string]int{}, clusters: map[string]int{}}
		t.campaigns[name] = c
	}
	if now.After(c.LastSeen) {
		c.LastSeen = now
	}
	before := c.scale()
	m := &inc.member
	if inc.Campaign != name {
		inc.Campaign = name
		c.members[inc.ID] = struct{}{}
		if len(c.names) < t.opt.MaxCampaignOrganisations {
			c.names[inc.Organisation] = struct{}{}
			m.named = true
		} else {
			t.stats.Saturated++
		}
		if inc.Sector != "" {
			m.sector = inc.Sector
			if c.sectors[m.sector]++; c.sectors[m.sector] == 1 {
				c.sectorList = sortedKeys(c.sectors)
			}
		}
		m.clusters = Set{}
		// The actor's clusters seen before joining count once it is in.
		for _, s := range inc.Sources.Sorted() {
			t.addCluster(c, inc, s)
		}
	}
	// An incident's tier only gets graver (fold keeps the lowest number),
	// whatever order its hosts are hit in; the campaign follows it.
	if inc.Tier == 1 && !m.tier1 {
		m.tier1 = true
		c.t1Orgs++
		if m.sector != "" {
			c.t1Sectors[m.sector]++
		}
	}
	t.addCluster(c, inc, src)
	if c.scale() != before {
		joined = name
	}
	return left, joined
}

// addCluster adds the cluster of src to the incident's campaign when the
// incident keeps that cluster and the intelligence ties src to the
// campaign's actor; unattributed sources are not linked.
func (t *Tracker) addCluster(c *Campaign, inc *Incident, src string) {
	cl := cluster(src)
	if cl == "" || !inc.Clusters.has(cl) || inc.member.clusters.has(cl) {
		return
	}
	if t.opt.Intel.Lookup(src).Name != inc.Campaign {
		return
	}
	if c.clusters[cl] == 0 && len(c.clusters) >= t.opt.MaxDistinct {
		t.stats.Saturated++
		return
	}
	c.clusters[cl]++
	inc.member.clusters[cl] = struct{}{}
}

// leave takes the incident out of its campaign, subtracting what it brought,
// and deletes the campaign once empty. It names the campaign when that
// remains and its scale changed.
func (t *Tracker) leave(inc *Incident) string {
	name, m := inc.Campaign, inc.member
	inc.Campaign, inc.member = "", membership{}
	c := t.campaigns[name]
	if c == nil {
		return ""
	}
	before := c.scale()
	delete(c.members, inc.ID)
	if m.named {
		delete(c.names, inc.Organisation)
	}
	if m.sector != "" && decrement(c.sectors, m.sector) {
		c.sectorList = sortedKeys(c.sectors)
	}
	if m.tier1 {
		c.t1Orgs--
		if m.sector != "" {
			decrement(c.t1Sectors, m.sector)
		}
	}
	for cl := range m.clusters {
		decrement(c.clusters, cl)
	}
	if len(c.members) == 0 {
		delete(t.campaigns, name)
		return ""
	}
	if c.scale() != before {
		return name
	}
	return ""
}

// decrement lowers a count and deletes it at zero, reporting the deletion.
func decrement(m map[string]int, k string) bool {
	m[k]--
	if m[k] > 0 {
		return false
	}
	delete(m, k)
	return true
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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
	if inc.LongestDenial > 0 {
		f.DenialFor = inc.LongestDenial
	}
	if len(inc.Sources) > 0 {
		f.SourceClusters = 1
	}
	if c := t.campaigns[inc.Campaign]; c != nil && inc.Campaign != "" {
		f.Organisations = len(c.members)
		f.Sectors = c.sectorList // replaced on change, so safe to share
		f.SectorsCount = len(c.sectors)
		// Only clusters the intelligence ties to the actor make the
		// campaign concerted; unattributed sources are not linked.
		f.SourceClusters = max(f.SourceClusters, len(c.clusters))
		f.T1Organisations, f.T1Sectors = c.t1Orgs, len(c.t1Sectors)
		f.GovDefense = c.sectors["government"] > 0 || c.sectors["defence"] > 0
	}
	f.Concerted = f.SourceClusters >= 2
	return f
}

func (t *Tracker) assess(inc *Incident, now time.Time) Update {
	f := t.Facts(inc)
	a := t.opt.Policy.Assess(f)
	inc.Assessment = a
	heap.Fix(&t.byValue, inc.slot)
	return Update{Incident: inc, Assessment: a, Facts: f, Campaign: t.campaigns[inc.Campaign], Time: now}
}

// makeRoom evicts one incident when the cap is reached: the lowest level
// first, then the least recently seen, then the lowest id, so a spray of new
// targets cannot push out a grave incident while a lighter one remains. It
// names the victim's campaign when that remains and its scale changed.
func (t *Tracker) makeRoom() string {
	if len(t.incidents) < t.opt.MaxIncidents {
		return ""
	}
	victim := heap.Pop(&t.byValue).(*Incident)
	delete(t.incidents, victim.Organisation)
	delete(t.byIncID, victim.ID)
	t.evicted = append(t.evicted, victim.ID)
	t.stats.Evictions++
	return t.leave(victim)
}

// byValue is a min-heap of incidents by lessValuable, so eviction does not
// scan every incident. An incident's key changes only in fold (LastSeen) and
// assess (level); assess always follows fold and fixes its place.
type byValue []*Incident

func (h byValue) Len() int           { return len(h) }
func (h byValue) Less(i, j int) bool { return lessValuable(h[i], h[j]) }
func (h byValue) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}

func (h *byValue) Push(x any) {
	inc := x.(*Incident)
	inc.slot = len(*h)
	*h = append(*h, inc)
}

func (h *byValue) Pop() any {
	old := *h
	inc := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	inc.slot = -1
	return inc
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

// maxString bounds every string from telemetry that is kept or published.
const maxString = 255

// clip cuts s to at most maxString bytes without splitting a UTF-8 sequence.
func clip(s string) string {
	if len(s) <= maxString {
		return s
	}
	i := maxString
	for i > maxString-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = maxString // not UTF-8 here: no boundary to keep
	}
	return s[:i]
}

// DenialGap is the longest silence between denial-of-service signals that
// still counts as one continuous denial; flood rules fire about once a
// minute while a flood lasts.
const DenialGap = 10 * time.Minute

func (inc *Incident) foldDenial(at time.Time) {
	inRun := !inc.DenialStart.IsZero() &&
		!at.Before(inc.DenialStart.Add(-DenialGap)) && !at.After(inc.DenialLast.Add(DenialGap))
	if !inRun {
		inc.DenialStart, inc.DenialLast = at, at
		return
	}
	if at.Before(inc.DenialStart) {
		inc.DenialStart = at
	}
	if at.After(inc.DenialLast) {
		inc.DenialLast = at
	}
	inc.LongestDenial = max(inc.LongestDenial, inc.DenialLast.Sub(inc.DenialStart))
}
