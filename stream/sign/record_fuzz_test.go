package sign

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadRecord: reading a line never panics, a refusal says why in a
// short message, and an accepted record written back by MarshalRecord
// reads as the same record.
func FuzzReadRecord(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "records.ndjson"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	for _, s := range []string{
		`{"topic":"t","partition":0,"offset":1,"headers":["a","1","a",null],"key":null,"value":[1,2]}`,
		`{"topic":"t","partition":0,"offset":1,"headers":{"a":["1",null]},"payload":"\ud800"}`,
		`{"topic":"t","partition":0,"offset":1,"value":"\u0000\n"}`,
		`{"topic":"t","partition":0,"offset":1,"value":-0.0e5}`,
		`{}`, `[`, `{"topic":1}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			if msg := err.Error(); msg == "" || len(msg) > 512 || !utf8.ValidString(msg) {
				t.Fatalf("unclear error %q", msg)
			}
			return
		}
		out, err := MarshalRecord(r)
		if err != nil {
			t.Fatalf("accepted record does not write back: %v", err)
		}
		if bytes.ContainsAny(out, "\n\r") {
			t.Fatalf("written record spans lines: %q", out)
		}
		back, err := ParseRecord(out)
		if err != nil {
			t.Fatalf("written record %s does not read: %v", out, err)
		}
		if !sameRecord(r, back) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v\nvia %s", r, back, out)
		}
		// The reader agrees with ParseRecord on one line.
		rd := NewReader(bytes.NewReader(append(out, '\n')), 0)
		if got, err := rd.Next(); err != nil || !sameRecord(got, r) {
			t.Fatalf("reader: %v", err)
		}
	})
}

func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// sameRecord compares records; MarshalRecord groups headers by name, so
// order is compared within a name only.
func sameRecord(a, b Record) bool {
	if a.Topic != b.Topic || a.Partition != b.Partition || a.Offset != b.Offset || !sameBytes(a.Key, b.Key) || !sameBytes(a.Value, b.Value) {
		return false
	}
	byName := func(h []Header) []Header {
		h = slices.Clone(h)
		slices.SortStableFunc(h, func(x, y Header) int { return strings.Compare(x.Key, y.Key) })
		return h
	}
	ha, hb := byName(a.Headers), byName(b.Headers)
	return slices.EqualFunc(ha, hb, func(x, y Header) bool { return x.Key == y.Key && sameBytes(x.Value, y.Value) })
}
