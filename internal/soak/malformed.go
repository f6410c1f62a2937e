package soak

import (
	"fmt"
	"strings"
)

// MalformedKeyPrefix starts the key of every malformed record.
const MalformedKeyPrefix = "soak-malformed-"

// Malformed returns the i-th malformed record: its key (unique, so that a
// dead letter, which keeps the key, and the input position it names can be
// tied to it) and a value the ECS decoder must refuse. The kinds rotate:
// truncated JSON, a field of the wrong type, an array at the top level and
// invalid UTF-8. Each carries a usable @timestamp or none at all, never one
// that would make a dead record count as an event.
func Malformed(i int) (key, value []byte) {
	key = fmt.Appendf(nil, "%s%06d", MalformedKeyPrefix, i)
	ts := "2026-03-02T06:00:00Z"
	switch i % 4 {
	case 0:
		full := fmt.Sprintf(`{"@timestamp":%q,"event":{"kind":"event","category":"network"},"source":{"ip":"10.10.1.%d"}}`, ts, i%250)
		value = []byte(full[:len(full)*2/3])
	case 1:
		value = fmt.Appendf(nil, `{"@timestamp":%q,"source":{"ip":%d},"destination":{"ip":"10.20.0.1"}}`, ts, i)
	case 2:
		value = fmt.Appendf(nil, `[{"@timestamp":%q},%d]`, ts, i)
	default:
		value = []byte(strings.Replace(fmt.Sprintf(`{"@timestamp":%q,"message":"bad %d XX"}`, ts, i), "XX", "\xff\xfe", 1))
	}
	return key, value
}
