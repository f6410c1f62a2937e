package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRules compiles each testdata/*.bad.yml and checks that the error
// contains every "# want: " line of the file, with file:line:column.
func TestBadRules(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			_, _, cerr := Compile([]File{{Name: filepath.Base(p), Data: b}}, Options{})
			if cerr == nil {
				t.Fatal("compiled without error")
			}
			var wants []string
			for _, l := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			for _, w := range wants {
				if !strings.Contains(cerr.Error(), w) {
					t.Errorf("error lacks %q; got:\n%v", w, cerr)
				}
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(cerr, &joined) {
				t.Fatalf("error is not joined: %T", cerr)
			}
			for _, e := range joined.Unwrap() {
				var re *RuleError
				if !errors.As(e, &re) || re.File != filepath.Base(p) || re.Line == 0 {
					t.Errorf("not a positioned *RuleError: %#v", e)
				}
			}
			if n := len(joined.Unwrap()); n < len(wants)-1 {
				t.Errorf("%d errors for %d wants; every problem must be reported", n, len(wants))
			}
		})
	}
}
