package jsontree

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// FuzzParse checks the parser against encoding/json: on valid UTF-8 with
// an object at the top and within the limits, both accept the same inputs
// and give the same values, except that the parser also refuses, on
// purpose, objects that name a member twice and strings holding a NUL.
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
			if json.Valid(data) && isObject && r != decerr.TooDeep && r != decerr.TooLarge && !duplicateOrNUL(data) {
				t.Fatalf("refused valid JSON object %q: %v", data, err)
			}
		}
	})
}

// duplicateOrNUL reports, by encoding/json's reading of valid JSON data,
// whether an object names a member twice or a string or name holds a NUL.
func duplicateOrNUL(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		names  map[string]bool
		key    bool // the next token of this object is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
		if name, ok := tok.(string); ok && top != nil && top.object && top.key {
			if top.names[name] {
				return true
			}
			top.names[name] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return false
			}
		}
		// A value ended: the enclosing object expects a name next.
		if p := stack[len(stack)-1]; p.object {
			p.key = true
		}
	}
}
