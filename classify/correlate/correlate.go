package correlate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/internal/indexheap"
	"github.com/casus-sec/casus/classify/severity"
	"github.com/casus-sec/casus/classify/sketch"
)

// Options configure a Tracker. Zero values take the defaults noted.
type Options struct {
	Assets *assets.Inventory // default: empty inventory
	Intel  *intel.Intel      // default: no intelligence
	Policy *severity.Policy  // default: severity.Default()

	MaxIncidents int // default 10000
	// MaxDistinct caps the exact sets an incident keeps (techniques,
	// tactics, source clusters, targets awaiting a transition), default 64:
	// a summary names at most 64 clusters, and larger sets only cost memory.
	MaxDistinct int
	// ExactBound is how many distinct targets or sources are counted
	// exactly before the count turns into a sketch, default 64.
	ExactBound  int
	EvidenceCap int // evidence items kept per incident, default 10
}

// EvidenceItem is one signal kept as evidence of an incident.
type EvidenceItem struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	Class     event.Class    `json:"class"`
	Record    event.Evidence `json:"record"`
}

// Incident is the state of one target organisation's incident. Callers
// read it; the Tracker alone changes it. Its exported fields are its
// durable state.
type Incident struct {
	ID           string    `json:"id"`
	Organisation string    `json:"organisation"`
	Sector       string    `json:"sector,omitempty"`
	Tier         int       `json:"tier"`
	Location     int       `json:"location,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	FirstRecon   time.Time `json:"first_recon,omitzero"`
	FirstEffect  time.Time `json:"first_effect,omitzero"`
	// ReconToEffect is the delay from the first reconnaissance of a target
	// to the first destructive signal on that same target (0: none yet).
	ReconToEffect time.Duration `json:"recon_to_effect,omitempty"`
	// The current run of denial-of-service signals and the longest run so
	// far: a denial lasts while its signals keep coming, not from the first
	// flood to the last one days later.
	DenialStart   time.Time     `json:"denial_start,omitzero"`
	DenialLast    time.Time     `json:"denial_last,omitzero"`
	LongestDenial time.Duration `json:"longest_denial,omitempty"`
	Signals       int           `json:"signals"`
	Class         event.Class   `json:"class"` // gravest class seen

	Techniques Set `json:"techniques"`
	Tactics    Set `json:"tactics"`
	Classes    Set `json:"classes"`
	// Targets and Sources count distinct hosts, exactly up to a bound and
	// then by sketch, so a spray of spoofed sources costs bounded memory.
	Targets *sketch.Distinct `json:"targets"`
	Sources *sketch.Distinct `json:"sources"`
	Ports   *sketch.Distinct `json:"ports"` // destination ports
	// Clusters are the source /24s (/64s for IPv6); LinkClusters those of
	// sources that did more than reconnaissance, the only ones that link
	// incidents into a campaign (internet-wide scanners hit everyone).
	Clusters     Set            `json:"clusters"`
	LinkClusters Set            `json:"link_clusters"`
	Evidence     []EvidenceItem `json:"evidence"`
	// ClassTechniques are the techniques seen per activity class, so an
	// explanation can name what made the incident grave.
	ClassTechniques map[event.Class]Set  `json:"class_techniques"`
	ReconAt         map[string]time.Time `json:"recon_at,omitempty"` // target → first reconnaissance
	// ReconTargets is the number of targets first met by reconnaissance,
	// decaying with the policy's half-life as of ReconAsOf.
	ReconTargets float64   `json:"recon_targets,omitempty"`
	ReconAsOf    time.Time `json:"recon_as_of,omitzero"`
	// ReconOnly are the targets first met by reconnaissance and hit by
	// nothing else since (up to MaxDistinct; beyond, targets count whole).
	ReconOnly Set `json:"recon_only,omitempty"`
	// ReconWeight is the reconnaissance signals, decaying likewise.
	ReconWeight float64 `json:"recon_weight,omitempty"`

	Actor intel.Actor `json:"actor"` // the gravest known actor among the sources
	// Version counts the incident's published summaries.
	Version uint64 `json:"version"`
	// Level is the incident's own level, without its campaign: what
	// eviction weighs.
	Level int `json:"level"`
	// Published is the material content of the last summary, so an
	// unchanged incident is not published again; Key is the campaign key
	// it was published under.
	Published string `json:"published,omitempty"`
	Key       string `json:"key,omitempty"`

	slot     int // index in Tracker.byValue
	lastSlot int // index in Tracker.byLast
}

// Stats are counters for metrics.
type Stats struct {
	Incidents int
	Evictions uint64
	// Saturated counts inserts refused because an exact set was full.
	Saturated uint64
	// Bytes is an estimate of the memory the incidents hold.
	Bytes int
}

// Tracker holds the incidents of one partition's organisations. It is not
// safe for concurrent use.
type Tracker struct {
	opt       Options
	incidents map[string]*Incident       // by organisation
	byValue   *indexheap.Heap[*Incident] // eviction order, least valuable first
	byLast    *indexheap.Heap[*Incident] // closing order, quiet longest first
	stats     Stats
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
		opt.MaxDistinct = 64
	}
	if opt.ExactBound <= 0 {
		opt.ExactBound = 64
	}
	if opt.EvidenceCap <= 0 {
		opt.EvidenceCap = 10
	}
	return &Tracker{opt: opt, incidents: map[string]*Incident{},
		byValue: indexheap.New(lessValuable, func(inc *Incident) *int { return &inc.slot }),
		byLast:  indexheap.New(quietLonger, func(inc *Incident) *int { return &inc.lastSlot })}
}

// Stats returns the current counters.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.Incidents = len(t.incidents)
	for _, inc := range t.incidents {
		s.Bytes += inc.bytes()
	}
	return s
}

// IncidentID derives the stable id of an organisation's incident opened at
// a given event time: after an incident closes, new activity opens another.
func IncidentID(organisation string, opened time.Time) string {
	h := sha256.Sum256([]byte("casus/incident/v2\x00" + organisation + "\x00" + opened.UTC().Format(time.RFC3339Nano)))
	return "inc-" + hex.EncodeToString(h[:8])
}

// Incidents returns the incidents in id order.
func (t *Tracker) Incidents() []*Incident {
	out := make([]*Incident, 0, len(t.incidents))
	for _, inc := range t.incidents {
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b *Incident) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Observe folds one signal into its organisation's incident and returns
// the incident, and the incident it evicted to make room, if any.
func (t *Tracker) Observe(sig event.Signal) (inc, evicted *Incident) {
	// Telemetry strings are kept and published: bound them where they enter.
	sig.Source, sig.Target = clip(sig.Source), clip(sig.Target)
	asset := t.opt.Assets.Lookup(sig.Target)
	asset.Organisation = clip(asset.Organisation)
	inc = t.incidents[asset.Organisation]
	if inc == nil {
		evicted = t.makeRoom()
		inc = &Incident{
			ID:           IncidentID(asset.Organisation, sig.Time),
			Organisation: asset.Organisation,
			Sector:       asset.Sector,
			Tier:         asset.Tier,
			FirstSeen:    sig.Time,
			LastSeen:     sig.Time,
			Techniques:   Set{}, Tactics: Set{}, Classes: Set{}, Clusters: Set{}, LinkClusters: Set{}, ReconOnly: Set{},
			Targets:         sketch.NewDistinct(t.opt.ExactBound),
			Sources:         sketch.NewDistinct(t.opt.ExactBound),
			Ports:           sketch.NewDistinct(t.opt.ExactBound),
			ClassTechniques: map[event.Class]Set{},
			ReconAt:         map[string]time.Time{},
		}
		t.incidents[asset.Organisation] = inc
		t.byValue.Push(inc)
		t.byLast.Push(inc)
	}
	t.fold(inc, sig, asset)
	inc.Level = t.opt.Policy.Assess(inc.Facts(t.opt.Policy.ReconHalfLife)).Level
	t.byValue.Fix(inc)
	t.byLast.Fix(inc)
	return inc, evicted
}

// Close removes the incidents quiet since before the given event time
// (last seen more than the policy's close_after before it) and returns
// them in id order.
func (t *Tracker) Close(watermark time.Time) []*Incident {
	var closed []*Incident
	for t.byLast.Len() > 0 {
		inc := t.byLast.Min()
		if !inc.LastSeen.Add(t.opt.Policy.CloseAfter).Before(watermark) {
			break
		}
		t.remove(inc)
		closed = append(closed, inc)
	}
	return closed
}

// Restore adds an incident read back from durable state.
func (t *Tracker) Restore(inc *Incident) {
	if old := t.incidents[inc.Organisation]; old != nil {
		t.remove(old)
	}
	inc.normalise()
	t.incidents[inc.Organisation] = inc
	t.byValue.Push(inc)
	t.byLast.Push(inc)
}

// normalise gives an incident read from state the non-nil sets the Tracker
// writes to.
func (inc *Incident) normalise() {
	for _, s := range []*Set{&inc.Techniques, &inc.Tactics, &inc.Classes, &inc.Clusters, &inc.LinkClusters, &inc.ReconOnly} {
		if *s == nil {
			*s = Set{}
		}
	}
	if inc.Targets == nil {
		inc.Targets = sketch.NewDistinct(0)
	}
	if inc.Sources == nil {
		inc.Sources = sketch.NewDistinct(0)
	}
	if inc.Ports == nil {
		inc.Ports = sketch.NewDistinct(0)
	}
	if inc.ClassTechniques == nil {
		inc.ClassTechniques = map[event.Class]Set{}
	}
	if inc.ReconAt == nil {
		inc.ReconAt = map[string]time.Time{}
	}
}

func (t *Tracker) fold(inc *Incident, sig event.Signal, asset assets.Asset) {
	half := t.opt.Policy.ReconHalfLife
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
	recon := sig.Class == event.ClassReconnaissance
	if sig.Port > 0 {
		inc.Ports.Add(strconv.Itoa(sig.Port))
	}
	if sig.Target != "" {
		added := inc.Targets.Add(sig.Target)
		switch {
		case added && recon && len(inc.ReconOnly) < t.opt.MaxDistinct:
			inc.ReconOnly[sig.Target] = struct{}{}
			inc.ReconTargets = decayed(inc.ReconTargets, inc.ReconAsOf, sig.Time, half) + 1
			inc.ReconWeight = decayed(inc.ReconWeight, inc.ReconAsOf, sig.Time, half)
			inc.ReconAsOf = later(inc.ReconAsOf, sig.Time)
		case !recon && inc.ReconOnly.Has(sig.Target):
			// Hit by more than scanning: it counts whole from now on, and
			// takes its share of the decayed weight with it.
			n := float64(len(inc.ReconOnly))
			delete(inc.ReconOnly, sig.Target)
			inc.ReconTargets *= (n - 1) / n
		}
	}
	if recon {
		inc.ReconWeight = decayed(inc.ReconWeight, inc.ReconAsOf, sig.Time, half) + 1
		inc.ReconTargets = decayed(inc.ReconTargets, inc.ReconAsOf, sig.Time, half)
		inc.ReconAsOf = later(inc.ReconAsOf, sig.Time)
	}
	if sig.Source != "" {
		inc.Sources.Add(sig.Source)
		if c := cluster(sig.Source); c != "" {
			inc.Clusters.add(c, t.opt.MaxDistinct, &t.stats)
			if !recon {
				inc.LinkClusters.add(c, t.opt.MaxDistinct, &t.stats)
			}
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
		if at, ok := inc.ReconAt[sig.Target]; sig.Target != "" && (!ok || sig.Time.Before(at)) && (ok || len(inc.ReconAt) < t.opt.MaxDistinct) {
			inc.ReconAt[sig.Target] = sig.Time
		}
	case event.ClassDestructive:
		if inc.FirstEffect.IsZero() || sig.Time.Before(inc.FirstEffect) {
			inc.FirstEffect = sig.Time
		}
		if at, ok := inc.ReconAt[sig.Target]; ok && inc.ReconToEffect == 0 && sig.Time.After(at) {
			inc.ReconToEffect = sig.Time.Sub(at)
		}
		if isDenial(sig.Techniques) {
			inc.foldDenial(sig.Time)
		}
	}
	t.keepEvidence(inc, sig)
}

// decayed is v, valued at from, seen at to with the given half-life; a time
// before from does not grow it back.
func decayed(v float64, from, to time.Time, half time.Duration) float64 {
	if half <= 0 || from.IsZero() || !to.After(from) {
		return v
	}
	return v * math.Exp2(-float64(to.Sub(from))/float64(half))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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

// makeRoom evicts one incident when the cap is reached: the lowest level
// first, then the least recently seen, then the lowest id, so a spray of
// new targets cannot push out a grave incident while a lighter one remains.
func (t *Tracker) makeRoom() *Incident {
	if len(t.incidents) < t.opt.MaxIncidents {
		return nil
	}
	victim := t.byValue.Min()
	t.remove(victim)
	t.stats.Evictions++
	return victim
}

// bytes estimates the memory an incident holds.
func (inc *Incident) bytes() int {
	n := 512 + inc.Targets.Bytes() + inc.Sources.Bytes() + inc.Ports.Bytes()
	for _, s := range []Set{inc.Techniques, inc.Tactics, inc.Classes, inc.Clusters, inc.LinkClusters} {
		n += 48 * len(s)
	}
	for _, s := range inc.ClassTechniques {
		n += 48 * len(s)
	}
	n += 64*len(inc.ReconAt) + 160*len(inc.Evidence)
	return n
}

// quietLonger orders closing: the least recently seen first, then by id.
func quietLonger(a, b *Incident) bool {
	if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// lessValuable orders eviction: incidents scored at a lower level first,
// reconnaissance-only before any other at the same level, then the least
// recently seen, then the lowest id.
func lessValuable(a, b *Incident) bool {
	if c := cmp.Compare(a.Level, b.Level); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.Class.Rank(), b.Class.Rank()); c != 0 {
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

// Cluster names the /24 (IPv4) or /64 (IPv6) of an address; "" for host names.
func Cluster(s string) string { return cluster(s) }

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

// Set is a string set with sorted iteration for deterministic output; it
// encodes as a sorted JSON array.
type Set map[string]struct{}

// Has reports whether k is in the set.
func (s Set) Has(k string) bool { _, ok := s[k]; return ok }

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

// Sorted returns the members in order.
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

// remove forgets an incident.
func (t *Tracker) remove(inc *Incident) {
	delete(t.incidents, inc.Organisation)
	t.byValue.Remove(inc)
	t.byLast.Remove(inc)
}
