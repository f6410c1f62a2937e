package severity

import (
	_ "embed"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/internal/yamlpos"
)

//go:embed default.yaml
var defaultYAML []byte

// Weights are the NCISS category weights.
type Weights struct {
	FunctionalImpact  int
	ObservedActivity  int
	Location          int
	Actor             int
	InformationImpact int
	Recoverability    int
	CrossSector       int
	Potential         int
}

// Sum returns the sum of the weights, the divisor of the score.
func (w Weights) Sum() int {
	return w.FunctionalImpact + w.ObservedActivity + w.Location + w.Actor +
		w.InformationImpact + w.Recoverability + w.CrossSector + w.Potential
}

// Values are the option values of each factor, by option name (see
// default.yaml for the names).
type Values struct {
	FunctionalImpact  map[string]int
	ObservedActivity  map[string]int
	Location          map[string]int
	Actor             map[string]int
	InformationImpact map[string]int
	Recoverability    map[string]int
	CrossSector       map[string]int // by sector; a sector not listed scores 0
	Potential         map[string]int
}

// Policy is a versioned severity policy. Treat it as read-only once loaded:
// Derive, Evaluate and Assess may run concurrently on one Policy.
type Policy struct {
	Name    string
	Version string
	Weights Weights
	Values  Values
	// Bands are the lowest scores of levels 1..5.
	Bands [5]float64
	// StateNexusThreshold splits armed-attack-candidate (c >= threshold)
	// from armed-attack-candidate-pending-attribution.
	StateNexusThreshold float64
	Cooldown            time.Duration // no repeated escalation at a level within this
	CloseAfter          time.Duration // quiet period before an incident closes
	DeescalateMargin    float64       // score points below a band needed to de-escalate
	DedupWindow         time.Duration // repeats of one dedup key within this only count
	ReconHalfLife       time.Duration // decay of reconnaissance in target counts
	Window              time.Duration // campaign window
	EvidenceCap         int           // signals quoted per escalation
}

// PolicyRef names the policy that produced an assessment.
type PolicyRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Ref returns the policy's name and version.
func (p *Policy) Ref() PolicyRef { return PolicyRef{Name: p.Name, Version: p.Version} }

// Default returns a fresh copy of the embedded default policy.
func Default() *Policy {
	p, err := parse("default.yaml", defaultYAML, false)
	if err != nil {
		// The embedded file is covered by tests; reaching this is a build defect.
		panic(fmt.Sprintf("embedded default policy: %v", err))
	}
	return p
}

// Load reads and parses a policy file.
func Load(path string) (*Policy, error) {
	return yamlpos.LoadFile(path, "severity policy", Parse)
}

// Parse parses a policy. The file must give name and version; every other
// setting, and every single weight or option value, falls back to the
// embedded default when absent. Problems are *Error values with positions,
// all reported at once.
func Parse(name string, data []byte) (*Policy, error) {
	return parse(name, data, true)
}

// option names each factor accepts, in the order of their values.
func optionNames() map[string][]string {
	return map[string][]string{
		"functional_impact": {"none", "no-impact-to-services", "minimal-non-critical", "minimal-critical",
			"significant-non-critical", "denial-non-critical", "significant-critical", "denial-critical"},
		"observed_activity": {"none", StagePrepare, StageEngage, StagePresence, StageEffect},
		"location":          {"unknown", "l1", "l2", "l3", "l4", "l5", "l6", "l7"},
		"actor":             intel.Kinds(),
		"information_impact": {"none", "suspected", "privacy", "proprietary", "destruction-non-critical",
			"critical-breach", "core-credential", "destruction-critical"},
		"recoverability": {"regular", "supplemented", "extended", "not-recoverable"},
		"cross_sector":   assets.Sectors(),
		"potential":      {"minimal", "low", "moderate", "high", "severe"},
	}
}

func factorKeys() []string {
	return []string{"functional_impact", "observed_activity", "location", "actor",
		"information_impact", "recoverability", "cross_sector", "potential"}
}

func policyKeys() []string {
	return []string{"name", "version", "weights", "values", "bands", "state_nexus_threshold",
		"cooldown", "close_after", "deescalate_margin", "dedup_window", "recon_half_life", "window", "evidence_cap"}
}

func (p *Policy) weightRefs() map[string]*int {
	w := &p.Weights
	return map[string]*int{
		"functional_impact": &w.FunctionalImpact, "observed_activity": &w.ObservedActivity,
		"location": &w.Location, "actor": &w.Actor, "information_impact": &w.InformationImpact,
		"recoverability": &w.Recoverability, "cross_sector": &w.CrossSector, "potential": &w.Potential,
	}
}

func (p *Policy) valueRefs() map[string]*map[string]int {
	v := &p.Values
	return map[string]*map[string]int{
		"functional_impact": &v.FunctionalImpact, "observed_activity": &v.ObservedActivity,
		"location": &v.Location, "actor": &v.Actor, "information_impact": &v.InformationImpact,
		"recoverability": &v.Recoverability, "cross_sector": &v.CrossSector, "potential": &v.Potential,
	}
}

// parse decodes a policy; with overlay it starts from the embedded default.
func parse(name string, data []byte, overlay bool) (*Policy, error) {
	pol := &Policy{}
	if overlay {
		pol = Default()
	} else {
		for _, m := range pol.valueRefs() {
			*m = map[string]int{}
		}
	}
	p := &parser{yamlpos.NewParser(name)}
	root := p.Root(data)
	if root == nil || yamlpos.IsNull(root) {
		if p.NumErrors() == 0 {
			p.Errorf(nil, "policy is empty; it needs at least a name and a version")
		}
		return nil, p.Err()
	}
	f := p.Fields(root, "policy", policyKeys()...)
	if f == nil {
		return nil, p.Err()
	}
	pol.Name, pol.Version = "", ""
	for _, k := range []string{"name", "version"} {
		before := p.NumErrors()
		s := p.Str(f[k], k)
		switch {
		case f[k] == nil:
			p.Errorf(root, "policy needs a %s", k)
		case p.NumErrors() > before:
			// not a string; already reported
		case s == "" || strings.ContainsAny(s, " \t\n"):
			p.Errorf(f[k], "%s %q must be a non-empty word", k, s)
		}
		if k == "name" {
			pol.Name = s
		} else {
			pol.Version = s
		}
	}
	if n := f["weights"]; n != nil {
		refs := pol.weightRefs()
		wf := p.Fields(n, "weights", factorKeys()...)
		for _, k := range factorKeys() {
			if wn := wf[k]; wn != nil {
				if v, ok := p.Integer(wn, "weights."+k); ok {
					if v <= 0 {
						p.Errorf(wn, "weights.%s is %d; weights must be > 0", k, v)
					}
					*refs[k] = v
				}
			}
		}
	}
	if n := f["values"]; n != nil {
		p.values(pol, n)
	}
	if n := f["bands"]; n != nil {
		p.bands(pol, n)
	}
	if n := f["state_nexus_threshold"]; n != nil {
		if v, ok := p.Number(n, "state_nexus_threshold"); ok {
			if !(v >= 0 && v <= 1) {
				p.Errorf(n, "state_nexus_threshold %s is out of range 0..1", n.Value)
			}
			pol.StateNexusThreshold = v
		}
	}
	if n := f["deescalate_margin"]; n != nil {
		if v, ok := p.Number(n, "deescalate_margin"); ok {
			if !(v >= 0 && v <= 100) {
				p.Errorf(n, "deescalate_margin %s is out of range 0..100", n.Value)
			}
			pol.DeescalateMargin = v
		}
	}
	if n := f["evidence_cap"]; n != nil {
		if v, ok := p.Integer(n, "evidence_cap"); ok {
			if v < 1 || v > 1000 {
				p.Errorf(n, "evidence_cap %d is out of range 1..1000", v)
			}
			pol.EvidenceCap = v
		}
	}
	for _, d := range []struct {
		key    string
		dst    *time.Duration
		zeroOK bool
	}{
		{"cooldown", &pol.Cooldown, true},
		{"close_after", &pol.CloseAfter, false},
		{"dedup_window", &pol.DedupWindow, true},
		{"recon_half_life", &pol.ReconHalfLife, false},
		{"window", &pol.Window, false},
	} {
		n := f[d.key]
		if n == nil {
			continue
		}
		if v, ok := p.Duration(n, d.key); ok {
			if v < 0 || (v == 0 && !d.zeroOK) {
				p.Errorf(n, "%s %s must be positive", d.key, n.Value)
			}
			*d.dst = v
		}
	}
	if !overlay {
		// The embedded default must be complete on its own.
		p.complete(pol, root)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return pol, nil
}

func (p *parser) values(pol *Policy, n *yaml.Node) {
	names := optionNames()
	refs := pol.valueRefs()
	vf := p.Fields(n, "values", factorKeys()...)
	for _, k := range factorKeys() {
		fn := vf[k]
		if fn == nil {
			continue
		}
		allowed := names[k]
		of := p.Fields(fn, "values."+k, allowed...)
		m := maps.Clone(*refs[k])
		for _, opt := range allowed {
			on := of[opt]
			if on == nil {
				continue
			}
			if v, ok := p.Integer(on, "values."+k+"."+opt); ok {
				if v < 0 || v > 100 {
					p.Errorf(on, "values.%s.%s is %d; option values lie in 0..100", k, opt, v)
				}
				m[opt] = v
			}
		}
		*refs[k] = m
	}
	// Derive picks options by rank, so the ordered scales must rise.
	for _, k := range []string{"observed_activity", "potential"} {
		m, prev, prevName := *refs[k], -1, ""
		for _, opt := range names[k] {
			if v := m[opt]; v < prev {
				p.Errorf(vf[k], "values.%s.%s (%d) is below %s (%d); the scale must not fall", k, opt, v, prevName, prev)
			} else {
				prev, prevName = v, opt
			}
		}
	}
}

func (p *parser) bands(pol *Policy, n *yaml.Node) {
	items := p.Seq(n, "bands")
	if n = yamlpos.Deref(n); n.Kind != yaml.SequenceNode {
		return
	}
	if len(items) != len(pol.Bands) {
		p.Errorf(n, "bands must list %d scores (the lowest of levels 1..5), got %d", len(pol.Bands), len(items))
		return
	}
	for i, it := range items {
		v, ok := p.Number(it, "bands")
		if !ok {
			continue
		}
		switch {
		case !(v > 0 && v <= 100):
			p.Errorf(it, "band %s of level %d is out of range (0, 100]", it.Value, i+1)
		case i > 0 && v <= pol.Bands[i-1]:
			p.Errorf(it, "band %s of level %d does not rise above %g of level %d", it.Value, i+1, pol.Bands[i-1], i)
		}
		pol.Bands[i] = v
	}
}

// complete checks that a policy parsed without a base sets everything.
func (p *parser) complete(pol *Policy, root *yaml.Node) {
	names := optionNames()
	for k, ref := range pol.valueRefs() {
		if k == "cross_sector" {
			continue // unlisted sectors score 0 on purpose
		}
		for _, opt := range names[k] {
			if _, ok := (*ref)[opt]; !ok {
				p.Errorf(root, "values.%s.%s is missing", k, opt)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pol.weightRefs())) {
		if *pol.weightRefs()[k] == 0 {
			p.Errorf(root, "weights.%s is missing", k)
		}
	}
	if pol.Bands[0] == 0 || pol.Window == 0 || pol.CloseAfter == 0 || pol.ReconHalfLife == 0 || pol.EvidenceCap == 0 {
		p.Errorf(root, "bands, window, close_after, recon_half_life and evidence_cap are required")
	}
}

// round1 rounds to one decimal, the precision scores are shown with.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
