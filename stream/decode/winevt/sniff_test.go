package winevt_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

func parse(tb testing.TB, rec []byte) *jsontree.Tree {
	tb.Helper()
	var tr jsontree.Tree
	if err := tr.Parse("test", rec, jsontree.Limits{}); err != nil {
		tb.Fatalf("Parse(%s): %v", rec, err)
	}
	return &tr
}

func TestSniff(t *testing.T) {
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !winevt.Sniff(parse(t, in)) {
			t.Errorf("Sniff(%s) = false, want true", dir)
		}
	}
	for _, tc := range []struct {
		name string
		rec  string
		want bool
	}{
		{"evtx_dump", `{"Event":{"System":{"EventID":4688}}}`, true},
		{"evtx_dump null data", `{"Event":{"System":{"EventID":12},"EventData":null}}`, true},
		{"winlogbeat", `{"@timestamp":"2025-03-14T09:26:53.589Z","event":{"code":"1"},"winlog":{"event_id":1}}`, true},
		{"event content at top", `{"System":{"EventID":201},"EventData":{"TaskName":"x"}}`, true},
		{"nxlog channel", `{"EventID":4688,"Channel":"Security","NewProcessName":"C:\\a.exe"}`, true},
		{"nxlog source name", `{"EventID":"7045","SourceName":"Service Control Manager"}`, true},
		// Decode takes these, but their shape alone says too little.
		{"system alone", `{"System":{"EventID":1}}`, false},
		{"event id alone", `{"EventID":1,"message":"x"}`, false},
		{"event id null", `{"EventID":null,"Channel":"Security"}`, false},
		{"event without system", `{"Event":{"EventData":{"a":1}}}`, false},
		{"event string", `{"Event":"x"}`, false},
		{"winlog string", `{"winlog":"x"}`, false},
		{"ecs", `{"@timestamp":"2025-03-14T09:26:53Z","event":{"category":"process","type":"start"},"process":{"name":"x"}}`, false},
		{"zeek", `{"ts":1741944667.114506,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.20.1.15","id.resp_p":445,"proto":"tcp","_path":"conn"}`, false},
		{"suricata eve", `{"timestamp":"2025-03-14T09:31:07.114506+0000","event_type":"alert","src_ip":"10.20.1.15","alert":{"signature_id":2024217}}`, false},
		{"ocsf", `{"class_uid":1007,"activity_id":1,"time":1741944413589,"metadata":{"product":{"name":"Sysmon"}}}`, false},
		{"falco", `{"rule":"Terminal shell in container","priority":"Notice","output":"shell","time":"2025-03-14T10:26:53Z"}`, false},
		{"empty", `{}`, false},
	} {
		if got := winevt.Sniff(parse(t, []byte(tc.rec))); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
	if winevt.Sniff(new(jsontree.Tree)) {
		t.Error("Sniff(empty tree) = true")
	}
}

// TestSniffRegression: every record of SigmaHQ's Windows regression data
// has a shape Sniff recognises.
func TestSniffRegression(t *testing.T) {
	n := 0
	for _, file := range regressionSamples(t) {
		for i, rec := range splitRecords(t, file) {
			if !winevt.Sniff(parse(t, rec)) {
				t.Errorf("%s record %d: Sniff = false", file, i)
			}
			n++
		}
	}
	t.Logf("%d records sniffed", n)
}

// DecodeTree from a tree the registry parsed with default limits must give
// what Decode gives, for records that decode and records that fail.
func TestDecodeTreeMatchesDecode(t *testing.T) {
	d := winevt.New()
	var inputs [][]byte
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	for _, s := range []string{`{}`, `{"Event":"x"}`, `{"Event":{"System":{"EventID":"x4688"}}}`,
		`{"winlog":{"channel":"Security"}}`, `{"EventID":1,"EventTime":"25/03/2017"}`} {
		inputs = append(inputs, []byte(s))
	}
	for _, in := range inputs {
		var want event.Event
		wantErr := d.Decode(in, &want)
		var tr jsontree.Tree
		if err := tr.Parse(winevt.Format, in, jsontree.Limits{}); err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		got := decodetest.DirtyEvent()
		gotErr := d.DecodeTree(&tr, &got)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("%s: DecodeTree error %v, Decode error %v", in, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeTree gave\n%+v\nDecode gave\n%+v", in, got, want)
		}
	}
}

// A tree parsed with laxer limits than the decoder's is refused as Decode
// would refuse the record; an empty tree is an error, not a blank event.
func TestDecodeTreeLimits(t *testing.T) {
	d := winevt.New()
	lax := jsontree.Limits{MaxDepth: 1000, MaxValues: 1 << 20}
	deep := `{"Event":{"System":{"EventID":1},"EventData":` + strings.Repeat(`{"a":`, winevt.MaxDepth-1) + `1` +
		strings.Repeat(`}`, winevt.MaxDepth-1) + `}}`
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
	}{
		{"too deep", deep, decode.ReasonTooDeep},
		{"too deep arrays", `{"Event":{"System":{"EventID":1}},"x":` + strings.Repeat(`[`, winevt.MaxDepth) +
			strings.Repeat(`]`, winevt.MaxDepth) + `}`, decode.ReasonTooDeep},
		{"too many values", `{"Event":{"System":{"EventID":1}},"x":[` + strings.Repeat(`0,`, winevt.MaxValues) + `0]}`,
			decode.ReasonTooLarge},
		{"empty tree", ``, decode.ReasonMalformed},
	} {
		var tr jsontree.Tree
		if tc.in != "" {
			if err := tr.Parse(winevt.Format, []byte(tc.in), lax); err != nil {
				t.Fatalf("%s: Parse: %v", tc.name, err)
			}
		}
		ev := decodetest.DirtyEvent()
		err := d.DecodeTree(&tr, &ev)
		var de *decode.Error
		if !errors.As(err, &de) || de.Reason != tc.reason || de.Format != winevt.Format {
			t.Errorf("%s: DecodeTree error %v, want reason %s", tc.name, err, tc.reason)
		}
		if !reflect.DeepEqual(ev, event.Event{}) {
			t.Errorf("%s: event not reset after failure", tc.name)
		}
		if tc.in != "" {
			if err := d.Decode([]byte(tc.in), &ev); decode.ReasonOf(err) != tc.reason {
				t.Errorf("%s: Decode error %v, want reason %s", tc.name, err, tc.reason)
			}
		}
	}
}

// TestParseErrorMessages: syntax errors say where and what was expected.
func TestParseErrorMessages(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{`[{"Event":{}}]`, "malformed: want a JSON object at top level, got array"},
		{`"Event"`, `malformed: want a JSON object at top level, got string "Event"`},
		{`"Event`, "malformed: want a JSON object at top level, got an invalid or unterminated string"},
		{`42`, "malformed: want a JSON object at top level, got number 42"},
		{`{"Event":{"System":{"EventID":1}`, "malformed: unexpected end of input"},
		{`{"Event":{"System":{"EventID":1,}}}`, `malformed: offset 32: want a member name, got "}}}"`},
		{`{"Event":{"System":{"EventID":1}}} {}`, "malformed: data after the top-level object at offset 35"},
		{strings.Repeat(`{"a":`, winevt.MaxDepth+1) + `1` + strings.Repeat(`}`, winevt.MaxDepth+1), "too_deep: nesting deeper than 64 at offset 320"},
	} {
		var ev event.Event
		err := winevt.New().Decode([]byte(tc.in), &ev)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Decode(%.40s) error %v, want it to contain %q", tc.in, err, tc.msg)
		}
	}
}
