package zeek_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/zeek"
)

// BenchmarkDecode measures a conn, a dns and a modbus record, each against
// the baseline the decoders avoid: encoding/json into map[string]any, which
// does no mapping at all. Run with -benchmem.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"conn_udp_dns_sf", "dns_noerror_answers", "modbus_write_single_register"} {
		in, err := os.ReadFile(filepath.Join("testdata", name, "input.json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/zeek", func(b *testing.B) {
			d := zeek.New()
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

// BenchmarkTSV measures the TSV reader over the conn log of Zeek's Modbus
// test baseline, repeated, per row.
func BenchmarkTSV(b *testing.B) {
	in, err := os.ReadFile(filepath.Join("testdata", "tsv", "conn_modbus_baseline", "input.log"))
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat(in, 100)
	rows := len(readAll(b, data))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := zeek.NewTSVReader(bytes.NewReader(data))
		var ev event.Event
		for {
			err := r.Next(&ev)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "records/s")
}
