// Package prefix matches IP addresses to CIDR prefixes: a longest-prefix-match
// Table for IPv4 and IPv6, and the parsing that hands it canonical addresses
// and prefixes (zones dropped, IPv4-mapped IPv6 addresses unmapped, CIDRs
// with host bits set refused).
//
// It is shared by the classify packages that key operator-written data by
// address (the asset inventory and the threat-intelligence file), so both
// match addresses the same way. A lookup allocates nothing: callers run it
// once per event.
//
// It imports only the standard library.
package prefix
