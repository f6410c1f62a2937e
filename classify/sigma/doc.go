// Package sigma compiles Sigma rules and evaluates them against canonical
// events: it turns rule files into a Ruleset whose matches become Signals.
//
// # Detection rules
//
// Named selections as maps (AND of fields) or lists of maps (OR); value
// lists (OR, or AND with |all); keyword lists, matched anywhere in the
// event's text fields and its source-native fields; null for an absent
// field; the modifiers contains, startswith, endswith, all, re (with i, m,
// s), cidr, base64, base64offset, wide, utf16le, utf16be, utf16, windash,
// exists, gt, gte, lt, lte, fieldref (alone or with contains, startswith,
// endswith), expand (placeholders from Options) and cased. The encoding
// modifiers apply in the order written and need a wildcard-free value.
// Values match case-insensitively with the wildcards * and ? and the
// escapes \*, \? and \\. Conditions take and, or, not (precedence not >
// and > or), parentheses, `1 of x*`, `all of x*`, `1 of them` and `all of
// them`; a list of conditions is their OR. Not implemented, and rejected
// with ErrUnsupported naming it: the neq modifier and the time-part
// modifiers (minute, hour, ...).
//
// Correlation rules: event_count, value_count, value_sum, value_avg,
// temporal and temporal_ordered, with group-by, timespan, a
// gt/gte/lt/lte/eq condition (ranges allowed), aliases and generate. A
// correlation's rules name detection rules or other correlations, by id or
// name: a referenced correlation's firing counts as one event for the
// correlations referencing it, at the time of the event that made it fire,
// with group-by values taken from the fired group's key (the same field
// name, or the same field after resolution, after aliases; a field it does
// not group by is read from that event, with a warning). Reference cycles
// and unknown references are compile errors. temporal fires when every
// referenced rule matched within the timespan (with a condition: that many
// distinct rules); temporal_ordered when they matched in the listed order
// (with a condition: that many leading rules), ordered by event time, then
// by arrival, one event never filling two places. value_avg averages the
// events that carry the field. Windows slide in event time and end at the
// group's newest event, so a late event counts if it falls inside: counts,
// sums and averages at a resolution of timespan/64, distinct values and
// temporal occurrences exactly. A correlation fires once when its condition
// is first met and re-arms one timespan later. Groups, across all
// correlations, are capped by MaxGroups (least recently active evicted) and
// expire after a timespan idle; a group keeps at most MaxDistinct values
// (value_count) or MaxDistinct occurrences of each rule (temporal_ordered,
// oldest dropped). Rules and correlations referenced by a correlation emit
// signals only if a correlation referencing them sets generate: true; a
// correlation without tags or level takes those of what it references.
// Correlations run after those they reference, otherwise in load order. A
// string condition (a rule expression), value_percentile, value_median and
// neq are reported as unsupported.
//
// Case-insensitive matching folds ASCII letters while matching and so does
// not allocate; a pattern with non-ASCII letters that have case lowers the
// event value first. Caseless characters (emoji, symbols) compare byte for
// byte. Non-ASCII event text folding to ASCII (the Kelvin sign, long s) is
// not treated as its ASCII letter.
//
// # Fields
//
// A rule's field is read from the event's own fields (event.Event.Fields)
// under the rule's name first: a Windows event's EventData names are the
// names Sigma's Windows rules use. When the event has no such field, the
// name is mapped to the canonical ECS field: by the first field mapping
// pipeline that applies to the rule's logsource (*.pipeline.yml files among
// the rule files, then Options.Pipelines; see Pipeline), else by the
// built-in table (Image → process.executable, CommandLine →
// process.command_line, DestinationPort → destination.port, id.orig_h →
// source.ip, ...; see sigmaFields). ECS names and labels.x are read as they
// are. A name with no mapping falls back to Event.Labels; Compile warns about
// those, except for Windows rules, whose names are the decoder's own.
//
// # Log sources
//
// Rules are routed by the event's logsource (event.Event.RuleLogsource):
// a category the rule names must be the event's (registry_event covers
// registry_add, registry_delete, registry_set and registry_rename); a
// product or service the rule names must not contradict the event's, and
// one the event does not know does not exclude the rule.
//
// # Prefilter
//
// With thousands of rules loaded, an event is tested only against the rules
// its logsource reaches and, of those, only the ones whose required literals
// occur in it. From each rule's condition the compiler derives literals one
// of which must occur in a field for the rule to match (the best part of an
// AND, every branch of an OR, nothing under a NOT or from regular
// expressions, numbers or keywords); every field's literals form one
// Aho-Corasick automaton scanned once per event. A field matcher with many
// plain contains values is matched with its own automaton too. Routes are
// cached per distinct logsource, bounded by the values rules name.
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
