package sketch

import (
	"strconv"
	"testing"
)

// benchValues are the distinct values the Add benchmarks cycle through,
// built up front so the benchmarks time the set, not string formatting.
func benchValues(n int) []string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = ipv4(i)
	}
	return vs
}

func BenchmarkDistinctAdd(b *testing.B) {
	for _, bc := range []struct {
		name     string
		bound    int
		distinct int
	}{
		{"exact/64", 64, 64},
		{"exact/4096", MaxExactBound, MaxExactBound},
		{"hll/100k", DefaultExactBound, 100_000},
		{"hll/1M", DefaultExactBound, 1_000_000},
	} {
		vs := benchValues(bc.distinct)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var d *Distinct
			i := 0
			for b.Loop() {
				if i == 0 {
					d = NewDistinct(bc.bound) // each pass grows a fresh set to bc.distinct
				}
				d.Add(vs[i])
				if i++; i == len(vs) {
					i = 0
				}
			}
			b.ReportMetric(float64(d.Bytes()), "B/sketch")
		})
	}
}

// BenchmarkMapSetAdd is the baseline: a plain map set growing to the same
// number of distinct values, with no bound on its memory.
func BenchmarkMapSetAdd(b *testing.B) {
	for _, n := range []int{64, MaxExactBound, 100_000, 1_000_000} {
		vs := benchValues(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var m map[string]struct{}
			i := 0
			for b.Loop() {
				if i == 0 {
					m = make(map[string]struct{})
				}
				m[vs[i]] = struct{}{}
				if i++; i == len(vs) {
					i = 0
				}
			}
			_ = len(m)
		})
	}
}

func BenchmarkDistinctCount(b *testing.B) {
	d := feed(NewDistinct(1), 0, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Count()
	}
}

func BenchmarkDistinctMarshalJSON(b *testing.B) {
	d := feed(NewDistinct(1), 0, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
