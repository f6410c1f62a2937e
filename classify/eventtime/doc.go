// Package eventtime orders the records of a keyed stage by event time.
//
// A stage (correlate, campaign) reads one Kafka partition that several
// upstream sources write to: every partition of the stage before it. Records
// from different sources interleave in whatever order the producers happened
// to write them, so folding them in arrival order would make an incident
// depend on timing. Each source therefore also writes marks: its watermark,
// the event time below which it will send nothing more (its latest event
// time less the allowed lateness), and whether it is idle. An Orderer holds
// records until every source's watermark has passed them and releases them
// in (event time, key) order, which is the same however the sources were
// spread over processes and whenever they were restarted.
//
// A record older than the watermark already released is late: it is
// released at once, out of order, and counted; nothing is dropped. A source
// that is idle (caught up, nothing to read) does not hold the others back;
// when every source is idle everything held is released.
package eventtime
