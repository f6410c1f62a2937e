package zeek_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// tsvResult is one row of a TSV golden file: the event, or the error.
type tsvResult struct {
	Line  int          `json:"line"`
	Event *event.Event `json:"event,omitempty"`
	Error string       `json:"error,omitempty"`
}

// readAll decodes every row of a TSV log.
func readAll(t testing.TB, in []byte, opts ...zeek.TSVOption) []tsvResult {
	t.Helper()
	r := zeek.NewTSVReader(bytes.NewReader(in), opts...)
	var out []tsvResult
	for {
		ev := decodetest.DirtyEvent()
		err := r.Next(&ev)
		if err == io.EOF {
			return out
		}
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("line %d: error %v (%T) is not a *decode.Error", r.Line(), err, err)
			}
			if de.Format != zeek.TSVFormat {
				t.Fatalf("line %d: error format %q", r.Line(), de.Format)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Fatalf("line %d: event not reset after failure", r.Line())
			}
			out = append(out, tsvResult{Line: r.Line(), Error: err.Error()})
			continue
		}
		out = append(out, tsvResult{Line: r.Line(), Event: &ev})
		if len(out) > 10000 {
			t.Fatal("reader does not end")
		}
	}
}

func tsvCases(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", "tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("testdata", "tsv", e.Name()))
		}
	}
	return dirs
}

func TestTSVGolden(t *testing.T) {
	dirs := tsvCases(t)
	if len(dirs) < 3 {
		t.Fatalf("found %d TSV cases, want at least 3", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "input.log"))
			if err != nil {
				t.Fatal(err)
			}
			got := decodetest.MarshalEvent(t, readAll(t, in))
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded rows differ from %s\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestTSVSemantics(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "tsv", "dns_http_concatenated", "input.log"))
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, in)
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	for _, r := range rows {
		if r.Error != "" {
			t.Fatalf("line %d: %s", r.Line, r.Error)
		}
	}
	mdns := rows[2].Event
	if v, _ := mdns.Field("answers"); v != "Chromecast-9f2b._googlecast._tcp.local\ntab\tand,comma._googlecast._tcp.local" {
		t.Errorf("answers %q: set elements not split and unescaped", v)
	}
	if v, _ := mdns.Field("AA"); v != "true" {
		t.Errorf("AA %q, want true", v)
	}
	if _, ok := mdns.Field("rtt"); ok {
		t.Error("unset rtt is present")
	}
	if mdns.SourceIP != "fe80::1c0e:74ff:fe49:9a21" || mdns.DNSQuestionName != "_googlecast._tcp.local" {
		t.Errorf("source %q query %q", mdns.SourceIP, mdns.DNSQuestionName)
	}
	odd := rows[3].Event
	if odd.DNSQuestionName != `café.example\xff` {
		t.Errorf("query %q: want escapes decoded and the invalid byte kept escaped", odd.DNSQuestionName)
	}
	if v, ok := odd.Field("answers"); !ok || v != "" {
		t.Errorf("(empty) answers = %q (present %v), want present and empty", v, ok)
	}
	if odd.EventOutcome != "" {
		t.Errorf("outcome %q with rcode unset", odd.EventOutcome)
	}
	put := rows[6].Event
	if put.Logsource.Service != "http" || put.HTTPRequestMethod != "PUT" || put.HTTPResponseStatusCode != 411 || put.Timestamp.Unix() != 1354328924 {
		t.Errorf("second header block not applied: %+v", put)
	}
	if v, _ := put.Field("status_msg"); v != "Length Required" {
		t.Errorf("status_msg %q", v)
	}
	if rows[6].Line != 24 {
		t.Errorf("PUT row on line %d, want 24", rows[6].Line)
	}
}

// The JSON decoder and the TSV reader share one mapping: the same record
// in both forms gives the same event.
func TestTSVMatchesJSON(t *testing.T) {
	tsv := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n" +
		"1591367999.305988\tCMdzit1AMNsmfAIiQc\t192.168.4.76\t36844\t192.168.4.1\t53\tudp\tdns\t0.066852\t62\t141\tSF\tT\tF\t0\tDd\t2\t118\t2\t197\tCk1,Ck2\n"
	js := `{"_path":"conn","ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.066852,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,"resp_ip_bytes":197,"tunnel_parents":["Ck1","Ck2"]}`
	rows := readAll(t, []byte(tsv))
	if len(rows) != 1 || rows[0].Event == nil {
		t.Fatalf("rows %+v", rows)
	}
	var fromJSON event.Event
	if err := zeek.New().Decode([]byte(js), &fromJSON); err != nil {
		t.Fatal(err)
	}
	fromTSV := *rows[0].Event
	// TSV has no _path column: #path names the log.
	fromJSON.Fields = fromJSON.Fields[1:]
	if !reflect.DeepEqual(fromTSV, fromJSON) {
		t.Errorf("TSV and JSON differ:\n tsv %+v\njson %+v", fromTSV, fromJSON)
	}
}

func TestTSVErrors(t *testing.T) {
	const header = "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.resp_p\n#types\ttime\taddr\tport\n"
	for _, tc := range []struct {
		name   string
		in     string
		line   int
		reason decode.Reason
		field  string
		msg    string
	}{
		{"row before fields", "1\t10.0.0.1\t80\n", 1, decode.ReasonMalformed, "", "line 1: data row before a #fields header"},
		{"row after close", header + "#close\tx\n1\t10.0.0.1\t80\n", 6, decode.ReasonMalformed, "", "before a #fields header"},
		{"short row", header + "1\t10.0.0.1\n", 5, decode.ReasonMalformed, "id.resp_p", "line 5: 2 columns, #fields names 3"},
		{"long row", header + "1\t10.0.0.1\t80\t9\n", 5, decode.ReasonMalformed, "", "more than the 3 columns"},
		{"bad address", header + "1\t10.0.0.256\t80\n", 5, decode.ReasonWrongType, "id.orig_h", `line 5: want IP address, got string "10.0.0.256"`},
		{"bad port", header + "1\t10.0.0.1\t80000\n", 5, decode.ReasonWrongType, "id.resp_p", "line 5: want integer in [0, 65535], got number 80000"},
		{"bad ts", header + "soon\t10.0.0.1\t80\n", 5, decode.ReasonWrongType, "ts", "line 5"},
		{"bad path", "#separator \\x09\n#path\tc/d\n#fields\tts\n1\n", 4, decode.ReasonWrongType, "_path", "line 4"},
		{"empty separator", "#separator \n", 1, decode.ReasonMalformed, "", "line 1: empty #separator"},
		{"too many columns", "#separator \\x09\n#fields" + strings.Repeat("\tc", zeek.MaxColumns+1) + "\n", 2, decode.ReasonTooLarge, "", "more than 1024 columns"},
		{"line too long", header + "1\t10.0.0.1\t" + strings.Repeat("8", 5000) + "\n", 5, decode.ReasonTooLarge, "", "line 5: line longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := zeek.NewTSVReader(strings.NewReader(tc.in), zeek.WithMaxLineBytes(4096))
			ev := decodetest.DirtyEvent()
			err := r.Next(&ev)
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want *decode.Error", err, err)
			}
			if de.Reason != tc.reason || de.Field != tc.field || de.Format != zeek.TSVFormat {
				t.Errorf("reason %q field %q format %q, want %q %q %q (%v)", de.Reason, de.Field, de.Format, tc.reason, tc.field, zeek.TSVFormat, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if r.Line() != tc.line {
				t.Errorf("Line() = %d, want %d", r.Line(), tc.line)
			}
			if !reflect.DeepEqual(ev, event.Event{}) {
				t.Errorf("event not reset: %+v", ev)
			}
		})
	}
}

// After a bad row, even an over-long one, the reader goes on with the next.
func TestTSVRecovers(t *testing.T) {
	in := "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\n#types\ttime\taddr\n" +
		"1\t" + strings.Repeat("x", 300<<10) + "\n" + // over-long, longer than the read buffer
		"2\tbad\n" +
		"3\t10.0.0.3\n" +
		"4\t10.0.0.4" // no final newline
	r := zeek.NewTSVReader(iotest.HalfReader(strings.NewReader(in)), zeek.WithMaxLineBytes(1<<10))
	var ev event.Event
	var got []string
	for {
		err := r.Next(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, fmt.Sprintf("%d:%s", r.Line(), decode.ReasonOf(err)))
			continue
		}
		got = append(got, fmt.Sprintf("%d:%s", r.Line(), ev.SourceIP))
	}
	want := []string{"5:too_large", "6:wrong_type", "7:10.0.0.3", "8:10.0.0.4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

func TestTSVReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := zeek.NewTSVReader(iotest.ErrReader(boom))
	var ev event.Event
	if err := r.Next(&ev); !errors.Is(err, boom) {
		t.Errorf("Next = %v, want the read error", err)
	}
}

func TestTSVDefaultPath(t *testing.T) {
	in := "#separator \\x09\n#fields\tts\tquery\n1.5\texample.org\n"
	rows := readAll(t, []byte(in), zeek.WithTSVPath("dns"))
	if len(rows) != 1 || rows[0].Event == nil || rows[0].Event.DNSQuestionName != "example.org" {
		t.Fatalf("rows %+v", rows)
	}
	// Without #types every value is text; without #path and an option the
	// log is generic.
	rows = readAll(t, []byte(in))
	if rows[0].Event.Logsource.Service != "" || rows[0].Event.Timestamp.IsZero() {
		t.Errorf("generic row %+v", rows[0].Event)
	}
}

func TestSniffTSV(t *testing.T) {
	for in, want := range map[string]bool{
		"#separator \\x09\n#set_separator\t,": true,
		"#separator":                          true,
		`{"ts":1}`:                            false,
		"#fields\tts":                         false,
		"":                                    false,
	} {
		if got := zeek.SniffTSV([]byte(in)); got != want {
			t.Errorf("SniffTSV(%q) = %v, want %v", in, got, want)
		}
	}
}
