package assets

import (
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/classify/internal/prefix"
	"github.com/casus-sec/casus/classify/internal/yamlpos"
)

// Asset is what the inventory knows about one target.
type Asset struct {
	Organisation string
	Sector       string // one of Sectors, or "" when unknown
	Tier         int    // 1 national-critical .. 4 personal
	Location     int    // NCISS location level 1..7, 0 unknown
	Role         string // free text; RoleEngineering marks engineering workstations
	Known        bool   // false for the unknown-asset default
}

// RoleEngineering is the role of engineering workstations, the hosts from
// which control systems are programmed.
const RoleEngineering = "engineering"

// UnknownTier is the tier of assets the inventory does not know: an
// ordinary business (DESIGN §4b).
const UnknownTier = 3

// Sectors returns the allowed sector names (PPD-21 sectors, short lower-case
// names), sorted.
func Sectors() []string {
	return []string{
		"chemical", "commercial", "communications", "critical-manufacturing",
		"dams", "defence", "emergency-services", "energy", "finance",
		"food-agriculture", "government", "health", "it", "nuclear",
		"transportation", "water",
	}
}

// ValidSector reports whether s is one of Sectors.
func ValidSector(s string) bool {
	_, ok := slices.BinarySearch(Sectors(), s)
	return ok
}

// CriticalSector reports whether a sector counts as critical infrastructure
// for the severity model. Commercial facilities, although a PPD-21 sector,
// stand for ordinary business here, and "" is unknown.
func CriticalSector(sector string) bool {
	return sector != "commercial" && ValidSector(sector)
}

type entry struct {
	prefix netip.Prefix // invalid for host entries
	host   string       // lower-case; "" for prefix entries
	asset  Asset
}

// Inventory maps addresses and host names to assets. It is immutable once
// built, so one value may be shared by goroutines.
type Inventory struct {
	entries  []entry
	prefixes prefix.Table[int] // index into entries
	hosts    map[string]int
}

// Empty returns an inventory that knows no asset.
func Empty() *Inventory { return &Inventory{} }

// Len returns the number of entries.
func (inv *Inventory) Len() int { return len(inv.entries) }

// Lookup returns the asset for an address (longest-prefix match) or a host
// name (exact, case-insensitive). Unknown targets get the unknown-asset
// default: tier 3, an organisation named after the address's /24 (/64 for
// IPv6) or after the host name, no sector.
func (inv *Inventory) Lookup(addrOrHost string) Asset {
	if prefix.LooksLikeAddr(addrOrHost) {
		a, err := netip.ParseAddr(addrOrHost)
		if err != nil {
			return Asset{Organisation: "unknown " + addrOrHost, Tier: UnknownTier}
		}
		a = prefix.Canonical(a) // names the unknown default's /24 or /64
		if idx, ok := inv.prefixes.Lookup(a); ok {
			return inv.entries[idx].asset
		}
		return unknownAddr(a)
	}
	host := strings.TrimSuffix(addrOrHost, ".")
	if idx, ok := inv.hosts[host]; ok {
		return inv.entries[idx].asset
	}
	if lower := strings.ToLower(host); lower != host {
		if idx, ok := inv.hosts[lower]; ok {
			return inv.entries[idx].asset
		}
	}
	if host == "" {
		return Asset{Organisation: "unknown", Tier: UnknownTier}
	}
	return Asset{Organisation: "unknown host " + strings.ToLower(host), Tier: UnknownTier}
}

func unknownAddr(a netip.Addr) Asset {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return Asset{Organisation: "unknown " + p.String(), Tier: UnknownTier}
}

// CIDRsWithRole returns, in file order, the CIDRs of the entries whose role
// equals role (case-insensitive), e.g. the engineering workstations.
func (inv *Inventory) CIDRsWithRole(role string) []string {
	var out []string
	for _, e := range inv.entries {
		if e.prefix.IsValid() && strings.EqualFold(e.asset.Role, role) {
			out = append(out, e.prefix.String())
		}
	}
	return out
}

// Load reads and parses an inventory file.
func Load(path string) (*Inventory, error) {
	return yamlpos.LoadFile(path, "asset inventory", Parse)
}

func entryFields() []string {
	return []string{"cidr", "host", "organisation", "sector", "tier", "location", "role"}
}

// Parse parses an inventory; name is used in error positions. An empty
// document is an empty inventory.
func Parse(name string, data []byte) (*Inventory, error) {
	p := &parser{yamlpos.NewParser(name)}
	inv := &Inventory{hosts: make(map[string]int)}
	seen := yamlpos.Unique[string]{} // cidr or host → line of first definition
	p.List(data, "inventory", "assets", "asset", entryFields(), func(item *yaml.Node, f map[string]*yaml.Node) {
		e, ok := p.entry(item, f)
		if !ok {
			return
		}
		key := e.host
		if e.prefix.IsValid() {
			key = e.prefix.String()
		}
		if !seen.Add(p.Parser, key, item) {
			return
		}
		idx := len(inv.entries)
		inv.entries = append(inv.entries, e)
		if e.host != "" {
			inv.hosts[e.host] = idx
		} else {
			inv.prefixes.Add(e.prefix, idx)
		}
	})
	if err := p.Err(); err != nil {
		return nil, err
	}
	return inv, nil
}

func (p *parser) entry(item *yaml.Node, f map[string]*yaml.Node) (entry, bool) {
	before := p.NumErrors()
	var e entry
	cidrNode, hostNode := f["cidr"], f["host"]
	switch {
	case cidrNode != nil && hostNode != nil:
		p.Errorf(hostNode, "asset has both cidr and host; give exactly one")
	case cidrNode == nil && hostNode == nil:
		p.Errorf(item, "asset needs a cidr or a host")
	case cidrNode != nil:
		e.prefix = p.prefix(cidrNode)
	default:
		e.host = p.hostName(hostNode)
	}
	a := &e.asset
	a.Known = true
	var ok bool
	if a.Organisation = p.Str(f["organisation"], "organisation"); a.Organisation == "" {
		p.Errorf(yamlpos.Or(f["organisation"], item), "asset needs an organisation")
	}
	if n := f["sector"]; n == nil {
		p.Errorf(item, "asset needs a sector (one of %s)", strings.Join(Sectors(), ", "))
	} else if a.Sector = strings.ToLower(p.Str(n, "sector")); !ValidSector(a.Sector) {
		p.Errorf(n, "sector %q is not allowed (one of %s)", n.Value, strings.Join(Sectors(), ", "))
	}
	if n := f["tier"]; n == nil {
		p.Errorf(item, "asset needs a tier (1..4)")
	} else if a.Tier, ok = p.Integer(n, "tier"); ok && (a.Tier < 1 || a.Tier > 4) {
		p.Errorf(n, "tier %s is out of range 1..4", n.Value)
	}
	if n := f["location"]; n != nil {
		if a.Location, ok = p.Integer(n, "location"); ok && (a.Location < 0 || a.Location > 7) {
			p.Errorf(n, "location %s is out of range 1..7 (0 = unknown)", n.Value)
		}
	}
	a.Role = p.Str(f["role"], "role")
	return e, p.NumErrors() == before
}

func (p *parser) prefix(n *yaml.Node) netip.Prefix {
	s := p.Str(n, "cidr")
	if s == "" {
		p.Errorf(n, "cidr is empty")
		return netip.Prefix{}
	}
	if pr, ok := prefix.Host(s); ok {
		// A bare address stands for itself (/32 or /128).
		return pr
	}
	pr, err := prefix.ParseCIDR(s)
	if err != nil {
		p.Errorf(n, "cidr %v", err)
		return netip.Prefix{}
	}
	return pr
}

func (p *parser) hostName(n *yaml.Node) string {
	s := strings.TrimSuffix(p.Str(n, "host"), ".")
	switch {
	case s == "":
		p.Errorf(n, "host is empty")
	case strings.ContainsAny(s, " \t/"):
		p.Errorf(n, "host %q is not a host name", s)
	default:
		if _, err := netip.ParseAddr(s); err == nil {
			p.Errorf(n, "host %q is an address; use cidr", s)
			return ""
		}
	}
	return strings.ToLower(s)
}
