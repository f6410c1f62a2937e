package sketch

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func roundTrip(t testing.TB, d *Distinct) *Distinct {
	t.Helper()
	b := mustMarshal(t, d)
	var got Distinct
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	if again := mustMarshal(t, &got); !bytes.Equal(again, b) {
		t.Fatalf("re-marshal differs:\n first %s\nsecond %s", b, again)
	}
	return &got
}

func TestDistinctJSONRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *Distinct
		form string // a key the encoding must contain
	}{
		{"zero", &Distinct{}, `"bound":64}`},
		{"empty bound 3", NewDistinct(3), `"bound":3}`},
		{"exact", feed(NewDistinct(16), 0, 10), `"values":[`},
		{"exact with odd strings", func() *Distinct {
			d := NewDistinct(8)
			for _, s := range []string{"", "é", "<&>", "\"\\", "\x00", "\xff", "\xfe\xff", "a\xffb"} {
				d.Add(s)
			}
			return d
		}(), `"binary_values":[`},
		{"hll just switched", feed(NewDistinct(4), 0, 5), `"sparse":"`},
		{"hll sparse", feed(NewDistinct(1), 0, 1000), `"sparse":"`},
		{"hll dense", feed(NewDistinct(1), 0, 100_000), `"registers":"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.d)
			if !strings.Contains(string(b), tc.form) {
				t.Errorf("encoding %.200s lacks %s", b, tc.form)
			}
			got := roundTrip(t, tc.d)
			if got.Count() != tc.d.Count() || got.Exact() != tc.d.Exact() {
				t.Errorf("after round trip Count=%d Exact=%v, want %d %v", got.Count(), got.Exact(), tc.d.Count(), tc.d.Exact())
			}
			if tc.d.Exact() {
				want := tc.d.Values()
				if g := got.Values(); !slices.Equal(g, want) {
					t.Errorf("Values() = %q, want %q", g, want)
				}
				if got.Bytes() != tc.d.Bytes() {
					t.Errorf("Bytes() = %d after round trip, want %d", got.Bytes(), tc.d.Bytes())
				}
			}
			// The bound survives: the restored sketch switches at the same point.
			feed(got, 1_000_000, 1_000_000+tc.d.limit())
			feed(tc.d, 1_000_000, 1_000_000+tc.d.limit())
			if !bytes.Equal(mustMarshal(t, got), mustMarshal(t, tc.d)) {
				t.Error("restored sketch diverges from the original after the same Adds")
			}
		})
	}
}

func TestDistinctJSONInStruct(t *testing.T) {
	type incident struct {
		Sources Distinct  `json:"sources"`
		Ports   *Distinct `json:"ports"`
	}
	in := incident{Ports: NewDistinct(4)}
	in.Sources.Add("10.0.0.1")
	in.Ports.Add("443")
	b, err := json.Marshal(in) // Sources is not addressable here
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sources":{"bound":64,"values":["10.0.0.1"]},"ports":{"bound":4,"values":["443"]}}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out incident
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Sources.Has("10.0.0.1") || !out.Ports.Has("443") {
		t.Errorf("decoded %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"sources":null,"ports":null}`), &out); err != nil || out.Ports != nil || !out.Sources.Has("10.0.0.1") {
		t.Errorf("null: err=%v ports=%v sources kept=%v", err, out.Ports, out.Sources.Has("10.0.0.1"))
	}
}

func TestDistinctJSONDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
		n     int
	}{
		{"exact", 64, 50},
		{"sparse", 64, 800},
		{"dense", 64, 20_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := make([]int, tc.n)
			for i := range order {
				order[i] = i
			}
			var first []byte
			for seed := uint64(0); seed < 4; seed++ {
				r := rand.New(rand.NewPCG(seed, seed))
				r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				d := NewDistinct(tc.bound)
				for _, i := range order {
					d.Add(ipv4(i))
					d.Add(ipv4(i / 2)) // duplicates in varying places
				}
				b := mustMarshal(t, d)
				if first == nil {
					first = b
				} else if !bytes.Equal(b, first) {
					t.Fatalf("order %d marshals differently:\n%.300s\n%.300s", seed, b, first)
				}
			}
		})
	}
}

// TestDistinctJSONGolden pins the wire format: snapshots written by one
// version must restore in the next.
func TestDistinctJSONGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		d    *Distinct
	}{
		{"exact.json", feed(NewDistinct(8), 0, 5)},
		{"sparse.json", feed(NewDistinct(8), 0, 40)},
		{"dense.json", feed(NewDistinct(8), 0, 50_000)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			got := append(mustMarshal(t, tc.d), '\n')
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the encoding:\n got %.300s\nwant %.300s", path, got, want)
			}
			var back Distinct
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatal(err)
			}
			if back.Count() != tc.d.Count() {
				t.Errorf("golden Count() = %d, want %d", back.Count(), tc.d.Count())
			}
		})
	}
}

func sparse(entries ...[2]int) string {
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(e[0]))
		b = append(b, byte(e[1]))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func dense(set func(r []byte)) string {
	r := make([]byte, numRegisters)
	if set != nil {
		set(r)
	}
	return base64.StdEncoding.EncodeToString(r)
}

func TestDistinctUnmarshalErrors(t *testing.T) {
	valid := string(mustMarshal(t, feed(NewDistinct(4), 0, 100)))
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", ``, "EOF"},
		{"truncated object", valid[:len(valid)/2], "unexpected EOF"},
		{"trailing data", `{"bound":4}{}`, "trailing data"},
		{"trailing garbage", `{"bound":4} x`, "trailing data"},
		{"not an object", `[1,2]`, "cannot unmarshal array"},
		{"string", `"abc"`, "cannot unmarshal string"},
		{"unknown field", `{"bound":4,"extra":1}`, `unknown field "extra"`},
		{"bound missing", `{}`, "bound 0 outside"},
		{"bound zero", `{"bound":0}`, "bound 0 outside"},
		{"bound negative", `{"bound":-1}`, "bound -1 outside"},
		{"bound too large", `{"bound":4097}`, "bound 4097 outside"},
		{"bound as string", `{"bound":"4"}`, "cannot unmarshal string"},
		{"bound fractional", `{"bound":4.5}`, "cannot unmarshal number 4.5"},
		{"bound overflow", `{"bound":1e30}`, "cannot unmarshal number"},
		{"values above bound", `{"bound":2,"values":["a","b","c"]}`, "3 values exceed bound 2"},
		{"values and binary above bound", `{"bound":2,"values":["a","b"],"binary_values":["/w=="]}`, "3 values exceed bound 2"},
		{"values unsorted", `{"bound":4,"values":["b","a"]}`, "not strictly ascending at index 1"},
		{"values duplicated", `{"bound":4,"values":["a","a"]}`, "not strictly ascending at index 1"},
		{"invalid utf8 folded to duplicates", `{"bound":4,"values":["\ufffd","` + "\xff" + `"]}`, "not strictly ascending"},
		{"values wrong type", `{"bound":4,"values":[1]}`, "cannot unmarshal number"},
		{"values not a list", `{"bound":4,"values":"a"}`, "cannot unmarshal string"},
		{"binary value valid utf8", `{"bound":4,"binary_values":["YQ=="]}`, "valid UTF-8"},
		{"binary values unsorted", `{"bound":4,"binary_values":["/w==","/g=="]}`, "binary values not strictly ascending"},
		{"binary value bad base64", `{"bound":4,"binary_values":["!!"]}`, "illegal base64"},
		{"registers without floor", `{"bound":4,"registers":"` + dense(nil) + `"}`, "registers without a floor"},
		{"sparse without floor", `{"bound":4,"sparse":""}`, "registers without a floor"},
		{"floor negative", `{"bound":4,"floor":-1}`, "negative floor"},
		{"floor too large", `{"bound":4,"floor":8193}`, "floor 8193 above 8192"},
		{"values with floor", `{"bound":4,"floor":5,"values":["a"]}`, "both values and a floor"},
		{"dense and sparse", `{"bound":4,"floor":5,"registers":"` + dense(nil) + `","sparse":""}`, "both dense and sparse"},
		{"dense too short", `{"bound":4,"floor":5,"registers":"AAAA"}`, "3 registers, want 4096"},
		{"dense too long", `{"bound":4,"floor":5,"registers":"` + base64.StdEncoding.EncodeToString(make([]byte, numRegisters+1)) + `"}`, "4097 registers, want 4096"},
		{"dense register too large", `{"bound":4,"floor":5,"registers":"` + dense(func(r []byte) { r[4095] = 54 }) + `"}`, "register 4095 is 54, above 53"},
		{"dense bad base64", `{"bound":4,"floor":5,"registers":"***"}`, "illegal base64"},
		{"dense as a short number list", `{"bound":4,"floor":5,"registers":[0,1]}`, "2 registers, want 4096"},
		{"dense list with a large number", `{"bound":4,"floor":5,"registers":[0,300]}`, "cannot unmarshal number 300"},
		{"dense as an object", `{"bound":4,"floor":5,"registers":{}}`, "cannot unmarshal object"},
		{"sparse truncated entry", `{"bound":4,"floor":5,"sparse":"AAE="}`, "sparse registers of 2 bytes, not a multiple of 3"},
		{"sparse index out of range", `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{4096, 1}) + `"}`, "index 4096, want below 4096"},
		{"sparse index repeated", `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{7, 1}, [2]int{7, 2}) + `"}`, "index 7 not above 7"},
		{"sparse index descending", `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{9, 1}, [2]int{3, 2}) + `"}`, "index 3 not above 9"},
		{"sparse zero register", `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{3, 0}) + `"}`, "register 3 is 0"},
		{"sparse register too large", `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{3, 54}) + `"}`, "register 3 is 54"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := feed(NewDistinct(8), 0, 3)
			before := mustMarshal(t, d)
			err := d.UnmarshalJSON([]byte(tc.in))
			if err == nil {
				t.Fatalf("UnmarshalJSON(%.80s) accepted", tc.in)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "decoding distinct sketch: ") {
				t.Errorf("error %q lacks context", err)
			}
			if after := mustMarshal(t, d); !bytes.Equal(after, before) {
				t.Error("a rejected input changed the Distinct")
			}
		})
	}
}

func TestDistinctUnmarshalAccepts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		count     int
		exact     bool
		remarshal string // "" means the input itself
	}{
		{"null is a no-op", `null`, 3, true, `{"bound":8,"values":["10.0.0.0","10.0.0.1","10.0.0.2"]}`},
		{"empty exact", `{"bound":1}`, 0, true, ""},
		{"empty values list", `{"bound":1,"values":[]}`, 0, true, `{"bound":1}`},
		{"whitespace", " {\"bound\" : 2 ,\n\"values\":[\"a\"]} \n", 1, true, `{"bound":2,"values":["a"]}`},
		{"all-zero registers count the floor", `{"bound":4,"floor":5}`, 5, false, ""},
		{"dense with few registers re-encodes sparse", `{"bound":4,"floor":5,"registers":"` + dense(func(r []byte) { r[1] = 1 }) + `"}`, 5, false, `{"bound":4,"floor":5,"sparse":"` + sparse([2]int{1, 1}) + `"}`},
		{"floor above bound", `{"bound":4,"floor":8192}`, 8192, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := feed(NewDistinct(8), 0, 3)
			if err := d.UnmarshalJSON([]byte(tc.in)); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if d.Count() != tc.count || d.Exact() != tc.exact {
				t.Errorf("Count=%d Exact=%v, want %d %v", d.Count(), d.Exact(), tc.count, tc.exact)
			}
			want := tc.remarshal
			if want == "" {
				want = tc.in
			}
			if got := string(mustMarshal(t, d)); got != want {
				t.Errorf("re-marshal = %s, want %s", got, want)
			}
		})
	}
}

func FuzzUnmarshalDistinct(f *testing.F) {
	for _, d := range []*Distinct{
		{}, feed(NewDistinct(3), 0, 2), feed(NewDistinct(2), 0, 3), feed(NewDistinct(1), 0, 2000),
	} {
		f.Add(mustMarshal(f, d))
	}
	for _, name := range []string{"exact.json", "sparse.json", "dense.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`null`, `{}`, `{"bound":4,"floor":5}`, `{"bound":2,"binary_values":["/w=="]}`,
		`{"bound":4,"floor":5,"sparse":"` + sparse([2]int{1, 53}, [2]int{4095, 1}) + `"}`,
		`{"bound":1,"floor":1,"registers":"` + dense(func(r []byte) {
			for i := range r {
				r[i] = maxRegister
			}
		}) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Distinct
		if err := d.UnmarshalJSON(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		n := d.Count()
		if n < 0 || d.Bytes() <= 0 {
			t.Fatalf("accepted sketch with Count=%d Bytes=%d", n, d.Bytes())
		}
		if d.Exact() && n > d.limit() {
			t.Fatalf("exact sketch holds %d values above bound %d", n, d.limit())
		}
		b := mustMarshal(t, &d)
		var again Distinct
		if err := again.UnmarshalJSON(b); err != nil {
			t.Fatalf("re-marshalled %s rejected: %v", b, err)
		}
		if again.Count() != n || again.Exact() != d.Exact() {
			t.Fatalf("Count %d -> %d, Exact %v -> %v through %s", n, again.Count(), d.Exact(), again.Exact(), b)
		}
		if b2 := mustMarshal(t, &again); !bytes.Equal(b, b2) {
			t.Fatalf("re-marshal not stable:\n%s\n%s", b, b2)
		}
		// An accepted sketch keeps working.
		again.Add("fuzz " + strconv.Itoa(n))
		if again.Count() < n {
			t.Fatalf("Count fell from %d to %d after an Add", n, again.Count())
		}
	})
}
