package suricata_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/suricata"
)

func FuzzDecode(f *testing.F) {
	for _, dir := range decodetest.GoldenCases(f) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"event_type":null}`, `{"event_type":"alert"}`, `{"event_type":"alert","alert":[]}`,
		`{"event_type":"flow","proto":"TCP","flow":{"pkts_toclient":"0"},"tcp":{"tcp_flags_ts":"Ff","tcp_flags_tc":"0"}}`,
		`{"event_type":"dns","dns":{"queries":[{"rrname":"a"},{"rrname":"b"}],"rrname":1,"answer":{"rrname":"c"}}}`,
		`{"event_type":"alert","alert":{"metadata":{"mitre_technique_id":["t1595.001",["T1046"],{"x":"T1"}]}}}`,
		`{"event_type":"http","http":{"status":"1e2","url":"\ud800"},"src_ip":"fe80::1%eth0","host":{"name":null}}`,
		`{"event_type":"x","":{"":[{"":""}]},"a.b":1,"a":{"b":2},"vlan":[[],[[]],{}]}`,
		"{\"event_type\":\"flow\",\"host\":\"\xc3\"}",
		`{"timestamp":"0000-01-01T00:30:00+0100","event_type":"flow"}`,
	} {
		f.Add([]byte(s))
	}
	d := suricata.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		ev := decodetest.DirtyEvent()
		err := d.Decode(in, &ev)
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
			}
			if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != suricata.Format {
				t.Fatalf("error %v has reason %q, format %q", err, de.Reason, de.Format)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error message is not valid UTF-8: %q", err.Error())
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Fatalf("event not reset after failure: %+v", ev)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		checkInvariants(t, &ev)

		// The event must not change when the input buffer is reused, and
		// decoding again must give the same event.
		snapshot := marshal(t, &ev)
		for i := range in {
			in[i] = 'x'
		}
		if again := marshal(t, &ev); !bytes.Equal(again, snapshot) {
			t.Fatalf("event changed when the input buffer was overwritten:\n%s\n%s", snapshot, again)
		}
		var fresh event.Event
		if err := d.Decode(data, &fresh); err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if !reflect.DeepEqual(fresh, ev) {
			t.Fatalf("decode is not deterministic:\n%+v\n%+v", fresh, ev)
		}
	})
}

func marshal(t *testing.T, ev *event.Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("decoded event does not marshal: %v", err)
	}
	return b
}

func checkInvariants(t *testing.T, ev *event.Event) {
	t.Helper()
	if !ev.Timestamp.IsZero() && ev.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp %v not in UTC", ev.Timestamp)
	}
	if ev.SourcePort < 0 || ev.SourcePort > 65535 || ev.DestinationPort < 0 || ev.DestinationPort > 65535 {
		t.Errorf("ports %d, %d outside 0-65535", ev.SourcePort, ev.DestinationPort)
	}
	if ev.NetworkPackets < 0 || ev.NetworkBytes < 0 {
		t.Errorf("negative counts %d, %d", ev.NetworkPackets, ev.NetworkBytes)
	}
	if ev.Logsource.Product != "suricata" || ev.ObserverProduct != "suricata" {
		t.Errorf("product %q / %q", ev.Logsource.Product, ev.ObserverProduct)
	}
	if et, ok := ev.Field("event_type"); !ok || et == "" || et != ev.Logsource.Service {
		t.Errorf("event_type %q (%v), service %q", et, ok, ev.Logsource.Service)
	}
	switch ev.EventOutcome {
	case "", "success", "failure":
	default:
		t.Errorf("event.outcome %q", ev.EventOutcome)
	}
	if len(ev.Fields) > suricata.MaxFields {
		t.Errorf("%d fields, more than MaxFields", len(ev.Fields))
	}
	seen := make(map[string]bool, len(ev.Fields))
	for _, f := range ev.Fields {
		if f.Name == "" || seen[f.Name] {
			t.Errorf("field name %q is empty or repeated", f.Name)
		}
		seen[f.Name] = true
		if !utf8.ValidString(f.Name) || !utf8.ValidString(f.Value) {
			t.Errorf("field %q = %q is not valid UTF-8", f.Name, f.Value)
		}
	}
	for _, id := range ev.ThreatTechniques {
		if len(id) != 5 && len(id) != 9 || id[0] != 'T' {
			t.Errorf("technique %q", id)
		}
	}
	strs := []string{ev.Logsource.Product, ev.Logsource.Category, ev.Logsource.Service}
	v := reflect.ValueOf(ev).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			strs = append(strs, f.String())
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("event string %q is not valid UTF-8", s)
		}
	}
}
