package winevt_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/casus-sec/casus/classify/event"
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
		ev, err := decodetest.CheckDecode(t, d, winevt.Format, data, decodetest.Limits{MaxFields: winevt.MaxFields})
		checkDecodeTree(t, d, data, &ev, err)
		if err == nil {
			checkWindows(t, &ev)
		}
	})
}

// checkWindows checks what a Windows event always gives beyond the common
// invariants: its product and its EventID as the first native field.
func checkWindows(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.Logsource.Product != "windows" {
		t.Errorf("Logsource.Product = %q, want windows", ev.Logsource.Product)
	}
	id, ok := ev.Field("EventID")
	if !ok || id != ev.EventCode || len(ev.Fields) == 0 || ev.Fields[0].Name != "EventID" {
		t.Errorf("EventID field %q (present %v) is not the first field or differs from EventCode %q", id, ok, ev.EventCode)
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
