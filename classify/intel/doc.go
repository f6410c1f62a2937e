// Package intel is the threat-intelligence view casus uses for attribution:
// it maps a source address (by longest-prefix match over addresses and
// CIDRs) to the actor behind it, the actor's kind on the NCISS actor scale,
// an optional state sponsor and a state-nexus confidence with its basis.
//
// The file (DESIGN §4b):
//
//	indicators:
//	  - cidr: 203.0.113.0/24          # or address: 198.51.100.7 (exactly one)
//	    actor: ELECTRUM-7
//	    kind: apt-targeted            # see Kinds
//	    sponsor: Example State        # optional
//	    state_nexus: 0.7              # 0..1, default 0
//	    basis: "government attribution 2024-05"  # required when state_nexus > 0
//
// Decoding is strict: unknown or repeated keys and bad values are errors with
// file, line and column, all reported at once. State-nexus confidence only
// ever comes from this file or an analyst: casus never infers it from the
// traffic itself, and an address without intelligence is of unknown kind.
//
// The package is pure: no I/O beyond reading the file in Load, no Kafka, no
// HTTP, no metrics.
package intel
