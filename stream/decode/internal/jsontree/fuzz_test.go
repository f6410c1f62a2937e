package jsontree

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// FuzzParse checks the parser against encoding/json: on valid UTF-8 with
// an object at the top and within the limits, both accept the same inputs
// and give the same values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `{"a":1,}`,
		`{"a":"\ud800"}`, `{"a":1e999}`, `{"a":-0.0e+1}`, `[{}]`, `{"a":"b"} x`, `{"a":tr}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Tree
		err := tr.Parse("fuzz", data, Limits{MaxDepth: 16, MaxValues: 1000})
		want, stdErr := stdlib(data)
		_, isObject := want.(map[string]any)
		switch {
		case err == nil:
			if stdErr != nil || !json.Valid(data) {
				t.Fatalf("accepted what encoding/json refuses (%v): %q", stdErr, data)
			}
			if got := toAny(&tr, Root); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q\n got %#v\nwant %#v", data, got, want)
			}
		case !utf8.Valid(data):
			if decerr.ReasonOf(err) != decerr.InvalidUTF8 {
				t.Fatalf("invalid UTF-8 gave %v", err)
			}
		default:
			r := decerr.ReasonOf(err)
			if json.Valid(data) && isObject && r != decerr.TooDeep && r != decerr.TooLarge {
				t.Fatalf("refused valid JSON object %q: %v", data, err)
			}
		}
	})
}
