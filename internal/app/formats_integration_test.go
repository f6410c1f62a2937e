package app

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/internal/config"
)

// TestFormatsIntegration runs records of every format through casus run on
// a real broker: a topic configured auto takes each record's format from
// its content-type header or its shape; a topic configured with one format
// uses it whatever the header says. Every bad record is a dead letter that
// names the reason and the format tried; the good ones reach the rules.
func TestFormatsIntegration(t *testing.T) {
	e := newEnv(t)
	auto := e.prefix + "-auto"
	fixed := e.prefix + "-suricata"
	e.createTopic(auto, 1, nil)
	e.createTopic(fixed, 1, nil)
	know, err := LoadKnowledge(config.Defaults().Files)
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(mixedInput)
	if err != nil {
		t.Fatal(err)
	}
	var mixed []kafkago.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			mixed = append(mixed, kafkago.Message{Value: []byte(line)})
		}
	}
	f.Close()
	if len(mixed) != 13 {
		t.Fatalf("%d records in %s, want 13", len(mixed), mixedInput)
	}
	// One Zeek conn record, named by its content-type and without the
	// members that would let it be sniffed as Zeek.
	zeekConn := `{"ts":1772451603.884201,"id.orig_h":"203.0.113.45","id.orig_p":58231,"id.resp_h":"10.20.0.15","id.resp_p":3389,"proto":"tcp","conn_state":"S0","orig_pkts":1,"resp_pkts":0}`
	ct := func(v string) []kafkago.Header { return []kafkago.Header{{Key: "Content-Type", Value: []byte(v)}} }
	mixed = append(mixed,
		kafkago.Message{Value: []byte(zeekConn), Headers: ct("application/vnd.casus.zeek.conn+json")},
		kafkago.Message{Value: []byte(zeekConn), Headers: ct("application/json; format=cef")},
	)
	// The suricata topic's configuration wins over a header naming ECS.
	eve := `{"timestamp":"2024-03-01T12:00:00.123456+0000","event_type":"alert","src_ip":"203.0.113.45","src_port":47552,"dest_ip":"192.168.10.20","dest_port":22,"proto":"TCP","alert":{"action":"allowed","signature_id":2001219,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}`
	ecsRecord := `{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"network"}}`
	fixedMsgs := []kafkago.Message{
		{Value: []byte(eve), Headers: ct("application/json; format=ecs")},
		{Value: []byte(ecsRecord)},
	}

	cfg := e.config(auto)
	cfg.Inputs = []config.Input{{Topic: auto, Format: config.AutoFormat}, {Topic: fixed, Format: "suricata"}}
	svc, stop := e.start(cfg, know)
	e.produce(auto, mixed)
	e.produce(fixed, fixedMsgs)
	e.waitCommitted(cfg.Group.ID, auto, 3*time.Minute)
	e.waitCommitted(cfg.Group.ID, fixed, 3*time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("service stop: %v", err)
	}

	type dl struct{ topic, reason, format string }
	var dead []dl
	for _, m := range e.readAll(cfg.Deadletter) {
		h := headers(m)
		dead = append(dead, dl{h[HeaderSourceTopic], h[HeaderReason], h[HeaderFormat]})
		if h[HeaderError] == "" {
			t.Errorf("dead letter without an error text: %v", h)
		}
	}
	slices.SortFunc(dead, func(a, b dl) int { return strings.Compare(a.topic+a.reason+a.format, b.topic+b.reason+b.format) })
	want := []dl{
		{auto, "malformed", "auto"},          // not JSON
		{auto, "unknown_format", "auto"},     // no known shape
		{auto, "unknown_format", "auto"},     // content-type names a format casus lacks
		{auto, "wrong_type", "suricata"},     // sniffed as EVE, bad address
		{fixed, "missing_field", "suricata"}, // an ECS record on the suricata topic
	}
	slices.SortFunc(want, func(a, b dl) int { return strings.Compare(a.topic+a.reason+a.format, b.topic+b.reason+b.format) })
	if !slices.Equal(dead, want) {
		t.Errorf("dead letters (topic, reason, format):\n got %v\nwant %v", dead, want)
	}

	decoded := map[string]float64{}
	mfs, err := svc.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "casus_records_decoded_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var topic, format string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "topic":
					topic = l.GetValue()
				case "format":
					format = l.GetValue()
				}
			}
			decoded[strings.TrimPrefix(topic, e.prefix)+" "+format] += m.GetCounter().GetValue()
		}
	}
	wantDecoded := map[string]float64{
		"-auto zeek": 2, "-auto zeek.conn": 1, "-auto suricata": 2, "-auto ocsf": 2, "-auto falco": 2,
		"-auto winevt": 1, "-auto ecs": 1, "-suricata suricata": 1,
	}
	for k, v := range wantDecoded {
		if decoded[k] != v {
			t.Errorf("casus_records_decoded_total{%s} = %v, want %v (all: %v)", k, decoded[k], v, decoded)
		}
	}

	fired := map[string]int{}
	for _, m := range e.readAll(cfg.Signals) {
		var s struct {
			RuleTitle string `json:"rule_title"`
			Evidence  struct {
				Topic string `json:"topic"`
			} `json:"evidence"`
		}
		if err := json.Unmarshal(m.Value, &s); err != nil {
			t.Fatalf("signal is not JSON: %v", err)
		}
		fired[strings.TrimPrefix(s.Evidence.Topic, e.prefix)+" "+s.RuleTitle]++
	}
	for _, k := range []string{
		"-auto Modbus write from a host that is not an engineering workstation",
		"-auto IDS alert of a reconnaissance classtype",
		"-auto Sensor alert naming an ATT&CK technique of destruction",
		"-auto Shadow copies deleted",
		"-suricata IDS alert of a reconnaissance classtype",
	} {
		if fired[k] != 1 {
			t.Errorf("signal %q seen %d times, want once (all: %v)", k, fired[k], fired)
		}
	}
}
