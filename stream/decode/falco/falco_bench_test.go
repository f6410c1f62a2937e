package falco_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/falco"
)

// BenchmarkDecode measures representative records, each beside the
// baseline the decoder avoids: encoding/json into map[string]any, which
// maps nothing yet. Run with -benchmem; compare ns/op of the pairs.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"run_shell_untrusted", "outbound_c2_connect", "falcosidekick_forwarded"} {
		in, err := os.ReadFile(filepath.Join("testdata", name, "input.json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/falco", func(b *testing.B) {
			d := falco.New()
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
		b.Run(name+"/map_baseline", func(b *testing.B) {
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
