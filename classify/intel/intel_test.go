package intel

import (
	"errors"
	"os"
	"testing"

	"github.com/casus-sec/casus/classify/internal/yamlpos/yamltest"
)

func TestLookup(t *testing.T) {
	demo, err := Load("testdata/demo-intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := Load("testdata/mixed.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	electrum := Actor{Name: "ELECTRUM-7", Kind: "apt-targeted", Sponsor: "Example State",
		Basis: "demo: joint government attribution advisory, 2024-05", StateNexus: 0.7, Known: true}
	unknown := Actor{Kind: "unknown"}
	for _, tc := range []struct {
		in   *Intel
		addr string
		want Actor
	}{
		{demo, "203.0.113.5", electrum},
		{demo, "::ffff:203.0.113.5", electrum},
		{demo, "198.51.100.200", Actor{Name: "CRIMSON-LYNX", Kind: "criminal", Known: true}},
		{demo, "198.51.101.1", unknown},
		{demo, "scanner.example", unknown},
		{demo, "", unknown},
		{mixed, "192.0.2.65", Actor{Name: "BROAD-NET", Kind: "hacktivist", Known: true}},
		{mixed, "192.0.2.66", Actor{Name: "NARROW-HOST", Kind: "apt", Sponsor: "Example State", Basis: "analyst assessment", StateNexus: 1, Known: true}},
		{mixed, "2001:db8:bad:1::9", Actor{Name: "V6-CREW", Kind: "insider-witting", Known: true}},
		{mixed, "2001:db8:bae::9", unknown},
		{Empty(), "203.0.113.5", unknown},
	} {
		if got := tc.in.Lookup(tc.addr); got != tc.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tc.addr, got, tc.want)
		}
	}
	if demo.Len() != 2 || mixed.Len() != 3 || Empty().Len() != 0 {
		t.Errorf("Len() = %d, %d, %d; want 2, 3, 0", demo.Len(), mixed.Len(), Empty().Len())
	}
	if n := testing.AllocsPerRun(100, func() { demo.Lookup("203.0.113.5") }); n != 0 {
		t.Errorf("Lookup allocates %.0f times", n)
	}
}

func TestParseBad(t *testing.T) {
	yamltest.RunBad(t, Load, []yamltest.Bad{
		{File: "many.bad.yaml", Want: []string{
			`many.bad.yaml:3:14: indicator has both cidr and address`,
			`many.bad.yaml:6:14: address "not-an-ip" is not an IP address`,
			`many.bad.yaml:8:11: kind "nation-state" is not allowed (one of hacktivist, insider-unwitting, criminal, unknown, insider-witting, apt, apt-targeted)`,
			`many.bad.yaml:9:5: indicator needs an actor`,
			`many.bad.yaml:11:18: state_nexus 1.5 is out of range 0..1`,
			`many.bad.yaml:11:18: state_nexus 1.5 needs a basis`,
			`many.bad.yaml:15:18: state_nexus 0.6 needs a basis`,
			`many.bad.yaml:19:18: state_nexus must be a number, got "high"`,
			`many.bad.yaml:20:5: unknown field "confidence" in indicator`,
		}},
		{File: "unknown-top.bad.yaml", Want: []string{`unknown-top.bad.yaml:1:1: unknown field "indicator" in intelligence file (allowed: indicators)`}},
	})
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/nope.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	yamltest.Seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Parse("fuzz", data)
		if err != nil {
			if in != nil {
				t.Fatal("intel returned with an error")
			}
			return
		}
		for _, s := range []string{"203.0.113.5", "::1", "x"} {
			a := in.Lookup(s)
			if !ValidKind(a.Kind) || a.StateNexus < 0 || a.StateNexus > 1 || (a.StateNexus > 0 && a.Basis == "") {
				t.Fatalf("Lookup(%q) = %+v", s, a)
			}
		}
	})
}
