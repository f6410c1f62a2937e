package sigma

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPublicCorpus compiles the public SigmaHQ snapshot: it must not panic
// and must compile most rules. Rejections are counted by reason.
func TestPublicCorpus(t *testing.T) {
	root, err := filepath.Abs("../../../shared/data/sigma")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "rules")); err != nil {
		t.Skipf("public Sigma corpus not present at %s: %v", root, err)
	}
	var files []File
	for _, dir := range []string{"rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if dir != "rules" && errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files = append(files, File{Name: rel, Data: b})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, warns, err := Compile(files, Options{})
	reasons := map[string]int{}
	rejected := map[string]bool{}
	var joined interface{ Unwrap() []error }
	if err != nil && errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			var re *RuleError
			if !errors.As(e, &re) {
				t.Fatalf("error is not a *RuleError: %v", e)
			}
			rejected[re.File+"\x00"+re.RuleID] = true
			reasons[reason(re)]++
		}
	}
	total := rs.Len() + len(rejected)
	t.Logf("public corpus: %d files, %d rules: %d compiled (%.1f%%), %d rejected, %d warnings",
		len(files), total, rs.Len(), 100*float64(rs.Len())/float64(total), len(rejected), len(warns))
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return reasons[b] - reasons[a] })
	for _, k := range keys {
		t.Logf("  %5d  %s", reasons[k], k)
	}
	if rs.Len() < total*3/4 {
		t.Errorf("only %d of %d rules compiled; want at least three quarters", rs.Len(), total)
	}
}

// reason reduces an error to its kind and the first words of its message.
func reason(re *RuleError) string {
	for _, k := range []error{ErrSyntax, ErrUnsupported, ErrPlaceholder, ErrRegexp, ErrReference, ErrDuplicate, ErrInvalid} {
		if errors.Is(re, k) {
			msg := strings.TrimPrefix(re.Err.Error(), k.Error()+": ")
			if k == ErrPlaceholder {
				return k.Error()
			}
			if i := strings.IndexAny(msg, "\"("); i > 0 && k != ErrUnsupported {
				msg = msg[:i]
			}
			if k == ErrRegexp {
				msg = msg[:min(len(msg), 60)]
			}
			return k.Error() + ": " + strings.TrimSpace(msg)
		}
	}
	return re.Err.Error()
}
