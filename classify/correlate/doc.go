// Package correlate folds signals into incidents, one per target
// organisation, and publishes each incident as a Summary whenever
// something the campaign stage reads changed: counts by doublings, not per
// signal. Task is the stage for one input partition: it orders signals by
// event time across their sources, drops duplicates, closes incidents quiet
// for the policy's close_after, and writes its state as changes. Linking
// incidents into campaigns is the campaign package's job.
//
// Everything runs in event time: a signal's time, never the wall clock, moves
// windows, so the same input gives the same incidents. State is bounded: a cap
// on incidents (the least grave, least recent are evicted first, never one at
// level 3 or above while a lower one remains), caps on the distinct sets each
// incident keeps, and strings from telemetry (source,
// target, organisation names of unknown hosts) are clipped to 255 bytes.
//
// It imports no Kafka and no metrics library; callers read Stats.
package correlate
