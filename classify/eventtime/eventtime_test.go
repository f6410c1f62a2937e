package eventtime

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func at(minute int) time.Time { return t0.Add(time.Duration(minute) * time.Minute) }

// run plays a script against o, one command a line, minutes from t0:
//
//	add KEY MIN [late]         hold an item; "late" when Add must report it late
//	mark SRC OF MIN [idle]     a source's mark
//	release [KEY@MIN ...]      Release must give exactly these, in order
//	flush [KEY@MIN ...]        Flush likewise
//	watermark MIN|zero         Watermark() must be this
//	held N                     Held() must be N
//	late N                     Late() must be N
func run(t *testing.T, o *Orderer[string], script string) {
	t.Helper()
	for n, line := range strings.Split(strings.TrimSpace(script), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("line %d %q: %s", n+1, strings.TrimSpace(line), fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "add":
			want := len(f) == 4 && f[3] == "late"
			if got := o.Add(at(atoi(t, f[2])), f[1], f[1]); got != want {
				fail("late %v, want %v", got, want)
			}
		case "mark":
			o.Mark(Mark{Source: f[1], Of: atoi(t, f[2]), Watermark: at(atoi(t, f[3])), Idle: len(f) == 5 && f[4] == "idle"})
		case "release", "flush":
			var got []string
			fn := func(it Item[string]) {
				if it.Key != it.Value {
					fail("item %q carries value %q", it.Key, it.Value)
				}
				got = append(got, fmt.Sprintf("%s@%d", it.Key, int(it.Time.Sub(t0)/time.Minute)))
			}
			if f[0] == "release" {
				o.Release(fn)
			} else {
				o.Flush(fn)
			}
			if !slices.Equal(got, f[1:]) {
				fail("released %v, want %v", got, f[1:])
			}
		case "watermark":
			want := time.Time{}
			if f[1] != "zero" {
				want = at(atoi(t, f[1]))
			}
			if got := o.Watermark(); !got.Equal(want) {
				fail("watermark %s, want %s", got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
		case "held":
			if got := o.Held(); got != atoi(t, f[1]) {
				fail("held %d, want %s", got, f[1])
			}
		case "late":
			if got := o.Late(); got != uint64(atoi(t, f[1])) {
				fail("late %d, want %s", got, f[1])
			}
		default:
			t.Fatalf("line %d: unknown command %q", n+1, f[0])
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	return n
}

func TestOrderer(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"release in time then key order", `
			add b 5
			add a 5
			add c 3
			add d 7
			mark s 1 6
			release c@3 a@5 b@5
			held 1
			watermark 6
			flush d@7
			held 0`},
		{"nothing before every source is heard", `
			mark a 2 10
			add x 1
			release
			watermark zero
			held 1
			mark b 2 10
			release x@1
			watermark 10`},
		{"a larger Of heard later holds back again", `
			mark a 1 10
			add x 1
			add y 20
			release x@1
			mark b 3 30
			watermark 10
			mark a 3 40
			release
			held 1
			mark c 3 25
			release y@20`},
		{"the lowest watermark of the active sources", `
			mark a 2 10
			mark b 2 5
			add x 3
			add y 4
			add z 7
			release x@3 y@4
			watermark 5
			mark b 2 8
			release z@7`},
		{"an item at the watermark waits: its source may send more at that time", `
			mark a 1 4
			add x 5
			mark a 1 5
			release
			held 1
			add w 5
			mark a 1 6
			release w@5 x@5
			late 0`},
		{"an idle source does not hold back", `
			mark a 2 10
			mark b 2 2 idle
			add x 5
			release x@5
			watermark 10`},
		{"an idle source that wakes holds back again", `
			mark a 2 10
			mark b 2 2 idle
			mark b 2 6
			add x 5
			add y 8
			release x@5
			watermark 6`},
		{"all idle releases everything", `
			mark a 2 3 idle
			mark b 2 4 idle
			add y 20
			add x 10
			release x@10 y@20
			held 0
			add z 20 late
			add w 21
			held 1
			late 1`},
		{"a source's watermark never goes back", `
			mark a 1 10
			mark a 1 5
			watermark 10
			add x 7
			release x@7
			mark a 1 2
			watermark 10
			add y 8 late`},
		{"late items are reported and not held", `
			mark a 1 10
			add x 3
			release x@3
			add y 2 late
			add z 9 late
			held 0
			add v 10
			held 1
			late 2
			release
			mark a 1 11
			release v@10`},
		{"flush releases everything in order", `
			add c 9
			add a 1
			add b 1
			flush a@1 b@1 c@9
			held 0
			add d 5 late
			add e 10`},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, New[string](), tc.script) })
	}
}

// A mark that names no source cannot be restored.
func TestRestoreRejectsNamelessSource(t *testing.T) {
	err := New[string]().Restore(State[string]{Sources: []Mark{{Of: 1, Watermark: t0}}})
	if err == nil {
		t.Fatal("a nameless source was restored")
	}
}

// op is one step of a stream fed to an Orderer.
type op struct {
	mark    *Mark
	item    *Item[string]
	release bool
}

// feed applies ops and returns what came out, late items where they arrived.
func feed(o *Orderer[string], ops []op) []string {
	var out []string
	emit := func(it Item[string]) { out = append(out, it.Time.Format(time.RFC3339Nano)+" "+it.Key) }
	for _, p := range ops {
		switch {
		case p.mark != nil:
			o.Mark(*p.mark)
		case p.item != nil:
			if o.Add(p.item.Time, p.item.Key, p.item.Value) {
				emit(*p.item)
			}
		case p.release:
			o.Release(emit)
		}
	}
	return out
}

// stream is n sources each sending items at nondecreasing times (ties
// included) with a mark at its latest time after each; the ops are
// interleaved by rng, keeping each source's own order, with releases
// sprinkled in. It returns the ops and the items sorted as they must come
// out.
func stream(rng *rand.Rand, items []Item[string], n int) []op {
	per := make([][]op, n)
	for _, it := range items {
		src, _, _ := strings.Cut(it.Key, "/")
		i := atoiMust(strings.TrimPrefix(src, "s"))
		per[i] = append(per[i], op{item: &it}, op{mark: &Mark{Source: src, Of: n, Watermark: it.Time}})
	}
	var ops []op
	for {
		var live []int
		for i, p := range per {
			if len(p) > 0 {
				live = append(live, i)
			}
		}
		if len(live) == 0 {
			break
		}
		i := live[rng.IntN(len(live))]
		ops = append(ops, per[i][0])
		per[i] = per[i][1:]
		if rng.IntN(2) == 0 {
			ops = append(ops, op{release: true})
		}
	}
	// The end of the input: every source goes idle.
	for i := range n {
		ops = append(ops, op{mark: &Mark{Source: fmt.Sprintf("s%d", i), Of: n, Watermark: items[len(items)-1].Time, Idle: true}})
	}
	return append(ops, op{release: true})
}

func atoiMust(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// sourceItems gives each of n sources m items at nondecreasing times, with
// ties, in source order (keys "s<i>/<j>").
func sourceItems(rng *rand.Rand, n, m int) []Item[string] {
	var all []Item[string]
	for i := range n {
		tm := t0
		for j := range m {
			tm = tm.Add(time.Duration(rng.IntN(3)) * time.Minute) // 0: a tie
			key := fmt.Sprintf("s%d/%03d", i, j)
			all = append(all, Item[string]{Time: tm, Key: key, Value: key})
		}
	}
	return all
}

func sorted(items []Item[string]) []string {
	s := slices.Clone(items)
	slices.SortFunc(s, compare[string])
	out := make([]string, len(s))
	for i, it := range s {
		out[i] = it.Time.Format(time.RFC3339Nano) + " " + it.Key
	}
	return out
}

// However the sources' records interleave, the Orderer releases the same
// sequence: the items sorted by (time, key), none late.
func TestOrderIsIndependentOfInterleaving(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 1 + rng.IntN(5)
		items := sourceItems(rng, n, 5+rng.IntN(40))
		want := sorted(items)
		for k := range 10 {
			o := New[string]()
			got := feed(o, stream(rng, items, n))
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, interleaving %d (%d sources): released\n%s\nwant\n%s", seed, k, n, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if o.Late() != 0 || o.Held() != 0 {
				t.Fatalf("seed %d, interleaving %d: %d late, %d held", seed, k, o.Late(), o.Held())
			}
		}
	}
}

// Stopping at any point, saving the state through JSON and carrying on
// with a restored Orderer releases what an uninterrupted one does.
func TestStateRestoreRoundTrip(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 11))
		n := 1 + rng.IntN(4)
		ops := stream(rng, sourceItems(rng, n, 30), n)
		want := feed(New[string](), ops)
		for cut := 0; cut <= len(ops); cut += 1 + len(ops)/25 {
			first := New[string]()
			got := feed(first, ops[:cut])
			b, err := json.Marshal(first.State())
			if err != nil {
				t.Fatal(err)
			}
			var st State[string]
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			second := New[string]()
			if err := second.Restore(st); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(second.Sources(), first.Sources()) || !second.Watermark().Equal(first.Watermark()) || second.Held() != first.Held() {
				t.Fatalf("seed %d, cut %d: restored sources %v watermark %s held %d; had %v %s %d", seed, cut,
					second.Sources(), second.Watermark(), second.Held(), first.Sources(), first.Watermark(), first.Held())
			}
			got = append(got, feed(second, ops[cut:])...)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, cut %d of %d: released\n%s\nwant\n%s", seed, cut, len(ops), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}

// State lists the held items in release order and the sources by name.
func TestStateIsOrdered(t *testing.T) {
	o := New[string]()
	o.Mark(Mark{Source: "b", Of: 2, Watermark: at(1)})
	o.Mark(Mark{Source: "a", Of: 2, Watermark: at(2), Idle: true})
	for _, k := range []string{"z@3", "y@1", "x@3", "w@2"} {
		key, m, _ := strings.Cut(k, "@")
		o.Add(at(atoiMust(m)), key, key)
	}
	st := o.State()
	var keys []string
	for _, it := range st.Items {
		keys = append(keys, it.Key)
	}
	if want := []string{"y", "w", "x", "z"}; !slices.Equal(keys, want) {
		t.Errorf("state items %v, want %v", keys, want)
	}
	if len(st.Sources) != 2 || st.Sources[0].Source != "a" || !st.Sources[0].Idle || st.Sources[1].Source != "b" {
		t.Errorf("state sources %+v", st.Sources)
	}
	if o.Held() != 4 {
		t.Errorf("State took items: %d held", o.Held())
	}
}

// HeldChanges puts what was added, deletes what was released after being
// put, and says nothing of what came and went between two calls.
func TestHeldChanges(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	o := New[string]()
	o.Mark(Mark{Source: "a", Of: 1, Watermark: t0})
	changes := func() map[string]string {
		got := map[string]string{}
		if err := o.HeldChanges(func(k string, v []byte) error {
			if v == nil {
				got[k] = "<delete>"
			} else {
				it, err := DecodeItem[string](v)
				if err != nil {
					t.Fatal(err)
				}
				got[k] = it.Value
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	o.Add(t0.Add(time.Minute), "k1", "first")
	o.Add(t0.Add(2*time.Minute), "k2", "second")
	if got := changes(); len(got) != 2 || got["2026-03-02T06:01:00Z/k1"] != "first" || got["2026-03-02T06:02:00Z/k2"] != "second" {
		t.Fatalf("after two adds: %v", got)
	}
	o.Add(t0.Add(90*time.Second), "k3", "passing")
	o.Mark(Mark{Source: "a", Of: 1, Watermark: t0.Add(100 * time.Second)})
	var released []string
	o.Release(func(it Item[string]) { released = append(released, it.Value) })
	if len(released) != 2 || released[0] != "first" || released[1] != "passing" {
		t.Fatalf("released %v", released)
	}
	if got := changes(); len(got) != 1 || got["2026-03-02T06:01:00Z/k1"] != "<delete>" {
		t.Fatalf("after the release: %v, want only the delete of k1 (k3 came and went)", got)
	}
	if got := changes(); len(got) != 0 {
		t.Fatalf("a second call without news: %v", got)
	}
	// Restored items count as written: releasing them deletes them.
	o2 := New[string]()
	if err := o2.Restore(o.State()); err != nil {
		t.Fatal(err)
	}
	o2.Flush(func(Item[string]) {})
	o = o2
	if got := changes(); len(got) != 1 || got["2026-03-02T06:02:00Z/k2"] != "<delete>" {
		t.Fatalf("after restoring and flushing: %v", got)
	}
}
