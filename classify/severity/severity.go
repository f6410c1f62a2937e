package severity

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Stages of the ODNI Cyber Threat Framework, as NCISS's observed activity.
const (
	StageNone     = "none"
	StagePrepare  = "prepare"
	StageEngage   = "engage"
	StagePresence = "presence"
	StageEffect   = "effect"
)

func stageRank(s string) int {
	return slices.Index([]string{StageNone, StagePrepare, StageEngage, StagePresence, StageEffect}, s)
}

// Candidacy is the consultation status of an assessment (severity-model
// §6.4). None of its values states that an armed attack took place: the
// highest means the case is referred for case-by-case consultation.
type Candidacy string

// Candidacy values, in rising order.
const (
	CandidacyNone        Candidacy = "none"
	CandidacySignificant Candidacy = "significant" // level 3 and up
	// CandidacyAACPending: every candidacy condition holds but the
	// state-nexus confidence is below the policy threshold; a watch state,
	// re-evaluated as intelligence arrives.
	CandidacyAACPending Candidacy = "armed-attack-candidate-pending-attribution"
	// CandidacyAAC: a candidate for case-by-case consultation.
	CandidacyAAC Candidacy = "armed-attack-candidate"
)

// Level names, index = level.
func levelNames() [6]string {
	return [6]string{"Baseline", "Low", "Medium", "High", "Severe", "Emergency"}
}

// LevelName returns the name of a level 0..5 ("" out of range).
func LevelName(level int) string {
	if level < 0 || level > 5 {
		return ""
	}
	return levelNames()[level]
}

// Facts are what correlation knows about an incident (or a campaign).
type Facts struct {
	Techniques      []string // ATT&CK technique ids seen (T1490, T1561.002, T0831 ...)
	Tactics         []string // ATT&CK tactic ids seen (TA0043, TA0007, TA0040, TA0106, ...)
	Classes         []string // activity classes seen: reconnaissance, intrusion, destructive
	Tier            int      // best (lowest number) tier among targets, 1..4; 0 = unknown (tier 3)
	Sectors         []string // sectors of targets (may be empty)
	GovDefense      bool     // a government or defence target
	Location        int      // highest NCISS location level among targets, 0 unknown
	ActorKind       string   // intel kind of the best-known source actor, "" = unknown
	StateNexus      float64  // highest state-nexus confidence among sources
	StateNexusBasis string

	Targets, Organisations, SectorsCount int // N_t, N_o, N_s
	T1Organisations, T1Sectors           int // organisations / sectors at tier 1
	SourceClusters                       int // distinct source clusters (/24s); concerted = >= 2
	Concerted                            bool

	DenialFor     time.Duration // how long a denial of service has lasted (0 unknown)
	Physical      bool          // confirmed T0879/T0880 or injury
	ReconToEffect time.Duration // delay from first recon to first effect (0 if none)
}

// Factors are the eight NCISS factor values, each 0..100.
type Factors struct {
	FunctionalImpact, ObservedActivity, Location, Actor, InformationImpact, Recoverability, CrossSector, Potential int
}

// Factor is one factor's contribution to a score.
type Factor struct {
	Name   string  `json:"name"`
	Value  int     `json:"value"`
	Weight int     `json:"weight"`
	Points float64 `json:"points"` // weight*value/sum(weights), rounded to 0.1
}

// Check is one line of an explanation: a named question and its finding.
type Check struct {
	Name    string `json:"name"`
	Finding string `json:"finding"`
}

// Scale is the breadth of an incident or campaign.
type Scale struct {
	Targets       int  `json:"targets"`
	Organisations int  `json:"organisations"`
	Sectors       int  `json:"sectors"`
	Concerted     bool `json:"concerted"`
}

// Assessment is a scored, levelled and explained decision.
type Assessment struct {
	Score     float64 `json:"score"` // 0..100, rounded to 0.1
	Level     int     `json:"level"`
	LevelName string  `json:"level_name"` // Baseline, Low, Medium, High, Severe, Emergency
	Stage     string  `json:"stage"`      // none|prepare|engage|presence|effect
	// Impact is the functional impact in DESIGN §4's terms: none, degraded,
	// denial, destruction or physical.
	Impact     string    `json:"functional_impact"`
	Factors    []Factor  `json:"factors"`
	Gates      []string  `json:"gates,omitempty"` // gate notes, in the order they fired
	Candidacy  Candidacy `json:"candidacy"`
	Techniques []string  `json:"techniques,omitempty"`
	Scale      Scale     `json:"scale"`
	// Conditions are candidacy conditions (a)-(d) and the attribution split,
	// each with its finding; filled at level 3 and up.
	Conditions []Check `json:"conditions,omitempty"`
	// Checklist is the Tallinn scale-and-effects checklist (§6.4), filled at
	// level 3 and up, for the people who decide.
	Checklist []Check   `json:"checklist,omitempty"`
	Policy    PolicyRef `json:"policy"`
}

// evidence is what the heuristics read from Facts, normalised once.
type evidence struct {
	stage                                   string
	techniques                              []string // normalised, sorted, unique
	tier                                    int
	destruction, wiper, denial, serviceStop bool
	icsEffect, physical, manipulation       bool
	impacts                                 []string // impact techniques seen
	sectors                                 int
	concerted                               bool
}

func gather(f Facts) evidence {
	e := evidence{tier: f.Tier}
	if e.tier < 1 || e.tier > 4 {
		e.tier = 3
	}
	for _, t := range f.Techniques {
		if t = strings.ToUpper(strings.TrimSpace(t)); t != "" && !slices.Contains(e.techniques, t) {
			e.techniques = append(e.techniques, t)
		}
	}
	slices.Sort(e.techniques)
	for _, t := range e.techniques {
		b := baseID(t)
		e.destruction = e.destruction || destructionTechnique(b)
		e.wiper = e.wiper || wiperTechnique(b)
		e.denial = e.denial || denialTechnique(b)
		e.serviceStop = e.serviceStop || serviceStopTechnique(b)
		e.icsEffect = e.icsEffect || icsEffectTechnique(b)
		e.physical = e.physical || physicalTechnique(b)
		e.manipulation = e.manipulation || manipulationTechnique(b)
		if impactTechnique(b) {
			e.impacts = append(e.impacts, t)
		}
	}
	e.physical = e.physical || f.Physical
	e.stage = stageOf(f)
	distinct := map[string]bool{}
	for _, s := range f.Sectors {
		if s != "" {
			distinct[s] = true
		}
	}
	e.sectors = max(f.SectorsCount, len(distinct))
	e.concerted = f.Concerted || f.SourceClusters >= 2
	return e
}

// stageOf returns the most advanced stage the facts show.
func stageOf(f Facts) string {
	stage := StageNone
	raise := func(s string) {
		if stageRank(s) > stageRank(stage) {
			stage = s
		}
	}
	if f.Physical {
		raise(StageEffect)
	}
	for _, c := range f.Classes {
		switch c {
		case "destructive":
			raise(StageEffect)
		case "intrusion":
			raise(StageEngage)
		case "reconnaissance":
			raise(StagePrepare)
		}
	}
	for _, t := range f.Tactics {
		if s := tacticStage(t); s != "" {
			raise(s)
		}
	}
	for _, t := range f.Techniques {
		b := baseID(t)
		switch {
		case impactTechnique(b):
			raise(StageEffect)
		case len(f.Tactics) > 0:
			// Tactics, when given, say where the technique sits; a
			// discovery technique seen from outside stays reconnaissance.
		case discoveryTechnique(b):
			raise(StagePresence)
		case initialAccessTechnique(b):
			raise(StageEngage)
		case reconTechnique(b):
			raise(StagePrepare)
		}
	}
	return stage
}

// Derive turns facts into factor values with the heuristics documented in
// the package comment.
func (p *Policy) Derive(f Facts) Factors {
	return p.derive(f, gather(f))
}

func (p *Policy) derive(f Facts, e evidence) Factors {
	v := p.Values
	t12 := e.tier <= 2
	var x Factors

	fi := "none"
	switch {
	case e.destruction || e.denial || e.physical:
		fi = pick(t12, "denial-critical", "significant-critical")
	case e.serviceStop:
		fi = pick(t12, "significant-critical", "significant-non-critical")
	}
	x.FunctionalImpact = v.FunctionalImpact[fi]

	x.ObservedActivity = v.ObservedActivity[e.stage]

	loc := "unknown"
	switch {
	case e.stage == StagePrepare:
		loc = "l1" // external reconnaissance is seen at the perimeter
	case f.Location >= 1 && f.Location <= 7:
		loc = fmt.Sprintf("l%d", f.Location)
	}
	x.Location = v.Location[loc]

	actor, ok := v.Actor[f.ActorKind]
	if !ok {
		actor = v.Actor["unknown"]
	}
	x.Actor = actor

	info := v.InformationImpact["none"]
	if e.wiper && t12 {
		info = max(info, v.InformationImpact["destruction-critical"])
	}
	if e.destruction {
		info = max(info, v.InformationImpact["destruction-non-critical"])
	}
	if e.icsEffect {
		info = max(info, v.InformationImpact["critical-breach"])
	}
	x.InformationImpact = info

	rec := "regular"
	switch {
	case e.destruction || e.icsEffect || e.physical:
		rec = "extended"
	case e.denial:
		rec = "supplemented"
	}
	x.Recoverability = v.Recoverability[rec]

	for _, s := range f.Sectors {
		x.CrossSector = max(x.CrossSector, v.CrossSector[s])
	}

	x.Potential = v.Potential[potentialBucket(f, e)]
	return x
}

// potentialBucket applies §6.2.1's F8 rule.
func potentialBucket(f Facts, e evidence) string {
	buckets := []string{"minimal", "low", "moderate", "high", "severe"}
	if e.physical {
		return "severe"
	}
	i := 4 - e.tier // T1 high, T2 moderate, T3 low, T4 minimal
	if f.Organisations >= 3 || e.sectors >= 2 || e.concerted {
		i++
	}
	if f.Organisations >= 10 || e.sectors >= 3 {
		i++
	}
	return buckets[min(i, 4)]
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// Assess derives the factors from the facts and evaluates them.
func (p *Policy) Assess(f Facts) Assessment {
	return p.Evaluate(f, p.Derive(f))
}

// Evaluate scores given factor values (for instance an analyst's override
// of derived ones) and applies the gates and candidacy rules, which read the
// facts.
func (p *Policy) Evaluate(f Facts, x Factors) Assessment {
	e := gather(f)
	a := Assessment{
		Stage:      e.stage,
		Impact:     impactName(e),
		Techniques: e.techniques,
		Scale:      Scale{Targets: f.Targets, Organisations: f.Organisations, Sectors: e.sectors, Concerted: e.concerted},
		Policy:     p.Ref(),
	}
	w := p.Weights
	sum := float64(w.Sum())
	var total float64
	for _, c := range []struct {
		name   string
		value  int
		weight int
	}{
		{"functional_impact", x.FunctionalImpact, w.FunctionalImpact},
		{"observed_activity", x.ObservedActivity, w.ObservedActivity},
		{"location", x.Location, w.Location},
		{"actor", x.Actor, w.Actor},
		{"information_impact", x.InformationImpact, w.InformationImpact},
		{"recoverability", x.Recoverability, w.Recoverability},
		{"cross_sector", x.CrossSector, w.CrossSector},
		{"potential", x.Potential, w.Potential},
	} {
		pts := float64(c.weight*c.value) / sum
		total += pts
		a.Factors = append(a.Factors, Factor{Name: c.name, Value: c.value, Weight: c.weight, Points: round1(pts)})
	}
	a.Score = round1(total)
	a.Level = p.band(a.Score)
	a.Level, a.Gates = p.gates(a.Level, f, x, e)
	a.LevelName = LevelName(a.Level)
	a.Candidacy = CandidacyNone
	if a.Level >= 3 {
		a.Candidacy = CandidacySignificant
		var cand Candidacy
		cand, a.Conditions = p.candidacy(a.Level, f, e)
		if cand != "" {
			a.Candidacy = cand
		}
		a.Checklist = checklist(f, x, e)
	}
	return a
}

// band maps a score to a level by the policy's bands.
func (p *Policy) band(score float64) int {
	level := 0
	for i, lo := range p.Bands {
		if score >= lo {
			level = i + 1
		}
	}
	return level
}

func lv(level int) string { return fmt.Sprintf("L%d %s", level, LevelName(level)) }

// gates applies §6.2.4 in order: recon cap, presence cap, L5 gate, floors.
// A gate is noted when it changes the level or holds it at its bound.
func (p *Policy) gates(level int, f Facts, x Factors, e evidence) (int, []string) {
	var notes []string
	capAt := func(limit int, why string) {
		switch {
		case level > limit:
			notes = append(notes, fmt.Sprintf("%s: %s lowered to %s", why, lv(level), lv(limit)))
			level = limit
		case level == limit:
			notes = append(notes, fmt.Sprintf("%s: level held at %s", why, lv(limit)))
		}
	}
	floorAt := func(limit int, why string) {
		switch {
		case level < limit:
			notes = append(notes, fmt.Sprintf("%s: %s raised to %s", why, lv(level), lv(limit)))
			level = limit
		case level == limit:
			notes = append(notes, fmt.Sprintf("%s: level kept at least %s", why, lv(limit)))
		}
	}
	switch e.stage {
	case StagePrepare, StageEngage:
		capAt(2, fmt.Sprintf("recon cap (stage %s; probing is not damage)", e.stage))
	case StagePresence:
		capAt(3, "presence cap (access without effect)")
	}
	if level == 5 {
		switch {
		case e.stage == StageEffect && (e.physical || f.Location == 7):
			notes = append(notes, "L5 gate open: physical or safety effect")
		case e.stage == StageEffect && (f.Organisations >= 10 || e.sectors >= 3):
			notes = append(notes, fmt.Sprintf("L5 gate open: wide-scale critical-infrastructure disruption (%s, %s)", count(f.Organisations, "organisation"), count(e.sectors, "sector")))
		default:
			notes = append(notes, fmt.Sprintf("L5 gate closed: no physical or safety effect and no wide-scale disruption (%s, needs 10; %s, needs 3); %s lowered to %s",
				count(f.Organisations, "organisation"), count(e.sectors, "sector"), lv(5), lv(4)))
			level = 4
		}
	}
	if e.stage == StageEffect && e.tier == 1 && x.FunctionalImpact >= 70 {
		floorAt(3, fmt.Sprintf("floor (effect on a tier-1 target, functional impact %d)", x.FunctionalImpact))
	}
	if e.physical {
		floorAt(4, "floor (physical or safety consequence)")
	}
	return level, notes
}

// candidacy applies §6.4 (a)-(d) and the attribution split. It returns ""
// when the conditions do not all hold.
func (p *Policy) candidacy(level int, f Facts, e evidence) (Candidacy, []Check) {
	met := func(ok bool, format string, args ...any) string {
		return pick(ok, "met: ", "not met: ") + fmt.Sprintf(format, args...)
	}
	var checks []Check

	a := level >= 4
	checks = append(checks, Check{"a-level", met(a, "level %d after gates (needs 4 or more)", level)})

	b, why := qualifies(f, e)
	checks = append(checks, Check{"b-effect", met(b, "%s", why)})

	c := e.tier == 1 || f.GovDefense
	target := fmt.Sprintf("best target tier %d", e.tier)
	if f.GovDefense {
		target += ", government or defence target"
	}
	checks = append(checks, Check{"c-target", met(c, "%s (needs tier 1 or government/defence)", target)})

	scale := e.concerted && (f.T1Organisations >= 3 || f.T1Sectors >= 2)
	d := e.physical || scale
	var gravity string
	switch {
	case e.physical:
		gravity = "physical or safety consequence confirmed"
	case scale:
		gravity = fmt.Sprintf("concerted campaign against %s in %s", count(f.T1Organisations, "tier-1 organisation"), count(f.T1Sectors, "tier-1 sector"))
	default:
		gravity = fmt.Sprintf("no physical consequence; concerted %v, %d tier-1 organisations (needs 3), %d tier-1 sectors (needs 2)",
			e.concerted, f.T1Organisations, f.T1Sectors)
	}
	checks = append(checks, Check{"d-gravity", met(d, "%s", gravity)})

	attributed := f.StateNexus >= p.StateNexusThreshold && f.StateNexus > 0
	basis := ""
	if f.StateNexusBasis != "" {
		basis = " (basis: " + f.StateNexusBasis + ")"
	}
	checks = append(checks, Check{"attribution", met(attributed, "state-nexus confidence %.2f%s against threshold %.2f",
		f.StateNexus, basis, p.StateNexusThreshold)})

	// (b) already needs an effect; the stage test states outright that
	// reconnaissance, however large, is never a candidate.
	if !(a && b && c && d) || e.stage != StageEffect {
		return "", checks
	}
	if attributed {
		return CandidacyAAC, checks
	}
	return CandidacyAACPending, checks
}

// qualifies tells whether the effect is destructive, process manipulation
// or physical in the sense of §6.4 (b), and why.
func qualifies(f Facts, e evidence) (bool, string) {
	if e.stage != StageEffect {
		return false, "no effect observed"
	}
	has := func(base string) bool {
		return slices.ContainsFunc(e.techniques, func(t string) bool { return baseID(t) == base })
	}
	var found []string
	for _, t := range e.techniques {
		if qualifyingEffect(baseID(t)) {
			found = append(found, t)
		}
	}
	if has("T1490") && (e.wiper || has("T1486")) {
		found = append(found, "T1490 with destruction")
	}
	if has("T1486") && (e.wiper || has("T1490")) {
		// Recovery inhibited or data wiped: no way back by decryption.
		found = append(found, "T1486 without recovery")
	}
	if has("T1529") && f.Location >= 5 {
		found = append(found, fmt.Sprintf("T1529 on critical systems (location L%d)", f.Location))
	}
	if f.Physical && !has("T0879") && !has("T0880") {
		found = append(found, "physical consequence")
	}
	denial := e.tier == 1 && (has("T1498") || has("T1499"))
	if denial && f.DenialFor >= 24*time.Hour {
		found = append(found, fmt.Sprintf("denial of a tier-1 service for %s", f.DenialFor))
	}
	switch {
	case len(found) > 0:
		return true, "qualifying effect: " + strings.Join(found, ", ")
	case denial:
		return false, "denial of a tier-1 service for " + human(f.DenialFor) + ", under 24h (a brief denial is unlikely to be force)"
	}
	return false, "effect is neither destructive, process manipulation nor physical"
}

// impactName names the functional impact in DESIGN §4's terms.
func impactName(e evidence) string {
	switch {
	case e.physical || e.manipulation:
		return "physical"
	case e.destruction:
		return "destruction"
	case e.denial:
		return "denial"
	case e.stage == StageEffect:
		return "degraded"
	}
	return "none"
}

// checklist fills the Tallinn scale-and-effects checklist of §6.4. Its
// findings describe; they weigh nothing and decide nothing.
func checklist(f Facts, x Factors, e evidence) []Check {
	immediacy := "no effect observed"
	if e.stage == StageEffect {
		immediacy = "effect observed; no reconnaissance before it"
		if f.ReconToEffect > 0 {
			immediacy = "effect " + human(f.ReconToEffect) + " after first reconnaissance"
		}
	}
	directness := "no impact technique observed"
	if len(e.impacts) > 0 {
		directness = "techniques reach impact: " + strings.Join(e.impacts, ", ")
	}
	invasiveness := "location unknown"
	if f.Location >= 1 && f.Location <= 7 {
		invasiveness = fmt.Sprintf("location L%d (%s)", f.Location, locationName(f.Location))
	}
	measure := fmt.Sprintf("%s, %s, %s", count(f.Targets, "target"), count(f.Organisations, "organisation"), count(e.sectors, "sector"))
	if f.DenialFor > 0 {
		measure += "; denial lasting " + human(f.DenialFor)
	}
	military := "no government or defence target"
	if f.GovDefense {
		military = "government or defence target"
	}
	state := "no state nexus known"
	if f.StateNexus > 0 {
		state = fmt.Sprintf("state-nexus confidence %.2f", f.StateNexus)
		if f.StateNexusBasis != "" {
			state += " (basis: " + f.StateNexusBasis + ")"
		}
	}
	legality := "effects beyond reconnaissance and espionage"
	if e.stage != StageEffect {
		legality = "reconnaissance or espionage only: weighs against force"
	}
	return []Check{
		{"severity", fmt.Sprintf("functional impact %d, information impact %d, recoverability %d",
			x.FunctionalImpact, x.InformationImpact, x.Recoverability)},
		{"immediacy", immediacy},
		{"directness", directness},
		{"invasiveness", invasiveness},
		{"measurability", measure},
		{"military-character", military},
		{"state-involvement", state},
		{"presumptive-legality", legality},
	}
}

func locationName(l int) string {
	return [...]string{"", "business DMZ", "business network", "business network management",
		"critical-system DMZ", "critical-system management", "critical systems", "safety systems"}[l]
}

// count renders "1 sector", "4 sectors".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// human renders a duration without trailing zero units: 36h, 2h30m, 45s.
func human(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
