package ocsf_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/ocsf"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func TestDecodeGolden(t *testing.T) {
	d := ocsf.New()
	dirs := decodetest.GoldenCases(t)
	if len(dirs) < 12 {
		t.Fatalf("found %d golden cases, want at least 12", len(dirs))
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

			dirty := decodetest.DirtyEvent()
			if err := d.Decode(in, &dirty); err != nil {
				t.Fatalf("Decode into used event: %v", err)
			}
			if !reflect.DeepEqual(dirty, ev) {
				t.Errorf("decoding into a used event left stale fields:\n got %+v\nwant %+v", dirty, ev)
			}

			// DecodeTree on a tree parsed elsewhere gives the same event.
			var tr jsontree.Tree
			if err := tr.Parse(ocsf.Format, in, jsontree.Limits{}); err != nil {
				t.Fatal(err)
			}
			if !ocsf.Sniff(&tr) {
				t.Error("Sniff does not recognise the record")
			}
			viaTree := decodetest.DirtyEvent()
			if err := d.DecodeTree(&tr, &viaTree); err != nil {
				t.Fatalf("DecodeTree: %v", err)
			}
			if !reflect.DeepEqual(viaTree, ev) {
				t.Errorf("DecodeTree differs from Decode:\n got %+v\nwant %+v", viaTree, ev)
			}
		})
	}
}

func decodeCase(t *testing.T, d *ocsf.Decoder, name string) event.Event {
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

// Specific expectations, so a wrong golden file cannot hide a regression in
// the documented semantics.
func TestDecodeSemantics(t *testing.T) {
	d := ocsf.New()
	for _, tc := range []struct {
		name       string
		logsource  event.Logsource
		ecs        map[string]string // Event.Get name → value, "" = absent
		fields     map[string]string // native field → value
		techniques []string
	}{
		{
			name:      "network_vpc_flow_refuse",
			logsource: event.Logsource{Category: "network_connection"},
			ecs: map[string]string{
				"@timestamp": "2022-04-12T00:02:12Z", "event.outcome": "failure", "network.transport": "tcp",
				"source.ip": "1.2.3.4", "source.port": "56858", "destination.ip": "172.31.2.52",
				"destination.port": "39938", "network.packets": "1", "network.bytes": "40",
				"network.direction": "inbound", "observer.product": "Amazon VPC", "observer.vendor": "AWS",
				"event.code": "400105", "event.action": "refuse", "event.severity": "1", "event.kind": "event",
				"event.dataset": "ocsf.network_activity",
			},
			fields: map[string]string{"unmapped": "sublocation_id\n-\nflow_direction\ningress\nsublocation_type\n-",
				"metadata.profiles": "cloud\nsecurity_control", "dst_endpoint.svc_name": "-", "disposition_id": "2"},
		},
		{
			name:      "network_vpc_flow_traffic",
			logsource: event.Logsource{Category: "network_connection"},
			ecs: map[string]string{"event.outcome": "success", "network.packets": "20", "network.bytes": "4249",
				"destination.port": "22", "network.transport": "tcp", "network.direction": "outbound"},
		},
		{
			name:      "network_edr_open_no_counters",
			logsource: event.Logsource{Product: "windows", Category: "network_connection"},
			ecs: map[string]string{"network.packets": "1", "network.bytes": "", "event.outcome": "success",
				"network.transport": "tcp", "network.direction": "internal", "user.name": "j.doe",
				"process.executable": `C:\Program Files\Scanner\nmap.exe`, "process.name": "nmap.exe",
				"host.os.family": "windows", "host.ip": "10.20.0.42", "source.domain": "WS042.corp.example"},
		},
		{
			name:      "network_fail_udp_ipv6",
			logsource: event.Logsource{Product: "linux", Category: "network_connection"},
			ecs: map[string]string{"event.outcome": "failure", "network.packets": "", "network.transport": "udp",
				"destination.ip": "2001:db8::53", "destination.port": "53", "host.ip": "192.0.2.10",
				"@timestamp": "2025-06-01T10:00:00.25Z", "destination.domain": "ns1.example.net"},
		},
		{
			name:      "process_launch_windows_4688",
			logsource: event.Logsource{Product: "windows", Category: "process_creation"},
			ecs: map[string]string{"process.executable": `C:\Windows\System32\reg.exe`, "process.name": "reg.exe",
				"process.parent.executable": `C:\Windows\System32\cmd.exe`, "user.name": "Administrator",
				"host.name": "win-dc-725.attackrange.local", "event.type": "start", "event.outcome": "success",
				"process.command_line": `reg  save HKLM\system C:\Users\ADMINI~1\AppData\Local\Temp\system `},
			fields: map[string]string{"unmapped.Process Information.Token Elevation Type": "%%1936", "process.user.name": "-"},
		},
		{
			name:      "process_launch_linux_parent",
			logsource: event.Logsource{Product: "linux", Category: "process_creation"},
			ecs: map[string]string{"process.executable": "/usr/bin/curl", "process.parent.executable": "/usr/bin/dash",
				"user.name": "www-data", "@timestamp": "2025-02-03T04:05:06.789123Z", "event.outcome": "success"},
		},
		{
			name:      "process_terminate",
			logsource: event.Logsource{Product: "windows", Category: "process_termination"},
			ecs:       map[string]string{"event.type": "end", "process.name": "vssadmin.exe", "user.name": `CORP\svc_backup`},
		},
		{
			name:      "file_create_locked",
			logsource: event.Logsource{Product: "windows", Category: "file_event"},
			ecs: map[string]string{"file.path": `D:\Shares\Finance\Q4-report.xlsx.locked`, "file.extension": "locked",
				"event.type": "creation", "process.executable": `C:\Users\Public\svch0st.exe`},
		},
		{
			name:      "file_rename_ransom",
			logsource: event.Logsource{Product: "windows", Category: "file_rename"},
			ecs: map[string]string{"file.path": `E:\Legal\contracts.pdf.lockbit`, "file.extension": "lockbit",
				"event.action": "rename", "process.command_line": `C:\ProgramData\lb3.exe -pass 1234`},
			fields: map[string]string{"file.path": `E:\Legal\contracts.pdf`, "file_result.name": "contracts.pdf.lockbit"},
		},
		{
			name:      "file_delete",
			logsource: event.Logsource{Product: "linux", Category: "file_delete"},
			ecs:       map[string]string{"file.extension": "gz", "event.type": "deletion", "process.executable": "/usr/bin/rm"},
		},
		{
			name:      "detection_finding_attacks",
			logsource: event.Logsource{Product: "linux"},
			ecs: map[string]string{"event.kind": "alert", "rule.name": "SSH brute force attacks against i-0abc123def4567890",
				"rule.category": "UnauthorizedAccess:EC2/SSHBruteForce", "source.ip": "198.51.100.77",
				"destination.port": "22", "event.severity": "4", "event.outcome": "", "host.name": "ip-10-0-1-25.ec2.internal",
				"threat.technique.id": "T1110", "event.dataset": "ocsf.detection_finding"},
			fields: map[string]string{"finding_info.attacks.tactic.uid": "TA0006\nTA0001",
				"evidences.src_endpoint.ip": "198.51.100.77\n198.51.100.78"},
			techniques: []string{"T1110", "T1110.001", "T1078"},
		},
		{
			name: "security_finding_securityhub",
			ecs: map[string]string{"rule.name": "EC2.19 Security groups should not allow unrestricted access to ports with high risk",
				"event.kind": "alert", "process.executable": "/usr/sbin/syslogd", "process.name": "syslogd",
				"event.dataset": "ocsf.security_finding"},
		},
		{
			name:       "security_finding_top_level_attacks",
			logsource:  event.Logsource{Product: "windows"},
			ecs:        map[string]string{"rule.category": "Malware", "process.parent.executable": `C:\ProgramData\lb3.exe`, "event.severity": "5"},
			fields:     map[string]string{"attacks.tactics.uid": "TA0040\nTA0040"},
			techniques: []string{"T1486", "T1490"},
		},
		{
			name:      "other_class_authentication",
			logsource: event.Logsource{Product: "windows"},
			ecs: map[string]string{"event.outcome": "failure", "user.name": "administrator", "source.ip": "10.20.0.42",
				"event.dataset": "ocsf.class_3002", "event.action": "logon", "process.executable": `C:\Windows\System32\lsass.exe`},
		},
		{
			name:      "numbers_as_strings",
			logsource: event.Logsource{Category: "network_connection"},
			ecs: map[string]string{"source.port": "55000", "network.transport": "udp", "network.bytes": "128",
				"network.packets": "3", "event.severity": "3", "@timestamp": "2025-01-01T12:00:00Z", "event.code": "400106"},
		},
		{
			name:      "arrays_of_objects",
			logsource: event.Logsource{Category: "network_connection"},
			ecs: map[string]string{"@timestamp": "2025-01-01T12:01:00Z", "source.ip": "10.0.0.2", "source.port": "2",
				"observer.product": "Suricata", "network.packets": ""},
			fields: map[string]string{"src_endpoint.ip": "10.0.0.2", "metadata.labels": "a\nb\nc",
				"observables.name": "src_endpoint.ip\ndst_endpoint.ip\nignored", "time": "1735732860000"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeCase(t, d, tc.name)
			if ev.Logsource != tc.logsource {
				t.Errorf("logsource %+v, want %+v", ev.Logsource, tc.logsource)
			}
			for f, want := range tc.ecs {
				if got, _ := ev.Get(f); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			for f, want := range tc.fields {
				if got, ok := ev.Field(f); !ok || got != want {
					t.Errorf("native %s = %q (%v), want %q", f, got, ok, want)
				}
			}
			if tc.techniques != nil && !slices.Equal(ev.ThreatTechniques, tc.techniques) {
				t.Errorf("techniques %q, want %q", ev.ThreatTechniques, tc.techniques)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	d := ocsf.New()
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
		field  string
		msg    string
	}{
		{"empty", "  \n", decode.ReasonEmpty, "", ""},
		{"not json", `{"class_uid":4001,`, decode.ReasonMalformed, "", "unexpected end of input"},
		{"bad token", `{"class_uid":40x01}`, decode.ReasonMalformed, "", "offset"},
		{"top-level array", `[{"class_uid":4001}]`, decode.ReasonWrongType, "", "object"},
		{"trailing data", `{"class_uid":4001} {}`, decode.ReasonMalformed, "", ""},
		{"invalid utf-8", "{\"class_uid\":4001,\"message\":\"\xff\"}", decode.ReasonInvalidUTF8, "", "offset"},
		{"no class", `{"activity_id":1,"time":1}`, decode.ReasonMissingField, "class_uid", "not an OCSF event"},
		{"null class", `{"class_uid":null}`, decode.ReasonMissingField, "class_uid", ""},
		{"class object", `{"class_uid":{"id":4001}}`, decode.ReasonWrongType, "class_uid", "got object"},
		{"class fraction", `{"class_uid":4001.5}`, decode.ReasonWrongType, "class_uid", "integer"},
		{"class negative", `{"class_uid":-1}`, decode.ReasonWrongType, "class_uid", "integer in"},
		{"activity text", `{"class_uid":4001,"activity_id":"open"}`, decode.ReasonWrongType, "activity_id", `"open"`},
		{"time text", `{"class_uid":4001,"time":"yesterday"}`, decode.ReasonWrongType, "time", "epoch milliseconds"},
		{"time year 10000", `{"class_uid":4001,"time":253402300800000}`, decode.ReasonWrongType, "time", "0000-9999"},
		{"time bool", `{"class_uid":4001,"time":true}`, decode.ReasonWrongType, "time", "bool"},
		{"time_dt bad", `{"class_uid":4001,"time_dt":"2025-13-01T00:00:00Z"}`, decode.ReasonWrongType, "time_dt", "RFC 3339"},
		{"severity out of range", `{"class_uid":4001,"severity_id":7}`, decode.ReasonWrongType, "severity_id", "0-6 or 99"},
		{"severity over 99", `{"class_uid":4001,"severity_id":100}`, decode.ReasonWrongType, "severity_id", "[0, 99]"},
		{"bad src ip", `{"class_uid":4001,"src_endpoint":{"ip":"10.0.0.300"}}`, decode.ReasonWrongType, "src_endpoint.ip", "IP address"},
		{"numeric ip", `{"class_uid":4001,"dst_endpoint":{"ip":167772161}}`, decode.ReasonWrongType, "dst_endpoint.ip", "number"},
		{"port too big", `{"class_uid":4001,"dst_endpoint":{"port":65536}}`, decode.ReasonWrongType, "dst_endpoint.port", "[0, 65535]"},
		{"port text", `{"class_uid":4001,"src_endpoint":{"port":"http"}}`, decode.ReasonWrongType, "src_endpoint.port", `"http"`},
		{"negative packets", `{"class_uid":4001,"traffic":{"packets":-1}}`, decode.ReasonWrongType, "traffic.packets", "integer in"},
		{"protocol_num 300", `{"class_uid":4001,"connection_info":{"protocol_num":300}}`, decode.ReasonWrongType, "connection_info.protocol_num", "[0, 255]"},
		{"hostname object", `{"class_uid":1007,"device":{"hostname":{"a":1}}}`, decode.ReasonWrongType, "device.hostname", "object"},
		{"device ip bad", `{"class_uid":1007,"device":{"ip":"host.example"}}`, decode.ReasonWrongType, "device.ip", "IP address"},
		{"process not object", `{"class_uid":1007,"process":"cmd.exe"}`, decode.ReasonWrongType, "process", "want object"},
		{"cmd_line array", `{"class_uid":1007,"process":{"cmd_line":["a","b"]}}`, decode.ReasonWrongType, "process.cmd_line", "array"},
		{"file path object", `{"class_uid":1001,"file":{"path":{}}}`, decode.ReasonWrongType, "file.path", "object"},
		{"rename result path", `{"class_uid":1001,"activity_id":5,"file_result":{"path":[1]}}`, decode.ReasonWrongType, "file_result.path", "array"},
		{"attacks object", `{"class_uid":2004,"finding_info":{"attacks":{"technique":{"uid":"T1"}}}}`, decode.ReasonWrongType, "finding_info.attacks", "want array"},
		{"technique uid object", `{"class_uid":2004,"attacks":[{"technique":{"uid":{}}}]}`, decode.ReasonWrongType, "attacks.technique.uid", "object"},
		{"evidence ip", `{"class_uid":2004,"evidences":[{"src_endpoint":{"ip":"x"}}]}`, decode.ReasonWrongType, "evidences.src_endpoint.ip", "IP address"},
		{"os type_id text", `{"class_uid":1007,"device":{"os":{"type_id":"windows"}}}`, decode.ReasonWrongType, "device.os.type_id", `"windows"`},
		{"too deep", `{"class_uid":1,"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, decode.ReasonTooDeep, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *decode.Error", err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != ocsf.Format {
				t.Errorf("got reason %q field %q format %q, want %q %q %q (%v)",
					de.Reason, de.Field, de.Format, tc.reason, tc.field, ocsf.Format, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("event not reset after failure: %+v", ev)
			}
		})
	}
}

// Hostile and odd input that must decode, with what it must give.
func TestDecodeHostile(t *testing.T) {
	d := ocsf.New()
	huge := strings.Repeat("A", 900<<10)
	manyNames := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"class_uid":4001`)
		for i := range n {
			fmt.Fprintf(&b, `,"f%d":1`, i)
		}
		return b.String() + "}"
	}
	manyValues := `{"class_uid":4001,"observables":[` + strings.Repeat(`{"value":"x"},`, 20000) + `{"value":"y"}]}`
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, ev *event.Event)
	}{
		{"missing time", `{"class_uid":4001,"activity_id":1}`, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.IsZero() {
				t.Errorf("timestamp %v, want zero", ev.Timestamp)
			}
		}},
		{"fractional millis", `{"class_uid":4001,"time":1735732800123.5}`, func(t *testing.T, ev *event.Event) {
			if want := time.Date(2025, 1, 1, 12, 0, 0, 123500000, time.UTC); !ev.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
			}
		}},
		{"rfc3339 in time", `{"class_uid":4001,"time":"2025-01-01T12:00:00Z"}`, func(t *testing.T, ev *event.Event) {
			if ev.Timestamp.Year() != 2025 {
				t.Errorf("timestamp %v", ev.Timestamp)
			}
		}},
		{"severity other", `{"class_uid":4001,"severity_id":99}`, func(t *testing.T, ev *event.Event) {
			if ev.EventSeverity != 0 {
				t.Errorf("severity %d, want 0 for Other", ev.EventSeverity)
			}
			if v, _ := ev.Field("severity_id"); v != "99" {
				t.Errorf("native severity_id %q", v)
			}
		}},
		{"empty strings are absent", `{"class_uid":4001,"src_endpoint":{"ip":"","port":null},"device":{"ip":""}}`, func(t *testing.T, ev *event.Event) {
			if ev.SourceIP != "" || ev.HostIP != "" || ev.SourcePort != 0 {
				t.Errorf("got %q %q %d", ev.SourceIP, ev.HostIP, ev.SourcePort)
			}
		}},
		{"huge value kept whole", `{"class_uid":1007,"activity_id":1,"process":{"cmd_line":"` + huge + `"}}`, func(t *testing.T, ev *event.Event) {
			if len(ev.ProcessCommandLine) != len(huge) {
				t.Errorf("command line of %d bytes, want %d", len(ev.ProcessCommandLine), len(huge))
			}
		}},
		{"1023 extra names", manyNames(1023), func(t *testing.T, ev *event.Event) {
			if len(ev.Fields) != 1024 {
				t.Errorf("%d fields", len(ev.Fields))
			}
		}},
		{"long array joins in linear time", manyValues, func(t *testing.T, ev *event.Event) {
			v, _ := ev.Field("observables.value")
			if len(v) != 20001*2-1 || !strings.HasSuffix(v, "x\ny") {
				t.Errorf("observables.value of %d bytes", len(v))
			}
		}},
		{"escaped keys", `{"class_uid":1007,"activity_id":1,"proc\u0065ss":{"cmd_line":"a\u00e9\n"}}`, func(t *testing.T, ev *event.Event) {
			if ev.ProcessCommandLine != "aé\n" {
				t.Errorf("command line %q", ev.ProcessCommandLine)
			}
			if _, ok := ev.Field("process.cmd_line"); !ok {
				t.Error("escaped key not unescaped in native name")
			}
		}},
		{"unknown technique ids stay native", `{"class_uid":2004,"finding_info":{"attacks":[{"technique":{"uid":"AML.T0051"}},{"technique":{"uid":"T1059"}},{"technique":{"uid":"t1059"}}]}}`, func(t *testing.T, ev *event.Event) {
			if !slices.Equal(ev.ThreatTechniques, []string{"T1059"}) {
				t.Errorf("techniques %q", ev.ThreatTechniques)
			}
		}},
		{"ipv4-mapped unmapped", `{"class_uid":4001,"src_endpoint":{"ip":"::ffff:10.1.2.3"}}`, func(t *testing.T, ev *event.Event) {
			if ev.SourceIP != "10.1.2.3" {
				t.Errorf("source.ip %q", ev.SourceIP)
			}
		}},
		{"action denied without activity", `{"class_uid":4001,"activity_id":99,"action_id":2,"status_id":1}`, func(t *testing.T, ev *event.Event) {
			if ev.EventOutcome != "failure" {
				t.Errorf("outcome %q", ev.EventOutcome)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			if err := d.Decode([]byte(tc.in), &ev); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tc.check(t, &ev)
		})
	}

	// Past the bounds the record is refused, not truncated.
	for name, in := range map[string]string{
		"1025 names":   manyNames(1024),
		"65537 values": `{"class_uid":4001,"a":[` + strings.Repeat("0,", 1<<16) + `0]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(in), &ev)
			if decode.ReasonOf(err) != decode.ReasonTooLarge {
				t.Errorf("error %v, want too_large", err)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Error("event not reset")
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]bool{
		`{"class_uid":4001,"metadata":{"version":"1.1.0"}}`:              true,
		`{"class_uid":"1007","type_uid":100701}`:                         true,
		`{"class_uid":4001}`:                                             false,
		`{"class_uid":"x","metadata":{}}`:                                false,
		`{"rule":"Terminal shell in container","output_fields":{}}`:      false,
		`{"@timestamp":"2025-01-01T00:00:00Z","event":{"kind":"event"}}`: false,
	} {
		var tr jsontree.Tree
		if err := tr.Parse(ocsf.Format, []byte(in), jsontree.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := ocsf.Sniff(&tr); got != want {
			t.Errorf("Sniff(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestConcurrentDecode(t *testing.T) {
	d := ocsf.New()
	var inputs [][]byte
	var wants []event.Event
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := d.Decode(in, &ev); err != nil {
			t.Fatal(err)
		}
		inputs, wants = append(inputs, in), append(wants, ev)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var ev event.Event
			for i := range 50 {
				k := (g + i) % len(inputs)
				if err := d.Decode(inputs[k], &ev); err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(ev, wants[k]) {
					t.Errorf("concurrent decode of case %d differs", k)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReadmeListsEveryField keeps README.md's mapping table in step with
// the canonical fields the golden cases fill.
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
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| [^|]* \\| `([^`]+)` \\|").FindAllSubmatch(table, -1) {
		documented[string(m[1])] = true
	}
	d := ocsf.New()
	set := map[string]bool{}
	for _, dir := range decodetest.GoldenCases(t) {
		ev := decodeCase(t, d, filepath.Base(dir))
		for _, f := range ecsNames {
			if _, ok := ev.Get(f); ok {
				set[f] = true
			}
		}
	}
	for f := range set {
		if !documented[f] {
			t.Errorf("README.md mapping table does not list %s, which the decoder sets", f)
		}
	}
	for f := range documented {
		if !set[f] {
			t.Errorf("README.md lists %s, which no golden case sets", f)
		}
	}
}

// ecsNames are the names event.Event.Get answers for.
var ecsNames = []string{
	"@timestamp", "event.kind", "event.category", "event.type", "event.action", "event.outcome",
	"event.dataset", "event.code", "event.severity", "source.ip", "source.port", "source.domain",
	"source.user.name", "destination.ip", "destination.port", "destination.domain", "network.transport",
	"network.protocol", "network.direction", "network.bytes", "network.packets", "host.name", "host.ip",
	"host.os.family", "process.name", "process.executable", "process.command_line",
	"process.parent.executable", "file.path", "file.extension", "url.original", "http.request.method",
	"http.response.status_code", "dns.question.name", "tls.client.server_name", "user.name",
	"user_agent.original", "service.name", "rule.name", "rule.category", "observer.vendor",
	"observer.product", "observer.type", "ics.protocol", "ics.function", "ics.function_code",
	"ics.unit_id", "threat.technique.id",
}
