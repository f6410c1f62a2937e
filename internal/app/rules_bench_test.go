package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/stream/decode"
)

// BenchmarkWindowsProcessCreation decodes a Sysmon process creation from
// SigmaHQ's regression data and, in the second case, also matches it
// against every public Windows rule, so the cost of the rules reads as a
// ratio to decoding alone in the same run.
func BenchmarkWindowsProcessCreation(b *testing.B) {
	root := filepath.Join("..", "..", "..", "shared", "data", "sigma")
	record := firstProcessCreation(b, root)
	var files []sigma.File
	_ = filepath.WalkDir(filepath.Join(root, "rules"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), "product: windows") {
			files = append(files, sigma.File{Name: p, Data: data})
		}
		return nil
	})
	rs, _, _ := sigma.Compile(files, sigma.Options{})
	reg := decode.Default(0)
	var ev event.Event
	b.Run("decode-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := reg.Decode("winevt", record, &ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-and-rules", func(b *testing.B) {
		signals := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := reg.Decode("winevt", record, &ev); err != nil {
				b.Fatal(err)
			}
			rs.Match(&ev, event.Evidence{}, func(event.Signal) { signals++ })
		}
		if signals == 0 {
			b.Fatal("no rule fired on the regression event")
		}
		b.ReportMetric(float64(rs.Len()), "rules")
	})
}

// firstProcessCreation finds a Sysmon process creation record in the
// regression data.
func firstProcessCreation(b *testing.B, root string) []byte {
	var found []byte
	_ = filepath.WalkDir(filepath.Join(root, "regression_data", "rules", "windows", "process_creation"), func(p string, d fs.DirEntry, err error) error {
		if found != nil || err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Count(string(data), `"EventID"`) == 1 {
			found = data
		}
		return nil
	})
	if found == nil {
		b.Skipf("SigmaHQ regression data not present under %s", root)
	}
	return found
}
