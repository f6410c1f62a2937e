// Package suricata decodes Suricata EVE JSON records (one record per line,
// as Suricata's eve-log writes them or as forwarded to Kafka) into the
// canonical event.Event.
//
// It routes on event_type: alert, flow, anomaly, dns, http and tls get
// their own mapping (signature and classtype, connection outcome, queried
// name, URL, SNI, ...); every other type (fileinfo, netflow, stats, ssh,
// smb, ...) decodes the common envelope only. Every scalar of the record
// is also kept in ev.Fields under its dotted EVE name (alert.signature,
// flow.pkts_toserver), so rules written against Suricata's own names
// match. The mapping, the logsource per record type, the flow outcome
// rules and the classtype table are in README.md.
//
// Input rules, in short:
//
//   - One JSON object, valid UTF-8, parsed by jsontree (at most 64 levels
//     deep and 65,536 values) with at most MaxFields distinct field names;
//     beyond the limits the record is refused (too_deep, too_large), never
//     truncated.
//   - event_type is required (missing_field); an alert record needs its
//     alert object.
//   - A mapped value of the wrong type or out of range (an address that is
//     not an IP, a port over 65535, a severity of 0, an object where a
//     string belongs, an unparseable timestamp) is wrong_type naming the
//     EVE field. Numbers written as strings are accepted.
//   - A missing timestamp is not an error: Timestamp stays zero.
//
// Every string in the event is a copy: the native values share one string
// built per record, so nothing refers into the input after Decode returns.
package suricata
