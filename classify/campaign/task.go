package campaign

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/classify/internal/indexheap"
	"github.com/casus-sec/casus/classify/severity"
)

// Options configure a Task.
type Options struct {
	Policy *severity.Policy // default severity.Default()
	Ladder escalate.Options
	// MaxIncidents caps the incidents a task keeps, default 50000; the
	// least valuable is evicted first (lowest level, reconnaissance only,
	// least recently seen).
	MaxIncidents int
	// MaxLinked caps the incidents one campaign links, default 5000.
	MaxLinked int
}

// Output is an escalation or a closing event to publish, keyed by incident.
type Output struct {
	Escalation *escalate.Escalation
	Closed     *escalate.Closed
}

// Key is the record key of an output: its incident id.
func (o Output) Key() string {
	if o.Escalation != nil {
		return o.Escalation.Data.IncidentID
	}
	return o.Closed.Data.IncidentID
}

// input is a summary as the task holds it until its event time is due.
type input struct {
	Source  string            `json:"source"`
	Seq     uint64            `json:"seq"`
	Summary correlate.Summary `json:"summary"`
}

// Stats are counters for metrics.
type Stats struct {
	Incidents  int
	Campaigns  int // campaigns of two or more incidents, as last linked
	Evictions  uint64
	Late       uint64
	Duplicates uint64
	Held       int
	Suppressed uint64
	// Levels counts the incidents held by their current level.
	Levels [6]int
}

// Task is the campaign stage for one partition of the incidents topic. Not
// safe for concurrent use.
type Task struct {
	opt     Options
	ord     *eventtime.Orderer[input]
	seen    map[string]uint64 // source → last sequence number accepted
	members map[string]*member
	byKey   map[string]map[string]bool // campaign key → incident ids
	byLink  map[string]map[string]bool // national link (cluster or technique set) → incident ids
	byValue *indexheap.Heap[*member]   // eviction order
	ladder  *escalate.Ladder
	out     []Output
	stats   Stats
	groups  map[string]string // incident id → campaign id, as last linked

	dirtyMembers map[string]bool
	metaDirty    bool
}

// NewTask returns an empty Task.
func NewTask(opt Options) *Task {
	if opt.Policy == nil {
		opt.Policy = severity.Default()
	}
	if opt.Ladder.Policy == nil {
		opt.Ladder.Policy = opt.Policy
	}
	if opt.MaxIncidents <= 0 {
		opt.MaxIncidents = 50000
	}
	if opt.MaxLinked <= 0 {
		opt.MaxLinked = 5000
	}
	return &Task{opt: opt, ord: eventtime.New[input](), byValue: indexheap.New(lessValuable, func(m *member) *int { return &m.slot }), seen: map[string]uint64{}, members: map[string]*member{},
		byKey: map[string]map[string]bool{}, byLink: map[string]map[string]bool{}, ladder: escalate.NewLadder(opt.Ladder),
		groups: map[string]string{}, dirtyMembers: map[string]bool{}}
}

// Stats returns the current counters.
func (t *Task) Stats() Stats {
	s := t.stats
	s.Incidents, s.Held, s.Suppressed = len(t.members), t.ord.Held(), t.ladder.Suppressed()
	for _, m := range t.members {
		s.Levels[max(0, min(m.level, 5))]++
	}
	ids := map[string]bool{}
	for _, g := range t.groups {
		ids[g] = true
	}
	s.Campaigns = len(ids)
	return s
}

// Summary takes an incident summary from a source (a correlate task) with
// that task's sequence number; one at or below the last accepted from the
// source is a duplicate and is dropped.
func (t *Task) Summary(source string, seq uint64, s correlate.Summary) {
	if last, ok := t.seen[source]; ok && seq <= last {
		t.stats.Duplicates++
		return
	}
	t.seen[source] = seq
	t.metaDirty = true
	in := input{Source: source, Seq: seq, Summary: s}
	key := fmt.Sprintf("%s/%020d", s.ID, s.Version)
	if t.ord.Add(s.Time, key, in) {
		t.stats.Late++
		t.apply(s)
	}
}

// Watermark is the event time the task has applied summaries up to.
func (t *Task) Watermark() time.Time { return t.ord.Watermark() }

// Mark takes a source's watermark.
func (t *Task) Mark(m eventtime.Mark) {
	t.ord.Mark(m)
	t.metaDirty = true
}

// Advance applies the summaries the watermark has passed, in order.
func (t *Task) Advance() { t.ord.Release(t.release) }

// Flush applies everything held (the end of a finite input).
func (t *Task) Flush() { t.ord.Flush(t.release) }

// Outputs returns and clears the events to publish, in order.
func (t *Task) Outputs() []Output {
	out := t.out
	t.out = nil
	return out
}

func (t *Task) release(it eventtime.Item[input]) { t.apply(it.Value.Summary) }

// apply folds one summary in: the incident joins, changes or leaves, its
// campaign is linked again, and every member whose campaign's scale changed
// is assessed again and considered for escalation.
func (t *Task) apply(s correlate.Summary) {
	at := s.Time
	old := t.members[s.ID]
	var before []string // the incident's campaign before the change
	if old != nil {
		for _, m := range t.link(old).members {
			before = append(before, m.s.ID)
		}
		t.unindex(old)
	}
	if s.Closed != "" {
		if old != nil {
			t.drop(old)
		}
		if s.Closed != correlate.ClosedMoved {
			if c, ok := t.ladder.Close(&s, at); ok {
				t.out = append(t.out, Output{Closed: &c})
			}
		} else {
			t.ladder.Forget(s.ID)
		}
		t.relink(before, at, "")
		return
	}
	m := old
	if m == nil {
		t.makeRoom(at)
		m = &member{episode: firstEpisode(s)}
		t.members[s.ID] = m
		t.byValue.Push(m)
	}
	m.s, m.key = s, s.CampaignKey()
	t.index(m)
	t.dirtyMembers[s.ID] = true
	t.relink(append(before, s.ID), at, s.ID)
}

// relink links again the campaigns of the given incidents and assesses
// the incident that changed (first) and every member whose campaign's
// scale changed, in id order.
func (t *Task) relink(ids []string, at time.Time, changed string) {
	half := t.opt.Policy.ReconHalfLife
	done := map[string]bool{}
	var gs []*group
	for _, id := range ids {
		m := t.members[id]
		if m == nil || done[id] {
			continue
		}
		g := t.link(m)
		for _, x := range g.members {
			done[x.s.ID] = true
		}
		gs = append(gs, g)
	}
	type job struct {
		m *member
		g *group
		b breadth
	}
	var jobs []job
	for _, g := range gs {
		b := g.breadth(at, half)
		sc := b.scale()
		for _, x := range g.members {
			gid := ""
			if len(g.members) > 1 {
				gid = g.id
			}
			if t.groups[x.s.ID] != gid {
				if gid == "" {
					delete(t.groups, x.s.ID)
				} else {
					t.groups[x.s.ID] = gid
				}
			}
			if x.s.ID == changed || x.scale != sc || !x.scaleSet {
				x.scale, x.scaleSet = sc, true
				jobs = append(jobs, job{x, g, b})
			}
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int {
		if a.m.s.ID == changed {
			return -1
		}
		if b.m.s.ID == changed {
			return 1
		}
		return strings.Compare(a.m.s.ID, b.m.s.ID)
	})
	for _, j := range jobs {
		f := facts(j.m, j.g, j.b)
		a := t.opt.Policy.Assess(f)
		if j.m.level != a.Level {
			j.m.level = a.Level
			t.byValue.Fix(j.m)
		}
		t.dirtyMembers[j.m.s.ID] = true
		if j.m.episode != 0 && t.ladder.Rung(j.m.s.ID) == nil {
			// Met after its first summary: see firstEpisode.
			t.ladder.SetRung(j.m.s.ID, &escalate.Rung{Episode: j.m.episode})
		}
		if e, ok := t.ladder.Consider(escalate.Update{Incident: &j.m.s, Assessment: a, Facts: f, Campaign: view(j.g, j.b), Time: at}); ok {
			t.out = append(t.out, Output{Escalation: &e})
		}
	}
}

// link returns the campaign of m: every incident of its actor, or the
// national incidents reachable from it through shared infrastructure or
// techniques, up to MaxLinked.
func (t *Task) link(m *member) *group {
	g := &group{}
	if m.key != correlate.KeyNational {
		for id := range t.byKey[m.key] {
			g.members = append(g.members, t.members[id])
		}
		g.linkedBy = []string{LinkActor}
	} else {
		seen := map[string]bool{m.s.ID: true}
		queue := []*member{m}
		how := map[string]bool{}
		for len(queue) > 0 && len(g.members) < t.opt.MaxLinked {
			x := queue[0]
			queue = queue[1:]
			g.members = append(g.members, x)
			for _, l := range links(x, t.opt.Policy.Window) {
				for id := range t.byLink[l] {
					y := t.members[id]
					if seen[id] || y == nil || !overlap(x, y, t.opt.Policy.Window) {
						continue
					}
					seen[id] = true
					how[linkKind(l)] = true
					queue = append(queue, y)
				}
			}
		}
		g.linkedBy = keys(how)
	}
	slices.SortFunc(g.members, func(a, b *member) int { return strings.Compare(a.s.ID, b.s.ID) })
	g.id = groupID(m.key, g.members)
	return g
}

// links are the index entries of a national incident: its clusters beyond
// reconnaissance, and its destructive technique set.
func links(m *member, _ time.Duration) []string {
	var out []string
	for _, c := range m.s.LinkClusters {
		out = append(out, "c/"+c)
	}
	if m.s.Class == "destructive" && len(m.s.GraveTechniques) > 0 {
		out = append(out, "t/"+strings.Join(m.s.GraveTechniques, ","))
	}
	return out
}

func linkKind(l string) string {
	if strings.HasPrefix(l, "c/") {
		return LinkInfrastructure
	}
	return LinkTechniques
}

// overlap reports whether two incidents were active within the campaign
// window of each other.
func overlap(a, b *member, window time.Duration) bool {
	return !a.s.FirstSeen.After(b.s.LastSeen.Add(window)) && !b.s.FirstSeen.After(a.s.LastSeen.Add(window))
}

func (t *Task) index(m *member) {
	add(t.byKey, m.key, m.s.ID)
	if m.key == correlate.KeyNational {
		for _, l := range links(m, 0) {
			add(t.byLink, l, m.s.ID)
		}
	}
}

func (t *Task) unindex(m *member) {
	del(t.byKey, m.key, m.s.ID)
	for _, l := range links(m, 0) {
		del(t.byLink, l, m.s.ID)
	}
}

func add(idx map[string]map[string]bool, k, id string) {
	s := idx[k]
	if s == nil {
		s = map[string]bool{}
		idx[k] = s
	}
	s[id] = true
}

func del(idx map[string]map[string]bool, k, id string) {
	if s := idx[k]; s != nil {
		delete(s, id)
		if len(s) == 0 {
			delete(idx, k)
		}
	}
}

// drop forgets a member already unindexed.
func (t *Task) drop(m *member) {
	delete(t.members, m.s.ID)
	delete(t.groups, m.s.ID)
	t.byValue.Remove(m)
	t.dirtyMembers[m.s.ID] = true
}

// makeRoom evicts the least valuable incident when the cap is reached.
func (t *Task) makeRoom(at time.Time) {
	if len(t.members) < t.opt.MaxIncidents {
		return
	}
	victim := t.byValue.Min()
	var before []string
	for _, x := range t.link(victim).members {
		if x != victim {
			before = append(before, x.s.ID)
		}
	}
	t.unindex(victim)
	t.drop(victim)
	t.ladder.Forget(victim.s.ID)
	t.stats.Evictions++
	t.relink(before, at, "")
}

// lessValuable orders eviction: the lowest level first, then
// reconnaissance-only, then the least recently seen, then by id.
func lessValuable(a, b *member) bool {
	if c := cmp.Compare(a.level, b.level); c != 0 {
		return c < 0
	}
	ra, rb := a.s.Class == "reconnaissance", b.s.Class == "reconnaissance"
	if ra != rb {
		return ra
	}
	if c := a.s.LastSeen.Compare(b.s.LastSeen); c != 0 {
		return c < 0
	}
	return a.s.ID < b.s.ID
}

// State keys, relative to the task.
const (
	stateMeta   = "meta"
	stateMember = "member/"
	stateRung   = "rung/"
	stateHeld   = "held/"
)

type taskMeta struct {
	Sources  []eventtime.Mark  `json:"sources"`
	Released time.Time         `json:"released"`
	Seen     map[string]uint64 `json:"seen"`
}

type memberState struct {
	Summary correlate.Summary `json:"summary"`
	Level   int               `json:"level"`
	Scale   scale             `json:"scale"`
	Episode int               `json:"episode,omitempty"`
}

// Changes calls put with every state change since the last call: a value,
// or nil for a deletion. Keys are relative to the task.
func (t *Task) Changes(put func(key string, value []byte) error) error {
	for id := range t.dirtyMembers {
		var v []byte
		if m := t.members[id]; m != nil {
			b, err := json.Marshal(memberState{Summary: m.s, Level: m.level, Scale: m.scale, Episode: m.episode})
			if err != nil {
				return fmt.Errorf("encode campaign member %s: %w", id, err)
			}
			v = b
		}
		if err := put(stateMember+id, v); err != nil {
			return err
		}
	}
	var err error
	t.ladder.Changed(func(id string, r *escalate.Rung) {
		var v []byte
		if r != nil {
			v, _ = json.Marshal(r) // a Rung is plain data
		}
		if err == nil {
			err = put(stateRung+id, v)
		}
	})
	if err != nil {
		return err
	}
	if err := t.ord.HeldChanges(func(k string, v []byte) error { return put(stateHeld+k, v) }); err != nil {
		return err
	}
	if t.metaDirty {
		b, err := json.Marshal(taskMeta{Sources: t.ord.Sources(), Released: t.ord.Released(), Seen: t.seen})
		if err != nil {
			return fmt.Errorf("encode campaign task state: %w", err)
		}
		if err := put(stateMeta, b); err != nil {
			return err
		}
	}
	clear(t.dirtyMembers)
	t.metaDirty = false
	return nil
}

// Restore rebuilds a task from the state Changes wrote: the last value of
// each key, deleted keys absent.
func (t *Task) Restore(state map[string][]byte) error {
	var st eventtime.State[input]
	for k, v := range state {
		switch {
		case k == stateMeta:
			var m taskMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode campaign task state: %w", err)
			}
			st.Sources, st.Released = m.Sources, m.Released
			if m.Seen != nil {
				t.seen = m.Seen
			}
		case strings.HasPrefix(k, stateMember):
			var ms memberState
			if err := json.Unmarshal(v, &ms); err != nil {
				return fmt.Errorf("decode campaign member %s: %w", strings.TrimPrefix(k, stateMember), err)
			}
			m := &member{s: ms.Summary, key: ms.Summary.CampaignKey(), level: ms.Level, scale: ms.Scale, scaleSet: true, episode: ms.Episode}
			t.members[m.s.ID] = m
			t.byValue.Push(m)
			t.index(m)
		case strings.HasPrefix(k, stateRung):
			r := &escalate.Rung{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode escalation ladder of %s: %w", strings.TrimPrefix(k, stateRung), err)
			}
			t.ladder.SetRung(strings.TrimPrefix(k, stateRung), r)
		case strings.HasPrefix(k, stateHeld):
			it, err := eventtime.DecodeItem[input](v)
			if err != nil {
				return fmt.Errorf("campaign task state: %w", err)
			}
			st.Items = append(st.Items, it)
		default:
			return fmt.Errorf("campaign task state: unknown key %q", k)
		}
	}
	for _, m := range t.members {
		if _, done := t.groups[m.s.ID]; done {
			continue
		}
		if g := t.link(m); len(g.members) > 1 {
			for _, x := range g.members {
				t.groups[x.s.ID] = g.id
			}
		}
	}
	return t.ord.Restore(st)
}
