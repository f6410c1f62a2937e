package severity_test

import (
	"fmt"
	"time"

	"github.com/casus-sec/casus/classify/severity"
)

// A wiper across four banks by a concerted campaign with state-nexus
// intelligence (severity-model §7, example 4).
func ExamplePolicy_Assess() {
	p := severity.Default()
	a := p.Assess(severity.Facts{
		Techniques:      []string{"T1561.002", "T1485", "T1490"},
		Tactics:         []string{"TA0040"},
		Classes:         []string{"destructive"},
		Tier:            1,
		Sectors:         []string{"finance"},
		Location:        5,
		ActorKind:       "apt-targeted",
		StateNexus:      0.7,
		StateNexusBasis: "government attribution",
		Targets:         60, Organisations: 4, SectorsCount: 1,
		T1Organisations: 4, T1Sectors: 1,
		SourceClusters: 3, Concerted: true,
		ReconToEffect: 36 * time.Hour,
	})
	fmt.Printf("score %.1f, level %d %s, %s\n", a.Score, a.Level, a.LevelName, a.Candidacy)
	for _, g := range a.Gates {
		fmt.Println("gate:", g)
	}
	for _, f := range a.Factors {
		fmt.Printf("%-18s %3d × %d = %4.1f\n", f.Name, f.Value, f.Weight, f.Points)
	}
	// Output:
	// score 87.2, level 4 Severe, armed-attack-candidate
	// gate: L5 gate closed: no physical or safety effect and no wide-scale disruption (4 organisations, needs 10; 1 sector, needs 3); L5 Emergency lowered to L4 Severe
	// functional_impact  100 × 6 = 17.6
	// observed_activity  100 × 5 = 14.7
	// location            80 × 4 =  9.4
	// actor              100 × 4 = 11.8
	// information_impact 100 × 2 =  5.9
	// recoverability      60 × 4 =  7.1
	// cross_sector        35 × 3 =  3.1
	// potential          100 × 6 = 17.6
}
