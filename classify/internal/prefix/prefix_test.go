package prefix

import (
	"net/netip"
	"testing"
)

func table(t testing.TB, cidrs ...string) *Table[string] {
	t.Helper()
	var tab Table[string]
	for _, c := range cidrs {
		p, err := ParseCIDR(c)
		if err != nil {
			t.Fatalf("ParseCIDR(%q): %v", c, err)
		}
		tab.Add(p, c)
	}
	return &tab
}

func TestTableLookup(t *testing.T) {
	// Added shortest-last and out of order, so the result cannot come from
	// insertion order.
	tab := table(t,
		"10.10.5.0/24", "10.0.0.0/8", "10.10.5.7/32", "10.10.0.0/16", "0.0.0.0/0",
		"2001:db8::/32", "2001:db8:1:2::/64", "2001:db8:1:2::5/128",
		"::/96", // an IPv6 prefix that holds ::a.b.c.d but no IPv4 address
	)
	for _, tc := range []struct {
		addr   string
		want   string
		wantOK bool
	}{
		{"10.10.5.7", "10.10.5.7/32", true},
		{"10.10.5.8", "10.10.5.0/24", true},
		{"10.10.6.1", "10.10.0.0/16", true},
		{"10.200.0.1", "10.0.0.0/8", true},
		{"192.0.2.1", "0.0.0.0/0", true},
		{"::ffff:10.10.5.7", "10.10.5.7/32", true}, // IPv4-mapped is IPv4
		{"::ffff:192.0.2.1", "0.0.0.0/0", true},
		{"::10.10.5.7", "::/96", true}, // IPv4-compatible is IPv6
		{"2001:db8:1:2::5", "2001:db8:1:2::5/128", true},
		{"2001:db8:1:2::6", "2001:db8:1:2::/64", true},
		{"2001:db8:9::1", "2001:db8::/32", true},
		{"fe80::1%eth0", "", false},
		{"2001:db8:1:2::5%eth0", "2001:db8:1:2::5/128", true}, // zone ignored
		{"2001:db9::1", "", false},                            // no IPv6 default: 0.0.0.0/0 is IPv4 only
	} {
		a := netip.MustParseAddr(tc.addr)
		got, ok := tab.Lookup(a)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("Lookup(%s) = %q, %v; want %q, %v", tc.addr, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestTableFamiliesApart(t *testing.T) {
	// A /0 in one family must not cover the other.
	v6 := table(t, "::/0")
	if _, ok := v6.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("::/0 matched an IPv4 address")
	}
	if _, ok := v6.Lookup(netip.MustParseAddr("::ffff:192.0.2.1")); ok {
		t.Error("::/0 matched an IPv4-mapped address, which is IPv4")
	}
	v4 := table(t, "0.0.0.0/0")
	if _, ok := v4.Lookup(netip.MustParseAddr("::1")); ok {
		t.Error("0.0.0.0/0 matched an IPv6 address")
	}
}

func TestTableEmptyAndReplace(t *testing.T) {
	var tab Table[int]
	for _, s := range []string{"10.0.0.1", "::1"} {
		if v, ok := tab.Lookup(netip.MustParseAddr(s)); ok || v != 0 {
			t.Errorf("empty Lookup(%s) = %d, %v", s, v, ok)
		}
	}
	if _, ok := tab.Lookup(netip.Addr{}); ok {
		t.Error("Lookup(zero Addr) matched")
	}
	p := netip.MustParsePrefix("10.0.0.0/8")
	tab.Add(p, 1)
	tab.Add(p, 2)
	if v, ok := tab.Lookup(netip.MustParseAddr("10.1.2.3")); !ok || v != 2 {
		t.Errorf("after re-Add, Lookup = %d, %v; want 2, true", v, ok)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := table(t, "10.0.0.0/8", "10.10.0.0/16", "10.10.5.0/24", "2001:db8::/32", "2001:db8:1::/48")
	for _, s := range []string{"10.10.5.1", "10.99.0.1", "192.0.2.1", "::ffff:10.10.5.1", "2001:db8:1::1", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s)
		if n := testing.AllocsPerRun(100, func() { tab.Lookup(a) }); n != 0 {
			t.Errorf("Lookup(%s) allocates %.0f times", s, n)
		}
	}
	for _, s := range []string{"10.10.5.1", "::ffff:10.10.5.1", "fe80::1%eth0", "scada-hmi-1", ""} {
		if n := testing.AllocsPerRun(100, func() {
			if a, ok := ParseAddr(s); ok {
				tab.Lookup(a)
			}
		}); n != 0 {
			t.Errorf("ParseAddr+Lookup(%q) allocates %.0f times", s, n)
		}
	}
}

func TestLooksLikeAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"10.0.0.1", true},
		{"::1", true},
		{"fe80::1%eth0", true},
		{"1.2.3", true}, // address-shaped, even if netip refuses it
		{"scada-hmi-1", false},
		{"10.0.0.1a", false},
		{"host.example", false},
		{"", false},
	} {
		if got := LooksLikeAddr(tc.in); got != tc.want {
			t.Errorf("LooksLikeAddr(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// str shows an address or prefix, "" for the zero value.
func str[V interface {
	IsValid() bool
	String() string
}](v V) string {
	if !v.IsValid() {
		return ""
	}
	return v.String()
}

// parseCase is one input to a parser, the canonical text it should give and
// the error it should report ("" for none).
type parseCase struct{ in, want, wantErr string }

func checkParse(t *testing.T, fn string, parse func(string) (string, string), cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		if got, gotErr := parse(tc.in); got != tc.want || gotErr != tc.wantErr {
			t.Errorf("%s(%q) = %q, %q; want %q, %q", fn, tc.in, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

func TestParseAddr(t *testing.T) {
	checkParse(t, "ParseAddr", func(s string) (string, string) {
		if a, ok := ParseAddr(s); ok {
			return str(a), ""
		}
		return "", "no address"
	}, []parseCase{
		{"10.0.0.1", "10.0.0.1", ""},
		{"::ffff:10.0.0.1", "10.0.0.1", ""},
		{"fe80::1%eth0", "fe80::1", ""},
		{"2001:DB8::1", "2001:db8::1", ""},
		{"1.2.3", "", "no address"},
		{"10.0.0.256", "", "no address"},
		{"scada-hmi-1", "", "no address"},
		{"", "", "no address"},
	})
}

func TestHost(t *testing.T) {
	checkParse(t, "Host", func(s string) (string, string) {
		if p, ok := Host(s); ok {
			return str(p), ""
		}
		return "", "no host address"
	}, []parseCase{
		{"192.0.2.7", "192.0.2.7/32", ""},
		{"::ffff:192.0.2.7", "192.0.2.7/32", ""},
		{"2001:db8::5", "2001:db8::5/128", ""},
		{"fe80::1%eth0", "", "no host address"}, // a zone has no place in a table
		{"192.0.2.0/24", "", "no host address"},
		{"not-an-ip", "", "no host address"},
		{"", "", "no host address"},
	})
}

func TestParseCIDR(t *testing.T) {
	checkParse(t, "ParseCIDR", func(s string) (string, string) {
		p, err := ParseCIDR(s)
		if err != nil {
			return str(p), err.Error()
		}
		return str(p), ""
	}, []parseCase{
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{"192.0.2.7/32", "192.0.2.7/32", ""},
		{"2001:db8::/32", "2001:db8::/32", ""},
		{"0.0.0.0/0", "0.0.0.0/0", ""},
		{"10.0.0.1/8", "", `"10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?`},
		{"2001:db8::1/32", "", `"2001:db8::1/32" has host bits set; did you mean 2001:db8::/32?`},
		{"::ffff:10.0.0.0/104", "", `"::ffff:10.0.0.0/104" is IPv4-mapped; write it as IPv4`},
		{"10.0.0.1", "", `"10.0.0.1" is not a valid prefix`},
		{"10.0.0.0/33", "", `"10.0.0.0/33" is not a valid prefix`},
		{"fe80::%eth0/64", "", `"fe80::%eth0/64" is not a valid prefix`},
		{"", "", `"" is not a valid prefix`},
	})
}

func BenchmarkLookup(b *testing.B) {
	tab := table(b, "10.0.0.0/8", "10.10.0.0/16", "10.10.5.0/24", "10.10.5.7/32")
	a := netip.MustParseAddr("10.10.5.9")
	for b.Loop() {
		tab.Lookup(a)
	}
}
