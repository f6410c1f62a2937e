package sigma

import (
	"slices"
	"strings"
	"sync"

	"github.com/casus-sec/casus/classify/event"
)

// Logsource is a rule's logsource section.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// categoryMembers lists the categories a broader Sigma category covers:
// registry_event is Sysmon's 12, 13 and 14 together.
var categoryMembers = map[string][]string{
	"registry_event": {"registry_add", "registry_delete", "registry_set", "registry_rename"},
}

// accepts reports whether a rule with logsource r may see an event from l.
// A category the rule names must be the event's (or cover it); a product or
// service the rule names must not contradict the event's, and an event that
// does not know its product or service is not excluded by them: forwarders
// often drop them, while the category is what a rule's fields assume.
func (r Logsource) accepts(l event.Logsource) bool {
	if r.Category != "" && r.Category != l.Category && !slices.Contains(categoryMembers[r.Category], l.Category) {
		return false
	}
	if r.Product != "" && l.Product != "" && r.Product != l.Product {
		return false
	}
	if r.Service != "" && l.Service != "" && r.Service != l.Service {
		return false
	}
	return true
}

func (r Logsource) lower() Logsource {
	return Logsource{strings.ToLower(r.Product), strings.ToLower(r.Category), strings.ToLower(r.Service)}
}

// other stands for an event logsource value no rule names: all such values
// route alike, which keeps the route cache bounded whatever events claim.
const other = "\x00other"

// router picks the rules an event's logsource can reach. Routes are
// computed on first use per distinct logsource, after mapping values no rule
// names to one placeholder, so the cache holds at most
// (products+2)·(categories+2)·(services+2) entries.
type router struct {
	sources                        []Logsource // per rule, lower case
	products, categories, services map[string]bool

	mu     sync.RWMutex
	routes map[event.Logsource]*route
}

// route is what one logsource reaches: candidate rules in rule order, and
// the prefilter fields worth scanning for them.
type route struct {
	rules  []int
	fields []int
}

func newRouter(sources []Logsource) *router {
	rt := &router{
		sources:    sources,
		products:   map[string]bool{},
		categories: map[string]bool{},
		services:   map[string]bool{},
		routes:     map[event.Logsource]*route{},
	}
	for _, s := range sources {
		rt.products[s.Product] = true
		rt.categories[s.Category] = true
		for _, m := range categoryMembers[s.Category] {
			rt.categories[m] = true
		}
		rt.services[s.Service] = true
	}
	return rt
}

func normValue(v string, known map[string]bool) string {
	if v == "" || known[v] {
		return v
	}
	if lv := strings.ToLower(v); known[lv] {
		return lv
	}
	return other
}

// lookup returns the route for l, computing it with build on first use.
func (rt *router) lookup(l event.Logsource, build func(event.Logsource, []int) *route) *route {
	key := event.Logsource{
		Product:  normValue(l.Product, rt.products),
		Category: normValue(l.Category, rt.categories),
		Service:  normValue(l.Service, rt.services),
	}
	rt.mu.RLock()
	r, ok := rt.routes[key]
	rt.mu.RUnlock()
	if ok {
		return r
	}
	var rules []int
	for i, s := range rt.sources {
		if s.accepts(key) {
			rules = append(rules, i)
		}
	}
	r = build(key, rules)
	rt.mu.Lock()
	if prev, ok := rt.routes[key]; ok {
		r = prev
	} else {
		rt.routes[key] = r
	}
	rt.mu.Unlock()
	return r
}
