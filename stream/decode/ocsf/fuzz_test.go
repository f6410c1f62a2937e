package ocsf_test

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
	"github.com/casus-sec/casus/stream/decode/ocsf"
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
		``, `{}`, `[]`, `null`, `{"class_uid":null}`, `{"class_uid":"4001","time":"1e3"}`,
		`{"class_uid":4001,"activity_id":3,"traffic":{"packets_in":9223372036854775807,"packets_out":1}}`,
		`{"class_uid":1001,"activity_id":5,"file":{"name":"a.b"},"file_result":{"parent_folder":"C:\\x","name":".c"}}`,
		`{"class_uid":2004,"evidences":[{"process":{"file":{"path":"/bin/x"}}},1],"resources":[null]}`,
		`{"class_uid":2001,"finding":{"types":"x"},"attacks":[{"sub_technique":{"uid":"T1000.001"}}]}`,
		"{\"class_uid\":1007,\"process\":{\"cmd_line\":\"\xc3\"}}",
		`{"class_uid":1007,"a":[[{"b":[1,{"b":2}]}]],"a":3}`,
	} {
		f.Add([]byte(s))
	}
	d := ocsf.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		ev := decodetest.DirtyEvent()
		err := d.Decode(in, &ev)
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
			}
			if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != ocsf.Format {
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

		// Reusing the input buffer must not change the event, and decoding
		// again must give the same event.
		for i := range in {
			in[i] = 0
		}
		var fresh event.Event
		if err := d.Decode(data, &fresh); err != nil {
			t.Fatalf("second decode failed: %v", err)
		}
		if !reflect.DeepEqual(fresh, ev) {
			t.Fatalf("decode is not deterministic or kept a reference into the input:\n%+v\n%+v", fresh, ev)
		}
	})
}

func checkInvariants(t *testing.T, ev *event.Event) {
	t.Helper()
	if _, err := json.Marshal(ev); err != nil {
		t.Fatalf("decoded event does not marshal: %v", err)
	}
	if !ev.Timestamp.IsZero() && ev.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp %v not in UTC", ev.Timestamp)
	}
	if ev.SourcePort < 0 || ev.SourcePort > 65535 || ev.DestinationPort < 0 || ev.DestinationPort > 65535 {
		t.Errorf("ports %d, %d outside 0-65535", ev.SourcePort, ev.DestinationPort)
	}
	if ev.NetworkBytes < 0 || ev.NetworkPackets < 0 {
		t.Errorf("negative counters %d, %d", ev.NetworkBytes, ev.NetworkPackets)
	}
	if ev.EventSeverity < 0 || ev.EventSeverity > 6 {
		t.Errorf("severity %d outside 0-6", ev.EventSeverity)
	}
	if len(ev.Fields) > ocsf.MaxFields {
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
	strs := append([]string{ev.Logsource.Product, ev.Logsource.Category, ev.Logsource.Service}, ev.ThreatTechniques...)
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
