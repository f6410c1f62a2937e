package winevt_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/winevt"
)

// BenchmarkDecode measures a Sysmon process-creation record in the
// evtx_dump layout and in Winlogbeat's; run with -benchmem for allocs/op.
// Each record's <name>_unmarshal_map sibling unmarshals it into
// map[string]any, the approach the decoder avoids, for the ratio.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"sysmon_process_creation", "winlogbeat_sysmon_process"} {
		in, err := os.ReadFile(filepath.Join("testdata", name, "input.json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			d := winevt.New()
			var ev event.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if err := d.Decode(in, &ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(name+"_unmarshal_map", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(in, &m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
