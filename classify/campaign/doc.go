// Package campaign is the campaign stage: it links the incidents of
// different organisations into campaigns, judges scale and concertedness
// across them, assesses every incident with its campaign's breadth, and
// decides the escalations.
//
// Incidents reach the stage as correlate.Summary values keyed by campaign
// key: an attributed incident under its actor, every other one under the
// national key. Within a key, incidents are linked:
//   - by actor: intelligence names the same actor;
//   - by infrastructure: they share a source /24 (/64) that did more than
//     reconnaissance (internet-wide scanners hit everyone and link nothing);
//   - by techniques: the same destructive techniques, in windows that
//     overlap within the policy's campaign window.
//
// A campaign's scale is its distinct organisations, sectors, tier-1
// organisations and sectors; it is concerted when at least two source
// clusters are linked to it. Reconnaissance-only incidents count toward
// scale while their decayed reconnaissance weight lasts (the policy's
// half-life), so background scanning cannot pile up into an escalation.
// The armed-attack candidacy gate is thereby judged on campaigns: a wiper
// across four banks with a state nexus is a candidate, one ransomware case
// is not.
//
// Summaries are ordered by event time across the correlate tasks that send
// them (classify/eventtime), so the same input gives the same escalations
// however the stages are spread over processes. It imports no Kafka.
package campaign
