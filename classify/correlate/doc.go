// Package correlate folds signals into incidents, one per target
// organisation, and links incidents that share an attributed actor into
// campaigns so that scale (organisations, sectors, tier-1 organisations and
// sectors, source clusters) is judged across the victims of one actor.
//
// A campaign keeps its scale as running totals that members add to when
// they join or their tier turns graver and subtract when they leave (a
// graver actor takes the incident over, or it is evicted); an emptied
// campaign is deleted. The other members of a campaign are re-assessed only
// when its scale crosses a threshold the severity policy reads (3 or 10
// organisations, 3 tier-1 organisations, 2 tier-1 sectors, 2 source
// clusters) or its set of sectors changes, so a signal costs the same
// however large the campaign.
//
// Everything runs in event time: a signal's time, never the wall clock, moves
// windows, so the same input gives the same incidents. State is bounded: a cap
// on incidents (the least grave, least recent are evicted first, never one at
// level 3 or above while a lower one remains), caps on the distinct sets each
// incident keeps, a cap on the organisation names a campaign keeps (beyond it
// organisations are counted, not named), and strings from telemetry (source,
// target, organisation names of unknown hosts) are clipped to 255 bytes.
//
// It imports no Kafka and no metrics library; callers read Stats.
package correlate
