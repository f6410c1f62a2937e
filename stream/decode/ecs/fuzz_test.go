package ecs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/casus-sec/casus/classify/event"
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
		ev, err := decodetest.CheckDecode(t, d, ecs.Format, data, decodetest.Limits{})
		checkDecodeTree(t, d, data, &ev, err)
		if err != nil {
			return
		}
		checkECS(t, &ev)

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

// checkECS checks what ECS decoding promises beyond the common invariants.
func checkECS(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.ICSFunctionCode < 0 || ev.ICSFunctionCode > 255 || ev.ICSUnitID < 0 || ev.ICSUnitID > 65535 {
		t.Errorf("ICS function code %d or unit id %d out of range", ev.ICSFunctionCode, ev.ICSUnitID)
	}
	if ev.Labels != nil && len(ev.Labels) == 0 {
		t.Error("Labels is an empty non-nil map")
	}
	for i, id := range ev.ThreatTechniques {
		if id == "" || slices.Index(ev.ThreatTechniques, id) != i {
			t.Errorf("ThreatTechniques %q has an empty or repeated id", ev.ThreatTechniques)
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
