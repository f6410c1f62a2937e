package zeek_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
	"github.com/casus-sec/casus/stream/decode/zeek"
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
		``, `{}`, `[]`, `null`, `{"ts":1}`, `{"conn":{}}`, `{"conn":{"ts":1},"x":[1]}`,
		`{"_path":"conn","ts":"1.5e9","id":{"orig_h":"::ffff:1.2.3.4","orig_p":"99999"}}`,
		`{"_path":"modbus","func":"unknown-255_EXCEPTION","unit":"7"}`,
		`{"_path":"dnp3","fc_reply":"UNSOLICITED_RESPONSE"}`,
		`{"_path":"http","host":"[::1]:80","status_code":"200"}`,
		`{"log":{"file":{"path":"x/.log"}},"ts":-1}`,
		`{"_path":"conn","ts":1,"a":{"b":{"c":null}},"a.b":1}`,
		"{\"_path\":\"dns\",\"query\":\"\xc3\"}",
	} {
		f.Add([]byte(s))
	}
	d := zeek.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		ev := decodetest.DirtyEvent()
		err := d.Decode(in, &ev)
		if err != nil {
			checkError(t, err, zeek.Format)
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

func FuzzTSV(f *testing.F) {
	for _, dir := range tsvCases(f) {
		in, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	for _, s := range []string{
		"", "\n\n", "#separator \\x09\n#fields\tts\n1\n",
		"#separator |\n#set_separator|;\n#fields|a|answers\n#types|string|set[string]\nx|a;b\\x3bc\n",
		"#separator \\x09\n#fields\tts\tid.orig_h\n#types\ttime\taddr\n\\x31\t\\\\\n",
		"#separator \\x09\n#path\tmodbus\n#fields\tfunc\tunit\n#types\tstring\tcount\nWRITE_SINGLE_COIL\t-\n",
		"#separator \\x09\n#unset_field\tX\n#empty_field\tE\n#fields\tts\tv\n#types\ttime\tbool\nX\tT\n1\tE\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		r := zeek.NewTSVReader(bytes.NewReader(in), zeek.WithMaxLineBytes(4096))
		var got []event.Event
		last := 0
		for n := 0; ; n++ {
			if n > len(data)+2 {
				t.Fatalf("more rows than lines")
			}
			ev := decodetest.DirtyEvent()
			err := r.Next(&ev)
			if err == io.EOF {
				break
			}
			if r.Line() < last {
				t.Fatalf("Line went back from %d to %d", last, r.Line())
			}
			last = r.Line()
			if err != nil {
				checkError(t, err, zeek.TSVFormat)
				if !reflect.DeepEqual(ev, event.Event{}) {
					t.Fatalf("event not reset after failure: %+v", ev)
				}
				continue
			}
			checkInvariants(t, &ev)
			got = append(got, ev)
		}
		// Events hold no reference into the reader's buffers or the input.
		for i := range in {
			in[i] = 'x'
		}
		r2 := zeek.NewTSVReader(bytes.NewReader(data), zeek.WithMaxLineBytes(4096))
		var again []event.Event
		for {
			var ev event.Event
			err := r2.Next(&ev)
			if err == io.EOF {
				break
			}
			if err == nil {
				again = append(again, ev)
			}
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("reading again differs:\n%+v\n%+v", got, again)
		}
	})
}

func checkError(t *testing.T, err error, format string) {
	t.Helper()
	var de *decode.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *decode.Error", err, err)
	}
	if !slices.Contains(decode.Reasons(), de.Reason) || de.Format != format {
		t.Fatalf("error %v has reason %q, format %q", err, de.Reason, de.Format)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error message is not valid UTF-8: %q", err.Error())
	}
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
	if ev.Logsource.Product != "zeek" || ev.ObserverProduct != "zeek" {
		t.Errorf("product %q / %q, want zeek", ev.Logsource.Product, ev.ObserverProduct)
	}
	if ev.NetworkBytes < 0 || ev.NetworkPackets < 0 || ev.ICSFunctionCode < 0 || ev.ICSFunctionCode > 255 {
		t.Errorf("bytes %d packets %d function code %d", ev.NetworkBytes, ev.NetworkPackets, ev.ICSFunctionCode)
	}
	if len(ev.Fields) > zeek.MaxFields {
		t.Errorf("%d fields, more than MaxFields", len(ev.Fields))
	}
	seen := make(map[string]bool, len(ev.Fields))
	for _, f := range ev.Fields {
		if seen[f.Name] {
			t.Errorf("field name %q repeated", f.Name)
		}
		seen[f.Name] = true
		if !utf8.ValidString(f.Name) || !utf8.ValidString(f.Value) {
			t.Errorf("field %q = %q is not valid UTF-8", f.Name, f.Value)
		}
	}
	strs := []string{ev.Logsource.Product, ev.Logsource.Category, ev.Logsource.Service}
	for k, v := range ev.Labels {
		strs = append(strs, k, v)
	}
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
