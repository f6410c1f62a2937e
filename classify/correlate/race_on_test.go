//go:build race

package correlate

// raceEnabled: the race detector slows the spray tests tenfold, so they
// use fewer signals under it.
const raceEnabled = true
