package native

import (
	"fmt"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

func TestFields(t *testing.T) {
	var tr jsontree.Tree
	in := `{"a.q":1,"b":{"c":"x","d":[1,2,{"e":"y"},{"e":"z"}]},"a":{"q":"again"},"t":["p","q"],"n":null}`
	if err := tr.Parse("test", []byte(in), jsontree.Limits{}); err != nil {
		t.Fatal(err)
	}
	n := New("test")
	n.Reset()
	for c := tr.First(jsontree.Root); c >= 0; c = tr.Next(c) {
		var err error
		if tr.KeyIs(c, "t") {
			err = n.List("tags", &tr, c, ",")
		} else {
			err = n.Member(&tr, c)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	got := n.Fields()
	want := []event.Field{{Name: "a.q", Value: "again"}, {Name: "b.c", Value: "x"}, {Name: "b.d", Value: "1\n2"},
		{Name: "b.d.e", Value: "y\nz"}, {Name: "tags", Value: "p,q"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Fields() = %v, want %v", got, want)
	}
	// The fields outlive the record and the collector's next use.
	n.Reset()
	if fmt.Sprint(got) != fmt.Sprint(want) || n.Fields() != nil {
		t.Error("Reset changed fields already returned, or kept old ones")
	}
}

func TestMaxFields(t *testing.T) {
	for _, count := range []int{MaxFields, MaxFields + 1} {
		var b strings.Builder
		b.WriteString("{")
		for i := range count {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"f%d":%d`, i, i)
		}
		b.WriteString("}")
		var tr jsontree.Tree
		if err := tr.Parse("test", []byte(b.String()), jsontree.Limits{}); err != nil {
			t.Fatal(err)
		}
		n := New("test")
		err := n.Walk(&tr, jsontree.Root)
		switch {
		case count <= MaxFields && (err != nil || len(n.Fields()) != count):
			t.Errorf("%d names: %v, %d fields", count, err, len(n.Fields()))
		case count > MaxFields && decerr.ReasonOf(err) != decerr.TooLarge:
			t.Errorf("%d names: %v, want too_large", count, err)
		}
	}
}
