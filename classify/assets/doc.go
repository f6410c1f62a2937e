// Package assets is the asset inventory: it maps a target address (by
// longest-prefix CIDR match) or host name to the organisation, critical
// infrastructure sector, tier (severity-model §6.1) and NCISS location level
// the severity model needs.
//
// The inventory is read from a YAML file (DESIGN §4b):
//
//	assets:
//	  - cidr: 10.10.0.0/16         # or host: scada-hmi-1 (exactly one of the two)
//	    organisation: Northgrid Energy
//	    sector: energy             # see Sectors
//	    tier: 1                    # 1..4
//	    location: 6                # NCISS location level 1..7; 0 or absent = unknown
//	    role: engineering          # optional free text
//
// Decoding is strict: unknown or repeated keys, bad values and duplicate
// entries are errors carrying file, line and column, all reported at once.
//
// An address the inventory does not know is an ordinary business (tier 3) in
// an organisation named after its /24 (IPv6: its /64), so that correlation can
// still group it with its neighbours.
//
// The package is pure: no I/O beyond reading the file in Load, no Kafka, no
// HTTP, no metrics.
package assets
