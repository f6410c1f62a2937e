package sketch

import (
	"bytes"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"testing"
	"unsafe"
)

// ipv4 returns the i-th address of 10.0.0.0/8 onwards as a dotted quad: the
// shape of value an attacker spraying spoofed sources produces.
func ipv4(i int) string {
	b := make([]byte, 0, 15)
	b = strconv.AppendInt(b, int64(10+(i>>24)&0xff), 10)
	for _, sh := range []int{16, 8, 0} {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64((i>>sh)&0xff), 10)
	}
	return string(b)
}

func feed(d *Distinct, from, to int) *Distinct {
	for i := from; i < to; i++ {
		d.Add(ipv4(i))
	}
	return d
}

func mustMarshal(t testing.TB, d *Distinct) []byte {
	t.Helper()
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	return b
}

func TestHashIsFNV1aThenFmix64(t *testing.T) {
	for _, s := range []string{"", "a", "10.0.0.1", "T1046", "443", "\xff\x00"} {
		f := fnv.New64a()
		f.Write([]byte(s))
		if got, want := hash64(s), fmix64(f.Sum64()); got != want {
			t.Errorf("hash64(%q) = %#x, want fmix64(fnv1a) = %#x", s, got, want)
		}
	}
}

// TestHashPinned pins hash outputs: if these change, every stored sketch
// would count differently after a restore, so a change must be deliberate.
func TestHashPinned(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0xefd01f60ba992926},
		{"a", 0x82a2a958a9bece5b},
		{"10.0.0.1", 0xc879e56ddc6c5c88},
		{"T1046", 0x46455eebaf61e45b},
		{"443", 0x2ffb77640a39c45d},
	} {
		if got := hash64(tc.in); got != tc.want {
			t.Errorf("hash64(%q) = %#016x, want %#016x", tc.in, got, tc.want)
		}
	}
	if fmix64(0) != 0 {
		t.Errorf("fmix64(0) = %#x, want 0", fmix64(0))
	}
}

func TestNewDistinctBound(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-5, DefaultExactBound},
		{0, DefaultExactBound},
		{1, 1},
		{100, 100},
		{MaxExactBound, MaxExactBound},
		{MaxExactBound + 1, MaxExactBound},
		{math.MaxInt, MaxExactBound},
	} {
		d := NewDistinct(tc.in)
		// The bound shows as the number of values kept exact.
		for i := 0; i < tc.want; i++ {
			d.Add(strconv.Itoa(i))
		}
		if !d.Exact() || d.Count() != tc.want {
			t.Errorf("NewDistinct(%d) after %d values: exact=%v count=%d, want exact", tc.in, tc.want, d.Exact(), d.Count())
		}
		d.Add("one more")
		if d.Exact() {
			t.Errorf("NewDistinct(%d) still exact after %d values", tc.in, tc.want+1)
		}
	}
}

func TestDistinctExact(t *testing.T) {
	var d Distinct // the zero value is usable
	if d.Count() != 0 || !d.Exact() || d.Has("x") || len(d.Values()) != 0 || d.Values() == nil {
		t.Fatalf("zero Distinct: count=%d exact=%v values=%#v", d.Count(), d.Exact(), d.Values())
	}
	for _, tc := range []struct {
		add  string
		want bool
	}{
		{"b", true}, {"a", true}, {"b", false}, {"", true}, {"", false}, {"c", true},
	} {
		if got := d.Add(tc.add); got != tc.want {
			t.Errorf("Add(%q) = %v, want %v", tc.add, got, tc.want)
		}
	}
	if got, want := d.Values(), []string{"", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Values() = %q, want %q", got, want)
	}
	if d.Count() != 4 || !d.Has("a") || d.Has("d") {
		t.Errorf("Count=%d Has(a)=%v Has(d)=%v", d.Count(), d.Has("a"), d.Has("d"))
	}
	vs := d.Values()
	vs[0] = "changed"
	if d.Has("changed") {
		t.Error("Values returned the internal storage")
	}
}

func TestDistinctClonesValues(t *testing.T) {
	buf := []byte("10.0.0.1 and a long tail of decoded message")
	d := NewDistinct(4)
	s := unsafe.String(&buf[0], 8)
	d.Add(s)
	buf[0] = '9' // the caller reuses its buffer
	if got := d.Values(); !slices.Equal(got, []string{"10.0.0.1"}) {
		t.Errorf("Values() = %q after the caller's buffer changed", got)
	}
}

func TestDistinctSwitch(t *testing.T) {
	const k = 8
	d := NewDistinct(k)
	for i := 0; i < k; i++ {
		if !d.Add(ipv4(i)) {
			t.Fatalf("Add(%d) = false while exact", i)
		}
	}
	if !d.Exact() || d.Count() != k {
		t.Fatalf("after %d values: exact=%v count=%d", k, d.Exact(), d.Count())
	}
	if d.Add(ipv4(0)) || !d.Exact() {
		t.Fatal("a repeated value at the bound switched or reported added")
	}
	if !d.Add(ipv4(k)) {
		t.Error("the overflowing Add reported not added")
	}
	if d.Exact() {
		t.Fatal("still exact after bound+1 values")
	}
	if d.Values() != nil || d.Has(ipv4(0)) {
		t.Errorf("HLL mode: Values=%q Has=%v, want nil and false", d.Values(), d.Has(ipv4(0)))
	}
	if got := d.Count(); got != k+1 {
		t.Errorf("Count() = %d right after the switch, want %d", got, k+1)
	}
	// Re-adding any earlier value changes no register.
	for i := 0; i <= k; i++ {
		if d.Add(ipv4(i)) {
			t.Errorf("re-Add(%d) in HLL mode reported a register change", i)
		}
	}
	// Switching is irreversible, and the count never drops below the
	// values known at the switch.
	if d.Exact() || d.Count() < k+1 {
		t.Errorf("exact=%v count=%d after re-adding", d.Exact(), d.Count())
	}
}

func TestDistinctSwitchMatchesDirectHLL(t *testing.T) {
	// Registers depend only on the values, not on when the switch happened.
	a := feed(NewDistinct(1), 0, 5000)
	b := feed(NewDistinct(MaxExactBound), 0, 5000)
	if !slices.Equal(a.regs, b.regs) {
		t.Error("registers differ between bound 1 and bound 4096 for the same values")
	}
}

func TestDistinctAccuracy(t *testing.T) {
	// 4% is 2.5 standard errors (1.04/sqrt(4096) = 1.625%). The hash has no
	// seed, so each fixed data set gives one fixed estimate.
	for _, n := range []int{10_000, 100_000, 1_000_000, 2_000_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			d := feed(NewDistinct(0), 0, n)
			got := d.Count()
			rel := float64(got-n) / float64(n)
			t.Logf("n=%d estimate=%d error=%+.2f%%", n, got, 100*rel)
			if math.Abs(rel) > 0.04 {
				t.Errorf("Count() = %d for %d distinct values: error %+.2f%% beyond 4%%", got, n, 100*rel)
			}
			// Duplicates must not move the estimate.
			feed(d, 0, min(n, 10_000))
			if d.Count() != got {
				t.Errorf("re-adding values moved Count from %d to %d", got, d.Count())
			}
		})
	}
}

func TestDistinctAccuracyTransition(t *testing.T) {
	// Around 2.5 registers per value the classic estimator switches from
	// linear counting to a raw estimate that runs about 3% high there; the
	// estimator used must keep the root-mean-square error near the
	// standard error across many data sets.
	const n, sets = 10_000, 20
	var sq float64
	for s := 0; s < sets; s++ {
		d := feed(NewDistinct(0), s*n, (s+1)*n)
		rel := float64(d.Count()-n) / float64(n)
		sq += rel * rel
	}
	rms := math.Sqrt(sq / sets)
	t.Logf("rms error over %d sets of %d: %.2f%%", sets, n, 100*rms)
	if rms > 0.025 {
		t.Errorf("rms error %.2f%% at %d values, want at most 2.5%%", 100*rms, n)
	}
}

func TestDistinctSmallCountsInHLL(t *testing.T) {
	// Just past the bound, the estimate must agree with the truth closely:
	// linear counting is nearly exact while most registers are zero.
	for _, n := range []int{2, 10, 100, 1000} {
		d := feed(NewDistinct(1), 0, n)
		if got := d.Count(); math.Abs(float64(got-n)) > math.Max(1, 0.02*float64(n)) {
			t.Errorf("n=%d: Count() = %d", n, got)
		}
	}
}

func TestDistinctMemory(t *testing.T) {
	d := feed(NewDistinct(MaxExactBound), 0, 2_000_000)
	if got := d.Bytes(); got >= 5*1024 {
		t.Errorf("Bytes() = %d after 2,000,000 distinct IPv4 strings, want under 5 KiB", got)
	} else {
		t.Logf("Bytes() = %d after 2,000,000 distinct IPv4 strings", got)
	}
	if got := int(unsafe.Sizeof(Distinct{})); got != distinctBytes {
		t.Errorf("unsafe.Sizeof(Distinct{}) = %d, distinctBytes = %d", got, distinctBytes)
	}
}

func TestDistinctBytesGrowsWhileExact(t *testing.T) {
	d := NewDistinct(100)
	prev := d.Bytes()
	for i := 0; i < 100; i++ {
		d.Add(ipv4(i))
		if b := d.Bytes(); b <= prev {
			t.Fatalf("Bytes() = %d after %d values, was %d", b, i+1, prev)
		} else {
			prev = b
		}
	}
	if d.Add(ipv4(0)); d.Bytes() != prev {
		t.Errorf("a duplicate changed Bytes from %d to %d", prev, d.Bytes())
	}
	var nilD *Distinct
	if nilD.Bytes() != 0 || nilD.Count() != 0 || !nilD.Exact() || nilD.Has("x") {
		t.Error("nil *Distinct is not empty")
	}
}

func TestDistinctMerge(t *testing.T) {
	// Every case merges a (values [a0,a1)) with b (values [b0,b1)) and
	// compares with one Distinct fed the union directly.
	for _, tc := range []struct {
		name           string
		boundA, boundB int
		a0, a1, b0, b1 int
		wantExact      bool
	}{
		{"exact+exact fits", 10, 10, 0, 4, 2, 8, true},
		{"exact+exact at bound", 8, 8, 0, 4, 4, 8, true},
		{"exact+exact overflows", 8, 8, 0, 5, 4, 9, false},
		{"exact+exact overflows small bound of a", 4, 64, 0, 2, 2, 40, false},
		{"exact+hll", 64, 16, 0, 10, 5, 5000, false},
		{"hll+exact", 16, 64, 0, 5000, 4990, 5030, false},
		{"hll+hll overlapping", 64, 64, 0, 60_000, 40_000, 100_000, false},
		{"empty+hll", 64, 64, 0, 0, 0, 1000, false},
		{"hll+empty", 64, 64, 0, 1000, 0, 0, false},
		{"empty+empty", 64, 64, 0, 0, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := feed(NewDistinct(tc.boundA), tc.a0, tc.a1)
			b := feed(NewDistinct(tc.boundB), tc.b0, tc.b1)
			bBefore := mustMarshal(t, b)
			a.Merge(b)
			if got := mustMarshal(t, b); !bytes.Equal(got, bBefore) {
				t.Error("Merge changed its argument")
			}
			union := feed(NewDistinct(tc.boundA), min(tc.a0, tc.b0), max(tc.a1, tc.b1))
			if tc.a1 <= tc.a0 {
				union = feed(NewDistinct(tc.boundA), tc.b0, tc.b1)
			} else if tc.b1 <= tc.b0 {
				union = feed(NewDistinct(tc.boundA), tc.a0, tc.a1)
			}
			if a.Exact() != tc.wantExact {
				t.Fatalf("Exact() = %v after merge, want %v", a.Exact(), tc.wantExact)
			}
			if tc.wantExact {
				if !slices.Equal(a.Values(), union.Values()) {
					t.Errorf("Values() = %q, want %q", a.Values(), union.Values())
				}
				return
			}
			// The union's registers do not depend on how it was built.
			if !slices.Equal(a.regs, union.regs) {
				t.Error("merged registers differ from the registers of the union")
			}
			truth := max(tc.a1, tc.b1) - min(tc.a0, tc.b0)
			if rel := math.Abs(float64(a.Count()-truth)) / float64(truth); rel > 0.04 {
				t.Errorf("Count() = %d, truth %d", a.Count(), truth)
			}
		})
	}
}

func TestDistinctMergeOverflowFloor(t *testing.T) {
	// Two disjoint exact sets that overflow: the union size is known for
	// certain at the switch and the count must not fall below it.
	a := feed(NewDistinct(50), 0, 50)
	b := feed(NewDistinct(50), 50, 100)
	a.Merge(b)
	if a.Exact() || a.Count() < 100 {
		t.Errorf("exact=%v count=%d, want HLL with count >= 100", a.Exact(), a.Count())
	}
}

func TestDistinctMergeNoops(t *testing.T) {
	a := feed(NewDistinct(10), 0, 5)
	before := mustMarshal(t, a)
	a.Merge(nil)
	a.Merge(a)
	if got := mustMarshal(t, a); !bytes.Equal(got, before) {
		t.Errorf("Merge(nil) or self-merge changed %s to %s", before, got)
	}
	h := feed(NewDistinct(1), 0, 500)
	before = mustMarshal(t, h)
	h.Merge(h)
	if got := mustMarshal(t, h); !bytes.Equal(got, before) {
		t.Error("self-merge in HLL mode changed the sketch")
	}
}

func TestEstimateEdges(t *testing.T) {
	regs := make([]uint8, numRegisters)
	if got := estimate(regs); got != 0 {
		t.Errorf("estimate(all zero) = %v, want 0", got)
	}
	for i := range regs {
		regs[i] = maxRegister
	}
	d := &Distinct{regs: regs, floor: 1}
	if got := d.Count(); got != maxEstimate {
		t.Errorf("Count() of saturated registers = %d, want the cap %d", got, maxEstimate)
	}
}
