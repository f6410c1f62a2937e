// Package ecs decodes native Elastic Common Schema JSON, as Beats and
// Elastic Agent write it, into the canonical event.Event. The field mapping
// is in README.md.
//
// Input rules, in short:
//
//   - The value must be one JSON object, valid UTF-8, nested at most 64
//     levels deep (objects and arrays both count) and holding at most
//     MaxValues JSON values. Anything after the object other than
//     whitespace is malformed. The whole record is parsed before any field
//     is read, so broken JSON is malformed even where an earlier field
//     also has the wrong type.
//   - Nested objects ({"source":{"ip":...}}), dotted keys ({"source.ip":...})
//     and any mix of the two name the same field. Unknown fields are ignored.
//   - Elasticsearch lets any field hold an array. For a single-valued event
//     field (event.category, event.type, host.ip, ...) the first non-null
//     element is kept; later elements are still type-checked. Arrays of
//     objects are walked like objects, and only the first non-null element
//     sets single-valued fields. threat.technique.id keeps every value, in
//     document order, without duplicates.
//   - A key given twice, directly or through nesting and dotted keys, keeps
//     its last value in document order; JSON null counts as absent and does
//     not clear an earlier value.
//   - Keyword fields take strings, and numbers or booleans as their text
//     (event.code 4688 becomes "4688"). Integer fields take numbers or
//     decimal strings; a fractional number, a non-numeric string or a value
//     out of the field's range is wrong_type naming the field. IP fields
//     must hold an IP address, stored in canonical form (IPv4-mapped IPv6
//     addresses unmapped).
//   - @timestamp is RFC 3339 (with or without fractional seconds) or epoch
//     milliseconds (number or decimal string), stored in UTC; years outside
//     0000-9999 are wrong_type. A missing @timestamp is not an error.
//
// Records are parsed with stream/decode/internal/jsontree into a flat tree
// of byte spans, reused through a sync.Pool, rather than unmarshalled into
// map[string]any: the walk over the tree sees keys in document order (so
// duplicate and dotted-versus-nested keys resolve deterministically, last
// wins), builds each dotted name in one reused buffer and looks it up
// without allocating, and fills the event directly. Every string it stores
// is a copy, so nothing refers into the input after Decode returns.
//
// DecodeTree decodes a record the caller has already parsed, and Sniff
// tells whether a parsed record looks like ECS; the registry uses both to
// pick a record's format from one parse.
package ecs
