// Package falco decodes Falco alerts in Falco's JSON output (json_output:
// true, as Falco writes them and Falcosidekick forwards them to Kafka) into
// the canonical event.Event: the rule, priority, time and hostname, the
// output_fields mapped to ECS (proc.cmdline → process.command_line, fd.sip →
// destination.ip, ...) and kept under Falco's own names, and ATT&CK
// technique tags as threat.technique.id.
//
// The field mapping, the severity scale, the logsource per event source,
// the limits and the error reasons are in README.md.
//
// The decoder parses with the shared jsontree parser and keeps its trees
// and scratch buffers in sync.Pools; every string in the event is a copy,
// so nothing refers into the input after Decode returns.
package falco
