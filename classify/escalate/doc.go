// Package escalate decides when an incident's assessment is worth telling
// people about and builds the escalation event: a CloudEvents 1.0 structured
// JSON envelope of type casus.escalation.v1 (DESIGN §5).
//
// An escalation is published when an incident's level rises above the
// highest it was published at and is at least the minimum level, or when
// its candidacy rises (significant, pending attribution, candidate). Level
// and candidacy ratchet: each (level, candidacy) pair is published at most
// once per incident, and an assessment that dips and returns, at any
// interval, is not published again. De-escalation is left to people, as
// severity-model.md §6.3 asks.
//
// An escalation names at most ListedOrganisations organisations of its
// campaign, in sorted order, with the count of all of them.
//
// Ids are deterministic: a hash of the incident id, level, candidacy and
// policy version, and the event time is the time of the signal that caused
// the escalation, so a replay of the same input gives byte-identical events
// and consumers can deduplicate on the id.
package escalate
