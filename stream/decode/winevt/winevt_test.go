package winevt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func TestDecodeGolden(t *testing.T) {
	d := winevt.New()
	dirs := decodetest.GoldenCases(t)
	if len(dirs) < 10 {
		t.Fatalf("found %d golden cases, want at least 10", len(dirs))
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

			// Decoding into a used event must give the same result.
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

func decodeCase(t *testing.T, d *winevt.Decoder, name string) event.Event {
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
	d := winevt.New()
	for _, tc := range []struct {
		name      string
		logsource event.Logsource
		ecs       map[string]string // Event.Get name → value, "" = absent
		fields    map[string]string // native field → value
		absent    []string          // native fields that must not exist
		order     []string          // these names appear in this order
	}{
		{
			name:      "sysmon_process_creation",
			logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			ecs: map[string]string{
				"@timestamp": "2025-03-14T09:26:53.589123Z", "event.code": "1", "event.category": "process",
				"event.type": "start", "process.executable": `C:\Windows\System32\vssadmin.exe`,
				"process.name": "vssadmin.exe", "process.command_line": "vssadmin.exe Delete Shadows /All /Quiet",
				"process.parent.executable": `C:\Windows\System32\cmd.exe`, "user.name": `CORP\svc_backup`,
				"host.name": "FS01.corp.example", "host.os.family": "windows", "observer.vendor": "Microsoft",
				"observer.product": "sysmon", "event.dataset": "Microsoft-Windows-Sysmon/Operational",
			},
			fields: map[string]string{
				"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
				"Provider_Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9", "Computer": "FS01.corp.example", "Level": "4",
				"Task": "1", "Keywords": "0x8000000000000000", "EventRecordID": "884213", "Security_UserID": "S-1-5-18",
				"Execution_ProcessID": "3208", "ProcessId": "6120", "TerminalSessionId": "0",
				"Image": `C:\Windows\System32\vssadmin.exe`, "ParentUser": `CORP\svc_backup`,
			},
			absent: []string{"Version", "Opcode", "Correlation", "xmlns"},
			order:  []string{"EventID", "Channel", "RuleName", "UtcTime", "Image", "CommandLine", "ParentUser"},
		},
		{
			name:      "sysmon_network_connection",
			logsource: event.Logsource{Product: "windows", Category: "network_connection", Service: "sysmon"},
			ecs: map[string]string{
				"source.ip": "fe80::5d1e:2c3a:77b1:9e02", "source.port": "51544", "destination.ip": "203.0.113.77",
				"destination.port": "443", "network.transport": "tcp", "destination.domain": "cdn.example.net",
				"source.domain": "WS042.corp.example", "event.category": "network", "process.name": "update.exe",
			},
			fields: map[string]string{"Initiated": "true", "SourceIsIpv6": "true", "DestinationPort": "443",
				"SourceIp": "fe80:0:0:0:5d1e:2c3a:77b1:9e02"},
		},
		{
			name:      "sysmon_network_invalid_values",
			logsource: event.Logsource{Product: "windows", Category: "network_connection", Service: "sysmon"},
			ecs: map[string]string{
				"source.ip": "", "source.port": "", "destination.ip": "", "destination.port": "",
				"destination.domain": "", "network.transport": "udp", "event.code": "3",
			},
			fields: map[string]string{"SourceIp": "10.0.0.300", "SourcePort": "70000", "DestinationPort": "-1",
				"Initiated": "false", "EventID": "3"},
			absent: []string{"DestinationHostname", "Level"},
		},
		{
			name:      "sysmon_file_event",
			logsource: event.Logsource{Product: "windows", Category: "file_event", Service: "sysmon"},
			ecs: map[string]string{"file.path": `C:\Users\bob\AppData\Local\Temp\RS-{05A3207F}\TieringEngineService.EXE`,
				"file.extension": "EXE", "event.category": "file", "event.type": "creation", "process.name": "dropper.exe"},
		},
		{
			name:      "sysmon_registry_delete",
			logsource: event.Logsource{Product: "windows", Category: "registry_delete", Service: "sysmon"},
			ecs:       map[string]string{"event.category": "registry", "event.type": "deletion"},
			fields:    map[string]string{"EventType": "DeleteValue"},
		},
		{
			name:      "sysmon_registry_set",
			logsource: event.Logsource{Product: "windows", Category: "registry_set", Service: "sysmon"},
			ecs:       map[string]string{"event.category": "registry", "event.type": "change", "@timestamp": "2025-12-26T19:25:00.5Z"},
		},
		{
			name:      "sysmon_dns_query",
			logsource: event.Logsource{Product: "windows", Category: "dns_query", Service: "sysmon"},
			ecs: map[string]string{"destination.domain": "mega.nz", "network.protocol": "dns", "event.category": "network",
				"@timestamp": "2025-06-01T12:00:01.000000001Z"},
		},
		{
			name:      "security_4688_data_list",
			logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "security"},
			ecs: map[string]string{
				"@timestamp": "2025-03-14T08:26:53.5891234Z", "event.code": "4688", "process.executable": `C:\Windows\System32\wbadmin.exe`,
				"process.name": "wbadmin.exe", "process.command_line": "wbadmin delete catalog -quiet",
				"process.parent.executable": `C:\Windows\System32\cmd.exe`, "user.name": "svc_backup",
				"observer.product": "windows",
			},
			fields: map[string]string{"EventID": "4688", "TargetDomainName": "", "TokenElevationType": "%%1936",
				"Provider_Guid": "{54849625-5478-4994-A5BA-3E3B0328C30D}"},
			absent: []string{"Security_UserID", "Data"},
			order:  []string{"SubjectUserSid", "SubjectUserName", "NewProcessName", "CommandLine", "MandatoryLabel"},
		},
		{
			name:      "powershell_script_block",
			logsource: event.Logsource{Product: "windows", Category: "ps_script", Service: "powershell"},
			fields:    map[string]string{"ScriptBlockText": "Get-WmiObject Win32_ShadowCopy | ForEach-Object { $_.Delete() }", "Path": ""},
		},
		{
			name:      "powershell_classic_unnamed_data",
			logsource: event.Logsource{Product: "windows", Category: "ps_classic_start", Service: "powershell-classic"},
			fields: map[string]string{
				"EventID": "400", "Data1": "Available", "Data2": "None",
				"Data": "Available\nNone\n\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\tHostName=ConsoleHost\r\n" +
					"\tHostApplication=powershell.exe -nop -w hidden -enc SQBFAFgA\r\n\tEngineVersion=5.1.20348.1",
			},
			absent: []string{"Binary"},
		},
		{
			name:      "application_error_text_array",
			logsource: event.Logsource{Product: "windows", Service: "application"},
			ecs:       map[string]string{"@timestamp": "2025-05-05T10:11:12.131415Z", "event.code": "1000"},
			fields: map[string]string{"Provider_Name": "Application Error", "Data4": "mpengine.dll",
				"Data": "MsMpEng.exe\n4.18.24090.11\n5f3e2a1b\nmpengine.dll\n1.1.24090.11\nc0000005"},
		},
		{
			name:      "wmi_userdata",
			logsource: event.Logsource{Product: "windows", Service: "wmi"},
			fields:    map[string]string{"ClientProcessId": "25920", "ResultCode": "0x80041003", "User": `ws17\bob`},
			absent:    []string{"xmlns", "Operation_ClientFailure"},
			order:     []string{"Id", "ClientMachine", "User", "Operation", "PossibleCause"},
		},
		{
			name:      "system_eventdata_null",
			logsource: event.Logsource{Product: "windows", Service: "system"},
			ecs:       map[string]string{"event.code": "12", "@timestamp": "2025-01-01T00:00:00Z"},
		},
		{
			name:      "xmltodict_service_install",
			logsource: event.Logsource{Product: "windows", Service: "system"},
			fields: map[string]string{"EventID": "7045", "Provider_Name": "Service Control Manager",
				"ServiceName": "PSEXESVC", "ImagePath": `%SystemRoot%\PSEXESVC.exe`, "Security_UserID": "S-1-5-21-1-2-3-500",
				"Execution_ProcessID": "640", "EventRecordID": "4242"},
			absent: []string{"Qualifiers", "Name"},
		},
		{
			name:      "winlogbeat_sysmon_process",
			logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			ecs: map[string]string{"@timestamp": "2025-03-14T09:26:53.589Z", "event.code": "1", "host.name": "FS01.corp.example",
				"process.command_line": "vssadmin.exe Delete Shadows /All /Quiet", "process.name": "vssadmin.exe"},
			fields: map[string]string{"EventID": "1", "Provider_Name": "Microsoft-Windows-Sysmon", "EventRecordID": "884213",
				"Security_UserID": "S-1-5-18", "Execution_ProcessID": "3208", "Execution_ThreadID": "4012", "ProcessId": "6120"},
			absent: []string{"agent", "type", "version", "Task"},
		},
		{
			name:      "nxlog_security_4688",
			logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "security"},
			ecs: map[string]string{"@timestamp": "2025-03-14T10:26:53Z", "process.name": "ntdsutil.exe",
				"host.name": "DC01.corp.example", "user.name": "DC01$"},
			fields: map[string]string{"EventID": "4688", "Provider_Name": "Microsoft-Windows-Security-Auditing",
				"Computer": "DC01.corp.example", "Keywords": "-9214364837600034816", "SourceModuleType": "im_msvistalog",
				"Hostname": "DC01.corp.example", "EventRecordID": "1029384"},
		},
		{
			name:      "colliding_keys",
			logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			ecs:       map[string]string{"process.executable": `C:\Windows\System32\second.exe`},
			fields: map[string]string{"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational",
				"Provider_Name": "Microsoft-Windows-Sysmon", "Image": `C:\Windows\System32\second.exe`,
				"Flag": "true", "Ratio": "1500", "Empty": "", "Inner": "leaf"},
			absent: []string{"Gone", "", "Nested", "x"},
			order:  []string{"CommandLine", "Image", "Flag"},
		},
		{
			name:      "event_content_at_top",
			logsource: event.Logsource{Product: "windows", Service: "taskscheduler"},
			fields:    map[string]string{"TaskName": `\Microsoft\Windows\SystemRestore\SR`, "UserName": "System"},
			absent:    []string{"Name"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeCase(t, d, tc.name)
			if ev.Logsource != tc.logsource {
				t.Errorf("Logsource = %+v, want %+v", ev.Logsource, tc.logsource)
			}
			for f, want := range tc.ecs {
				got, ok := ev.Get(f)
				if want == "" && ok {
					t.Errorf("%s = %q, want absent", f, got)
				}
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			for f, want := range tc.fields {
				if got, ok := ev.Field(f); !ok || got != want {
					t.Errorf("field %s = %q (present %v), want %q", f, got, ok, want)
				}
			}
			for _, f := range tc.absent {
				if got, ok := ev.Field(f); ok {
					t.Errorf("field %q = %q, want absent", f, got)
				}
			}
			last := -1
			for _, f := range tc.order {
				i := fieldIndex(&ev, f)
				if i <= last {
					t.Errorf("field %s at %d, want after index %d (order %v)", f, i, last, tc.order)
				}
				last = i
			}
			seen := map[string]bool{}
			for _, f := range ev.Fields {
				if seen[f.Name] {
					t.Errorf("field %q appears twice", f.Name)
				}
				seen[f.Name] = true
			}
		})
	}
}

func ls(category, service string) event.Logsource {
	return event.Logsource{Product: "windows", Category: category, Service: service}
}

func fld(name, value string) event.Field { return event.Field{Name: name, Value: value} }

func fieldIndex(ev *event.Event, name string) int {
	for i, f := range ev.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func TestDecodeErrors(t *testing.T) {
	sys := `"Provider":{"#attributes":{"Name":"P"}},"Channel":"Security"`
	deep := strings.Repeat(`{"a":`, winevt.MaxDepth+1) + `1` + strings.Repeat(`}`, winevt.MaxDepth+1)
	notDeep := `{"Event":{"System":{"EventID":1},"EventData":` + strings.Repeat(`{"a":`, winevt.MaxDepth-3) + `1` +
		strings.Repeat(`}`, winevt.MaxDepth-3) + `}}`
	var many, manyOK strings.Builder
	many.WriteString(`{"Event":{"System":{"EventID":1},"EventData":{`)
	manyOK.WriteString(`{"Event":{"System":{"EventID":1},"EventData":{`)
	for i := range winevt.MaxFields - 1 { // with EventID: MaxFields names
		fmt.Fprintf(&many, `"f%d":%d,`, i, i)
		if i > 0 {
			manyOK.WriteByte(',')
		}
		fmt.Fprintf(&manyOK, `"f%d":%d`, i, i)
	}
	many.WriteString(`"last":1}}}`)
	manyOK.WriteString(`}}}`)
	values := `{"x":[` + strings.Repeat(`0,`, winevt.MaxValues) + `0]}`

	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
		field  string
	}{
		{"empty", ``, decode.ReasonEmpty, ""},
		{"whitespace", " \n\t", decode.ReasonEmpty, ""},
		{"invalid utf8", "{\"Event\":\"\xff\"}", decode.ReasonInvalidUTF8, ""},
		{"array", `[{"Event":{}}]`, decode.ReasonMalformed, ""},
		{"string", `"Event"`, decode.ReasonMalformed, ""},
		{"truncated", `{"Event":{"System":{"EventID":1}`, decode.ReasonMalformed, ""},
		{"truncated string", `{"Event":{"System":{"EventID":"12`, decode.ReasonMalformed, ""},
		{"syntax", `{"Event":{"System":{"EventID":1,}}}`, decode.ReasonMalformed, ""},
		{"trailing data", `{"Event":{"System":{"EventID":1}}} {}`, decode.ReasonMalformed, ""},
		{"trailing garbage", `{"Event":{"System":{"EventID":1}}}x`, decode.ReasonMalformed, ""},
		{"no layout", `{"event":{"code":"4688"}}`, decode.ReasonMissingField, "Event"},
		{"event not object", `{"Event":"x"}`, decode.ReasonWrongType, "Event"},
		{"no system", `{"Event":{"EventData":{}}}`, decode.ReasonMissingField, "Event.System"},
		{"system null", `{"Event":{"System":null}}`, decode.ReasonMissingField, "Event.System"},
		{"system array", `{"Event":{"System":[]}}`, decode.ReasonWrongType, "Event.System"},
		{"no event id", `{"Event":{"System":{` + sys + `}}}`, decode.ReasonMissingField, "Event.System.EventID"},
		{"event id null", `{"Event":{"System":{"EventID":null}}}`, decode.ReasonMissingField, "Event.System.EventID"},
		{"event id text", `{"Event":{"System":{"EventID":"x4688"}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id fraction", `{"Event":{"System":{"EventID":4688.5}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id negative", `{"Event":{"System":{"EventID":-1}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id too big", `{"Event":{"System":{"EventID":4294967296}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id bool", `{"Event":{"System":{"EventID":true}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id array", `{"Event":{"System":{"EventID":[4688]}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id object without text", `{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":0}}}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"event id object bad text", `{"Event":{"System":{"EventID":{"#text":"four"}}}}`, decode.ReasonWrongType, "Event.System.EventID"},
		{"bad system time", `{"Event":{"System":{"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"yesterday"}}}}}`,
			decode.ReasonWrongType, "Event.System.TimeCreated.SystemTime"},
		{"time out of range", `{"Event":{"System":{"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"9999-12-31T23:00:00-05:00"}}}}}`,
			decode.ReasonWrongType, "Event.System.TimeCreated.SystemTime"},
		{"top-level system bad id", `{"System":{"EventID":"x"}}`, decode.ReasonWrongType, "System.EventID"},
		{"winlog not object", `{"winlog":[1]}`, decode.ReasonWrongType, "winlog"},
		{"winlog no event id", `{"winlog":{"channel":"Security"}}`, decode.ReasonMissingField, "winlog.event_id"},
		{"winlog bad event id", `{"winlog":{"event_id":"abc"}}`, decode.ReasonWrongType, "winlog.event_id"},
		{"winlog bad timestamp", `{"@timestamp":"soon","winlog":{"event_id":1}}`, decode.ReasonWrongType, "@timestamp"},
		{"nxlog bad event id", `{"EventID":"4688x","Channel":"Security"}`, decode.ReasonWrongType, "EventID"},
		{"nxlog bad time", `{"EventID":1,"EventTime":"25/03/2017"}`, decode.ReasonWrongType, "EventTime"},
		{"too deep", deep, decode.ReasonTooDeep, ""},
		{"too many fields", many.String(), decode.ReasonTooLarge, "Event.EventData"},
		{"too many values", values, decode.ReasonTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := winevt.New().Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v (%T), want a *decode.Error", err, err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != winevt.Format {
				t.Errorf("error = %v (reason %q, field %q, format %q), want reason %q, field %q, format %q",
					err, de.Reason, de.Field, de.Format, tc.reason, tc.field, winevt.Format)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("event not reset after failure: %+v", ev)
			}
		})
	}

	// The limits are inclusive: exactly at them decodes.
	for name, in := range map[string]string{"depth": notDeep, "fields": manyOK.String()} {
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); err != nil {
			t.Errorf("%s at the limit: %v", name, err)
		}
	}
}

// TestEventIDForms: the event id in every spelling converters use.
func TestEventIDForms(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{`4688`, "4688"}, {`"4688"`, "4688"}, {`4688.0`, "4688"}, {`4.688e3`, "4688"}, {`"04688"`, "4688"},
		{`{"#text":4688,"#attributes":{"Qualifiers":""}}`, "4688"}, {`{"#attributes":{"Qualifiers":16384},"#text":"7045"}`, "7045"},
		{`{"@Qualifiers":"","#text":"1"}`, "1"}, {`0`, "0"}, {`4294967295`, "4294967295"},
	} {
		in := `{"Event":{"System":{"EventID":` + tc.id + `,"Channel":"Security"}}}`
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); err != nil {
			t.Errorf("EventID %s: %v", tc.id, err)
			continue
		}
		if got, _ := ev.Field("EventID"); got != tc.want || ev.EventCode != tc.want {
			t.Errorf("EventID %s: field %q, event.code %q, want %q", tc.id, got, ev.EventCode, tc.want)
		}
	}
}

// TestTimeForms: SystemTime spellings and their UTC instant.
func TestTimeForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2025-03-14T09:26:53.5891234Z", "2025-03-14T09:26:53.5891234Z"},
		{"2025-03-14T09:26:53Z", "2025-03-14T09:26:53Z"},
		{"2025-03-14T10:26:53.5+01:00", "2025-03-14T09:26:53.5Z"},
		{"2025-03-14 09:26:53.123456 UTC", "2025-03-14T09:26:53.123456Z"},
		{"2025-03-14 09:26:53.1Z", "2025-03-14T09:26:53.1Z"},
		{"2025-03-14T09:26:53.25", "2025-03-14T09:26:53.25Z"},
		{"2025-03-14 09:26:53", "2025-03-14T09:26:53Z"},
	} {
		in := `{"Event":{"System":{"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"` + tc.in + `"}}}}}`
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); err != nil {
			t.Errorf("SystemTime %q: %v", tc.in, err)
			continue
		}
		if got, _ := ev.Get("@timestamp"); got != tc.want || ev.Timestamp.Location() != time.UTC {
			t.Errorf("SystemTime %q: @timestamp %q (%v), want %q in UTC", tc.in, got, ev.Timestamp.Location(), tc.want)
		}
	}
	for _, bad := range []string{"2025-03-14 09:26:53 CET", "14.03.2025", "2025-03-14T25:00:00Z", ""} {
		in := `{"Event":{"System":{"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"` + bad + `"}}}}}`
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); decode.ReasonOf(err) != decode.ReasonWrongType {
			t.Errorf("SystemTime %q: error %v, want wrong_type", bad, err)
		}
	}
}

// TestLogsource covers table rows the golden cases do not reach.
func TestLogsource(t *testing.T) {
	for _, tc := range []struct {
		channel   string
		id        string
		eventData string
		want      event.Logsource
	}{
		{"Microsoft-Windows-Sysmon/Operational", "12", `{"EventType":"CreateKey"}`, ls("registry_add", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "12", `{"EventType":"DeleteKey"}`, ls("registry_delete", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "12", `null`, ls("registry_add", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "14", `{}`, ls("registry_rename", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "26", `{}`, ls("file_delete_detected", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "255", `{}`, ls("sysmon_error", "sysmon")},
		{"Microsoft-Windows-Sysmon/Operational", "99", `{}`, ls("", "sysmon")},
		{"microsoft-windows-sysmon/operational", "1", `{}`, ls("process_creation", "sysmon")},
		{"Microsoft-Windows-PowerShell/Operational", "4103", `{}`, ls("ps_module", "powershell")},
		{"PowerShellCore/Operational", "4104", `{}`, ls("ps_script", "powershell")},
		{"Windows PowerShell", "600", `{}`, ls("ps_classic_provider_start", "powershell-classic")},
		{"Windows PowerShell", "800", `{}`, ls("ps_classic_script", "powershell-classic")},
		{"Microsoft-Windows-Windows Defender/Operational", "1116", `{}`, ls("antivirus", "windefend")},
		{"Microsoft-Windows-Windows Defender/Operational", "5001", `{}`, ls("", "windefend")},
		{"Microsoft-Windows-AppLocker/EXE and DLL", "8004", `{}`, ls("", "applocker")},
		{"Microsoft-Windows-AppLocker/MSI and Script", "8007", `{}`, ls("", "applocker")},
		{"Microsoft-Windows-DNS-Client/Operational", "3008", `{}`, ls("", "dns-client")},
		{"Security", "4624", `{}`, ls("", "security")},
		{"Security", "1", `{}`, ls("", "security")},
		{"ForwardedEvents", "4688", `{}`, ls("", "")},
		{"", "1", `{}`, ls("", "")},
	} {
		in := `{"Event":{"System":{"EventID":` + tc.id + `,"Channel":"` + tc.channel + `"},"EventData":` + tc.eventData + `}}`
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); err != nil {
			t.Errorf("%s %s: %v", tc.channel, tc.id, err)
			continue
		}
		if ev.Logsource != tc.want {
			t.Errorf("%s %s %s: Logsource %+v, want %+v", tc.channel, tc.id, tc.eventData, ev.Logsource, tc.want)
		}
	}
}

// TestDataElements covers the shapes of EventData Data elements.
func TestDataElements(t *testing.T) {
	for _, tc := range []struct {
		eventData string
		want      []event.Field // after the EventID field
	}{
		{`{"Data":"caller=sppsvc.exe"}`, []event.Field{fld("Data", "caller=sppsvc.exe")}},
		{`{"Data":{"#text":"one"}}`, []event.Field{fld("Data", "one")}},
		{`{"Data":{"#text":["a","b"]}}`, []event.Field{fld("Data", "a\nb"), fld("Data1", "a"), fld("Data2", "b")}},
		{`{"Data":[1,true,null,"x"]}`, []event.Field{fld("Data", "1\ntrue\nx"), fld("Data1", "1"), fld("Data2", "true"), fld("Data3", "x")}},
		{`{"Data":[{"#attributes":{"Name":"A"},"#text":"1"},"free",{"#attributes":{"Name":"B"},"#text":2}]}`,
			[]event.Field{fld("A", "1"), fld("Data", "free"), fld("B", "2")}},
		{`{"Data":{"#attributes":{"Name":"A"},"#text":null}}`, []event.Field{fld("A", "")}},
		{`{"Data":[{"#attributes":{"Name":""},"#text":"anon"}]}`, []event.Field{fld("Data", "anon")}},
		{`{"Data":{"Named":"v"}}`, []event.Field{fld("Named", "v")}},
		{`{"#text":"bare"}`, []event.Field{fld("Data", "bare")}},
		{`"bare"`, []event.Field{fld("Data", "bare")}},
		{`["p","q"]`, []event.Field{fld("Data", "p\nq"), fld("Data1", "p"), fld("Data2", "q")}},
		{`{"List":["x","y"],"Obj":[{"K":1},{"K":2}]}`, []event.Field{fld("List", "x\ny"), fld("K", "2")}},
		{`{"A":{"#text":"t","B":"u"}}`, []event.Field{fld("A", "t"), fld("B", "u")}},
		{`{"K":1.5e3,"M":2e-7,"N":1e400,"Z":-0e5,"R":12.50}`,
			[]event.Field{fld("K", "1500"), fld("M", "2e-7"), fld("N", "1e400"), fld("Z", "-0"), fld("R", "12.50")}},
		{`{}`, nil},
		{`null`, nil},
	} {
		in := `{"Event":{"System":{"EventID":1},"EventData":` + tc.eventData + `}}`
		var ev event.Event
		if err := winevt.New().Decode([]byte(in), &ev); err != nil {
			t.Errorf("%s: %v", tc.eventData, err)
			continue
		}
		want := append([]event.Field{fld("EventID", "1")}, tc.want...)
		if !reflect.DeepEqual(ev.Fields, want) {
			t.Errorf("EventData %s:\n got %q\nwant %q", tc.eventData, ev.Fields, want)
		}
	}
}

// TestNoReferenceIntoInput: the event must not change when the caller
// reuses the record buffer.
func TestNoReferenceIntoInput(t *testing.T) {
	d := winevt.New()
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(in)
		var ev event.Event
		if err := d.Decode(buf, &ev); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		want := decodetest.MarshalEvent(t, &ev)
		for i := range buf {
			buf[i] = 'X'
		}
		if got := decodetest.MarshalEvent(t, &ev); !bytes.Equal(got, want) {
			t.Errorf("%s: event changed after the input buffer was overwritten", dir)
		}
	}
}

// TestConcurrentDecode runs one decoder from many goroutines; with -race it
// checks the decoder (and its pooled buffers) for shared state.
func TestConcurrentDecode(t *testing.T) {
	d := winevt.New()
	dirs := decodetest.GoldenCases(t)
	inputs := make([][]byte, len(dirs))
	wants := make([][]byte, len(dirs))
	for i, dir := range dirs {
		var err error
		if inputs[i], err = os.ReadFile(filepath.Join(dir, "input.json")); err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := d.Decode(inputs[i], &ev); err != nil {
			t.Fatal(err)
		}
		wants[i] = decodetest.MarshalEvent(t, &ev)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var ev event.Event
			for n := range 50 {
				i := (g + n) % len(inputs)
				if err := d.Decode(inputs[i], &ev); err != nil {
					t.Errorf("%s: %v", dirs[i], err)
					return
				}
				b, _ := json.MarshalIndent(&ev, "", "  ")
				if !bytes.Equal(append(b, '\n'), wants[i]) {
					t.Errorf("%s: concurrent decode differs", dirs[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReadmeDocumentsTables keeps README.md's tables in step with the code.
func TestReadmeDocumentsTables(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range winevt.TableRows() {
		if !bytes.Contains(readme, []byte(row)) {
			t.Errorf("README.md lacks the table row %q", row)
		}
	}
}
