package yamlpos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(name string, data []byte) (string, error) { return name + "=" + string(data), nil }
	if got, err := LoadFile(path, "thing", parse); err != nil || got != path+"=a: 1\n" {
		t.Errorf("LoadFile = %q, %v", got, err)
	}
	got, err := LoadFile(filepath.Join(t.TempDir(), "none.yaml"), "thing", parse)
	if got != "" || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading thing: ") {
		t.Errorf("LoadFile(missing) = %q, %v", got, err)
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		keys string // the "k" of each item handed over, in order
		want string
	}{
		{name: "empty document", doc: ""},
		{name: "null document", doc: "~\n"},
		{name: "null list", doc: "items: ~\n"},
		{
			name: "items, repeats and bad entries",
			doc:  "items:\n  - k: a\n  - 3\n  - k: b\n    x: 1\n  - &r {k: a}\n  - *r\n",
			keys: "a,b,a,a",
			want: "f.yaml:3:5: item must be a mapping\n" +
				"f.yaml:5:5: unknown field \"x\" in item (allowed: k)\n" +
				"f.yaml:6:5: a is already defined on line 2\n" +
				"f.yaml:6:5: a is already defined on line 2",
		},
		{
			name: "bad top level",
			doc:  "item: []\n",
			want: "f.yaml:1:1: unknown field \"item\" in top (allowed: items)",
		},
		{name: "not a list", doc: "items: 1\n", want: "f.yaml:1:8: items must be a list"},
		{name: "syntax", doc: "items: [\n", want: "f.yaml:1: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser("f.yaml")
			seen := Unique[string]{}
			var keys []string
			p.List([]byte(tc.doc), "top", "items", "item", []string{"k"}, func(item *yaml.Node, f map[string]*yaml.Node) {
				k := p.Str(f["k"], "k")
				keys = append(keys, k)
				seen.Add(p, k, item)
			})
			if got := strings.Join(keys, ","); got != tc.keys {
				t.Errorf("items %q, want %q", got, tc.keys)
			}
			got := ""
			if err := p.Err(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestOr(t *testing.T) {
	a, b := &yaml.Node{Line: 1}, &yaml.Node{Line: 2}
	if Or(a, b) != a || Or(nil, b) != b {
		t.Error("Or does not prefer its first node")
	}
}
