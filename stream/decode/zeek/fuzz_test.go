package zeek_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/casus-sec/casus/classify/event"
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
		ev, err := decodetest.CheckDecode(t, d, zeek.Format, data, limits)
		if err == nil {
			checkZeek(t, &ev)
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
				decodetest.CheckError(t, err, zeek.TSVFormat)
				if !reflect.DeepEqual(ev, event.Event{}) {
					t.Fatalf("event not reset after failure: %+v", ev)
				}
				continue
			}
			decodetest.CheckEvent(t, &ev, limits)
			checkZeek(t, &ev)
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

// limits: Zeek keeps a field whose name is empty (a TSV header may
// name one so).
var limits = decodetest.Limits{MaxFields: zeek.MaxFields, EmptyFieldName: true}

// checkZeek checks what a Zeek record always gives beyond the common
// invariants: its product and an ICS function code in range.
func checkZeek(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.Logsource.Product != "zeek" || ev.ObserverProduct != "zeek" {
		t.Errorf("product %q / %q, want zeek", ev.Logsource.Product, ev.ObserverProduct)
	}
	if ev.ICSFunctionCode < 0 || ev.ICSFunctionCode > 255 {
		t.Errorf("function code %d", ev.ICSFunctionCode)
	}
}
