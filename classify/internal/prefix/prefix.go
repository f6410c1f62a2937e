package prefix

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Table maps IPv4 and IPv6 prefixes to values and finds the longest prefix
// holding an address. The zero Table is empty and ready to use. It is not safe
// for concurrent Add, but once built any number of goroutines may Lookup.
type Table[T any] struct {
	v4, v6 family[T]
}

// family holds one address family's prefixes: one map per prefix length in
// use, tried from the longest length down, so a lookup is a handful of map
// probes and allocates nothing.
type family[T any] struct {
	lens []length[T] // longest first
}

type length[T any] struct {
	bits     int
	prefixes map[netip.Prefix]T
}

// Add maps p to v, replacing any value p had. p must be valid, masked and not
// IPv4-mapped, as ParseCIDR and Host return it: lookups unmap addresses, so
// an IPv4-mapped prefix would never match.
func (t *Table[T]) Add(p netip.Prefix, v T) {
	f := &t.v6
	if p.Addr().Is4() {
		f = &t.v4
	}
	f.add(p, v)
}

func (f *family[T]) add(p netip.Prefix, v T) {
	i, found := slices.BinarySearchFunc(f.lens, p.Bits(), func(l length[T], bits int) int { return bits - l.bits })
	if !found {
		f.lens = slices.Insert(f.lens, i, length[T]{bits: p.Bits(), prefixes: make(map[netip.Prefix]T)})
	}
	f.lens[i].prefixes[p] = v
}

// Lookup returns the value of the longest prefix that holds a. An address
// with a zone is looked up without it, and an IPv4-mapped IPv6 address as
// IPv4.
func (t *Table[T]) Lookup(a netip.Addr) (T, bool) {
	a = Canonical(a)
	f := &t.v6
	if a.Is4() {
		f = &t.v4
	}
	for _, l := range f.lens {
		p, err := a.Prefix(l.bits)
		if err != nil {
			continue
		}
		if v, ok := l.prefixes[p]; ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// Canonical returns a as tables key it: without a zone, and IPv4 when it is
// an IPv4-mapped IPv6 address.
func Canonical(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// LooksLikeAddr tells addresses from host names without calling
// netip.ParseAddr, whose error for a host name would allocate: an IPv6
// address has a colon, which no host name has, and an IPv4 address is
// nothing but digits and dots.
func LooksLikeAddr(s string) bool {
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// ParseAddr parses s as an address to look up and returns it canonical (see
// Canonical); ok is false when s is no address. It allocates nothing for a
// host name or a valid address.
func ParseAddr(s string) (a netip.Addr, ok bool) {
	if !LooksLikeAddr(s) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return Canonical(a), true
}

// Host parses s as one address written on its own, without a zone, and
// returns the prefix that holds only it (/32 or /128), IPv4-mapped addresses
// unmapped; ok is false when s is no such address.
func Host(s string) (p netip.Prefix, ok bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// ParseCIDR parses s as a prefix for a Table. It refuses what a Table could
// not match as written: IPv4-mapped prefixes, and prefixes with host bits set
// (the error names the masked prefix that was probably meant). The error
// quotes s and leaves naming the field to the caller.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid prefix", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is IPv4-mapped; write it as IPv4", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", s, m)
	}
	return p, nil
}
