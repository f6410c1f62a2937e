package assets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/classify/internal/yamlpos/yamltest"
)

func demo(t testing.TB) *Inventory {
	t.Helper()
	inv, err := Load("testdata/demo-assets.yaml")
	if err != nil {
		t.Fatalf("loading demo inventory: %v", err)
	}
	return inv
}

func TestLookup(t *testing.T) {
	inv := demo(t)
	v6, err := Load("testdata/ipv6.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		inv  *Inventory
		in   string
		want Asset
	}{
		{inv, "10.10.1.1", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 2, Known: true}},
		{inv, "10.10.5.20", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 6, Role: "scada", Known: true}},
		{inv, "10.10.9.10", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 5, Role: "engineering", Known: true}},
		{inv, "10.10.9.11", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 2, Known: true}},
		{inv, "::ffff:10.10.9.10", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 5, Role: "engineering", Known: true}},
		{inv, "10.20.3.4", Asset{Organisation: "Harbor Bank", Sector: "finance", Tier: 1, Location: 3, Known: true}},
		{inv, "10.23.255.255", Asset{Organisation: "Pacific Clearing", Sector: "finance", Tier: 1, Known: true}},
		{inv, "10.30.0.1", Asset{Organisation: "Acme Retail", Sector: "commercial", Tier: 3, Known: true}},
		{inv, "SCADA-HMI-1", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 5, Role: "hmi", Known: true}},
		{inv, "scada-hmi-1.", Asset{Organisation: "Northgrid Energy", Sector: "energy", Tier: 1, Location: 5, Role: "hmi", Known: true}},
		{inv, "192.0.2.77", Asset{Organisation: "unknown 192.0.2.0/24", Tier: 3}},
		{inv, "10.11.0.1", Asset{Organisation: "unknown 10.11.0.0/24", Tier: 3}},
		{inv, "2001:db8:aa:bb::1", Asset{Organisation: "unknown 2001:db8:aa:bb::/64", Tier: 3}},
		{inv, "Laptop-7", Asset{Organisation: "unknown host laptop-7", Tier: 3}},
		{inv, "", Asset{Organisation: "unknown", Tier: 3}},
		{v6, "2001:db8:1:2::5", Asset{Organisation: "Example Telecom", Sector: "communications", Tier: 1, Location: 4, Known: true}},
		{v6, "2001:db8:2::5", Asset{Organisation: "Example Telecom", Sector: "communications", Tier: 2, Known: true}},
		{v6, "fe80::1%eth0", Asset{Organisation: "unknown fe80::/64", Tier: 3}},
		{v6, "192.0.2.7", Asset{Organisation: "Single Host Ltd", Sector: "it", Tier: 2, Known: true}},
		{v6, "192.0.2.8", Asset{Organisation: "unknown 192.0.2.0/24", Tier: 3}},
		{Empty(), "10.10.1.1", Asset{Organisation: "unknown 10.10.1.0/24", Tier: 3}},
	} {
		if got := tc.inv.Lookup(tc.in); got != tc.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	inv := demo(t)
	for _, in := range []string{"10.10.9.10", "10.20.1.1", "scada-hmi-1"} {
		if n := testing.AllocsPerRun(100, func() { inv.Lookup(in) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %.0f times", in, n)
		}
	}
}

func TestInventoryQueries(t *testing.T) {
	inv := demo(t)
	if got, want := inv.Len(), 9; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	got := inv.CIDRsWithRole("Engineering")
	if len(got) != 1 || got[0] != "10.10.9.10/32" {
		t.Errorf("CIDRsWithRole(engineering) = %v, want [10.10.9.10/32]", got)
	}
	if got := inv.CIDRsWithRole("hmi"); len(got) != 0 {
		t.Errorf("CIDRsWithRole(hmi) = %v, want none (host entries have no CIDR)", got)
	}
	if Empty().Len() != 0 {
		t.Error("Empty().Len() != 0")
	}
}

func TestCriticalSector(t *testing.T) {
	for _, s := range Sectors() {
		want := s != "commercial"
		if got := CriticalSector(s); got != want {
			t.Errorf("CriticalSector(%q) = %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"", "oil", "Energy"} {
		if CriticalSector(s) {
			t.Errorf("CriticalSector(%q) = true", s)
		}
	}
}

func TestParseGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good files")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	inv, err := Parse("empty", nil)
	if err != nil || inv.Len() != 0 {
		t.Errorf("Parse(empty) = %v, %v; want an empty inventory", inv, err)
	}
}

func TestParseBad(t *testing.T) {
	yamltest.RunBad(t, Load, []yamltest.Bad{
		{File: "unknown-key.bad.yaml", Want: []string{
			`unknown-key.bad.yaml:6:5: unknown field "colour" in asset`,
		}},
		{File: "many.bad.yaml", Want: []string{
			`many.bad.yaml:2:11: cidr "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?`,
			`many.bad.yaml:6:11: asset has both cidr and host`,
			`many.bad.yaml:13:13: sector "oil" is not allowed`,
			`many.bad.yaml:14:11: tier 5 is out of range 1..4`,
			`many.bad.yaml:15:15: location 9 is out of range`,
			`many.bad.yaml:16:5: asset needs an organisation`,
			`many.bad.yaml:18:11: tier must be an integer, got "one"`,
			`many.bad.yaml:23:5: 10.4.0.0/16 is already defined on line 19`,
			`many.bad.yaml:27:11: host "192.0.2.1" is an address; use cidr`,
		}},
		{File: "syntax.bad.yaml", Want: []string{"syntax.bad.yaml:1: did not find expected '-' indicator"}},
		{File: "notalist.bad.yaml", Want: []string{"notalist.bad.yaml:2:3: assets must be a list"}},
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	yamltest.Seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("fuzz", data)
		if err != nil {
			if inv != nil {
				t.Fatal("inventory returned with an error")
			}
			return
		}
		for _, s := range []string{"10.0.0.1", "::1", "host", "192.0.2.7"} {
			a := inv.Lookup(s)
			if a.Tier < 1 || a.Tier > 4 || a.Organisation == "" {
				t.Fatalf("Lookup(%q) = %+v", s, a)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	inv := demo(b)
	for b.Loop() {
		inv.Lookup("10.10.9.10")
	}
}
