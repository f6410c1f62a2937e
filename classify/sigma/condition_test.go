package sigma

import (
	"errors"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func TestParseCondition(t *testing.T) {
	order := []string{"a", "b", "c", "sel1", "sel2", "_hidden"}
	names := map[string]int{}
	sels := make([]selection, len(order))
	for i, n := range order {
		names[n] = i
		sels[i] = selection{name: n}
	}
	for _, tc := range []struct {
		cond, want string
		err        error
	}{
		{cond: "a", want: "a"},
		{cond: "a or b and c", want: "(a or (b and c))"},
		{cond: "a and b or c", want: "((a and b) or c)"},
		{cond: "not a and b", want: "(not a and b)"},
		{cond: "not (a and b)", want: "not (a and b)"},
		{cond: "a and not b or not c", want: "((a and not b) or not c)"},
		{cond: "(a or b) and c", want: "((a or b) and c)"},
		{cond: "not not a", want: "not not a"},
		{cond: "1 of sel*", want: "1of(sel1,sel2)"},
		{cond: "all of sel*", want: "allof(sel1,sel2)"},
		{cond: "1 of them", want: "1of(a,b,c,sel1,sel2)"},
		{cond: "all of them and not _hidden", want: "(allof(a,b,c,sel1,sel2) and not _hidden)"},
		{cond: "a AND b", want: "(a and b)"},
		{cond: "unknown", err: ErrInvalid},
		{cond: "a and", err: ErrInvalid},
		{cond: "(a or b", err: ErrInvalid},
		{cond: "a or b)", err: ErrInvalid},
		{cond: "1 of nothing*", err: ErrInvalid},
		{cond: "2 of sel*", err: ErrUnsupported},
		{cond: "a | count() > 5", err: ErrUnsupported},
		{cond: "", err: ErrInvalid},
		{cond: "a b", err: ErrInvalid},
	} {
		n, err := parseCondition(tc.cond, names, order)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%q: error %v, want %v", tc.cond, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.cond, err)
			continue
		}
		if got := n.String(sels); got != tc.want {
			t.Errorf("%q parsed as %s, want %s", tc.cond, got, tc.want)
		}
	}
}

// TestConditionEval checks evaluation through whole rules: which of three
// selections hold decides the result.
func TestConditionEval(t *testing.T) {
	det := `a:
  process.name: a.exe
b:
  user.name: bob
c:
  host.name: h1
`
	type ev struct{ a, b, c bool }
	mk := func(e ev) *event.Event {
		x := &event.Event{EventCategory: "process"}
		if e.a {
			x.ProcessName = "A.EXE"
		}
		if e.b {
			x.UserName = "bob"
		}
		if e.c {
			x.HostName = "h1"
		}
		return x
	}
	for _, tc := range []struct {
		cond string
		in   ev
		want bool
	}{
		{"a or b and c", ev{a: true}, true},
		{"a or b and c", ev{b: true}, false},
		{"a or b and c", ev{b: true, c: true}, true},
		{"not a and b", ev{b: true}, true},
		{"not a and b", ev{a: true, b: true}, false},
		{"not (a and b)", ev{a: true, b: true}, false},
		{"not (a and b)", ev{a: true}, true},
		{"1 of them", ev{c: true}, true},
		{"1 of them", ev{}, false},
		{"all of them", ev{a: true, b: true}, false},
		{"all of them", ev{a: true, b: true, c: true}, true},
	} {
		rs := compileOne(t, detectionRule("process_creation", det+"condition: "+tc.cond), Options{})
		got := len(matchIDs(rs, mk(tc.in))) == 1
		if got != tc.want {
			t.Errorf("%q on %+v = %v, want %v", tc.cond, tc.in, got, tc.want)
		}
	}
}
