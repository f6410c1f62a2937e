package ecs

import (
	"bytes"

	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Sniff reports whether a parsed record looks like ECS. ECS is the
// fallback format, so the test is broad: an "ecs" or "event" object (or a
// dotted "ecs.*" or "event.*" key) claims the record outright, and
// "@timestamp" claims it unless the record carries another format's own
// signature, which a shipper may have stamped with "@timestamp" without
// making it ECS: Zeek's "_path" with "uid", Suricata EVE's "event_type"
// with "timestamp", OCSF's "class_uid", Falco's "rule" string with
// "priority" and "output".
func Sniff(t *jsontree.Tree) bool {
	root := jsontree.Root
	if t.Kind(root) != jsontree.Object {
		return false
	}
	var stamp, path, uid, eventType, timestamp, classUID, rule, priority, output bool
	for c := t.First(root); c >= 0; c = t.Next(c) {
		k := t.Kind(c)
		key := t.KeyBytes(c)
		switch string(key) {
		case "ecs", "event":
			if k == jsontree.Object {
				return true
			}
		case "@timestamp":
			stamp = k == jsontree.String || k == jsontree.Number
		case "_path":
			path = true
		case "uid":
			uid = true
		case "event_type":
			eventType = true
		case "timestamp":
			timestamp = true
		case "class_uid":
			classUID = true
		case "rule":
			rule = k == jsontree.String
		case "priority":
			priority = true
		case "output":
			output = true
		default:
			if bytes.HasPrefix(key, []byte("ecs.")) || bytes.HasPrefix(key, []byte("event.")) {
				return true
			}
		}
	}
	foreign := (path && uid) || (eventType && timestamp) || classUID || (rule && priority && output)
	return stamp && !foreign
}
