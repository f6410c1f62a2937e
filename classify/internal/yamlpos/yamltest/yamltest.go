// Package yamltest holds the table runners the tests of the YAML-reading
// classify packages share: invalid files under testdata with the problems
// their errors must name, and fuzz seeds from the same folder.
package yamltest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/internal/yamlpos"
)

// Bad is one invalid file under testdata and the problems its error must
// name, one a line, without the "testdata/" directory in positions.
type Bad struct {
	File string
	Want []string
}

// RunBad loads each case's file with load and checks that it fails with
// positioned errors that name exactly the wanted problems.
func RunBad[T any](t *testing.T, load func(path string) (T, error), cases []Bad) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.File, func(t *testing.T) {
			_, err := load(filepath.Join("testdata", tc.File))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *yamlpos.Error
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not an *Error", err)
			}
			msg := strings.ReplaceAll(err.Error(), "testdata/", "")
			for _, w := range tc.Want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if got := strings.Count(msg, "\n") + 1; got != len(tc.Want) {
				t.Errorf("got %d problems, want %d:\n%s", got, len(tc.Want), msg)
			}
		})
	}
}

// Seed adds every testdata/*.yaml file, then the extra files, to f's corpus.
func Seed(f *testing.F, extra ...string) {
	f.Helper()
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range append(files, extra...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}
