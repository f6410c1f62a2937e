package winevt_test

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
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

func FuzzDecode(f *testing.F) {
	for _, dir := range decodetest.GoldenCases(f) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	// A few regression samples when the data set is present; the fuzz
	// target itself never needs it.
	if _, err := os.Stat(filepath.Join(sigmaDir, "regression_data")); err == nil {
		files := regressionSamples(f)
		for i := 0; i < len(files); i += max(1, len(files)/8) {
			for _, rec := range splitRecords(f, files[i]) {
				f.Add(rec)
			}
		}
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"Event":null}`, `{"Event":{"System":{"EventID":"1"}}}`,
		`{"Event":{"System":{"EventID":{"#text":[1]}},"EventData":{"Data":[{"#attributes":{"Name":"a"}},"x",null]}}}`,
		`{"System":{"EventID":1e2,"Channel":"Security"},"UserData":{"A":{"B":[1,{"C":true}]}}}`,
		`{"winlog":{"event_id":3,"channel":"Microsoft-Windows-Sysmon/Operational","event_data":{"SourceIp":"::ffff:1.2.3.4","SourcePort":"99999"}}}`,
		`{"EventID":4688,"EventTime":"2025-01-01 00:00:00","Channel":"Security","NewProcessName":"C:\\a.exe"}`,
		"{\"Event\":{\"System\":{\"EventID\":1},\"EventData\":{\"a\":\"\xc3\"}}}",
		`{"Event":{"System":{"EventID":1,"TimeCreated":{"@SystemTime":"2025-01-01T00:00:00Z"}},"EventData":{"":"","#text":"t"}}}`,
	} {
		f.Add([]byte(s))
	}
	d := winevt.New()
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
			if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != winevt.Format {
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
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		checkInvariants(t, &ev)

		// The event must not change when the input buffer is reused, and
		// decoding again must give the same event.
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
	if ev.Logsource.Product != "windows" {
		t.Errorf("Logsource.Product = %q, want windows", ev.Logsource.Product)
	}
	id, ok := ev.Field("EventID")
	if !ok || id != ev.EventCode || len(ev.Fields) == 0 || ev.Fields[0].Name != "EventID" {
		t.Errorf("EventID field %q (present %v) is not the first field or differs from EventCode %q", id, ok, ev.EventCode)
	}
	if len(ev.Fields) > winevt.MaxFields {
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

// checkDecodeTree: DecodeTree on the record parsed as the registry parses
// it gives what Decode gave.
func checkDecodeTree(t *testing.T, d *winevt.Decoder, data []byte, want *event.Event, wantErr error) {
	t.Helper()
	var tr jsontree.Tree
	if tr.Parse(winevt.Format, data, jsontree.Limits{}) != nil {
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
