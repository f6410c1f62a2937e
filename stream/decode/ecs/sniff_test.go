package ecs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/ecs"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Records of other formats, as their sensors write them. ECS is the
// fallback format; Sniff must leave these to their own decoders.
const (
	zeekConn = `{"ts":1741944667.114506,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.20.1.15","id.orig_p":51544,` +
		`"id.resp_h":"10.20.1.22","id.resp_p":445,"proto":"tcp","conn_state":"S0","missed_bytes":0,"history":"S",` +
		`"orig_pkts":1,"orig_ip_bytes":60,"resp_pkts":0,"resp_ip_bytes":0,"_path":"conn"}`
	eveAlert = `{"timestamp":"2025-03-14T09:31:07.114506+0000","flow_id":1255000442418722,"in_iface":"eth0",` +
		`"event_type":"alert","src_ip":"10.20.1.15","src_port":51544,"dest_ip":"10.20.1.22","dest_port":445,` +
		`"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024217,"rev":3,` +
		`"signature":"ET EXPLOIT Possible ETERNALBLUE MS17-010 Echo Request","category":"Attempted Administrator Privilege Gain","severity":1}}`
	ocsfProcess = `{"activity_id":1,"category_uid":1,"class_uid":1007,"type_uid":100701,"time":1741944413589,` +
		`"severity_id":1,"metadata":{"version":"1.1.0","product":{"name":"Sysmon","vendor_name":"Microsoft"}},` +
		`"process":{"name":"vssadmin.exe","cmd_line":"vssadmin.exe Delete Shadows /All /Quiet"},"device":{"hostname":"FS01"}}`
	falcoAlert = `{"hostname":"node-1","output":"10:26:53.589: Notice Unexpected connection to K8s API Server from container",` +
		`"priority":"Notice","rule":"Contact K8S API Server From Container","source":"syscall","tags":["container","k8s"],` +
		`"time":"2025-03-14T10:26:53.589123456Z","output_fields":{"container.id":"8f3a1b2c","proc.name":"curl"}}`
)

func parse(t *testing.T, rec string) *jsontree.Tree {
	t.Helper()
	var tr jsontree.Tree
	if err := tr.Parse("test", []byte(rec), jsontree.Limits{}); err != nil {
		t.Fatalf("Parse(%s): %v", rec, err)
	}
	return &tr
}

func TestSniff(t *testing.T) {
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !ecs.Sniff(parse(t, string(in))) {
			t.Errorf("Sniff(%s) = false, want true", dir)
		}
	}
	stamped := func(rec string) string { return `{"@timestamp":"2025-03-14T09:31:07Z",` + rec[1:] }
	for _, tc := range []struct {
		name string
		rec  string
		want bool
	}{
		{"timestamp only", `{"@timestamp":"2025-03-14T09:31:07Z","message":"x"}`, true},
		{"timestamp millis", `{"@timestamp":1741944667114}`, true},
		{"event object", `{"event":{"kind":"event"},"message":"x"}`, true},
		{"ecs object", `{"ecs":{"version":"8.11.0"}}`, true},
		{"dotted event key", `{"message":"x","event.category":"process"}`, true},
		{"dotted ecs key", `{"ecs.version":"8.11.0"}`, true},
		{"winlogbeat", `{"@timestamp":"2025-03-14T09:26:53.589Z","event":{"code":"1"},"winlog":{"event_id":1}}`, true},
		{"filebeat zeek module", `{"@timestamp":"2025-03-14T09:31:07Z","event":{"dataset":"zeek.connection"},` +
			`"zeek":{"session_id":"CHhAvVGS1DHFjwGM9"},"source":{"ip":"10.20.1.15"}}`, true},
		{"timestamp null", `{"@timestamp":null,"message":"x"}`, false},
		{"event string", `{"event":"login","user":"alice"}`, false},
		{"empty object", `{}`, false},
		{"plain json", `{"user":"alice","action":"login"}`, false},
		{"zeek", zeekConn, false},
		{"suricata eve", eveAlert, false},
		{"ocsf", ocsfProcess, false},
		{"falco", falcoAlert, false},
		// A shipper stamping @timestamp does not make them ECS.
		{"zeek stamped", stamped(zeekConn), false},
		{"suricata eve stamped", stamped(eveAlert), false},
		{"ocsf stamped", stamped(ocsfProcess), false},
		{"falco stamped", stamped(falcoAlert), false},
		// ECS's own rule object is not Falco's rule string.
		{"ecs rule object", `{"@timestamp":"2025-03-14T09:31:07Z","rule":{"name":"x"},"priority":1,"output":"y"}`, true},
	} {
		if got := ecs.Sniff(parse(t, tc.rec)); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
	if ecs.Sniff(new(jsontree.Tree)) {
		t.Error("Sniff(empty tree) = true")
	}
}

// DecodeTree from a tree the registry parsed with default limits must give
// what Decode gives, for records that decode and records that fail.
func TestDecodeTreeMatchesDecode(t *testing.T) {
	d := ecs.New()
	var inputs [][]byte
	for _, dir := range decodetest.GoldenCases(t) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	for _, s := range []string{`{}`, `{"source":{"port":{"n":1}}}`, `{"destination.port":"http"}`,
		`{"host":{"ip":["10.0.0.1","nope"]}}`, `{"labels":["prod"]}`, `{"@timestamp":"yesterday"}`} {
		inputs = append(inputs, []byte(s))
	}
	for _, in := range inputs {
		var want, got event.Event
		wantErr := d.Decode(in, &want)
		var tr jsontree.Tree
		if err := tr.Parse(ecs.Format, in, jsontree.Limits{}); err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		got = decodetest.DirtyEvent()
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
	d := ecs.New()
	lax := jsontree.Limits{MaxDepth: 1000, MaxValues: 1 << 20}
	for _, tc := range []struct {
		name   string
		in     string
		reason decode.Reason
	}{
		{"too deep", nested(ecs.MaxDepth+1, `{"a":`, `}`, `1`), decode.ReasonTooDeep},
		{"too deep arrays", `{"a":` + nested(ecs.MaxDepth, `[`, `]`, ``) + `}`, decode.ReasonTooDeep},
		{"too many values", `{"x":[` + strings.Repeat(`0,`, ecs.MaxValues) + `0]}`, decode.ReasonTooLarge},
		{"empty tree", ``, decode.ReasonMalformed},
	} {
		var tr jsontree.Tree
		if tc.in != "" {
			if err := tr.Parse(ecs.Format, []byte(tc.in), lax); err != nil {
				t.Fatalf("%s: Parse: %v", tc.name, err)
			}
		}
		ev := decodetest.DirtyEvent()
		err := d.DecodeTree(&tr, &ev)
		var de *decode.Error
		if !errors.As(err, &de) || de.Reason != tc.reason || de.Format != ecs.Format {
			t.Errorf("%s: DecodeTree error %v, want reason %s", tc.name, err, tc.reason)
		}
		if !reflect.DeepEqual(ev, event.Event{}) {
			t.Errorf("%s: event not reset after failure", tc.name)
		}
		// Decode refuses the same records with the same reason.
		if tc.in != "" {
			if err := d.Decode([]byte(tc.in), &ev); decode.ReasonOf(err) != tc.reason {
				t.Errorf("%s: Decode error %v, want reason %s", tc.name, err, tc.reason)
			}
		}
	}
}

// TestConcurrentDecode runs one decoder from many goroutines; with -race it
// checks the decoder and its pooled trees for shared state.
func TestConcurrentDecode(t *testing.T) {
	d := ecs.New()
	dirs := decodetest.GoldenCases(t)
	inputs := make([][]byte, len(dirs))
	wants := make([][]byte, len(dirs))
	for i, dir := range dirs {
		var err error
		if inputs[i], err = os.ReadFile(filepath.Join(dir, "input.json")); err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := d.Decode(inputs[i], &ev); err != nil {
			t.Fatal(err)
		}
		wants[i] = decodetest.MarshalEvent(t, &ev)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var ev event.Event
			for n := range 50 {
				i := (g + n) % len(inputs)
				// A failing record in between must not disturb the pool.
				if err := d.Decode([]byte(`{"source":{"port":"x"}}`), &ev); err == nil {
					t.Error("bad record decoded")
					return
				}
				if err := d.Decode(inputs[i], &ev); err != nil {
					t.Errorf("%s: %v", dirs[i], err)
					return
				}
				b, _ := json.MarshalIndent(&ev, "", "  ")
				if !bytes.Equal(append(b, '\n'), wants[i]) {
					t.Errorf("%s: concurrent decode differs", dirs[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
