// Package sketch keeps bounded-memory summaries for correlation state:
// Distinct counts distinct strings exactly up to a bound and approximately
// (HyperLogLog, precision 12, about 4 KiB) beyond it, and Decayed is a
// counter that loses half its weight every half-life.
//
// Both exist so an incident's memory stays bounded however many spoofed
// sources, ports or targets an attacker sprays, while small counts stay
// exact and explainable. Everything is deterministic: the hash has no seed,
// so the same values give the same registers, estimates and JSON bytes in
// every process.
//
// It imports only the standard library: no Kafka, no metrics library.
package sketch
