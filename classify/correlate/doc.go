// Package correlate folds signals into incidents, one per target
// organisation, and links incidents that share an attributed actor into
// campaigns so that scale (organisations, sectors, source clusters) is judged
// across the victims of one actor.
//
// Everything runs in event time: a signal's time, never the wall clock, moves
// windows, so the same input gives the same incidents. State is bounded: a cap
// on incidents (the least grave, least recent are evicted first, never one at
// level 3 or above while a lower one remains) and caps on the distinct sets each
// incident keeps.
//
// It imports no Kafka and no metrics library; callers read Stats.
package correlate
