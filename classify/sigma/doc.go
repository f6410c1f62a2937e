// Package sigma compiles Sigma rules and evaluates them against canonical
// events: it turns rule files into a Ruleset whose matches become Signals.
//
// # Supported subset
//
// Detection rules: named selections as maps (AND of fields) or lists of maps
// (OR); value lists (OR, or AND with |all); keyword lists, searched in a fixed
// set of text fields (process command line, executable and name, parent
// executable, file path, user agent, domains, rule name, event action,
// service and user name); null for an absent field; the modifiers contains,
// startswith, endswith, all, re (with i, m, s), cidr, gt, gte, lt, lte,
// windash, exists, expand and cased. Values match case-insensitively with
// the wildcards * and ? and the escapes \*, \? and \\. Conditions take and,
// or, not (precedence not > and > or), parentheses, `1 of x*`, `all of x*`,
// `1 of them` and `all of them`; a list of conditions is their OR.
//
// Correlation rules: event_count, value_count and value_sum with group-by,
// timespan, a gt/gte/lt/lte/eq condition (ranges allowed), aliases and
// generate. Windows slide in event time at a resolution of timespan/64 for
// counts and sums and exactly for distinct values. A correlation fires once
// when its condition is first met and re-arms one timespan later. Base
// rules referenced by a correlation emit signals only if a correlation
// referencing them sets generate: true. Chained correlations, temporal and
// temporal_ordered are not implemented and are reported as unsupported.
//
// Case-insensitive matching folds ASCII letters while matching and so does
// not allocate; a pattern with non-ASCII letters lowers the event value
// first. Non-ASCII event text folding to ASCII (the Kelvin sign, long s) is
// not treated as its ASCII letter.
//
// # Fields
//
// Rules may name ECS fields (process.executable, destination.port, ...) or
// common Sigma fields, which map to ECS (Image → process.executable,
// CommandLine → process.command_line, DestinationPort → destination.port,
// ...; see sigmaFields). Any other field is read from Event.Labels under its
// name as written ("labels.x" reads label x); Compile warns about them.
//
// # Log sources
//
// A rule's logsource category routes it: process_creation sees only events
// whose event.category is process; network_connection, firewall and dns
// see network; file_event, file_rename (and the other file_*) see file;
// registry_* see registry (see categoryRoutes). A rule without a category,
// or with one not in the table, sees every event. The product only excludes
// events that contradict it: an OS product (windows, linux, macos) against
// a different host.os.family, or a sensor product (zeek, suricata, falco,
// sysmon) against a different observer.product. The service is not used.
//
// # ATT&CK
//
// Tags give tactics (attack.impact → TA0040, attack.ta0040 → TA0040, ICS
// names → TA01xx) and techniques (attack.t1561.002 → T1561.002). The
// activity class is destructive for Impact, ICS Impact, Impair Process
// Control or Inhibit Response Function; else reconnaissance for
// Reconnaissance, Discovery or ICS Discovery; else intrusion.
//
// The package imports no Kafka and no metrics library; callers read
// Correlator.Stats.
package sigma
