package sign

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// The records in testdata/records.ndjson carry openssl's signature of
// testdata/message.json in each envelope; the last is unsigned.
func TestReadGoldenRecords(t *testing.T) {
	pub, err := ParsePublicKey(readTestdata(t, "openssl.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(PublicKey{ID: KeyID(pub), Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	msg := readTestdata(t, "message.json")
	r := NewReader(bytes.NewReader(readTestdata(t, "records.ndjson")), 0)
	var got []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, verr := v.VerifyHeaders(rec.Value, rec.Headers)
		switch {
		case r.Line() < 5 && (verr != nil || !bytes.Equal(rec.Value, msg)):
			t.Errorf("line %d (%s): value %q, %v", r.Line(), rec, rec.Value, verr)
		case r.Line() == 5 && !errors.Is(verr, ErrUnsigned):
			t.Errorf("line 5: %v, want unsigned", verr)
		}
		got = append(got, rec.String())
	}
	want := "casus.escalations/2@17 casus.escalations/2@17 casus.escalations/2@17 casus.escalations/0@5 casus.escalations/1@0"
	if strings.Join(got, " ") != want {
		t.Errorf("records %v", got)
	}
}

func TestParseRecord(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		value      string // want, when the line is a record
		null       bool
		headers    int
		err        string
	}{
		{name: "kcat", line: `{"topic":"t","partition":0,"offset":1,"headers":["a","1","b",null],"key":"k","payload":"v"}`, value: "v", headers: 2},
		{name: "kcat null payload", line: `{"topic":"t","partition":0,"offset":1,"payload":null}`, null: true},
		{name: "kcat map headers", line: `{"topic":"t","partition":0,"offset":1,"headers":{"a":["1","2"],"b":[null]},"payload":"v"}`, value: "v", headers: 3},
		{name: "casus string value", line: `{"topic":"t","partition":0,"offset":1,"value":"{\"a\": 1}"}`, value: `{"a": 1}`},
		{name: "casus raw value keeps its bytes", line: `{"topic":"t","partition":0,"offset":1,"value": {"b":2,  "a":"\u00e9"} }`, value: `{"b":2,  "a":"\u00e9"}`},
		{name: "casus raw number", line: `{"topic":"t","partition":0,"offset":1,"value":12.50}`, value: "12.50"},
		{name: "unknown fields ignored", line: `{"ts":1,"topic":"t","partition":0,"offset":1,"broker":-1,"value":"x"}`, value: "x"},
		{name: "not json", line: `hello`, err: "not JSON"},
		{name: "not an object", line: `[1]`, err: "not a JSON object"},
		{name: "trailing data", line: `{"topic":"t","partition":0,"offset":1,"value":"x"} {}`, err: "data after"},
		{name: "truncated", line: `{"topic":"t","partition":0,"offset":1,"value":"x"`, err: "not JSON"},
		{name: "no topic", line: `{"partition":0,"offset":1,"value":"x"}`, err: "no topic"},
		{name: "empty topic", line: `{"topic":"","partition":0,"offset":1,"value":"x"}`, err: "topic: empty"},
		{name: "no offset", line: `{"topic":"t","partition":0,"value":"x"}`, err: "no offset"},
		{name: "negative offset", line: `{"topic":"t","partition":0,"offset":-1,"value":"x"}`, err: "offset: want a non-negative"},
		{name: "fractional partition", line: `{"topic":"t","partition":0.5,"offset":1,"value":"x"}`, err: "partition: want an integer"},
		{name: "partition out of range", line: `{"topic":"t","partition":4294967296,"offset":1,"value":"x"}`, err: "partition: want an integer"},
		{name: "no value", line: `{"topic":"t","partition":0,"offset":1}`, err: "no value"},
		{name: "both forms", line: `{"topic":"t","partition":0,"offset":1,"value":"x","payload":"x"}`, err: "both payload"},
		{name: "field twice", line: `{"topic":"t","partition":0,"offset":1,"value":"x","value":"y"}`, err: `field "value" given twice`},
		{name: "numeric payload", line: `{"topic":"t","partition":0,"offset":1,"payload":5}`, err: "payload: want a string or null"},
		{name: "odd header list", line: `{"topic":"t","partition":0,"offset":1,"headers":["a"],"value":"x"}`, err: "name, value pairs"},
		{name: "null header name", line: `{"topic":"t","partition":0,"offset":1,"headers":[null,"v"],"value":"x"}`, err: "null name"},
		{name: "numeric header", line: `{"topic":"t","partition":0,"offset":1,"headers":{"a":1},"value":"x"}`, err: `header "a"`},
		{name: "headers a string", line: `{"topic":"t","partition":0,"offset":1,"headers":"a","value":"x"}`, err: "want a list or an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRecord([]byte(tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Value) != tc.value || (r.Value == nil) != tc.null || len(r.Headers) != tc.headers {
				t.Errorf("value %q (nil %v), %d headers", r.Value, r.Value == nil, len(r.Headers))
			}
		})
	}
}

func TestMarshalRecord(t *testing.T) {
	r := Record{Topic: "t", Partition: 1, Offset: 2, Key: []byte("k"), Value: []byte(`{"a":1}`),
		Headers: []Header{{Key: "x", Value: []byte("1")}, {Key: "y", Value: nil}, {Key: "x", Value: []byte("2")}}}
	b, err := MarshalRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"topic":"t","partition":1,"offset":2,"key":"k","headers":{"x":["1","2"],"y":null},"value":{"a":1}}`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	for _, v := range []string{"{\"a\":\n1}", " {}", "{} ", `"s"`, "plain", `{"a":`} {
		b, err := MarshalRecord(Record{Topic: "t", Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRecord(b)
		if err != nil || string(back.Value) != v {
			t.Errorf("value %q: written %s, read %q, %v", v, b, back.Value, err)
		}
	}
	if _, err := MarshalRecord(Record{Topic: "t", Value: []byte{0xff}}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("non-UTF-8 value: %v", err)
	}
}

func TestReaderLines(t *testing.T) {
	rec := `{"topic":"t","partition":0,"offset":%d,"value":"x"}`
	long := `{"topic":"t","partition":0,"offset":9,"value":"` + strings.Repeat("a", 300) + `"}`
	in := strings.Join([]string{
		strings.Replace(rec, "%d", "1", 1),
		"",
		"   ",
		long,
		"garbage",
		strings.Replace(rec, "%d", "2", 1) + "\r",
		strings.Replace(rec, "%d", "3", 1),
	}, "\n") // the last line has no newline
	r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 16), 200)
	type step struct {
		line   int
		offset int64
		err    string
	}
	var got []step
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			t.Fatal(err)
		}
		s := step{line: r.Line(), offset: rec.Offset}
		if err != nil {
			s.err = err.Error()
			if le.Line != r.Line() {
				t.Errorf("LineError line %d, reader at %d", le.Line, r.Line())
			}
		}
		got = append(got, s)
	}
	want := []step{{1, 1, ""}, {4, 0, "line 4: longer than 200 bytes"}, {5, 0, "line 5: not JSON"}, {6, 2, ""}, {7, 3, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].line != want[i].line || got[i].offset != want[i].offset || !strings.HasPrefix(got[i].err, want[i].err) || (want[i].err == "") != (got[i].err == "") {
			t.Errorf("step %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReaderInputError(t *testing.T) {
	_, err := NewReader(failingReader{}, 0).Next()
	var le *LineError
	if err == nil || errors.As(err, &le) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("input error: %v", err)
	}
}
