package ecs_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/ecs"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func TestDecodeGolden(t *testing.T) {
	d := ecs.New()
	dirs := decodetest.GoldenCases(t)
	if len(dirs) < 8 {
		t.Fatalf("found %d golden cases, want at least 8", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ev event.Event
			if err := d.Decode(in, &ev); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := decodetest.MarshalEvent(t, &ev)
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded event differs from %s\n got:\n%s\nwant:\n%s", path, got, want)
			}

			// Decoding into a used event must give the same result: every
			// field is reset first.
			dirty := decodetest.DirtyEvent()
			if err := d.Decode(in, &dirty); err != nil {
				t.Fatalf("Decode into used event: %v", err)
			}
			if !reflect.DeepEqual(dirty, ev) {
				t.Errorf("decoding into a used event left stale fields:\n got %+v\nwant %+v", dirty, ev)
			}
		})
	}
}

// Specific expectations, so a wrong golden file cannot hide a regression in
// the documented semantics.
func TestDecodeSemantics(t *testing.T) {
	d := ecs.New()
	decodeCase := func(t *testing.T, name string) event.Event {
		t.Helper()
		in, err := os.ReadFile(filepath.Join("testdata", name, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := d.Decode(in, &ev); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return ev
	}
	check := func(t *testing.T, ev event.Event, field, want string) {
		t.Helper()
		got, ok := ev.Get(field)
		if want == "" && ok {
			t.Errorf("%s = %q, want absent", field, got)
		}
		if want != "" && got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	for _, tc := range []struct {
		name       string
		fields     map[string]string
		techniques []string
		labels     map[string]string
	}{
		{name: "process_creation_vssadmin", fields: map[string]string{
			"@timestamp": "2025-03-14T09:26:53.589Z", "event.category": "process", "event.type": "start",
			"process.name": "vssadmin.exe", "process.command_line": "vssadmin.exe Delete Shadows /All /Quiet",
			"process.parent.executable": `C:\Windows\System32\cmd.exe`, "host.ip": "10.20.1.15",
			"host.os.family": "windows", "user.name": "svc_backup", "event.code": "1",
		}, techniques: []string{"T1490"}},
		{name: "network_flow_syn", fields: map[string]string{
			"destination.port": "445", "source.port": "51544", "network.packets": "1", "network.bytes": "60",
			"network.transport": "tcp", "event.type": "connection", "@timestamp": "2025-03-14T09:31:07.114506Z",
		}},
		{name: "file_rename_locked", fields: map[string]string{
			"file.extension": "locked", "event.action": "rename",
			"@timestamp": "2025-03-14T08:40:12.000812Z", // converted to UTC
		}},
		{name: "ics_modbus_write", fields: map[string]string{
			"ics.protocol": "modbus", "ics.function": "write_single_register", "ics.function_code": "6",
			"ics.unit_id": "1", "destination.port": "502", "service.name": "pumping-station-scada",
		}, labels: map[string]string{"site": "ww-north", "zone": "level1-control"}},
		{name: "dotted_keys", fields: map[string]string{
			"source.port": "40211", "event.severity": "2", "rule.category": "Attempted Information Leak",
			"user_agent.original": "Nmap Scripting Engine", "observer.type": "ids",
		}, techniques: []string{"T1046"}},
		{name: "mixed_nesting", fields: map[string]string{
			"event.code": "4688", "process.parent.executable": `C:\Windows\explorer.exe`,
			"process.executable": `C:\Windows\System32\wbem\WMIC.exe`, "host.os.family": "windows",
			"source.user.name": "alice", "@timestamp": "2025-03-14T09:45:00.123456789Z",
		}, labels: map[string]string{"env": "prod"}},
		{name: "labels", labels: map[string]string{
			"org": "waterworks-north", "sector": "water", "tier": "1", "critical": "true",
			"cost.center": "ot-ops", "sensor": "fw-edge-2", "empty": "",
		}},
		{name: "category_arrays", fields: map[string]string{
			"event.category": "malware", "event.type": "info", "host.ip": "10.20.4.147", "network.transport": "tcp",
		}},
		{name: "colliding_keys", fields: map[string]string{
			"source.ip": "192.0.2.2", "source.port": "2", "event.action": "second",
			"event.outcome": "success", "@timestamp": "2025-03-14T12:00:00Z",
		}, techniques: []string{"T1595", "T1046"}},
		{name: "epoch_millis_numeric_coercion", fields: map[string]string{
			"@timestamp": "2025-03-14T09:20:00.123Z", "destination.port": "22", "source.port": "",
			"network.bytes": "4200", "network.packets": "7",
		}},
		{name: "missing_timestamp", fields: map[string]string{"@timestamp": "", "user.name": "root"}},
		{name: "threat_arrays_of_objects", fields: map[string]string{
			"host.name": "first-host", "host.os.family": "linux",
		}, techniques: []string{"T1486", "T1490", "T0831"}},
		{name: "ipv6_canonical", fields: map[string]string{
			"source.ip": "2001:db8::1", "destination.ip": "10.1.2.3", "host.ip": "fe80::1%eth0",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeCase(t, tc.name)
			for f, want := range tc.fields {
				check(t, ev, f, want)
			}
			if !slices.Equal(ev.ThreatTechniques, tc.techniques) {
				t.Errorf("ThreatTechniques = %q, want %q", ev.ThreatTechniques, tc.techniques)
			}
			if !reflect.DeepEqual(ev.Labels, tc.labels) {
				t.Errorf("Labels = %q, want %q", ev.Labels, tc.labels)
			}
		})
	}
}

func nested(depth int, open, close, leaf string) string {
	return strings.Repeat(open, depth) + leaf + strings.Repeat(close, depth)
}

func TestDecodeErrors(t *testing.T) {
	d := ecs.New()
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
		field  string
		msg    string // substring of the error text
	}{
		{name: "empty", in: "", reason: decode.ReasonEmpty},
		{name: "whitespace only", in: " \r\n\t", reason: decode.ReasonEmpty},
		{name: "invalid utf8", in: "{\"user\":{\"name\":\"\xff\"}}", reason: decode.ReasonInvalidUTF8, msg: "offset 17"},
		{name: "truncated", in: `{"source":{"ip":`, reason: decode.ReasonMalformed, msg: "unexpected end"},
		{name: "missing value", in: `{"a":}`, reason: decode.ReasonMalformed, msg: "offset"},
		{name: "trailing comma", in: `{"a":1,}`, reason: decode.ReasonMalformed},
		{name: "two objects", in: `{} {}`, reason: decode.ReasonMalformed, msg: "after the top-level object"},
		{name: "trailing garbage", in: `{"a":1}x`, reason: decode.ReasonMalformed},
		{name: "bare word", in: `hello`, reason: decode.ReasonMalformed},
		{name: "top-level array", in: `[{"a":1}]`, reason: decode.ReasonWrongType, msg: "want object at top level, got array"},
		{name: "top-level string", in: `"x"`, reason: decode.ReasonWrongType, msg: `got string "x"`},
		{name: "top-level broken string", in: `"x\q"`, reason: decode.ReasonMalformed, msg: "invalid or unterminated string"},
		{name: "top-level unterminated string", in: `"x`, reason: decode.ReasonMalformed, msg: "invalid or unterminated string"},
		// The record is parsed before it is mapped: broken JSON is
		// malformed even when an earlier field has the wrong type.
		{name: "wrong type then syntax error", in: `{"source":{"port":"x"},"a":}`, reason: decode.ReasonMalformed, msg: "offset 27"},
		{name: "too many values", in: `{"x":[` + strings.Repeat(`0,`, ecs.MaxValues) + `0]}`, reason: decode.ReasonTooLarge,
			msg: "more than 65536 JSON values"},
		{name: "top-level null", in: `null`, reason: decode.ReasonWrongType},
		{name: "top-level number", in: `42`, reason: decode.ReasonWrongType},
		{name: "port object", in: `{"source":{"port":{"n":1}}}`, reason: decode.ReasonWrongType, field: "source.port",
			msg: "decode ecs: wrong_type: field source.port: want number, got object"},
		{name: "port word", in: `{"destination.port":"http"}`, reason: decode.ReasonWrongType, field: "destination.port", msg: `got string "http"`},
		{name: "port bool", in: `{"destination":{"port":true}}`, reason: decode.ReasonWrongType, field: "destination.port"},
		{name: "port too big", in: `{"destination":{"port":70000}}`, reason: decode.ReasonWrongType, field: "destination.port", msg: "[0, 65535]"},
		{name: "port negative string", in: `{"source":{"port":"-1"}}`, reason: decode.ReasonWrongType, field: "source.port"},
		{name: "port fraction", in: `{"source":{"port":80.5}}`, reason: decode.ReasonWrongType, field: "source.port", msg: "integer"},
		{name: "port hex string", in: `{"source":{"port":"0x50"}}`, reason: decode.ReasonWrongType, field: "source.port"},
		{name: "port huge", in: `{"source":{"port":1e400}}`, reason: decode.ReasonWrongType, field: "source.port"},
		{name: "port in later array element", in: `{"source":{"port":[80,"x"]}}`, reason: decode.ReasonWrongType, field: "source.port"},
		{name: "packets negative", in: `{"network":{"packets":-3}}`, reason: decode.ReasonWrongType, field: "network.packets"},
		{name: "bytes beyond int64", in: `{"network.bytes":9223372036854775808}`, reason: decode.ReasonWrongType, field: "network.bytes"},
		{name: "function code byte", in: `{"ics":{"function_code":256}}`, reason: decode.ReasonWrongType, field: "ics.function_code"},
		{name: "unit id", in: `{"ics.unit_id":65536}`, reason: decode.ReasonWrongType, field: "ics.unit_id"},
		{name: "severity int32", in: `{"event":{"severity":1e10}}`, reason: decode.ReasonWrongType, field: "event.severity"},
		{name: "ip word", in: `{"source":{"ip":"not-an-ip"}}`, reason: decode.ReasonWrongType, field: "source.ip", msg: "want IP address"},
		{name: "ip number", in: `{"destination.ip":167772161}`, reason: decode.ReasonWrongType, field: "destination.ip"},
		{name: "host ip later element", in: `{"host":{"ip":["10.0.0.1","nope"]}}`, reason: decode.ReasonWrongType, field: "host.ip"},
		{name: "timestamp word", in: `{"@timestamp":"yesterday"}`, reason: decode.ReasonWrongType, field: "@timestamp", msg: "RFC 3339"},
		{name: "timestamp object", in: `{"@timestamp":{}}`, reason: decode.ReasonWrongType, field: "@timestamp"},
		{name: "timestamp bool", in: `{"@timestamp":true}`, reason: decode.ReasonWrongType, field: "@timestamp"},
		{name: "timestamp millis beyond 9999", in: `{"@timestamp":253402300800000}`, reason: decode.ReasonWrongType, field: "@timestamp"},
		{name: "timestamp UTC year 10000", in: `{"@timestamp":"9999-12-31T23:59:59-01:00"}`, reason: decode.ReasonWrongType, field: "@timestamp"},
		{name: "technique number", in: `{"threat":{"technique":{"id":1490}}}`, reason: decode.ReasonWrongType, field: "threat.technique.id"},
		{name: "technique in array", in: `{"threat.technique.id":["T1490",{"id":"T1"}]}`, reason: decode.ReasonWrongType, field: "threat.technique.id"},
		{name: "keyword object", in: `{"event":{"category":{"name":"process"}}}`, reason: decode.ReasonWrongType, field: "event.category", msg: "want string, got object"},
		{name: "keyword object in array", in: `{"event.type":["start",{}]}`, reason: decode.ReasonWrongType, field: "event.type"},
		{name: "labels scalar", in: `{"labels":"prod"}`, reason: decode.ReasonWrongType, field: "labels", msg: "want object"},
		{name: "labels array of scalars", in: `{"labels":["prod"]}`, reason: decode.ReasonWrongType, field: "labels"},
		{name: "too deep objects", in: nested(ecs.MaxDepth+1, `{"a":`, `}`, `1`), reason: decode.ReasonTooDeep, msg: "deeper than 64"},
		{name: "too deep arrays", in: `{"a":` + nested(ecs.MaxDepth, `[`, `]`, ``) + `}`, reason: decode.ReasonTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v, want a *decode.Error", tc.in, err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != ecs.Format {
				t.Errorf("got reason %q field %q format %q, want %q %q %q (%v)",
					de.Reason, de.Field, de.Format, tc.reason, tc.field, ecs.Format, err)
			}
			if decode.ReasonOf(err) != tc.reason {
				t.Errorf("ReasonOf = %q, want %q", decode.ReasonOf(err), tc.reason)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("event not reset after failure: %+v", ev)
			}
		})
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	d := ecs.New()
	// Levels: the top-level object, MaxDepth-3 nested ones, then labels
	// and its object: exactly MaxDepth.
	in := `{"x":` + nested(ecs.MaxDepth-3, `{"a":`, `}`, `{"labels":{"k":"v"}}`) + `,"labels.deep":"ok"}`
	var ev event.Event
	if err := d.Decode([]byte(in), &ev); err != nil {
		t.Fatalf("Decode at depth %d: %v", ecs.MaxDepth, err)
	}
	if ev.Labels["deep"] != "ok" {
		t.Errorf("Labels = %v, want deep=ok after the nested part", ev.Labels)
	}
}

func TestDecodeKeepsNoReferenceIntoInput(t *testing.T) {
	d := ecs.New()
	in, err := os.ReadFile(filepath.Join("testdata", "mixed_nesting", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got event.Event
	if err := d.Decode(in, &want); err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(in)
	if err := d.Decode(buf, &got); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event changed after the input buffer was overwritten:\n got %+v\nwant %+v", got, want)
	}
}

// The README documents the field mapping; it must name exactly the fields
// the decoder maps.
func TestReadmeListsEveryField(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := bytes.Cut(readme, []byte("## Field mapping"))
	if !ok {
		t.Fatal("README.md has no Field mapping section")
	}
	table, _, _ = bytes.Cut(table, []byte("\n## "))
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllSubmatch(table, -1) {
		documented = append(documented, string(m[1]))
	}
	slices.Sort(documented)
	if want := ecs.New().Fields(); !slices.Equal(documented, want) {
		t.Errorf("README.md mapping table lists\n%q\nthe decoder maps\n%q", documented, want)
	}
	// Every mapped field must be one event.Event.Get answers for, so rules
	// can address what the decoder fills.
	d := ecs.New()
	for _, f := range documented {
		sample := `"7"`
		switch {
		case f == "labels.*":
			f = "labels.k"
		case f == "@timestamp":
			sample = `"2025-01-01T00:00:00Z"`
		case strings.HasSuffix(f, ".ip"):
			sample = `"10.0.0.1"`
		}
		var ev event.Event
		if err := d.Decode([]byte(`{"`+f+`":`+sample+`}`), &ev); err != nil {
			t.Errorf("decode %s: %v", f, err)
			continue
		}
		if v, ok := ev.Get(f); !ok || v == "" {
			t.Errorf("after decoding %s=%s, Get(%q) = %q, %v", f, sample, f, v, ok)
		}
	}
}
