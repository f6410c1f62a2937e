package zeek_test

import (
	"bytes"
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
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func TestDecodeGolden(t *testing.T) {
	d := zeek.New()
	dirs := decodetest.GoldenCases(t)
	if len(dirs) < 14 {
		t.Fatalf("found %d golden cases, want at least 14", len(dirs))
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

			// DecodeTree from a parsed tree gives the same event, and the
			// tree passes Sniff.
			var tr jsontree.Tree
			if err := tr.Parse(zeek.Format, in, jsontree.Limits{}); err != nil {
				t.Fatal(err)
			}
			if !zeek.Sniff(&tr) {
				t.Error("Sniff rejects the record")
			}
			var fromTree event.Event
			if err := d.DecodeTree(&tr, &fromTree); err != nil {
				t.Fatalf("DecodeTree: %v", err)
			}
			if !reflect.DeepEqual(fromTree, ev) {
				t.Errorf("DecodeTree differs from Decode:\n got %+v\nwant %+v", fromTree, ev)
			}
		})
	}
}

func decodeCase(t *testing.T, d *zeek.Decoder, name string) event.Event {
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
	d := zeek.New()
	for _, tc := range []struct {
		name      string
		logsource event.Logsource
		ecs       map[string]string // Event.Get name → value, "" = absent
		fields    map[string]string // native field → value
		labels    map[string]string
	}{
		{
			name:      "conn_udp_dns_sf",
			logsource: event.Logsource{Product: "zeek", Category: "network_connection", Service: "conn"},
			ecs: map[string]string{
				"@timestamp": "2020-06-05T14:39:59.305988Z", "source.ip": "192.168.4.76", "source.port": "36844",
				"destination.ip": "192.168.4.1", "destination.port": "53", "network.transport": "udp",
				"network.protocol": "dns", "event.outcome": "success", "network.packets": "4",
				"network.bytes": "315", "event.dataset": "zeek.conn", "event.category": "network",
				"event.type": "connection", "network.direction": "",
			},
			fields: map[string]string{"conn_state": "SF", "id.orig_h": "192.168.4.76", "ts": "1591367999.305988", "duration": "0.06685185432434082"},
		},
		{
			name:      "conn_s0_scan_nested_id",
			logsource: event.Logsource{Product: "zeek", Category: "network_connection", Service: "conn"},
			ecs: map[string]string{
				"@timestamp": "2026-03-02T11:40:03.884201Z", "source.ip": "203.0.113.45", "destination.port": "3389",
				"event.outcome": "failure", "network.packets": "1", "network.bytes": "44", "network.direction": "inbound",
				"network.protocol": "",
			},
			fields: map[string]string{"id.orig_h": "203.0.113.45", "id.resp_p": "3389", "conn_state": "S0", "local_orig": "false", "_path": "conn"},
		},
		{
			name: "conn_rej_outbound",
			ecs: map[string]string{"event.outcome": "failure", "network.direction": "outbound", "network.packets": "2",
				"network.bytes": "88", "destination.port": "502"},
			fields: map[string]string{"tunnel_parents": ""},
		},
		{
			name: "conn_icmp_echo",
			ecs: map[string]string{"network.transport": "icmp", "source.port": "", "destination.port": "",
				"event.action": "echo_request", "event.outcome": "unknown"},
			fields: map[string]string{"id.orig_p": "8", "id.resp_p": "0"},
		},
		{
			name:      "conn_kafka_tagged",
			logsource: event.Logsource{Product: "zeek", Category: "network_connection", Service: "conn"},
			ecs:       map[string]string{"event.outcome": "success", "network.packets": "59759", "network.bytes": "7466628", "network.protocol": "modbus"},
			labels:    map[string]string{"sensor": "plant-3-tap", "site": "water-west"},
		},
		{
			name: "conn_shape_only_bytes_fallback",
			ecs: map[string]string{"event.dataset": "zeek.conn", "network.bytes": "24", "network.packets": "11",
				"network.protocol": "modbus", "source.port": "2579", "@timestamp": "2004-08-26T12:05:53.490353Z"},
		},
		{
			name:      "dns_nxdomain",
			logsource: event.Logsource{Product: "zeek", Category: "dns", Service: "dns"},
			ecs:       map[string]string{"dns.question.name": "wpad.localdomain", "event.outcome": "failure", "network.protocol": "dns", "destination.domain": ""},
			fields:    map[string]string{"query": "wpad.localdomain", "qtype_name": "A", "RD": "true"},
		},
		{
			name:   "dns_noerror_answers",
			ecs:    map[string]string{"dns.question.name": "testmyids.com", "event.outcome": "success", "event.dataset": "zeek.dns"},
			fields: map[string]string{"answers": "31.3.245.133", "TTLs": "3600.0"},
		},
		{
			name:      "http_get",
			logsource: event.Logsource{Product: "zeek", Category: "proxy", Service: "http"},
			ecs: map[string]string{"http.request.method": "GET", "url.original": "/", "destination.domain": "testmyids.com",
				"user_agent.original": "curl/7.47.0", "http.response.status_code": "200", "event.outcome": "success", "event.category": "web"},
			fields: map[string]string{"tags": "", "resp_mime_types": "text/plain"},
		},
		{
			name:   "http_webdav_put_nmap",
			ecs:    map[string]string{"destination.domain": "files.example.net", "http.response.status_code": "403", "event.outcome": "failure", "destination.port": "8080"},
			fields: map[string]string{"host": "files.example.net:8080"},
		},
		{
			name:      "ssl_established",
			logsource: event.Logsource{Product: "zeek", Service: "ssl"},
			ecs:       map[string]string{"tls.client.server_name": "www.taosecurity.com", "event.outcome": "success", "network.protocol": "tls"},
			fields:    map[string]string{"version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		},
		{
			name:      "notice_port_scan",
			logsource: event.Logsource{Product: "zeek", Service: "notice"},
			ecs: map[string]string{"event.kind": "alert", "rule.name": "Scan::Port_Scan", "rule.category": "Scan",
				"source.ip": "203.0.113.45", "destination.ip": "10.20.0.15", "event.category": "intrusion_detection"},
			fields: map[string]string{"msg": "203.0.113.45 scanned at least 15 unique ports of host 10.20.0.15 in 0m2s", "actions": "Notice::ACTION_LOG"},
		},
		{
			name:      "weird_bad_tcp_checksum",
			logsource: event.Logsource{Product: "zeek", Service: "weird"},
			ecs:       map[string]string{"rule.name": "bad_TCP_checksum", "event.kind": "event"},
			fields:    map[string]string{"peer": "zeek", "notice": "false"},
		},
		{
			name:      "modbus_write_single_register",
			logsource: event.Logsource{Product: "zeek", Category: "network_connection", Service: "modbus"},
			ecs: map[string]string{"ics.protocol": "modbus", "ics.function": "write_single_register", "ics.function_code": "6",
				"ics.unit_id": "1", "network.transport": "", "event.outcome": "", "destination.port": "502"},
			fields: map[string]string{"func": "WRITE_SINGLE_REGISTER", "tid": "28"},
		},
		{
			name: "modbus_exception_response",
			ecs: map[string]string{"ics.function": "read_holding_registers", "ics.function_code": "3", "ics.unit_id": "255",
				"event.outcome": "failure", "source.ip": "10.0.0.9", "event.dataset": "zeek.modbus"},
			fields: map[string]string{"id.orig_h": "10.0.0.9", "exception": "ILLEGAL_DATA_ADDRESS"},
		},
		{
			name:      "dnp3_write_response",
			logsource: event.Logsource{Product: "zeek", Category: "network_connection", Service: "dnp3"},
			ecs:       map[string]string{"ics.protocol": "dnp3", "ics.function": "write", "ics.function_code": "2", "destination.port": "20000"},
			fields:    map[string]string{"fc_reply": "RESPONSE", "iin": "0"},
		},
		{
			name: "dnp3_cold_restart_shape",
			ecs:  map[string]string{"ics.function": "cold_restart", "ics.function_code": "13", "event.dataset": "zeek.dnp3", "@timestamp": "2026-03-02T11:44:09.5Z"},
		},
		{
			name:   "filebeat_log_file_path",
			ecs:    map[string]string{"event.dataset": "zeek.conn", "source.ip": "2001:db8::a1", "event.outcome": "success", "@timestamp": "2026-03-02T11:44:59.905133Z"},
			fields: map[string]string{"log.file.path": "/opt/zeek/logs/current/conn.log", "id.orig_h": "2001:db8:0:0:0:0:0:a1"},
		},
		{
			name:      "files_unknown_log",
			logsource: event.Logsource{Product: "zeek", Service: "files"},
			ecs:       map[string]string{"event.dataset": "zeek.files", "event.category": "", "source.ip": "31.3.245.133"},
			fields:    map[string]string{"analyzers": "", "mime_type": "text/plain"},
		},
		{
			name: "conn_ts_millis_vector_log_type",
			ecs: map[string]string{"@timestamp": "2020-06-05T14:39:59.306Z", "source.ip": "192.0.2.10", "event.outcome": "failure",
				"event.dataset": "zeek.conn"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodeCase(t, d, tc.name)
			if !tc.logsource.IsZero() && ev.Logsource != tc.logsource {
				t.Errorf("logsource %+v, want %+v", ev.Logsource, tc.logsource)
			}
			for k, want := range tc.ecs {
				if got, _ := ev.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.fields {
				if got, ok := ev.Field(k); !ok || got != want {
					t.Errorf("field %s = %q (present %v), want %q", k, got, ok, want)
				}
			}
			for k, want := range tc.labels {
				if got := ev.Labels[k]; got != want {
					t.Errorf("label %s = %q, want %q", k, got, want)
				}
			}
			if ev.ObserverProduct != "zeek" || ev.Logsource.Product != "zeek" {
				t.Errorf("observer.product %q, logsource product %q", ev.ObserverProduct, ev.Logsource.Product)
			}
		})
	}
}

// Every conn_state maps to the documented outcome.
func TestConnStateOutcome(t *testing.T) {
	d := zeek.New()
	for state, want := range map[string]string{
		"SF": "success", "S1": "success", "S2": "success", "S3": "success", "RSTO": "success", "RSTR": "success",
		"S0": "failure", "REJ": "failure", "RSTOS0": "failure", "RSTRH": "failure", "SH": "failure", "SHR": "failure",
		"OTH": "unknown", "XYZ": "",
	} {
		rec := fmt.Sprintf(`{"_path":"conn","ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp","conn_state":%q}`, state)
		var ev event.Event
		if err := d.Decode([]byte(rec), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.EventOutcome != want {
			t.Errorf("conn_state %s: outcome %q, want %q", state, ev.EventOutcome, want)
		}
		if got, _ := ev.Field("conn_state"); got != state {
			t.Errorf("native conn_state %q, want %q", got, state)
		}
	}
}

func TestModbusAndDNP3Functions(t *testing.T) {
	d := zeek.New()
	for _, tc := range []struct {
		rec, function string
		code          int
		outcome       string
	}{
		{`{"_path":"modbus","func":"READ_COILS","pdu_type":"RESP"}`, "read_coils", 1, "success"},
		{`{"_path":"modbus","func":"WRITE_MULTIPLE_REGISTERS"}`, "write_multiple_registers", 16, ""},
		{`{"_path":"modbus","func":"WRITE_MULTIPLE_COILS","pdu_type":"REQ"}`, "write_multiple_coils", 15, ""},
		{`{"_path":"modbus","func":"WRITE_SINGLE_COIL_EXCEPTION","exception":"ILLEGAL_FUNCTION"}`, "write_single_coil", 5, "failure"},
		{`{"_path":"modbus","func":"MASK_WRITE_REGISTER"}`, "mask_write_register", 22, ""},
		{`{"_path":"modbus","func":"PROGRAM_UNITY"}`, "program_unity", 90, ""},
		{`{"_path":"modbus","func":"unknown-100"}`, "unknown-100", 100, ""},
		{`{"_path":"modbus","func":"unknown-300"}`, "unknown-300", 0, ""},
		{`{"_path":"dnp3","fc_request":"OPERATE","fc_reply":"RESPONSE"}`, "operate", 4, ""},
		{`{"_path":"dnp3","fc_request":"DIRECT_OPERATE"}`, "direct_operate", 5, ""},
		{`{"_path":"dnp3","fc_request":"COLD_RESTART"}`, "cold_restart", 13, ""},
		{`{"_path":"dnp3","fc_request":"AUTHENTICATE_REQ_NR"}`, "authenticate_req_nr", 33, ""},
		{`{"_path":"dnp3","fc_reply":"UNSOLICITED_RESPONSE","iin":0}`, "unsolicited_response", 130, ""},
		{`{"_path":"dnp3","fc_request":"unknown-99"}`, "unknown-99", 99, ""},
	} {
		var ev event.Event
		if err := d.Decode([]byte(tc.rec), &ev); err != nil {
			t.Fatalf("%s: %v", tc.rec, err)
		}
		if ev.ICSFunction != tc.function || ev.ICSFunctionCode != tc.code || ev.EventOutcome != tc.outcome {
			t.Errorf("%s: function %q code %d outcome %q, want %q %d %q", tc.rec,
				ev.ICSFunction, ev.ICSFunctionCode, ev.EventOutcome, tc.function, tc.code, tc.outcome)
		}
	}
}

func TestNewForPath(t *testing.T) {
	if _, err := zeek.NewForPath("smb_files"); err == nil || !strings.Contains(err.Error(), "smb_files") {
		t.Errorf("NewForPath(smb_files) = %v, want an error naming it", err)
	}
	for _, p := range zeek.Paths() {
		if _, err := zeek.NewForPath(p); err != nil {
			t.Errorf("NewForPath(%s): %v", p, err)
		}
	}
	d, err := zeek.NewForPath("weird")
	if err != nil {
		t.Fatal(err)
	}
	// No _path: the topic's log type wins over the shape (a weird record
	// has no field only weird writes when peer is missing).
	var ev event.Event
	if err := d.Decode([]byte(`{"ts":1591368000.452147,"name":"dns_unmatched_reply","addl":"x"}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Logsource.Service != "weird" || ev.RuleName != "dns_unmatched_reply" {
		t.Errorf("service %q rule %q, want weird dns_unmatched_reply", ev.Logsource.Service, ev.RuleName)
	}
	// A record's own _path still wins.
	if err := d.Decode([]byte(`{"_path":"dns","ts":1,"query":"example.org"}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Logsource.Service != "dns" || ev.DNSQuestionName != "example.org" {
		t.Errorf("service %q query %q, want dns example.org", ev.Logsource.Service, ev.DNSQuestionName)
	}
	// The same record without a configured type is only generic.
	if err := zeek.New().Decode([]byte(`{"ts":1591368000.452147,"name":"dns_unmatched_reply"}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Logsource.Service != "" || ev.RuleName != "" || ev.EventDataset != "zeek" {
		t.Errorf("generic record: service %q rule %q dataset %q", ev.Logsource.Service, ev.RuleName, ev.EventDataset)
	}
}

func TestPathSources(t *testing.T) {
	d := zeek.New()
	for _, tc := range []struct{ rec, service string }{
		{`{"_path":"conn-2","ts":1,"conn_state":"S0"}`, "conn"},
		{`{"_path":"DNS","ts":1}`, "dns"},
		{`{"log_type":"http","ts":1}`, "http"},
		{`{"event":{"dataset":"zeek.ssl"},"ts":1}`, "ssl"},
		{`{"event.dataset":"zeek.notice","ts":1}`, "notice"},
		{`{"log":{"file":{"path":"/var/log/zeek/2026-03-02/weird.10:00:00-11:00:00.log"}},"ts":1}`, "weird"},
		{`{"ts":1,"uid":"C1","method":"GET","host":"a"}`, "http"},
		{`{"ts":1,"uid":"C1","note":"SSL::Invalid_Server_Cert"}`, "notice"},
		{`{"ts":1,"uid":"C1","func":"READ_COILS"}`, "modbus"},
		{`{"ts":1,"uid":"C1","server_name":"a.example","version":"TLSv13"}`, "ssl"},
		{`{"ts":1,"name":"bad_UDP_checksum","peer":"zeek"}`, "weird"},
		{`{"ts":1,"uid":"C1","proto":"udp","history":"D"}`, "conn"},
		{`{"x509":{"ts":1,"fingerprint":"ab"}}`, "x509"},
		{`{"x509":{"fingerprint":"ab"}}`, ""},
		{`{"dhcp":{"ts":1,"uid":"C1"}}`, "dhcp"},
	} {
		var ev event.Event
		if err := d.Decode([]byte(tc.rec), &ev); err != nil {
			if tc.service == "" {
				continue
			}
			t.Fatalf("%s: %v", tc.rec, err)
		}
		if ev.Logsource.Service != tc.service {
			t.Errorf("%s: service %q, want %q", tc.rec, ev.Logsource.Service, tc.service)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	d := zeek.New()
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
		field  string
		msg    string
	}{
		{"empty", ``, decode.ReasonEmpty, "", ""},
		{"blank", " \n\t", decode.ReasonEmpty, "", ""},
		{"not json", `ts=1`, decode.ReasonMalformed, "", "offset"},
		{"array", `[{"ts":1}]`, decode.ReasonWrongType, "", "object"},
		{"truncated", `{"ts":1,"uid":"C`, decode.ReasonMalformed, "", ""},
		{"invalid utf8", "{\"ts\":1,\"uid\":\"\xff\"}", decode.ReasonInvalidUTF8, "", "offset 15"},
		{"duplicate key", `{"_path":"conn","ts":1,"conn_state":"S0","conn_state":"SF"}`, decode.ReasonMalformed, "", `duplicate member name "conn_state"`},
		{"duplicate key escaped", `{"_path":"conn","ts":1,"uid":"a","\u0075id":"b"}`, decode.ReasonMalformed, "", `duplicate member name "uid"`},
		{"nul in string", `{"_path":"conn","ts":1,"uid":"C\u00001"}`, decode.ReasonMalformed, "", "NUL"},
		{"too deep", `{"a":` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}`, decode.ReasonTooDeep, "", ""},
		{"no type no zeek fields", `{"foo":"bar"}`, decode.ReasonMissingField, "_path", "log type unknown"},
		{"bad path", `{"_path":"conn; rm","ts":1}`, decode.ReasonWrongType, "_path", "log type name"},
		{"bad log_type", `{"log_type":"../../x","ts":1}`, decode.ReasonWrongType, "log_type", "log type name"},
		{"bad orig_h", `{"_path":"conn","ts":1,"id.orig_h":"10.0.0.300"}`, decode.ReasonWrongType, "id.orig_h", `want IP address, got string "10.0.0.300"`},
		{"orig_h number", `{"_path":"conn","ts":1,"id.orig_h":167772161}`, decode.ReasonWrongType, "id.orig_h", "got number"},
		{"nested orig_h object", `{"_path":"conn","ts":1,"id":{"orig_h":{"v":"10.0.0.1"}}}`, decode.ReasonWrongType, "id.orig_h", "got object"},
		{"resp_h zone", `{"_path":"conn","ts":1,"id.resp_h":"fe80::1%eth0"}`, decode.ReasonWrongType, "id.resp_h", "IP address"},
		{"port too big", `{"_path":"conn","ts":1,"id.resp_p":70000}`, decode.ReasonWrongType, "id.resp_p", "[0, 65535]"},
		{"port negative", `{"_path":"conn","ts":1,"id.orig_p":-1}`, decode.ReasonWrongType, "id.orig_p", "[0, 65535]"},
		{"port fraction", `{"_path":"conn","ts":1,"id.orig_p":80.5}`, decode.ReasonWrongType, "id.orig_p", "integer"},
		{"port word", `{"_path":"conn","ts":1,"id.resp_p":"http"}`, decode.ReasonWrongType, "id.resp_p", `"http"`},
		{"port bool", `{"_path":"conn","ts":1,"id.resp_p":true}`, decode.ReasonWrongType, "id.resp_p", "got bool"},
		{"ts word", `{"_path":"conn","ts":"yesterday"}`, decode.ReasonWrongType, "ts", "ISO 8601"},
		{"ts object", `{"_path":"conn","ts":{"s":1}}`, decode.ReasonWrongType, "ts", "got object"},
		{"ts array", `{"_path":"conn","ts":[1]}`, decode.ReasonWrongType, "ts", "got array"},
		{"ts year 10000", `{"_path":"conn","ts":253402300800.5}`, decode.ReasonWrongType, "ts", "0000-9999"},
		{"ts inf", `{"_path":"conn","ts":"Inf"}`, decode.ReasonWrongType, "ts", "ISO 8601"},
		{"ts huge exponent", `{"_path":"conn","ts":1e300}`, decode.ReasonWrongType, "ts", "0000-9999"},
		{"ts iso year 10000", `{"_path":"conn","ts":"10000-01-01T00:00:00Z"}`, decode.ReasonWrongType, "ts", "ISO 8601"},
		{"negative packets", `{"_path":"conn","ts":1,"orig_pkts":-5}`, decode.ReasonWrongType, "orig_pkts", "integer"},
		{"bytes object", `{"_path":"conn","ts":1,"resp_ip_bytes":{}}`, decode.ReasonWrongType, "resp_ip_bytes", "object"},
		{"local_orig word", `{"_path":"conn","ts":1,"local_orig":"yes","local_resp":true}`, decode.ReasonWrongType, "local_orig", "bool"},
		{"service array", `{"_path":"conn","ts":1,"service":["dns"]}`, decode.ReasonWrongType, "service", "want string, got array"},
		{"status code", `{"_path":"http","ts":1,"status_code":1000}`, decode.ReasonWrongType, "status_code", "[0, 999]"},
		{"query object", `{"_path":"dns","ts":1,"query":{"name":"x"}}`, decode.ReasonWrongType, "query", "object"},
		{"established word", `{"_path":"ssl","ts":1,"established":"maybe"}`, decode.ReasonWrongType, "established", "bool"},
		{"unit too big", `{"_path":"modbus","ts":1,"unit":256}`, decode.ReasonWrongType, "unit", "[0, 255]"},
		{"func array", `{"_path":"modbus","ts":1,"func":["READ_COILS"]}`, decode.ReasonWrongType, "func", "array"},
		{"notice bad src", `{"_path":"notice","ts":1,"src":"x"}`, decode.ReasonWrongType, "src", "IP address"},
		{"notice bad p", `{"_path":"notice","ts":1,"p":99999}`, decode.ReasonWrongType, "p", "65535"},
		{"too many fields", manyFields(zeek.MaxFields + 1), decode.ReasonTooLarge, "", "1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want *decode.Error", err, err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != zeek.Format {
				t.Errorf("got reason %q field %q format %q, want %q %q %q (%v)", de.Reason, de.Field, de.Format, tc.reason, tc.field, zeek.Format, err)
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

func manyFields(n int) string {
	var b strings.Builder
	b.WriteString(`{"_path":"conn","ts":1`)
	for i := range n {
		fmt.Fprintf(&b, `,"f%d":%d`, i, i)
	}
	b.WriteString("}")
	return b.String()
}

func TestHostile(t *testing.T) {
	d := zeek.New()
	decodeOK := func(t *testing.T, in string) event.Event {
		t.Helper()
		var ev event.Event
		if err := d.Decode([]byte(in), &ev); err != nil {
			t.Fatalf("Decode(%.80s): %v", in, err)
		}
		return ev
	}
	t.Run("numbers as strings", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":"1591367999.5","id.orig_h":"10.0.0.1","id.orig_p":"1234","id.resp_h":"10.0.0.2","id.resp_p":" 443 ","orig_pkts":"3","resp_pkts":2,"conn_state":"SF","proto":"TCP"}`)
		if ev.SourcePort != 1234 || ev.DestinationPort != 443 || ev.NetworkPackets != 5 || ev.NetworkTransport != "tcp" {
			t.Errorf("ports %d %d packets %d transport %q", ev.SourcePort, ev.DestinationPort, ev.NetworkPackets, ev.NetworkTransport)
		}
		if want := time.Unix(1591367999, 5e8).UTC(); !ev.Timestamp.Equal(want) {
			t.Errorf("ts %v, want %v", ev.Timestamp, want)
		}
	})
	t.Run("strings as numbers", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"http","ts":1,"method":"GET","uri":12345,"user_agent":7,"host":"a.example"}`)
		if ev.URLOriginal != "12345" || ev.UserAgent != "7" {
			t.Errorf("uri %q user_agent %q", ev.URLOriginal, ev.UserAgent)
		}
	})
	t.Run("integral floats and exponents", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":1.5915e9,"id.resp_p":4.43e2,"orig_pkts":2.0}`)
		if ev.DestinationPort != 443 || ev.NetworkPackets != 2 || ev.Timestamp.Unix() != 1591500000 {
			t.Errorf("port %d packets %d ts %v", ev.DestinationPort, ev.NetworkPackets, ev.Timestamp)
		}
	})
	t.Run("ts precision", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":1591367999.123456789}`)
		if ev.Timestamp.Nanosecond() != 123456789 {
			t.Errorf("ns %d, want 123456789", ev.Timestamp.Nanosecond())
		}
		ev = decodeOK(t, `{"_path":"conn","ts":"2020-06-05T14:39:59.305988+02:00"}`)
		if got := ev.Timestamp.Format(time.RFC3339Nano); got != "2020-06-05T12:39:59.305988Z" {
			t.Errorf("ISO ts with offset gives %s", got)
		}
	})
	t.Run("missing timestamp", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","uid":"C1","conn_state":"S0"}`)
		if !ev.Timestamp.IsZero() {
			t.Errorf("timestamp %v, want zero", ev.Timestamp)
		}
		ev = decodeOK(t, `{"_path":"conn","ts":null,"uid":"C1"}`)
		if !ev.Timestamp.IsZero() {
			t.Errorf("null ts: timestamp %v, want zero", ev.Timestamp)
		}
	})
	t.Run("colliding keys last wins once", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":1,"id.orig_h":"10.0.0.1","id":{"orig_h":"10.0.0.9"},"conn_state":"SF"}`)
		if ev.SourceIP != "10.0.0.9" || ev.EventOutcome != "success" {
			t.Errorf("source %q outcome %q", ev.SourceIP, ev.EventOutcome)
		}
		n := 0
		for _, f := range ev.Fields {
			if f.Name == "id.orig_h" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("colliding names appear %d times in Fields, want once", n)
		}
		if ev.Fields[2].Name != "id.orig_h" {
			t.Errorf("first position not kept: %+v", ev.Fields)
		}
	})
	t.Run("huge value kept whole", func(t *testing.T) {
		big := strings.Repeat("A", 512<<10)
		ev := decodeOK(t, `{"_path":"http","ts":1,"method":"GET","uri":"/`+big+`"}`)
		if len(ev.URLOriginal) != len(big)+1 {
			t.Errorf("uri length %d", len(ev.URLOriginal))
		}
	})
	t.Run("escapes and unicode", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"http","ts":1,"method":"GET","uri":"/a\\xffb\u00e9\ud83d\ude00","host":"\u0001"}`)
		if ev.URLOriginal != `/a\xffbé😀` || ev.DestinationDomain != "\x01" {
			t.Errorf("uri %q host %q", ev.URLOriginal, ev.DestinationDomain)
		}
	})
	t.Run("ipv4 mapped and ipv6 canonical", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":1,"id.orig_h":"::ffff:10.0.0.1","id.resp_h":"2001:DB8:0::1"}`)
		if ev.SourceIP != "10.0.0.1" || ev.DestinationIP != "2001:db8::1" {
			t.Errorf("source %q destination %q", ev.SourceIP, ev.DestinationIP)
		}
	})
	t.Run("counter overflow saturates", func(t *testing.T) {
		ev := decodeOK(t, `{"_path":"conn","ts":1,"orig_ip_bytes":9223372036854775807,"resp_ip_bytes":10}`)
		if ev.NetworkBytes != 1<<63-1 {
			t.Errorf("bytes %d", ev.NetworkBytes)
		}
	})
	t.Run("exactly MaxFields", func(t *testing.T) {
		ev := decodeOK(t, manyFields(zeek.MaxFields-2))
		if len(ev.Fields) != zeek.MaxFields {
			t.Errorf("%d fields, want %d", len(ev.Fields), zeek.MaxFields)
		}
	})
	t.Run("tagged record with other objects is not tagged", func(t *testing.T) {
		ev := decodeOK(t, `{"conn":{"ts":1,"uid":"C"},"meta":{"x":1},"ts":2,"uid":"D"}`)
		if ev.Logsource.Service != "" {
			t.Errorf("service %q, want none", ev.Logsource.Service)
		}
	})
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"ts":1,"uid":"C1"}`, true},
		{`{"_path":"weird","ts":1}`, true},
		{`{"ts":1,"id":{"orig_h":"10.0.0.1"}}`, true},
		{`{"conn":{"ts":1,"uid":"C1"}}`, true},
		{`{"@timestamp":"2026-01-01T00:00:00Z","source":{"ip":"10.0.0.1"}}`, false},
		{`{"timestamp":"2026-01-01T00:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.1"}`, false},
		{`{"ts":1}`, false},
		{`{"Event":{"System":{"EventID":1}}}`, false},
	} {
		var tr jsontree.Tree
		if err := tr.Parse("test", []byte(tc.in), jsontree.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := zeek.Sniff(&tr); got != tc.want {
			t.Errorf("Sniff(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	d := zeek.New()
	dirs := decodetest.GoldenCases(t)
	inputs := make([][]byte, len(dirs))
	wants := make([]event.Event, len(dirs))
	for i, dir := range dirs {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = in
		if err := d.Decode(in, &wants[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var ev event.Event
			for n := range 200 {
				i := (g + n) % len(inputs)
				if err := d.Decode(inputs[i], &ev); err != nil {
					t.Errorf("Decode: %v", err)
					return
				}
				if !reflect.DeepEqual(ev, wants[i]) {
					t.Errorf("concurrent decode of %s differs", dirs[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
