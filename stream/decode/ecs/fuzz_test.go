package ecs_test

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
	"github.com/casus-sec/casus/stream/decode/ecs"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
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
		``, `{}`, `[]`, `{"source.port":"x"}`, `{"@timestamp":1e3}`, `{"labels":{"a":[1,{"b":null}]}}`,
		`{"threat":[{"technique":{"id":["T1"]}},{"technique":{"id":"T2"}}]}`, "{\"a\":\"\xc3\"}",
		`{"host":{"ip":["::ffff:1.2.3.4"]},"event.severity":-1}`,
	} {
		f.Add([]byte(s))
	}
	d := ecs.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		ev := decodetest.DirtyEvent()
		err := d.Decode(in, &ev)
		checkDecodeTree(t, d, data, &ev, err)
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
			}
			if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != ecs.Format {
				t.Fatalf("error %v has reason %q, format %q", err, de.Reason, de.Format)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Fatalf("event not reset after failure: %+v", ev)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		checkInvariants(t, &ev)

		// The event must not change when the input buffer is reused.
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

		// Re-encoding the event as dotted ECS must decode to the same event.
		again, err := json.Marshal(toECS(d, &ev))
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back event.Event
		if err := d.Decode(again, &back); err != nil {
			t.Fatalf("re-encoded event %s does not decode: %v", again, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Fatalf("round trip changed the event:\n got %+v\nwant %+v\nvia %s", back, ev, again)
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
	inRange := func(name string, v, lo, hi int64) {
		if v < lo || v > hi {
			t.Errorf("%s = %d, outside [%d, %d]", name, v, lo, hi)
		}
	}
	inRange("SourcePort", int64(ev.SourcePort), 0, 65535)
	inRange("DestinationPort", int64(ev.DestinationPort), 0, 65535)
	inRange("ICSFunctionCode", int64(ev.ICSFunctionCode), 0, 255)
	inRange("ICSUnitID", int64(ev.ICSUnitID), 0, 65535)
	if ev.NetworkBytes < 0 || ev.NetworkPackets < 0 {
		t.Errorf("negative network counters %d, %d", ev.NetworkBytes, ev.NetworkPackets)
	}
	if ev.Labels != nil && len(ev.Labels) == 0 {
		t.Error("Labels is an empty non-nil map")
	}
	for i, id := range ev.ThreatTechniques {
		if id == "" || slices.Index(ev.ThreatTechniques, id) != i {
			t.Errorf("ThreatTechniques %q has an empty or repeated id", ev.ThreatTechniques)
		}
	}
	v := reflect.ValueOf(ev).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String && !utf8.ValidString(f.String()) {
			t.Errorf("%s is not valid UTF-8: %q", v.Type().Field(i).Name, f.String())
		}
	}
}

// toECS renders an event back as a flat document of dotted ECS keys, using
// Get so the round trip also checks the decoder against Event.Get.
func toECS(d *ecs.Decoder, ev *event.Event) map[string]any {
	doc := map[string]any{}
	for _, f := range d.Fields() {
		if f == "labels.*" || f == "threat.technique.id" {
			continue
		}
		if v, ok := ev.Get(f); ok {
			doc[f] = v
		}
	}
	if len(ev.ThreatTechniques) > 0 {
		doc["threat.technique.id"] = ev.ThreatTechniques
	}
	for k, v := range ev.Labels {
		doc["labels."+k] = v
	}
	return doc
}

// checkDecodeTree: DecodeTree on the record parsed as the registry parses
// it gives what Decode gave.
func checkDecodeTree(t *testing.T, d *ecs.Decoder, data []byte, want *event.Event, wantErr error) {
	t.Helper()
	var tr jsontree.Tree
	if tr.Parse(ecs.Format, data, jsontree.Limits{}) != nil {
		if wantErr == nil {
			t.Fatalf("Decode accepted %q, which jsontree refuses", data)
		}
		return
	}
	got := decodetest.DirtyEvent()
	err := d.DecodeTree(&tr, &got)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("DecodeTree error %v, Decode error %v", err, wantErr)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("DecodeTree gave\n%+v\nDecode gave\n%+v", got, *want)
	}
}
