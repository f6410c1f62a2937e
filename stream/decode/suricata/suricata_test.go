package suricata_test

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
	"github.com/casus-sec/casus/stream/decode/suricata"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the decoder's output")

func readCase(tb testing.TB, name string) []byte {
	tb.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", name, "input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func TestDecodeGolden(t *testing.T) {
	d := suricata.New()
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

			// DecodeTree from a tree parsed once gives the same event, and
			// the record has EVE's shape for Sniff.
			var tree jsontree.Tree
			if err := tree.Parse("any", in, jsontree.Limits{}); err != nil {
				t.Fatal(err)
			}
			if !suricata.Sniff(&tree) {
				t.Error("Sniff = false for an EVE record")
			}
			fromTree := decodetest.DirtyEvent()
			if err := d.DecodeTree(&tree, &fromTree); err != nil {
				t.Fatalf("DecodeTree: %v", err)
			}
			if !reflect.DeepEqual(fromTree, ev) {
				t.Errorf("DecodeTree differs from Decode:\n got %+v\nwant %+v", fromTree, ev)
			}
		})
	}
}

// Specific expectations, so a wrong golden file cannot hide a regression in
// the documented semantics.
func TestDecodeSemantics(t *testing.T) {
	d := suricata.New()
	for _, tc := range []struct {
		name       string
		logsource  event.Logsource
		ecs        map[string]string // Event.Get name → value, "" = absent
		fields     map[string]string // native field → value
		techniques []string
	}{
		{
			name:      "alert_recon_nmap_scan",
			logsource: event.Logsource{Product: "suricata", Service: "alert"},
			ecs: map[string]string{
				"@timestamp": "2024-03-01T12:00:00.123456Z", "event.kind": "alert",
				"event.category": "intrusion_detection", "event.type": "allowed", "event.action": "allowed",
				"event.outcome": "", "rule.name": "ET SCAN NMAP -sS window 1024", "event.code": "2009582",
				"rule.category": "attempted-recon", "event.severity": "2", "source.ip": "203.0.113.45",
				"source.port": "47552", "destination.ip": "192.168.10.20", "destination.port": "3389",
				"network.transport": "tcp", "network.packets": "1", "network.bytes": "58",
				"host.name": "sensor-dmz-01", "observer.product": "suricata", "event.dataset": "suricata.alert",
			},
			fields: map[string]string{
				"alert.category": "Attempted Information Leak", "alert.metadata.mitre_tactic_id": "TA0043",
				"flow_id": "1189224931460547", "alert.signature_id": "2009582", "direction": "to_server",
			},
			techniques: []string{"T1595"},
		},
		{
			name:      "alert_dos_ntp_blocked",
			logsource: event.Logsource{Product: "suricata", Service: "alert"},
			ecs: map[string]string{
				"@timestamp": "2024-03-01T11:05:09.771023Z", "event.type": "denied", "event.outcome": "failure",
				"event.action": "blocked", "rule.category": "attempted-dos", "network.transport": "udp",
				"network.protocol": "ntp", "network.packets": "12",
			},
			fields:     map[string]string{"alert.metadata.mitre_technique_id": "T1498\nt1498.002\nT1498"},
			techniques: []string{"T1498", "T1498.002"},
		},
		{
			name:      "alert_trojan_docs_example",
			logsource: event.Logsource{Product: "suricata", Service: "alert"},
			ecs: map[string]string{
				"@timestamp": "2009-11-24T21:27:09.534255Z", "rule.category": "trojan-activity",
				"event.severity": "1", "event.code": "2001999", "network.packets": "",
			},
		},
		{
			name:      "alert_c2_with_http",
			logsource: event.Logsource{Product: "suricata", Service: "alert"},
			ecs: map[string]string{
				"rule.category": "command-and-control", "url.original": "/api/Encrypted.php",
				"http.request.method": "POST", "http.response.status_code": "200",
				"destination.domain": "209.53.113.5", "network.protocol": "http",
				"@timestamp": "2017-04-07T21:24:37.251547Z",
			},
			fields:     map[string]string{"metadata.flowbits": "http.dottedquadhost", "alert.metadata.malware_family": "CryptFile2"},
			techniques: []string{"T1071"},
		},
		{
			name:      "flow_tcp_syn_only",
			logsource: event.Logsource{Product: "suricata", Category: "network_connection", Service: "flow"},
			ecs: map[string]string{
				"event.outcome": "failure", "event.category": "network", "event.type": "connection",
				"network.transport": "tcp", "network.packets": "1", "destination.port": "8443",
			},
			fields: map[string]string{"tcp.tcp_flags": "02", "flow.state": "new", "tcp.syn": "true"},
		},
		{
			name:      "flow_tcp_rst_answer",
			logsource: event.Logsource{Product: "suricata", Category: "network_connection", Service: "flow"},
			// SYN, ACK and RST all appear in tcp_flags: only the
			// per-direction flags tell a refused attempt.
			ecs:    map[string]string{"event.outcome": "failure", "network.packets": "4", "host.name": "stratosphere.org"},
			fields: map[string]string{"tcp.ack": "true", "tcp.syn": "true", "tcp.rst": "true"},
		},
		{
			name:      "flow_tcp_established",
			logsource: event.Logsource{Product: "suricata", Category: "network_connection", Service: "flow"},
			ecs:       map[string]string{"event.outcome": "success", "network.packets": "106", "network.bytes": "75628", "network.protocol": "http"},
		},
		{
			name:      "flow_udp_dns",
			logsource: event.Logsource{Product: "suricata", Category: "network_connection", Service: "flow"},
			ecs:       map[string]string{"event.outcome": "success", "network.transport": "udp", "network.protocol": "dns"},
		},
		{
			name:      "flow_ipv6_icmp_unanswered",
			logsource: event.Logsource{Product: "suricata", Category: "network_connection", Service: "flow"},
			ecs: map[string]string{
				"event.outcome": "failure", "network.transport": "ipv6-icmp", "source.ip": "2001:db8::45",
				"destination.ip": "2001:db8:0:10::20", "source.port": "",
			},
			fields: map[string]string{"src_ip": "2001:0db8:0000:0000:0000:0000:0000:0045", "icmp_type": "128"},
		},
		{
			name:      "dns_v2_query",
			logsource: event.Logsource{Product: "suricata", Category: "dns", Service: "dns"},
			ecs:       map[string]string{"dns.question.name": "twitter.com", "event.type": "protocol"},
			fields:    map[string]string{"dns.rrtype": "A", "dns.type": "query"},
		},
		{
			name:      "dns_v2_answer",
			logsource: event.Logsource{Product: "suricata", Category: "dns", Service: "dns"},
			ecs:       map[string]string{"dns.question.name": "www.suricata.io"},
			fields: map[string]string{"dns.answers.rdata": "suricata.io\n35.212.0.44", "dns.rcode": "NOERROR",
				"dns.answers.rrname": "www.suricata.io\nsuricata.io"},
		},
		{
			name:      "dns_v3_response",
			logsource: event.Logsource{Product: "suricata", Category: "dns", Service: "dns"},
			ecs:       map[string]string{"dns.question.name": "www.suricata.io", "source.port": "53"},
			fields:    map[string]string{"dns.queries.rrtype": "A", "dns.version": "3"},
		},
		{
			name:      "dns_v3_request_ipv6",
			logsource: event.Logsource{Product: "suricata", Category: "dns", Service: "dns"},
			ecs:       map[string]string{"dns.question.name": "www.suricata.io", "source.ip": "2001:db8::23", "destination.ip": "2001:db8::1"},
		},
		{
			name:      "http_extended",
			logsource: event.Logsource{Product: "suricata", Service: "http"},
			ecs: map[string]string{
				"destination.domain": "www.digip.org", "url.original": "/jansson/releases/jansson-2.6.tar.gz",
				"user_agent.original": "Wget/1.13.4 (linux-gnu)", "http.response.status_code": "200",
				"http.request.method": "GET", "@timestamp": "2015-03-25T14:40:41.231015Z",
			},
			fields: map[string]string{"http.request_headers.name": "User-Agent\nAccept", "http.status": "200"},
		},
		{
			name:      "tls_extended_ja3_ja4",
			logsource: event.Logsource{Product: "suricata", Service: "tls"},
			ecs:       map[string]string{"tls.client.server_name": "calendar.google.com", "network.protocol": "tls"},
			fields: map[string]string{"tls.ja3.hash": "e7d705a3286e19ea42f587b344ee6865", "tls.ja4": "t12d1109h2_5b57614c22b0_3d5424432f57",
				"tls.version": "TLS 1.2"},
		},
		{
			name:      "anomaly_applayer",
			logsource: event.Logsource{Product: "suricata", Service: "anomaly"},
			ecs: map[string]string{"rule.name": "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION", "event.kind": "event",
				"event.type": "info", "@timestamp": "2016-01-11T13:10:54.61211Z"},
		},
		{
			name:      "anomaly_decode_pre_epoch",
			logsource: event.Logsource{Product: "suricata", Service: "anomaly"},
			ecs:       map[string]string{"rule.name": "decoder.udp.pkt_too_small", "@timestamp": "1970-01-01T00:04:21Z", "source.port": ""},
			fields:    map[string]string{"src_port": "0", "packet_info.linktype": "1"},
		},
		{
			name:      "unknown_event_type_frame",
			logsource: event.Logsource{Product: "suricata", Service: "frame"},
			ecs: map[string]string{"event.kind": "event", "event.category": "network", "event.type": "info",
				"event.dataset": "suricata.frame", "network.protocol": "smtp", "rule.name": ""},
			fields: map[string]string{"frame.type": "command_line", "frame.complete": "true"},
		},
		{
			name:      "stats_no_addresses",
			logsource: event.Logsource{Product: "suricata", Service: "stats"},
			ecs:       map[string]string{"event.kind": "metric", "event.category": "", "source.ip": "", "network.packets": ""},
			fields:    map[string]string{"stats.decoder.pkts": "2171", "stats.detect.engines.rules_loaded": "48652"},
		},
		{
			name:      "mqtt_ipv6_expanded",
			logsource: event.Logsource{Product: "suricata", Service: "mqtt"},
			ecs:       map[string]string{"source.ip": "::1", "destination.ip": "::1", "event.type": "protocol", "destination.port": "1883"},
			fields:    map[string]string{"mqtt.publish.topic": "house/bulbs/bulb1", "mqtt.publish.retain": "false"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev event.Event
			if err := d.Decode(readCase(t, tc.name), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Logsource != tc.logsource {
				t.Errorf("Logsource = %+v, want %+v", ev.Logsource, tc.logsource)
			}
			for name, want := range tc.ecs {
				if got, _ := ev.Get(name); got != want {
					t.Errorf("Get(%q) = %q, want %q", name, got, want)
				}
			}
			for name, want := range tc.fields {
				if got, ok := ev.Field(name); !ok || got != want {
					t.Errorf("Field(%q) = %q (%v), want %q", name, got, ok, want)
				}
			}
			if !slices.Equal(ev.ThreatTechniques, tc.techniques) {
				t.Errorf("ThreatTechniques = %q, want %q", ev.ThreatTechniques, tc.techniques)
			}
			if ev.ObserverVendor != "OISF" || ev.ObserverType != "ids" {
				t.Errorf("observer %q/%q", ev.ObserverVendor, ev.ObserverType)
			}
		})
	}
}

// The outcome rules of a TCP flow, one flag combination at a time.
func TestFlowOutcome(t *testing.T) {
	d := suricata.New()
	for _, tc := range []struct {
		name, tcp, flow, want string
	}{
		{"handshake completed", `"tcp_flags_ts":"1b","tcp_flags_tc":"1b"`, `"pkts_toclient":5`, "success"},
		{"syn only", `"tcp_flags_ts":"02","tcp_flags_tc":"00"`, `"pkts_toclient":0`, "failure"},
		{"rst-ack answer", `"tcp_flags_ts":"02","tcp_flags_tc":"14"`, `"pkts_toclient":1`, "failure"},
		{"half-open syn scan of an open port", `"tcp_flags_ts":"06","tcp_flags_tc":"12"`, `"pkts_toclient":1`, "failure"},
		{"connect scan of an open port", `"tcp_flags_ts":"16","tcp_flags_tc":"12"`, `"pkts_toclient":1`, "success"},
		{"syn flood answered syn-ack", `"tcp_flags_ts":"02","tcp_flags_tc":"12"`, `"pkts_toclient":3`, "failure"},
		{"midstream both directions", `"tcp_flags_ts":"18","tcp_flags_tc":"18"`, `"pkts_toclient":9`, "success"},
		{"ack probe answered rst", `"tcp_flags_ts":"10","tcp_flags_tc":"04"`, `"pkts_toclient":1`, "failure"},
		{"client acks a rst-ack", `"tcp_flags_ts":"12","tcp_flags_tc":"14"`, `"pkts_toclient":1`, "failure"},
		{"upper-case hex", `"tcp_flags_ts":"1B","tcp_flags_tc":"1B"`, `"pkts_toclient":5`, "success"},
		{"no flags, flow new", `"state":"syn_sent"`, `"state":"new","pkts_toclient":0`, "failure"},
		{"no flags, flow established", ``, `"state":"established","pkts_toclient":2`, "success"},
		{"no flags, closed, tcp established", `"state":"established"`, `"state":"closed","pkts_toclient":2`, "success"},
		{"no flags, closed, tcp syn_recv", `"state":"syn_recv"`, `"state":"closed","pkts_toclient":1`, "failure"},
		{"no flags, closed, nothing back", `"state":"closed"`, `"state":"closed","pkts_toclient":0`, "failure"},
		{"nothing to tell", `"state":"closed"`, `"state":"closed","pkts_toclient":2`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := `{"timestamp":"2024-03-01T12:00:00.000000+0000","event_type":"flow","src_ip":"10.0.0.1","src_port":4000,` +
				`"dest_ip":"10.0.0.2","dest_port":22,"proto":"TCP","flow":{"pkts_toserver":1,` + tc.flow + `},"tcp":{` + tc.tcp + `}}`
			var ev event.Event
			if err := d.Decode([]byte(rec), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.EventOutcome != tc.want {
				t.Errorf("outcome %q, want %q", ev.EventOutcome, tc.want)
			}
		})
	}
	for _, tc := range []struct{ proto, flow, want string }{
		{"UDP", `"pkts_toserver":1,"pkts_toclient":1`, "success"},
		{"UDP", `"pkts_toserver":4,"pkts_toclient":0`, "failure"},
		{"UDP", `"pkts_toserver":4`, ""},
		{"ICMP", `"pkts_toserver":1,"pkts_toclient":"1"`, "success"},
	} {
		rec := `{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"` + tc.proto + `","flow":{` + tc.flow + `}}`
		var ev event.Event
		if err := d.Decode([]byte(rec), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.EventOutcome != tc.want {
			t.Errorf("%s %s: outcome %q, want %q", tc.proto, tc.flow, ev.EventOutcome, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	d := suricata.New()
	const env = `"timestamp":"2024-03-01T12:00:00.000000+0000","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"`
	for _, tc := range []struct {
		name, in string
		reason   decode.Reason
		field    string
		msg      string
	}{
		{"empty", ``, decode.ReasonEmpty, "", ""},
		{"blank", " \n\t", decode.ReasonEmpty, "", ""},
		{"syntax", `{"event_type":"flow",}`, decode.ReasonMalformed, "", "offset"},
		{"truncated", `{"event_type":"flow"`, decode.ReasonMalformed, "", "end of input"},
		{"trailing data", `{"event_type":"flow"} {}`, decode.ReasonMalformed, "", "after the top-level object"},
		{"array at top", `[{"event_type":"flow"}]`, decode.ReasonWrongType, "", "array"},
		{"invalid utf-8", "{\"event_type\":\"flow\",\"host\":\"\xff\"}", decode.ReasonInvalidUTF8, "", "offset"},
		{"no event_type", `{` + env + `}`, decode.ReasonMissingField, "event_type", "not an EVE record"},
		{"null event_type", `{"event_type":null}`, decode.ReasonMissingField, "event_type", ""},
		{"empty event_type", `{"event_type":""}`, decode.ReasonMissingField, "event_type", "empty"},
		{"event_type number", `{"event_type":3}`, decode.ReasonWrongType, "event_type", "want string, got number 3"},
		{"alert without alert", `{"event_type":"alert",` + env + `}`, decode.ReasonMissingField, "alert", "without an alert object"},
		{"alert is a string", `{"event_type":"alert","alert":"x"}`, decode.ReasonWrongType, "alert", "want object"},
		{"bad timestamp", `{"event_type":"flow","timestamp":"yesterday"}`, decode.ReasonWrongType, "timestamp", `"yesterday"`},
		{"timestamp number", `{"event_type":"flow","timestamp":1709294400}`, decode.ReasonWrongType, "timestamp", "number"},
		{"timestamp year 10000 in UTC", `{"event_type":"flow","timestamp":"9999-12-31T23:59:59-0100"}`, decode.ReasonWrongType, "timestamp", "0000-9999"},
		{"timestamp month 13", `{"event_type":"flow","timestamp":"2024-13-01T00:00:00+0000"}`, decode.ReasonWrongType, "timestamp", "ISO 8601"},
		{"bad src_ip", `{"event_type":"flow","src_ip":"10.0.0.300"}`, decode.ReasonWrongType, "src_ip", `"10.0.0.300"`},
		{"dest_ip number", `{"event_type":"flow","dest_ip":167772162}`, decode.ReasonWrongType, "dest_ip", "IP address"},
		{"dest_ip object", `{"event_type":"flow","dest_ip":{"v4":"1.2.3.4"}}`, decode.ReasonWrongType, "dest_ip", "object"},
		{"port too big", `{"event_type":"flow","src_port":65536}`, decode.ReasonWrongType, "src_port", "[0, 65535]"},
		{"port negative", `{"event_type":"flow","dest_port":-1}`, decode.ReasonWrongType, "dest_port", "[0, 65535]"},
		{"port fraction", `{"event_type":"flow","dest_port":80.5}`, decode.ReasonWrongType, "dest_port", "80.5"},
		{"port text", `{"event_type":"flow","dest_port":"http"}`, decode.ReasonWrongType, "dest_port", `"http"`},
		{"proto object", `{"event_type":"flow","proto":{"n":6}}`, decode.ReasonWrongType, "proto", "want string"},
		{"app_proto array", `{"event_type":"flow","app_proto":["http"]}`, decode.ReasonWrongType, "app_proto", "array"},
		{"host array", `{"event_type":"flow","host":["s1"]}`, decode.ReasonWrongType, "host", "array"},
		{"host.name number", `{"event_type":"flow","host":{"name":7}}`, decode.ReasonWrongType, "host.name", "number"},
		{"severity zero", `{"event_type":"alert","alert":{"signature":"x","severity":0}}`, decode.ReasonWrongType, "alert.severity", "[1, 255]"},
		{"severity text", `{"event_type":"alert","alert":{"signature":"x","severity":"high"}}`, decode.ReasonWrongType, "alert.severity", `"high"`},
		{"signature_id negative", `{"event_type":"alert","alert":{"signature_id":-5}}`, decode.ReasonWrongType, "alert.signature_id", "4294967295"},
		{"signature_id huge", `{"event_type":"alert","alert":{"signature_id":99999999999}}`, decode.ReasonWrongType, "alert.signature_id", "4294967295"},
		{"signature object", `{"event_type":"alert","alert":{"signature":{"msg":"x"}}}`, decode.ReasonWrongType, "alert.signature", "object"},
		{"category array", `{"event_type":"alert","alert":{"category":["a"]}}`, decode.ReasonWrongType, "alert.category", "array"},
		{"action object", `{"event_type":"alert","alert":{"action":{}}}`, decode.ReasonWrongType, "alert.action", "object"},
		{"flow not an object", `{"event_type":"flow","flow":5}`, decode.ReasonWrongType, "flow", "want object"},
		{"pkts negative", `{"event_type":"flow","flow":{"pkts_toserver":-2}}`, decode.ReasonWrongType, "flow.pkts_toserver", "count"},
		{"bytes text", `{"event_type":"flow","flow":{"bytes_toclient":"lots"}}`, decode.ReasonWrongType, "flow.bytes_toclient", `"lots"`},
		{"pkts overflow", `{"event_type":"flow","flow":{"pkts_toclient":9223372036854775807}}`, decode.ReasonWrongType, "flow.pkts_toclient", "count"},
		{"tcp flags not hex", `{"event_type":"flow","proto":"TCP","flow":{},"tcp":{"tcp_flags_ts":"zz","tcp_flags_tc":"12"}}`, decode.ReasonWrongType, "tcp.tcp_flags_ts", `"zz"`},
		{"tcp flags number", `{"event_type":"flow","proto":"TCP","tcp":{"tcp_flags_ts":"02","tcp_flags_tc":12}}`, decode.ReasonWrongType, "tcp.tcp_flags_tc", "number"},
		{"tcp flags too long", `{"event_type":"flow","proto":"TCP","tcp":{"tcp_flags_ts":"1b2","tcp_flags_tc":"12"}}`, decode.ReasonWrongType, "tcp.tcp_flags_ts", "hex"},
		{"http not an object", `{"event_type":"http","http":"GET /"}`, decode.ReasonWrongType, "http", "want object"},
		{"http status too big", `{"event_type":"http","http":{"status":1000}}`, decode.ReasonWrongType, "http.status", "[0, 999]"},
		{"http status text", `{"event_type":"http","http":{"status":"OK"}}`, decode.ReasonWrongType, "http.status", `"OK"`},
		{"http url object", `{"event_type":"http","http":{"url":{"path":"/"}}}`, decode.ReasonWrongType, "http.url", "object"},
		{"http hostname array", `{"event_type":"http","http":{"hostname":["a","b"]}}`, decode.ReasonWrongType, "http.hostname", "array"},
		{"tls sni object", `{"event_type":"tls","tls":{"sni":{}}}`, decode.ReasonWrongType, "tls.sni", "object"},
		{"tls not an object", `{"event_type":"tls","tls":[1]}`, decode.ReasonWrongType, "tls", "array"},
		{"dns rrname number", `{"event_type":"dns","dns":{"rrname":42}}`, decode.ReasonWrongType, "dns.rrname", "number"},
		{"dns queries rrname array", `{"event_type":"dns","dns":{"queries":[{"rrname":["a"]}]}}`, decode.ReasonWrongType, "dns.queries.rrname", "array"},
		{"dns answer rrname bool", `{"event_type":"alert","alert":{},"dns":{"answer":{"rrname":true}}}`, decode.ReasonWrongType, "dns.answer.rrname", "bool"},
		{"anomaly not an object", `{"event_type":"anomaly","anomaly":"x"}`, decode.ReasonWrongType, "anomaly", "want object"},
		{"anomaly event array", `{"event_type":"anomaly","anomaly":{"event":["x"]}}`, decode.ReasonWrongType, "anomaly.event", "array"},
		{"too deep", `{"event_type":"flow","x":` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `}`, decode.ReasonTooDeep, "", "deeper than"},
		{"too many fields", manyFields(suricata.MaxFields + 1), decode.ReasonTooLarge, "", "more than 1024 distinct fields"},
		{"too many values", `{"event_type":"flow","x":[` + strings.Repeat(`1,`, 70000) + `1]}`, decode.ReasonTooLarge, "", "JSON values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := decodetest.DirtyEvent()
			err := d.Decode([]byte(tc.in), &ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != suricata.Format {
				t.Errorf("got reason %q field %q format %q, want %q %q %q (%v)",
					de.Reason, de.Field, de.Format, tc.reason, tc.field, suricata.Format, err)
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

func manyFields(n int) string {
	var b strings.Builder
	b.WriteString(`{"event_type":"flow"`)
	for i := range n {
		fmt.Fprintf(&b, `,"f%d":%d`, i, i)
	}
	b.WriteString(`}`)
	return b.String()
}

// Values real sensors and forwarders vary in, and records built to confuse.
func TestHostile(t *testing.T) {
	d := suricata.New()
	decodeOK := func(t *testing.T, in string) event.Event {
		t.Helper()
		var ev event.Event
		if err := d.Decode([]byte(in), &ev); err != nil {
			t.Fatalf("Decode(%s): %v", in, err)
		}
		return ev
	}

	t.Run("numbers as strings", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"alert","src_port":"1041","dest_port":" 80 ","alert":{"signature_id":"2001999",`+
			`"severity":"1","signature":"x"},"flow":{"pkts_toserver":"3","bytes_toserver":"180"}}`)
		if ev.SourcePort != 1041 || ev.DestinationPort != 80 || ev.EventSeverity != 1 || ev.EventCode != "2001999" ||
			ev.NetworkPackets != 3 || ev.NetworkBytes != 180 {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("strings as numbers", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"http","proto":6,"http":{"hostname":1234,"http_method":true,"status":200.0}}`)
		if ev.NetworkTransport != "6" || ev.DestinationDomain != "1234" || ev.HTTPRequestMethod != "true" || ev.HTTPResponseStatusCode != 200 {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("signature id written oddly", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"alert","alert":{"signature_id":2.001999e6}}`)
		if ev.EventCode != "2001999" {
			t.Errorf("event.code %q", ev.EventCode)
		}
		ev = decodeOK(t, `{"event_type":"alert","alert":{"signature_id":"0042"}}`)
		if ev.EventCode != "42" {
			t.Errorf("event.code %q", ev.EventCode)
		}
	})
	t.Run("missing timestamp", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"flow","src_ip":"10.0.0.1"}`)
		if !ev.Timestamp.IsZero() {
			t.Errorf("timestamp %v", ev.Timestamp)
		}
	})
	t.Run("timestamp spellings", func(t *testing.T) {
		want := time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC)
		for _, s := range []string{
			"2024-03-01T12:00:00.123456+0000", "2024-03-01T12:00:00.123456+00:00", "2024-03-01T12:00:00.123456Z",
			"2024-03-01T13:00:00.123456+0100", "2024-03-01T07:00:00.123456-05:00", "2024-03-01T12:00:00.123456",
		} {
			ev := decodeOK(t, `{"event_type":"flow","timestamp":"`+s+`"}`)
			if !ev.Timestamp.Equal(want) || ev.Timestamp.Location() != time.UTC {
				t.Errorf("%s → %v", s, ev.Timestamp)
			}
		}
	})
	t.Run("far future is not refused", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"flow","timestamp":"9999-12-31T23:59:59.999999+0000"}`)
		if ev.Timestamp.Year() != 9999 {
			t.Errorf("timestamp %v", ev.Timestamp)
		}
	})
	t.Run("duplicate keys refused", func(t *testing.T) {
		for _, in := range []string{
			`{"event_type":"dns","event_type":"alert","src_ip":"10.0.0.1"}`,
			`{"event_type":"alert","alert":{"signature":"first","signature":"second"}}`,
			`{"event_type":"alert","src_ip":"10.0.0.1","src\u005fip":"10.0.0.9"}`,
		} {
			ev := decodetest.DirtyEvent()
			err := suricata.New().Decode([]byte(in), &ev)
			if decode.ReasonOf(err) != decode.ReasonMalformed || !strings.Contains(fmt.Sprint(err), "duplicate member name") {
				t.Errorf("Decode(%s) = %v, want a malformed duplicate member name", in, err)
			}
		}
	})
	t.Run("techniques validated and normalised", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"alert","alert":{"metadata":{"mitre_technique_id":["t1046"," T1595.001 ","T1595.1",`+
			`"none","TA0043","T10466","T1046",7,null,"T1O46"],"mitre_subtechnique_id":"T1595.002"}}}`)
		if want := []string{"T1046", "T1595.001", "T1595.002"}; !slices.Equal(ev.ThreatTechniques, want) {
			t.Errorf("techniques %q, want %q", ev.ThreatTechniques, want)
		}
	})
	t.Run("classtype spellings", func(t *testing.T) {
		for cat, want := range map[string]string{
			"A Network Trojan was Detected": "trojan-activity",
			" attempted information leak ":  "attempted-recon",
			"attempted-dos":                 "attempted-dos",
			"Local Classification":          "Local Classification",
		} {
			ev := decodeOK(t, `{"event_type":"alert","alert":{"category":"`+cat+`"}}`)
			if ev.RuleCategory != want {
				t.Errorf("%q → %q, want %q", cat, ev.RuleCategory, want)
			}
			if v, _ := ev.Field("alert.category"); v != cat {
				t.Errorf("native alert.category %q", v)
			}
		}
	})
	t.Run("escaped and unicode values", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"http","http":{"url":"\/a\u0001b\ud83d\ude00\ud800","hostname":"\u00e9xample.test"}}`)
		if ev.URLOriginal != "/a\x01b😀\uFFFD" || ev.DestinationDomain != "éxample.test" {
			t.Errorf("url %q host %q", ev.URLOriginal, ev.DestinationDomain)
		}
	})
	t.Run("huge value kept whole", func(t *testing.T) {
		long := strings.Repeat("A", 200<<10)
		ev := decodeOK(t, `{"event_type":"http","http":{"url":"/`+long+`"}}`)
		if len(ev.URLOriginal) != len(long)+1 {
			t.Errorf("url length %d", len(ev.URLOriginal))
		}
		if v, _ := ev.Field("http.url"); len(v) != len(long)+1 {
			t.Errorf("native url length %d", len(v))
		}
	})
	t.Run("app_proto failed is not a protocol", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"flow","proto":"TCP","app_proto":"failed"}`)
		if ev.NetworkProtocol != "" {
			t.Errorf("network.protocol %q", ev.NetworkProtocol)
		}
		if v, _ := ev.Field("app_proto"); v != "failed" {
			t.Errorf("native app_proto %q", v)
		}
	})
	t.Run("ip forms", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"flow","src_ip":"::ffff:192.0.2.1","dest_ip":"2001:DB8::1","host":{"name":"s1"}}`)
		if ev.SourceIP != "192.0.2.1" || ev.DestinationIP != "2001:db8::1" || ev.HostName != "s1" {
			t.Errorf("got %q %q %q", ev.SourceIP, ev.DestinationIP, ev.HostName)
		}
		ev = decodeOK(t, `{"event_type":"stats","src_ip":"","dest_ip":null}`)
		if ev.SourceIP != "" || ev.DestinationIP != "" || ev.EventCategory != "" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("dns layouts", func(t *testing.T) {
		for in, want := range map[string]string{
			`{"queries":[{"rrname":"a.test"},{"rrname":"b.test"}]}`: "a.test",
			`{"queries":[{"rrtype":"A"}],"rrname":"x.test"}`:        "",
			`{"query":[{"type":"query","rrname":"q.test"}]}`:        "q.test",
			`{"answer":{"type":"answer","rrname":"ans.test"}}`:      "ans.test",
			`{"queries":[],"rrname":"v2.test"}`:                     "v2.test",
			`{"answers":[{"rrname":"owner.test"}]}`:                 "",
		} {
			ev := decodeOK(t, `{"event_type":"dns","dns":`+in+`}`)
			if ev.DNSQuestionName != want {
				t.Errorf("%s → %q, want %q", in, ev.DNSQuestionName, want)
			}
		}
	})
	t.Run("nested arrays and empty keys", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"flow","":"top","x":{"":"inner","a":[[1,2],[3]],"b":[{"c":1},{"c":2,"d":true}]},"vlan":[10,20]}`)
		for name, want := range map[string]string{"x.": "inner", "x.a": "1\n2\n3", "x.b.c": "1\n2", "x.b.d": "true", "vlan": "10\n20"} {
			if v, ok := ev.Field(name); !ok || v != want {
				t.Errorf("Field(%q) = %q, %v; want %q", name, v, ok, want)
			}
		}
		if _, ok := ev.Field(""); ok {
			t.Error("a field with an empty name")
		}
	})
	t.Run("dotted key collides with nested", func(t *testing.T) {
		ev := decodeOK(t, `{"event_type":"http","http":{"url":"/nested"},"http.url":"/dotted"}`)
		if v, _ := ev.Field("http.url"); v != "/dotted" {
			t.Errorf("native http.url %q", v)
		}
		if ev.URLOriginal != "/dotted" && ev.URLOriginal != "/nested" {
			t.Errorf("url.original %q", ev.URLOriginal)
		}
	})
	t.Run("fields at the limit", func(t *testing.T) {
		ev := decodeOK(t, manyFields(suricata.MaxFields-1))
		if len(ev.Fields) != suricata.MaxFields {
			t.Errorf("%d fields", len(ev.Fields))
		}
	})
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]bool{
		`{"timestamp":"2024-03-01T12:00:00.000000+0000","event_type":"flow"}`: true,
		`{"timestamp":"x","event_type":"stats"}`:                              true,
		`{"event_type":"flow"}`:                                               false,
		`{"timestamp":"2024-03-01T12:00:00Z","event_type":7}`:                 false,
		`{"@timestamp":"2024-03-01T12:00:00Z","event":{"kind":"alert"}}`:      false,
		`{"ts":1700000000.1,"uid":"C1","id.orig_h":"10.0.0.1"}`:               false,
	} {
		var tree jsontree.Tree
		if err := tree.Parse("any", []byte(in), jsontree.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := suricata.Sniff(&tree); got != want {
			t.Errorf("Sniff(%s) = %v, want %v", in, got, want)
		}
	}
	if suricata.Sniff(new(jsontree.Tree)) {
		t.Error("Sniff of an empty tree")
	}
	var ev event.Event
	err := suricata.New().DecodeTree(new(jsontree.Tree), &ev)
	if decode.ReasonOf(err) != decode.ReasonMalformed {
		t.Errorf("DecodeTree of an empty tree: %v", err)
	}
}

func TestConcurrentDecode(t *testing.T) {
	d := suricata.New()
	dirs := decodetest.GoldenCases(t)
	inputs := make([][]byte, len(dirs))
	wants := make([]event.Event, len(dirs))
	for i, dir := range dirs {
		inputs[i] = readCase(t, filepath.Base(dir))
		if err := d.Decode(inputs[i], &wants[i]); err != nil {
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
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(ev, wants[i]) {
					t.Errorf("%s decoded differently under concurrency", dirs[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestClasstype(t *testing.T) {
	for _, tc := range []struct {
		desc, name string
		prio       int
	}{
		{"Attempted Information Leak", "attempted-recon", 2},
		{"Detection of a Network Scan", "network-scan", 3},
		{"Attempted Denial of Service", "attempted-dos", 2},
		{"Denial of Service", "successful-dos", 2},
		{"Detection of a Denial of Service Attack", "denial-of-service", 2},
		{"A Network Trojan was detected", "trojan-activity", 1},
		{"a network trojan was DETECTED ", "trojan-activity", 1},
		{"Malware Command and Control Activity Detected", "command-and-control", 1},
		{"Domain Observed Used for C2 Detected", "domain-c2", 1},
		{"Targeted Malicious Activity was Detected", "targeted-activity", 1},
		{"A TCP connection was detected", "tcp-connection", 4},
	} {
		name, prio, ok := suricata.Classtype(tc.desc)
		if !ok || name != tc.name || prio != tc.prio {
			t.Errorf("Classtype(%q) = %q, %d, %v; want %q, %d", tc.desc, name, prio, ok, tc.name, tc.prio)
		}
	}
	if _, _, ok := suricata.Classtype("attempted-recon"); ok {
		t.Error("Classtype takes descriptions, not short names")
	}
	names := suricata.ClasstypeNames()
	if len(names) != 43 || names[0] != "not-suspicious" || names[len(names)-1] != "command-and-control" {
		t.Errorf("ClasstypeNames() = %d names, %q ... %q", len(names), names[0], names[len(names)-1])
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(n) {
			t.Errorf("bad or repeated classtype name %q", n)
		}
		seen[n] = true
	}
}

// README.md's classtype table lists exactly ClasstypeNames, with the
// description and priority Classtype gives.
func TestReadmeClasstypeTable(t *testing.T) {
	readme := readmeSection(t, "## Classtypes")
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| (.+?) \\| ([0-9]) \\|$").FindAllStringSubmatch(readme, -1)
	var names []string
	for _, r := range rows {
		names = append(names, r[1])
		name, prio, ok := suricata.Classtype(r[2])
		if !ok || name != r[1] || fmt.Sprint(prio) != r[3] {
			t.Errorf("README row %q: Classtype gives %q, %d, %v", r[0], name, prio, ok)
		}
	}
	if want := suricata.ClasstypeNames(); !slices.Equal(names, want) {
		t.Errorf("README classtypes\n%q\nwant\n%q", names, want)
	}
}

// README.md's mapping table lists every canonical field the decoder sets
// on the golden records (and the outcome tests), and nothing it does not.
func TestReadmeListsEveryField(t *testing.T) {
	readme := readmeSection(t, "## Field mapping")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| [^|]* \\| `([^`]+)` \\|").FindAllStringSubmatch(readme, -1) {
		documented[m[1]] = true
	}
	d := suricata.New()
	set := map[string]bool{}
	for _, dir := range decodetest.GoldenCases(t) {
		var ev event.Event
		if err := d.Decode(readCase(t, filepath.Base(dir)), &ev); err != nil {
			t.Fatal(err)
		}
		for _, name := range ecsNames() {
			if _, ok := ev.Get(name); ok {
				set[name] = true
			}
		}
		if len(ev.ThreatTechniques) > 0 {
			set["threat.technique.id"] = true
		}
	}
	for name := range set {
		if !documented[name] {
			t.Errorf("the decoder sets %s, README.md's mapping table does not list it", name)
		}
	}
	for name := range documented {
		if !set[name] {
			t.Errorf("README.md lists %s, no golden record sets it", name)
		}
	}
}

func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// ecsNames are the dotted names event.Event.Get answers for.
func ecsNames() []string {
	return []string{
		"@timestamp", "event.kind", "event.category", "event.type", "event.action", "event.outcome",
		"event.dataset", "event.code", "event.severity", "source.ip", "source.port", "source.domain",
		"source.user.name", "destination.ip", "destination.port", "destination.domain", "network.transport",
		"network.protocol", "network.direction", "network.bytes", "network.packets", "host.name", "host.ip",
		"host.os.family", "process.name", "process.executable", "process.command_line",
		"process.parent.executable", "file.path", "file.extension", "url.original", "http.request.method",
		"http.response.status_code", "dns.question.name", "tls.client.server_name", "user.name",
		"user_agent.original", "service.name", "rule.name", "rule.category", "observer.vendor",
		"observer.product", "observer.type", "ics.protocol", "ics.function", "ics.function_code", "ics.unit_id",
	}
}
