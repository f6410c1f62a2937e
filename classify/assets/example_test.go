package assets_test

import (
	"fmt"

	"github.com/casus-sec/casus/classify/assets"
)

func ExampleInventory_Lookup() {
	inv, err := assets.Parse("inline", []byte(`
assets:
  - cidr: 10.10.0.0/16
    organisation: Northgrid Energy
    sector: energy
    tier: 1
  - cidr: 10.10.5.0/24
    organisation: Northgrid Energy
    sector: energy
    tier: 1
    location: 6
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, target := range []string{"10.10.5.9", "10.10.7.1", "192.0.2.44"} {
		a := inv.Lookup(target)
		fmt.Printf("%s: %s, tier %d, location %d, known %v\n", target, a.Organisation, a.Tier, a.Location, a.Known)
	}
	// Output:
	// 10.10.5.9: Northgrid Energy, tier 1, location 6, known true
	// 10.10.7.1: Northgrid Energy, tier 1, location 0, known true
	// 192.0.2.44: unknown 192.0.2.0/24, tier 3, location 0, known false
}
