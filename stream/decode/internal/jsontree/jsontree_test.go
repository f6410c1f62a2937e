package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// toAny converts value i to what encoding/json's Decoder with UseNumber
// gives, so the parser can be checked against the standard library.
func toAny(t *Tree, i int32) any {
	switch t.Kind(i) {
	case Null:
		return nil
	case Bool:
		b, _, _ := t.Bool(i)
		return b
	case Number:
		s, _ := t.Text(i)
		return json.Number(s)
	case String:
		s, _ := t.Text(i)
		return s
	case Array:
		a := []any{}
		for c := t.First(i); c >= 0; c = t.Next(c) {
			a = append(a, toAny(t, c))
		}
		return a
	case Object:
		m := map[string]any{}
		for c := t.First(i); c >= 0; c = t.Next(c) {
			m[t.Key(c)] = toAny(t, c)
		}
		return m
	}
	return "absent"
}

func stdlib(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`,
		` {"a":1} `,
		`{"a":"x","b":[1,2.5,-3e10,true,false,null],"c":{"d":{"e":"f"}}}`,
		`{"esc":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}`,
		`{"lone":"\ud800x","lone2":"\udc00","pair_bad":"\ud800\u0041"}`,
		`{"k\u0065y":"v","key2":1,"ke":2,"kez":3}`,
		`{"ctl":"a\u0001b","utf8":"héllo €"}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":{"a":1,"b":{"a":2}}}`,
		`{"same":[{"x":1},{"x":2}],"x":{"x":{"x":3}}}`,
		`{"n":[0,-0,0.0,1E+2,1e-2,123456789012345678901234567890]}`,
		"{\n\t\"ws\" :\r\n [ ] , \"o\" : { } }",
	} {
		var tr Tree
		if err := tr.Parse("test", []byte(in), Limits{}); err != nil {
			t.Errorf("Parse(%s): %v", in, err)
			continue
		}
		want, err := stdlib([]byte(in))
		if err != nil {
			t.Fatalf("stdlib(%s): %v", in, err)
		}
		if got := toAny(&tr, Root); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%s)\n got %#v\nwant %#v", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat(`}`, 64)
	tooDeep := strings.Repeat(`{"a":`, 65) + `1` + strings.Repeat(`}`, 65)
	deepArr := `{"a":` + strings.Repeat(`[`, 63) + strings.Repeat(`]`, 63) + `}`
	for _, tc := range []struct {
		in     string
		reason decerr.Reason
		msg    string
	}{
		{"", decerr.Empty, ""},
		{" \n\t", decerr.Empty, ""},
		{`[1]`, decerr.WrongType, "got an array"},
		{`"s"`, decerr.WrongType, `top level, got "\"s\""`},
		{`12`, decerr.WrongType, `top level, got "12"`},
		{` null `, decerr.WrongType, `got "null"`},
		{`nullx`, decerr.Malformed, "data after the top-level value"},
		{`42 x`, decerr.Malformed, "data after the top-level value"},
		{`"abc`, decerr.Malformed, "closing"},
		{`"a\q"`, decerr.Malformed, "invalid escape"},
		{`{"nul":"a\u0000b"}`, decerr.Malformed, `offset 9: NUL character`},
		{`{"\u0000":1}`, decerr.Malformed, `NUL character`},
		{`{"dup":1,"dup":2}`, decerr.Malformed, `offset 9: duplicate member name "dup"`},
		{`{"a":{"x":1,"y":2,"x":3}}`, decerr.Malformed, `offset 18: duplicate member name "x"`},
		{`{"key":1,"k\u0065y":2}`, decerr.Malformed, `duplicate member name "key"`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"b":10}`, decerr.Malformed, `offset 55: duplicate member name "b"`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"\u0062":10}`, decerr.Malformed, `duplicate member name "b"`},
		{`nope`, decerr.Malformed, "want a JSON object"},
		{`{`, decerr.Malformed, "end of input"},
		{`{"a"`, decerr.Malformed, "want ':'"},
		{`{"a":}`, decerr.Malformed, "want a value"},
		{`{"a":1,}`, decerr.Malformed, "want a member name, got \"}\""},
		{`{"a":[1,]}`, decerr.Malformed, "want a value, got \"]}\""},
		{`{"a":1 "b":2}`, decerr.Malformed, "want ',' or '}'"},
		{`{"a":[1 2]}`, decerr.Malformed, "want ',' or ']'"},
		{`{"a":1}{}`, decerr.Malformed, "data after"},
		{`{"a":01}`, decerr.Malformed, "offset"},
		{`{"a":1.}`, decerr.Malformed, "want a value"},
		{`{"a":-}`, decerr.Malformed, "want a value"},
		{`{"a":tru}`, decerr.Malformed, "want a value"},
		{`{"a":truex}`, decerr.Malformed, "want ',' or '}'"},
		{`{"a":"\x"}`, decerr.Malformed, "invalid escape"},
		{`{"a":"\u12G4"}`, decerr.Malformed, `invalid \u escape`},
		{"{\"a\":\"x\ny\"}", decerr.Malformed, "control character 0x0a"},
		{`{"a":"open}`, decerr.Malformed, "closing"},
		{`{a:1}`, decerr.Malformed, "member name"},
		{"{\"a\":\"\xff\"}", decerr.InvalidUTF8, "offset 6"},
		{tooDeep, decerr.TooDeep, "deeper than 64"},
		{`{"a":` + strings.Repeat(`[`, 63) + strings.Repeat(`]`, 63) + `,"b":[[` + strings.Repeat(`[`, 63) + `}`, decerr.TooDeep, "deeper than 64"},
	} {
		var tr Tree
		err := tr.Parse("test", []byte(tc.in), Limits{})
		var de *decerr.Error
		if !errors.As(err, &de) {
			t.Errorf("Parse(%.40q) = %v, want a *decerr.Error", tc.in, err)
			continue
		}
		if de.Reason != tc.reason || !strings.Contains(err.Error(), tc.msg) || de.Format != "test" {
			t.Errorf("Parse(%.40q) = %v (reason %s), want reason %s containing %q", tc.in, err, de.Reason, tc.reason, tc.msg)
		}
		if tr.Len() != 0 {
			t.Errorf("Parse(%.40q) failed but left %d nodes", tc.in, tr.Len())
		}
	}
	for _, ok := range []string{deep, deepArr} {
		var tr Tree
		if err := tr.Parse("test", []byte(ok), Limits{}); err != nil {
			t.Errorf("depth 64 refused: %v", err)
		}
	}
}

func TestMaxValues(t *testing.T) {
	in := []byte(`{"a":[1,2,3],"b":4}`) // 6 values with the root
	var tr Tree
	if err := tr.Parse("test", in, Limits{MaxValues: 6}); err != nil {
		t.Fatalf("6 values with a limit of 6: %v", err)
	}
	err := tr.Parse("test", in, Limits{MaxValues: 5})
	if decerr.ReasonOf(err) != decerr.TooLarge {
		t.Fatalf("6 values with a limit of 5: %v, want too_large", err)
	}
}

func TestAccessors(t *testing.T) {
	in := []byte(`{"s":"x","n":42,"f":1.5,"e":8e1,"big":1e30,"ns":" 443 ","fs":"2.5","b":true,"bs":"false",
		"z":null,"o":{"p":{"q":"deep"}},"a":[1],"k\u00e9y":"v","empty":""}`)
	var tr Tree
	if err := tr.Parse("test", in, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := tr.Text(tr.Path(Root, "o", "p", "q")); got != "deep" {
		t.Errorf("Path o.p.q = %q", got)
	}
	if tr.Path(Root, "o", "missing", "q") != -1 || tr.Kind(tr.Path(Root, "s", "x")) != Absent {
		t.Error("missing path not -1/Absent")
	}
	if got, _ := tr.Text(tr.Child(Root, "kéy")); got != "v" {
		t.Errorf("escaped key lookup = %q", got)
	}
	ints := []struct {
		key  string
		want int64
		ok   bool
		err  bool
	}{
		{"n", 42, true, false}, {"e", 80, true, false}, {"ns", 443, true, false},
		{"f", 0, false, true}, {"big", 0, false, true}, {"s", 0, false, true}, {"o", 0, false, true},
		{"z", 0, false, false}, {"nope", 0, false, false}, {"empty", 0, false, false}, {"b", 0, false, true},
	}
	for _, c := range ints {
		n, ok, err := tr.Int(tr.Child(Root, c.key))
		if n != c.want || ok != c.ok || (err != nil) != c.err {
			t.Errorf("Int(%s) = %d, %v, %v", c.key, n, ok, err)
		}
	}
	if f, ok, err := tr.Float(tr.Child(Root, "fs")); f != 2.5 || !ok || err != nil {
		t.Errorf("Float(fs) = %v %v %v", f, ok, err)
	}
	if _, _, err := tr.Float(tr.Child(Root, "a")); err == nil || !strings.Contains(err.Error(), "got array") {
		t.Errorf("Float(array) error = %v", err)
	}
	if b, ok, err := tr.Bool(tr.Child(Root, "bs")); b || !ok || err != nil {
		t.Errorf("Bool(bs) = %v %v %v", b, ok, err)
	}
	if _, _, err := tr.Bool(tr.Child(Root, "n")); err == nil {
		t.Error("Bool(number) gave no error")
	}
	if _, ok := tr.Text(tr.Child(Root, "z")); ok {
		t.Error("Text(null) present")
	}
	if _, ok := tr.Text(tr.Child(Root, "o")); ok {
		t.Error("Text(object) present")
	}
	if got := tr.Describe(tr.Child(Root, "s")); got != `string "x"` {
		t.Errorf("Describe = %s", got)
	}
	long := `{"s":"` + strings.Repeat("y", 100) + `"}`
	if err := tr.Parse("test", []byte(long), Limits{}); err != nil {
		t.Fatal(err)
	}
	if d := tr.Describe(tr.Child(Root, "s")); len(d) > 50 {
		t.Errorf("Describe does not bound its quote: %s", d)
	}
}

// TestTextIsACopy checks that values outlive the record buffer.
func TestTextIsACopy(t *testing.T) {
	in := []byte(`{"a":"value","b\u0041":"x"}`)
	var tr Tree
	if err := tr.Parse("test", in, Limits{}); err != nil {
		t.Fatal(err)
	}
	s, _ := tr.Text(tr.Child(Root, "a"))
	k := tr.Key(tr.First(Root))
	for i := range in {
		in[i] = 'z'
	}
	if s != "value" || k != "a" {
		t.Errorf("Text/Key alias the input: %q %q", s, k)
	}
}

func TestReuseAllocatesNothing(t *testing.T) {
	in := []byte(`{"a":{"b":[1,2,{"c":"d\n"}]},"e":"f","g":true}`)
	var tr Tree
	if err := tr.Parse("test", in, Limits{}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := tr.Parse("test", in, Limits{}); err != nil {
			t.Fatal(err)
		}
		tr.KeyIs(tr.First(Root), "a")
		tr.TextBytes(tr.Child(Root, "e"))
	})
	if allocs != 0 {
		t.Errorf("reparse allocates %v times, want 0", allocs)
	}
}
