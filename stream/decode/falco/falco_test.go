package falco_test

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

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/falco"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func TestDecodeGolden(t *testing.T) {
	d := falco.New()
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
			if err := tr.Parse(falco.Format, in, jsontree.Limits{}); err != nil {
				t.Fatal(err)
			}
			if !falco.Sniff(&tr) {
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

func decodeCase(t *testing.T, d *falco.Decoder, name string) event.Event {
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
	d := falco.New()
	for _, tc := range []struct {
		name       string
		logsource  event.Logsource
		ecs        map[string]string // Event.Get name → value, "" = absent
		fields     map[string]string // native field → value
		absent     []string          // native fields that must not exist
		techniques []string
	}{
		{
			name:      "read_sensitive_file_untrusted",
			logsource: event.Logsource{Product: "linux"},
			ecs: map[string]string{
				"@timestamp": "2024-05-07T18:54:19.34108118Z", "event.kind": "alert", "event.severity": "3",
				"rule.name": "Read sensitive file untrusted", "file.path": "/etc/shadow", "file.extension": "",
				"process.executable": "/bin/event-generator", "process.command_line": "event-generator run --loop",
				"user.name": "root", "host.name": "97ade2b595f0", "observer.product": "falco",
				"event.dataset": "falco.syscall", "event.action": "openat", "event.category": "",
			},
			fields: map[string]string{"tags": "T1555,container,filesystem,host,maturity_stable,mitre_credential_access",
				"proc.pname": "containerd-shim", "container.id": "9656db3bb358", "priority": "Warning", "user.uid": "0"},
			absent:     []string{"output_fields.proc.name", "output_fields"},
			techniques: []string{"T1555"},
		},
		{
			name:      "system_user_interactive",
			logsource: event.Logsource{Product: "linux", Category: "process_creation"},
			ecs: map[string]string{"event.category": "process", "event.type": "start", "event.severity": "1",
				"process.name": "login", "process.executable": "/bin/busybox", "user.name": "daemon"},
			techniques: []string{"T1059"},
		},
		{
			name:      "run_shell_untrusted",
			logsource: event.Logsource{Product: "linux", Category: "process_creation"},
			ecs: map[string]string{"process.parent.executable": "/bin/event-generator", "event.severity": "2",
				"process.command_line": "bash -c ls > /dev/null"},
			fields:     map[string]string{"proc.aname[6]": "init", "proc.pexe": "/tmp/falco-event-generator2286495765/httpd"},
			absent:     []string{"proc.aname[7]"},
			techniques: []string{"T1059.004"},
		},
		{
			name:      "terminal_shell_in_container",
			logsource: event.Logsource{Product: "linux"},
			ecs:       map[string]string{"@timestamp": "2019-08-06T16:58:55.128451713Z", "process.name": "bash", "event.category": ""},
			fields:    map[string]string{"k8s.ns.name": "default", "k8s.pod.name": "nginx-7c5ddbdf54-4dr8j", "evt.time": "1565110735128451713"},
		},
		{
			name:      "write_below_binary_dir",
			logsource: event.Logsource{},
			ecs: map[string]string{"event.severity": "4", "file.path": "/bin/hack", "event.dataset": "falco",
				"@timestamp": "2019-05-17T15:31:56.746609046Z", "host.name": ""},
		},
		{
			name:      "outbound_c2_connect",
			logsource: event.Logsource{Product: "linux", Category: "network_connection"},
			ecs: map[string]string{"destination.ip": "203.0.113.66", "destination.port": "443", "source.ip": "",
				"source.port": "51234", "network.transport": "tcp", "file.path": "", "event.outcome": "", "event.category": "network"},
			fields:     map[string]string{"fd.name": "10.244.1.17:51234->203.0.113.66:443", "fd.sip.name": "evil.example.net"},
			techniques: []string{"T1102"},
		},
		{
			name:      "inbound_accept_client_server",
			logsource: event.Logsource{Product: "linux", Category: "network_connection"},
			ecs: map[string]string{"source.ip": "198.51.100.23", "source.port": "60012", "destination.ip": "10.0.5.9",
				"destination.port": "5432", "event.outcome": "success"},
			techniques: []string{},
		},
		{
			name:      "k8s_audit_privileged_pod",
			logsource: event.Logsource{Product: "kubernetes", Service: "audit"},
			ecs: map[string]string{"user.name": "system:serviceaccount:kube-system:replicaset-controller",
				"url.original": "/api/v1/namespaces/default/pods", "event.dataset": "falco.k8s_audit", "host.os.family": ""},
			fields:     map[string]string{"ka.req.pod.containers.image": "nginx:1.25", "ka.verb": "create"},
			techniques: []string{"T1611"},
		},
		{
			name:      "aws_cloudtrail_console_login",
			logsource: event.Logsource{Product: "aws", Service: "cloudtrail"},
			ecs:       map[string]string{"event.severity": "5", "source.ip": "", "user.name": ""},
			fields:    map[string]string{"ct.user": "bob", "ct.srcip": "192.0.2.44"},
		},
		{
			name:       "evt_time_fallback",
			logsource:  event.Logsource{Product: "linux"},
			ecs:        map[string]string{"@timestamp": "2024-09-04T10:10:00.123456789Z", "event.action": "ptrace"},
			techniques: []string{"T1055.008"},
		},
		{
			name:      "delete_shell_history",
			logsource: event.Logsource{Product: "linux", Category: "file_delete"},
			ecs:       map[string]string{"file.path": "/root/.bash_history", "file.extension": "", "event.type": "deletion"},
			absent:    []string{"fd.name", "evt.arg.path"},
		},
		{
			name:      "rename_ransom_extension",
			logsource: event.Logsource{Product: "linux", Category: "file_rename"},
			ecs: map[string]string{"file.path": "/srv/share/finance/q3.xlsx.locked", "file.extension": "locked",
				"event.action": "rename", "event.outcome": "success", "event.severity": "5"},
			techniques: []string{"T1486"},
		},
		{
			name:      "lowercase_priority_and_tags",
			logsource: event.Logsource{Product: "linux"},
			ecs: map[string]string{"event.severity": "5", "@timestamp": "2024-09-07T09:00:00.5Z",
				"file.path": "/sys/fs/cgroup/rdma/release_agent", "process.executable": "/bin/sh"},
			techniques: []string{"T1611"},
		},
		{
			name:      "na_placeholders_and_strings",
			logsource: event.Logsource{Product: "linux", Category: "network_connection"},
			ecs: map[string]string{"user.name": "", "process.executable": "", "source.ip": "10.0.0.4", "source.port": "41000",
				"destination.ip": "10.0.0.9", "destination.port": "9999", "network.transport": "udp", "event.outcome": "success"},
			fields: map[string]string{"user.name": "<NA>", "k8s.pod.labels": "app:nc\ntier:debug", "extra.nested": "true"},
			absent: []string{"tags"},
		},
		{
			name:       "falcosidekick_forwarded",
			logsource:  event.Logsource{Product: "linux"},
			ecs:        map[string]string{"host.name": "ip-10-0-3-14", "@timestamp": "2024-09-09T14:03:27.88141277Z", "event.action": "socket"},
			fields:     map[string]string{"uuid": "3f8a2c1e-6b7d-4e5f-9a0b-1c2d3e4f5a6b", "hostname": "ip-10-0-3-14"},
			techniques: []string{"T1557.002"},
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
			for _, f := range tc.absent {
				if v, ok := ev.Field(f); ok {
					t.Errorf("native %s = %q present", f, v)
				}
			}
			if tc.techniques != nil && !slices.Equal(ev.ThreatTechniques, tc.techniques) && len(ev.ThreatTechniques)+len(tc.techniques) > 0 {
				t.Errorf("techniques %q, want %q", ev.ThreatTechniques, tc.techniques)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	d := falco.New()
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
		field  string
		msg    string
	}{
		{"empty", "", decode.ReasonEmpty, "", ""},
		{"not json", `{"rule":"x",`, decode.ReasonMalformed, "", "unexpected end of input"},
		{"bad token", `{"rule":x}`, decode.ReasonMalformed, "", "offset"},
		{"duplicate key", `{"rule":"a","rule":"b"}`, decode.ReasonMalformed, "", `duplicate member name "rule"`},
		{"duplicate output field", `{"rule":"a","output_fields":{"proc.name":"x","proc.name":"y"}}`, decode.ReasonMalformed, "", `duplicate member name "proc.name"`},
		{"top-level string", `"rule"`, decode.ReasonWrongType, "", "object"},
		{"invalid utf-8", "{\"rule\":\"a\xc3\"}", decode.ReasonInvalidUTF8, "", "offset"},
		{"no rule", `{"priority":"Warning","output":"x"}`, decode.ReasonMissingField, "rule", "not a Falco alert"},
		{"empty rule", `{"rule":""}`, decode.ReasonMissingField, "rule", ""},
		{"rule object", `{"rule":{"name":"x"}}`, decode.ReasonWrongType, "rule", "got object"},
		{"unknown priority", `{"rule":"r","priority":"Severe"}`, decode.ReasonWrongType, "priority", `"Severe"`},
		{"priority number", `{"rule":"r","priority":3}`, decode.ReasonWrongType, "priority", "number 3"},
		{"time not rfc3339", `{"rule":"r","time":"17:58:55.128451713"}`, decode.ReasonWrongType, "time", "RFC 3339"},
		{"time number", `{"rule":"r","time":1558107116746609046}`, decode.ReasonWrongType, "time", "number"},
		{"time year 10000", `{"rule":"r","time":"10000-01-01T00:00:00Z"}`, decode.ReasonWrongType, "time", "RFC 3339"},
		{"output_fields array", `{"rule":"r","output_fields":[1]}`, decode.ReasonWrongType, "output_fields", "want object"},
		{"tags string", `{"rule":"r","tags":"T1059"}`, decode.ReasonWrongType, "tags", "array of strings"},
		{"tags number", `{"rule":"r","tags":["a",7]}`, decode.ReasonWrongType, "tags", "number 7"},
		{"hostname object", `{"rule":"r","hostname":{}}`, decode.ReasonWrongType, "hostname", "object"},
		{"bad sip", `{"rule":"r","output_fields":{"fd.sip":"10.0.0.256"}}`, decode.ReasonWrongType, "fd.sip", "IP address"},
		{"bad cip", `{"rule":"r","output_fields":{"fd.cip":"::g"}}`, decode.ReasonWrongType, "fd.cip", "IP address"},
		{"port too big", `{"rule":"r","output_fields":{"fd.rport":70000}}`, decode.ReasonWrongType, "fd.rport", "[0, 65535]"},
		{"port text", `{"rule":"r","output_fields":{"fd.sport":"https"}}`, decode.ReasonWrongType, "fd.sport", `"https"`},
		{"cmdline object", `{"rule":"r","output_fields":{"proc.cmdline":{"a":1}}}`, decode.ReasonWrongType, "proc.cmdline", "object"},
		{"evt.time negative", `{"rule":"r","output_fields":{"evt.time":-5}}`, decode.ReasonWrongType, "evt.time", "epoch nanoseconds"},
		{"evt.time fraction", `{"rule":"r","output_fields":{"evt.time":1.5}}`, decode.ReasonWrongType, "evt.time", "epoch nanoseconds"},
		{"too deep", `{"rule":"r","output_fields":{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`, decode.ReasonTooDeep, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *decode.Error", err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != falco.Format {
				t.Errorf("got reason %q field %q format %q, want %q %q %q (%v)",
					de.Reason, de.Field, de.Format, tc.reason, tc.field, falco.Format, err)
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
	d := falco.New()
	huge := strings.Repeat("B", 900<<10)
	manyNames := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"rule":"r","output_fields":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"f.%d":%d`, i, i)
		}
		return b.String() + "}}"
	}
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, ev *event.Event)
	}{
		{"rule only", `{"rule":"r"}`, func(t *testing.T, ev *event.Event) {
			if ev.RuleName != "r" || !ev.Timestamp.IsZero() || ev.EventSeverity != 0 || ev.EventKind != "alert" {
				t.Errorf("got %+v", ev)
			}
		}},
		{"evt.time as time of day is left alone", `{"rule":"r","output_fields":{"evt.time":"17:58:55.128451713"}}`, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.IsZero() {
				t.Errorf("timestamp %v", ev.Timestamp)
			}
		}},
		{"evt.time as decimal string", `{"rule":"r","output_fields":{"evt.time":"1558107116746609046"}}`, func(t *testing.T, ev *event.Event) {
			if ev.Timestamp.UnixNano() != 1558107116746609046 {
				t.Errorf("timestamp %v", ev.Timestamp)
			}
		}},
		{"time wins over evt.time", `{"rule":"r","time":"2020-01-01T00:00:00Z","output_fields":{"evt.time":1558107116746609046}}`, func(t *testing.T, ev *event.Event) {
			if ev.Timestamp.Year() != 2020 {
				t.Errorf("timestamp %v", ev.Timestamp)
			}
		}},
		{"priority info alias", `{"rule":"r","priority":"INFO"}`, func(t *testing.T, ev *event.Event) {
			if ev.EventSeverity != 1 {
				t.Errorf("severity %d", ev.EventSeverity)
			}
		}},
		{"emergency", `{"rule":"r","priority":"Emergency"}`, func(t *testing.T, ev *event.Event) {
			if ev.EventSeverity != 6 {
				t.Errorf("severity %d", ev.EventSeverity)
			}
		}},
		{"huge command line kept whole", `{"rule":"r","output_fields":{"proc.cmdline":"` + huge + `"}}`, func(t *testing.T, ev *event.Event) {
			if len(ev.ProcessCommandLine) != len(huge) {
				t.Errorf("%d bytes", len(ev.ProcessCommandLine))
			}
		}},
		{"socket fd.name is not a file", `{"rule":"r","output_fields":{"fd.name":"10.0.0.1:1->10.0.0.2:2"}}`, func(t *testing.T, ev *event.Event) {
			if ev.FilePath != "" {
				t.Errorf("file.path %q", ev.FilePath)
			}
		}},
		{"pipe fd.name is not a file", `{"rule":"r","output_fields":{"fd.name":"/dev/pts/0","fd.type":"pipe"}}`, func(t *testing.T, ev *event.Event) {
			if ev.FilePath != "" {
				t.Errorf("file.path %q", ev.FilePath)
			}
		}},
		{"ipv4-mapped address", `{"rule":"r","output_fields":{"fd.rip":"::ffff:192.0.2.1","fd.rport":"<NA>"}}`, func(t *testing.T, ev *event.Event) {
			if ev.DestinationIP != "192.0.2.1" || ev.DestinationPort != 0 {
				t.Errorf("destination %q:%d", ev.DestinationIP, ev.DestinationPort)
			}
		}},
		{"accept: remote is the source", `{"rule":"r","output_fields":{"evt.type":"accept","fd.rip":"192.0.2.7","fd.rport":50000,"fd.lip":"10.0.0.1","fd.lport":22}}`, func(t *testing.T, ev *event.Event) {
			if ev.SourceIP != "192.0.2.7" || ev.SourcePort != 50000 || ev.DestinationIP != "10.0.0.1" || ev.DestinationPort != 22 {
				t.Errorf("%s:%d -> %s:%d", ev.SourceIP, ev.SourcePort, ev.DestinationIP, ev.DestinationPort)
			}
		}},
		{"evt.failed true", `{"rule":"r","output_fields":{"evt.failed":true}}`, func(t *testing.T, ev *event.Event) {
			if ev.EventOutcome != "failure" {
				t.Errorf("outcome %q", ev.EventOutcome)
			}
		}},
		{"evt.res errno", `{"rule":"r","output_fields":{"evt.res":"ECONNREFUSED","evt.type":"connect"}}`, func(t *testing.T, ev *event.Event) {
			if ev.EventOutcome != "failure" || ev.Logsource.Category != "network_connection" {
				t.Errorf("outcome %q category %q", ev.EventOutcome, ev.Logsource.Category)
			}
		}},
		{"odd source name", `{"rule":"r","source":"My Plugin!"}`, func(t *testing.T, ev *event.Event) {
			if ev.EventDataset != "falco" || !ev.Logsource.IsZero() {
				t.Errorf("dataset %q logsource %+v", ev.EventDataset, ev.Logsource)
			}
		}},
		{"1024 names", manyNames(1022), func(t *testing.T, ev *event.Event) {
			if len(ev.Fields) != 1023 {
				t.Errorf("%d fields", len(ev.Fields))
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

	for name, in := range map[string]string{
		"1025 names":   manyNames(1025),
		"65537 values": `{"rule":"r","output_fields":{"a":[` + strings.Repeat("0,", 1<<16) + `0]}}`,
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
		`{"rule":"Terminal shell in container","output_fields":{}}`: true,
		`{"rule":"r","priority":"Notice","output":"x"}`:             true,
		`{"rule":"r"}`: false,
		`{"rule":{"name":"r"},"output_fields":{}}`:                       false,
		`{"class_uid":2004,"metadata":{},"finding_info":{"title":"x"}}`:  false,
		`{"rule":{"name":"ET SCAN"},"event":{"kind":"alert"}}`:           false,
		`{"alert":{"signature":"x"},"event_type":"alert","rule":"drop"}`: false,
	} {
		var tr jsontree.Tree
		if err := tr.Parse(falco.Format, []byte(in), jsontree.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := falco.Sniff(&tr); got != want {
			t.Errorf("Sniff(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestConcurrentDecode(t *testing.T) {
	d := falco.New()
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
	d := falco.New()
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
