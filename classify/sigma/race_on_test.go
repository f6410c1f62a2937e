//go:build race

package sigma_test

// raceEnabled: the race detector drops sync.Pool items on purpose, so
// allocation counts are meaningless under it.
const raceEnabled = true
