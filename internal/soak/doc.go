// Package soak judges a casus deployment after a long run under faults: it
// draws the fault schedule from a seed, and checks what casus published
// (escalations and dead letters) against the ground truth of the records
// sent, counting what is missing, repeated, conflicting or unexpected, and
// renders the verdict as a table.
package soak
