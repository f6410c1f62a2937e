package suricata_test

import (
	"encoding/json"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/suricata"
)

// BenchmarkDecode measures representative records (an ET alert with
// metadata, a TCP flow, a DNS v3 response) against the same records
// unmarshalled into map[string]any, the approach the decoder avoids. Run
// with -benchmem for allocs/op.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"alert_recon_nmap_scan", "flow_tcp_established", "dns_v3_response"} {
		in := readCase(b, name)
		b.Run(name, func(b *testing.B) {
			d := suricata.New()
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
		b.Run(name+"/baseline_map", func(b *testing.B) {
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
