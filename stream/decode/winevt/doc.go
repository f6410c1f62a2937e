// Package winevt decodes Windows event log records as JSON into the
// canonical event.Event, keeping the native field names Sigma rules for
// Windows address (EventID, Channel, Provider_Name, Image, CommandLine, ...)
// and setting the Sigma logsource (product windows, service from the
// channel, category from the channel and event id). The field mapping and
// the logsource tables are in README.md.
//
// Layouts, chosen by the top-level members:
//
//   - "Event": evtx_dump and similar converters, {"Event":{"System":{...},
//     "EventData":{...}|"UserData":{...}}}, with XML attributes as
//     "#attributes" objects, "@Name" members (xmltodict) or
//     "<element>_attributes" siblings. The Event object's content at the top
//     level ("System" without "Event") is read the same way.
//   - "winlog": Winlogbeat documents (winlog.*, @timestamp).
//   - "EventID" alone: NXLog's flat im_msvistalog JSON.
//
// Input rules, in short:
//
//   - The value must be one JSON object, valid UTF-8, nested at most
//     MaxDepth levels, with at most MaxValues JSON values and MaxFields
//     distinct field names; anything after the object is malformed. Limits
//     refuse a record (too_deep, too_large) rather than truncate it, so
//     padding cannot hide a value from the rules.
//   - The event id is required and must be a non-negative 32-bit integer (a
//     number, a decimal string, or {"#text":...}); otherwise missing_field or
//     wrong_type naming it (Event.System.EventID, winlog.event_id, EventID).
//     A time that does not parse is wrong_type; a missing time is not an
//     error.
//   - Every other value is taken leniently: numbers keep their JSON text,
//     booleans become "true"/"false", null is absent, and a canonical field
//     whose value does not parse (an IP address, a port) is left unset.
//   - A key given twice keeps its last value. System fields come first in
//     ev.Fields, and event data cannot overwrite them.
//
// The decoder parses with stream/decode/internal/jsontree into a flat tree
// of byte spans that keeps member order (ev.Fields follows the record) and
// is reused across records through a sync.Pool. Every string in the event
// is a copy, so nothing refers into the input after Decode returns.
// DecodeTree decodes a record the caller has already parsed, and Sniff
// tells whether a parsed record has one of the layouts; the registry uses
// both to pick a record's format from one parse.
package winevt
