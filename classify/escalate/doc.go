// Package escalate decides when an incident's assessment is worth telling
// people about and builds the escalation event: a CloudEvents 1.0 structured
// JSON envelope of type casus.escalation.v1 (DESIGN §5).
//
// An escalation is published when an incident's level rises above the
// highest it was published at and is at least the minimum level, or when
// its candidacy rises (significant, pending attribution, candidate).
// Candidacy is latched. An assessment that dips and returns is not
// published again, unless the ladder de-escalated in between: below level 3,
// after the score stayed the policy's margin under the level's band for a
// day with no effect stage (severity-model.md §6.3); from level 3 up people
// de-escalate. A de-escalation starts a new episode, so a later rise is told
// again under a new id, unless its level was told within the cooldown. An
// escalated incident that closes gets a closing event.
//
// An escalation names at most ListedOrganisations organisations of its
// campaign, in sorted order, with the count of all of them.
//
// Ids are deterministic: a hash of the incident id, episode, level,
// candidacy and policy, and the event time is the time of the signal that caused
// the escalation, so a replay of the same input gives byte-identical events
// and consumers can deduplicate on the id.
package escalate
