package intel

import (
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/internal/prefix"
	"github.com/casus-sec/casus/classify/internal/yamlpos"
)

// Actor is what intelligence says about a source.
type Actor struct {
	Name       string
	Kind       string // one of Kinds; KindUnknown without intelligence
	Sponsor    string // state sponsor, "" when none is known
	Basis      string // why the state nexus is believed
	StateNexus float64
	Known      bool // false for the unknown default
}

// KindUnknown is the kind of sources no indicator covers.
const KindUnknown = "unknown"

// Kinds returns the actor kinds in the order of the NCISS actor
// characterisation, least to most grave.
func Kinds() []string {
	return []string{
		"hacktivist", "insider-unwitting", "criminal", KindUnknown,
		"insider-witting", "apt", "apt-targeted",
	}
}

// ValidKind reports whether k is one of Kinds.
func ValidKind(k string) bool { return slices.Contains(Kinds(), k) }

// Intel maps source addresses to actors. It is immutable once built, so one
// value may be shared by goroutines.
type Intel struct {
	actors   []Actor
	prefixes prefix.Table[int] // index into actors
}

// Empty returns intelligence that knows no actor.
func Empty() *Intel { return &Intel{} }

// Len returns the number of indicators.
func (in *Intel) Len() int { return len(in.actors) }

// Lookup returns the actor behind an address, by longest-prefix match; an
// address no indicator covers (or a string that is no address) gives an
// unknown actor.
func (in *Intel) Lookup(addr string) Actor {
	a, ok := prefix.ParseAddr(addr)
	if !ok {
		return Actor{Kind: KindUnknown}
	}
	if idx, ok := in.prefixes.Lookup(a); ok {
		return in.actors[idx]
	}
	return Actor{Kind: KindUnknown}
}

// Load reads and parses a threat-intelligence file.
func Load(path string) (*Intel, error) {
	return yamlpos.LoadFile(path, "threat intelligence", Parse)
}

func indicatorFields() []string {
	return []string{"cidr", "address", "actor", "kind", "sponsor", "state_nexus", "basis"}
}

// Parse parses threat intelligence; name is used in error positions. An
// empty document holds no indicator.
func Parse(name string, data []byte) (*Intel, error) {
	p := &parser{yamlpos.NewParser(name)}
	in := &Intel{}
	seen := yamlpos.Unique[netip.Prefix]{}
	p.List(data, "intelligence file", "indicators", "indicator", indicatorFields(), func(item *yaml.Node, f map[string]*yaml.Node) {
		pr, actor, ok := p.indicator(item, f)
		if !ok || !seen.Add(p.Parser, pr, item) {
			return
		}
		idx := len(in.actors)
		in.actors = append(in.actors, actor)
		in.prefixes.Add(pr, idx)
	})
	if err := p.Err(); err != nil {
		return nil, err
	}
	return in, nil
}

func (p *parser) indicator(item *yaml.Node, f map[string]*yaml.Node) (netip.Prefix, Actor, bool) {
	before := p.NumErrors()
	var pr netip.Prefix
	cidrNode, addrNode := f["cidr"], f["address"]
	switch {
	case cidrNode != nil && addrNode != nil:
		p.Errorf(addrNode, "indicator has both cidr and address; give exactly one")
	case cidrNode == nil && addrNode == nil:
		p.Errorf(item, "indicator needs a cidr or an address")
	case cidrNode != nil:
		pr = p.prefix(cidrNode)
	default:
		pr = p.address(addrNode)
	}
	a := Actor{Known: true}
	if a.Name = p.Str(f["actor"], "actor"); a.Name == "" {
		p.Errorf(yamlpos.Or(f["actor"], item), "indicator needs an actor")
	}
	if n := f["kind"]; n == nil {
		p.Errorf(item, "indicator needs a kind (one of %s)", strings.Join(Kinds(), ", "))
	} else if a.Kind = strings.ToLower(p.Str(n, "kind")); !ValidKind(a.Kind) {
		p.Errorf(n, "kind %q is not allowed (one of %s)", n.Value, strings.Join(Kinds(), ", "))
	}
	a.Sponsor = p.Str(f["sponsor"], "sponsor")
	if n := f["state_nexus"]; n != nil {
		var ok bool
		if a.StateNexus, ok = p.Number(n, "state_nexus"); ok && (a.StateNexus < 0 || a.StateNexus > 1 || a.StateNexus != a.StateNexus) {
			p.Errorf(n, "state_nexus %s is out of range 0..1", n.Value)
		}
	}
	a.Basis = p.Str(f["basis"], "basis")
	if a.StateNexus > 0 && a.Basis == "" {
		p.Errorf(yamlpos.Or(f["state_nexus"], item), "state_nexus %s needs a basis: say where the attribution comes from", f["state_nexus"].Value)
	}
	return pr, a, p.NumErrors() == before
}

func (p *parser) address(n *yaml.Node) netip.Prefix {
	s := p.Str(n, "address")
	pr, ok := prefix.Host(s)
	if !ok {
		p.Errorf(n, "address %q is not an IP address", s)
	}
	return pr
}

func (p *parser) prefix(n *yaml.Node) netip.Prefix {
	s := p.Str(n, "cidr")
	pr, err := prefix.ParseCIDR(s)
	if err != nil {
		p.Errorf(n, "cidr %v", err)
	}
	return pr
}
