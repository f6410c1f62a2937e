// Package ocsf decodes Open Cybersecurity Schema Framework (OCSF 1.x) JSON
// events, as security lakes and vendors write them, into the canonical
// event.Event. It routes on class_uid: Network Activity (4001), Process
// Activity (1007), File System Activity (1001), Detection Finding (2004)
// and its deprecated predecessor Security Finding (2001) get their ECS
// fields and Sigma logsource; any other class keeps its common fields
// (time, severity, device, actor, metadata) and its native fields.
//
// Every scalar of the record is also kept in ev.Fields under its dotted
// OCSF name (src_endpoint.ip, finding_info.attacks.technique.uid, ...), so
// rules written against OCSF names match. The field mapping, the logsource
// per class and activity, the limits and the error reasons are in
// README.md.
//
// The decoder parses with the shared jsontree parser and keeps its trees
// and scratch buffers in sync.Pools; every string in the event is a copy,
// so nothing refers into the input after Decode returns.
package ocsf
