package yamlpos

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestErrorString(t *testing.T) {
	inner := errors.New("boom")
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Column: 7, Err: inner}, "f.yaml:3:7: boom"},
		{Error{File: "f.yaml", Line: 3, Err: inner}, "f.yaml:3: boom"},
		{Error{File: "f.yaml", Err: inner}, "f.yaml: boom"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.e, inner) {
			t.Errorf("%q does not unwrap to its cause", tc.want)
		}
	}
}

// check parses doc, runs fn on its root and returns the joined error text.
func check(t *testing.T, doc string, fn func(p *Parser, root *yaml.Node)) string {
	t.Helper()
	p := NewParser("f.yaml")
	root := p.Root([]byte(doc))
	if root != nil {
		fn(p, root)
	}
	if err := p.Err(); err != nil {
		return err.Error()
	}
	return ""
}

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		fn   func(p *Parser, root *yaml.Node)
		want string
	}{
		{
			name: "syntax error keeps the line",
			doc:  "a: 1\nb: 2\n  c: 3\n",
			fn:   func(*Parser, *yaml.Node) {},
			want: "f.yaml:3: mapping values are not allowed in this context",
		},
		{
			name: "not a mapping",
			doc:  "- 1\n",
			fn:   func(p *Parser, n *yaml.Node) { p.Fields(n, "top", "a") },
			want: "f.yaml:1:1: top must be a mapping",
		},
		{
			name: "unknown and repeated keys, sorted by position",
			doc:  "b: 1\na: 1\na: 2\n",
			fn:   func(p *Parser, n *yaml.Node) { p.Fields(n, "top", "a") },
			want: "f.yaml:1:1: unknown field \"b\" in top (allowed: a)\n" +
				"f.yaml:3:1: field \"a\" repeated in top",
		},
		{
			name: "aliases are followed",
			doc:  "a: &x 5\nb: *x\n",
			fn: func(p *Parser, n *yaml.Node) {
				if v, ok := p.Integer(p.Fields(n, "top", "a", "b")["b"], "b"); !ok || v != 5 {
					p.Errorf(n, "b = %d, %v", v, ok)
				}
			},
		},
		{
			name: "not a list",
			doc:  "a: 1\n",
			fn:   func(p *Parser, n *yaml.Node) { p.Seq(p.Fields(n, "top", "a")["a"], "a") },
			want: "f.yaml:1:4: a must be a list",
		},
		{
			name: "null list is empty",
			doc:  "a: ~\n",
			fn: func(p *Parser, n *yaml.Node) {
				if got := p.Seq(p.Fields(n, "top", "a")["a"], "a"); got != nil {
					p.Errorf(n, "got %d items", len(got))
				}
			},
		},
		{
			name: "string",
			doc:  "a: [x]\nb: '  y '\n",
			fn: func(p *Parser, n *yaml.Node) {
				f := p.Fields(n, "top", "a", "b")
				p.Str(f["a"], "a")
				if got := p.Str(f["b"], "b"); got != "y" {
					p.Errorf(n, "b = %q", got)
				}
			},
			want: "f.yaml:1:4: a must be a string",
		},
		{
			name: "integer and number",
			doc:  "a: 1.5\nb: x\nc: 2\n",
			fn: func(p *Parser, n *yaml.Node) {
				f := p.Fields(n, "top", "a", "b", "c")
				p.Integer(f["a"], "a")
				p.Number(f["b"], "b")
				if v, ok := p.Number(f["c"], "c"); !ok || v != 2 {
					p.Errorf(n, "c = %g, %v", v, ok)
				}
			},
			want: "f.yaml:1:4: a must be an integer, got \"1.5\"\n" +
				"f.yaml:2:4: b must be a number, got \"x\"",
		},
		{
			name: "duration",
			doc:  "a: 90m\nb: soon\nc: [1]\n",
			fn: func(p *Parser, n *yaml.Node) {
				f := p.Fields(n, "top", "a", "b", "c")
				if d, ok := p.Duration(f["a"], "a"); !ok || d != 90*time.Minute {
					p.Errorf(n, "a = %v, %v", d, ok)
				}
				p.Duration(f["b"], "b")
				p.Duration(f["c"], "c")
			},
			want: "f.yaml:2:4: b must be a duration such as 1h or 30m, got \"soon\"\n" +
				"f.yaml:3:4: c must be a duration such as 1h or 30m",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(t, tc.doc, tc.fn); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestNumErrorsAndEmpty(t *testing.T) {
	p := NewParser("f.yaml")
	if root := p.Root(nil); root != nil {
		t.Fatalf("empty document gave a root %v", root)
	}
	if p.NumErrors() != 0 || p.Err() != nil {
		t.Fatalf("empty document recorded %v", p.Err())
	}
	p.Errorf(nil, "no position")
	if p.NumErrors() != 1 {
		t.Fatalf("NumErrors = %d, want 1", p.NumErrors())
	}
	var pe *Error
	if err := p.Err(); !errors.As(err, &pe) || pe.Line != 0 || !strings.HasSuffix(err.Error(), "f.yaml: no position") {
		t.Fatalf("Err() = %v", err)
	}
}
