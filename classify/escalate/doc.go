// Package escalate decides when an incident's assessment is worth telling
// people about and builds the escalation event: a CloudEvents 1.0 structured
// JSON envelope of type casus.escalation.v1 (DESIGN §5).
//
// An escalation is published when an incident's level rises to at least the
// minimum level, or when its candidacy rises (significant, pending
// attribution, candidate). Levels only ratchet up within a cooldown so an
// assessment hovering at a band edge does not flap; de-escalation is left to
// people, as severity-model.md §6.3 asks.
//
// Ids are deterministic: a hash of the incident id, level, candidacy and
// policy version, and the event time is the time of the signal that caused
// the escalation, so a replay of the same input gives byte-identical events
// and consumers can deduplicate on the id.
package escalate
