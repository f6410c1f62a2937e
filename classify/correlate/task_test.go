package correlate

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/classify/severity"
)

var update = flag.Bool("update", false, "rewrite golden files")

// stage drives a Task as the correlate role does: signals from numbered
// sources, marks, Advance, and the outputs collected.
type stage struct {
	t    testing.TB
	task *Task
	of   int
	pos  map[string]int64
	out  []Output
}

func newStage(t testing.TB, opt Options, of int) *stage {
	return &stage{t: t, task: NewTask(TaskOptions{Tracker: opt, Name: "correlate-0", Of: 1}), of: of, pos: map[string]int64{}}
}

// signal sends sig from source at its next offset.
func (s *stage) signal(source string, sig event.Signal) {
	s.pos[source]++
	s.task.Signal(source, Position{Offset: s.pos[source]}, sig)
	s.collect() // a late signal is folded at once
}

// mark says source has nothing more before w, and advances.
func (s *stage) mark(source string, w time.Time, idle bool) []Output {
	s.task.Mark(eventtime.Mark{Source: source, Of: s.of, Watermark: w, Idle: idle})
	s.task.Advance()
	return s.collect()
}

func (s *stage) flush() []Output {
	s.task.Flush()
	return s.collect()
}

func (s *stage) collect() []Output {
	out := s.task.Outputs()
	s.out = append(s.out, out...)
	return out
}

func closedOf(out []Output) []string {
	var c []string
	for _, o := range out {
		c = append(c, o.Key+":"+o.Summary.Closed)
	}
	return c
}

// Signals published twice by a source (a restart before its commit) are
// folded once; positions are per source.
func TestTaskDropsDuplicates(t *testing.T) {
	st := newStage(t, options(t, 0), 2)
	task := st.task
	for i, p := range []struct {
		source string
		pos    Position
		fold   bool
	}{
		{"p0", Position{1, 0}, true},
		{"p0", Position{2, 0}, true},
		{"p0", Position{2, 1}, true}, // a second signal of record 2
		{"p0", Position{2, 1}, false},
		{"p0", Position{1, 0}, false},
		{"p0", Position{2, 0}, false},
		{"p1", Position{1, 0}, true}, // another source's offsets are its own
		{"p0", Position{3, 0}, true},
		{"p1", Position{1, 0}, false},
	} {
		before := task.Duplicates()
		task.Signal(p.source, p.pos, wipe("203.0.113.50", fmt.Sprintf("10.20.3.%d", i), time.Duration(i)*time.Second))
		if dropped := task.Duplicates() > before; dropped == p.fold {
			t.Errorf("signal %d (%s %+v): dropped %v", i, p.source, p.pos, dropped)
		}
	}
	if task.Duplicates() != 4 || task.Held() != 5 {
		t.Errorf("duplicates %d, held %d; want 4 and 5", task.Duplicates(), task.Held())
	}
	st.mark("p0", t0.Add(time.Hour), true)
	st.mark("p1", t0.Add(time.Hour), true)
	incs := task.Tracker().Incidents()
	if len(incs) != 1 || incs[0].Signals != 5 {
		t.Fatalf("incidents %d, want one of 5 signals", len(incs))
	}
}

// Signals are folded in event-time order whatever order the sources sent
// them in, and nothing is folded before every source was heard.
func TestTaskOrdersAcrossSources(t *testing.T) {
	st := newStage(t, options(t, 0), 2)
	st.signal("p1", wipe("203.0.113.50", "10.20.3.21", 2*time.Minute))
	st.signal("p0", recon("203.0.113.10", "10.20.3.21", time.Minute))
	if out := st.mark("p0", t0.Add(time.Hour), false); len(out) != 0 {
		t.Errorf("%d outputs before every source was heard", len(out))
	}
	out := st.mark("p1", t0.Add(time.Hour), false)
	inc := st.task.Tracker().Incidents()[0]
	// The scan came first in event time: the wipe is a transition.
	if inc.ReconToEffect != time.Minute {
		t.Errorf("transition %s, want 1m: signals folded out of order", inc.ReconToEffect)
	}
	if len(out) != 2 || out[0].Summary.Class != "reconnaissance" || out[1].Summary.Class != "destructive" {
		t.Errorf("outputs %v", closedOf(out))
	}
	for i, o := range out {
		if o.Seq != uint64(i+1) || o.Summary.Version != uint64(i+1) {
			t.Errorf("output %d: seq %d version %d", i, o.Seq, o.Summary.Version)
		}
	}
	// A signal from before the watermark is late: folded at once, counted.
	st.signal("p0", recon("203.0.113.10", "10.20.3.22", 30*time.Minute))
	if st.task.Late() != 1 || st.task.Held() != 0 || inc.Signals != 3 {
		t.Errorf("late %d held %d signals %d; want 1, 0, 3", st.task.Late(), st.task.Held(), inc.Signals)
	}
	// The task's own mark for the next stage.
	m := st.task.Watermark()
	if m.Source != "correlate-0" || m.Of != 1 || !m.Watermark.Equal(t0.Add(time.Hour)) || m.Idle {
		t.Errorf("mark %+v", m)
	}
	st.mark("p0", t0.Add(time.Hour), true)
	st.mark("p1", t0.Add(time.Hour), true)
	if m := st.task.Watermark(); !m.Idle {
		t.Errorf("mark %+v: not idle with every source idle and nothing held", m)
	}
}

// An incident quiet for the policy's close_after closes with a last
// summary at LastSeen+close_after; the next signal opens a new incident.
func TestTaskClosesQuietIncidents(t *testing.T) {
	closeAfter := severity.Default().CloseAfter
	for _, tc := range []struct {
		name string
		// watermark: the watermark passes the quiet period before the
		// next signal comes; otherwise the next signal closes it.
		watermark bool
	}{{"by the watermark", true}, {"by the next signal", false}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStage(t, options(t, 0), 1)
			st.signal("p0", wipe("203.0.113.50", "10.20.3.21", 0))
			first := st.mark("p0", t0.Add(time.Minute), false)
			if len(first) != 1 || first[0].Summary.Closed != "" {
				t.Fatalf("first outputs %v", closedOf(first))
			}
			old := first[0].Summary
			if out := st.mark("p0", t0.Add(closeAfter), false); len(out) != 0 {
				t.Errorf("closed at exactly close_after of quiet: %v", closedOf(out))
			}
			next := closeAfter + time.Hour
			var out []Output
			if tc.watermark {
				out = st.mark("p0", t0.Add(closeAfter+time.Second), false)
				if len(out) != 1 {
					t.Fatalf("outputs %v, want the closing summary", closedOf(out))
				}
				if n := len(st.task.Tracker().Incidents()); n != 0 {
					t.Errorf("%d incidents after closing", n)
				}
			}
			st.signal("p0", wipe("203.0.113.50", "10.20.3.21", next))
			out = append(out, st.mark("p0", t0.Add(next+time.Minute), false)...)
			if got, want := closedOf(out), []string{"actor/ELECTRUM-7:quiet", "actor/ELECTRUM-7:"}; !slices.Equal(got, want) {
				t.Fatalf("outputs %v, want %v", got, want)
			}
			c, n := out[0].Summary, out[1].Summary
			if c.ID != old.ID || !c.Time.Equal(t0.Add(closeAfter)) || !c.LastSeen.Equal(t0) || c.Version != old.Version+1 {
				t.Errorf("closing summary %s v%d at %s (last seen %s); want %s v%d at %s", c.ID, c.Version, c.Time, c.LastSeen, old.ID, old.Version+1, t0.Add(closeAfter))
			}
			if n.ID == old.ID || n.ID != IncidentID("Harbor Bank", t0.Add(next)) || n.Version != 1 || !n.FirstSeen.Equal(t0.Add(next)) || len(n.Evidence) != 1 {
				t.Errorf("new incident %s v%d first seen %s, want a fresh one", n.ID, n.Version, n.FirstSeen)
			}
			if out[1].Seq != out[0].Seq+1 {
				t.Errorf("seq %d then %d", out[0].Seq, out[1].Seq)
			}
		})
	}
}

// A graver actor taking an incident over moves it to another campaign key:
// the old key hears it close ("moved") before the new key hears of it.
func TestTaskMovesBetweenCampaigns(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second string
		want          []string
	}{
		{"unattributed to an actor", "198.18.0.1", "203.0.113.50", []string{"national:", "national:moved", "actor/ELECTRUM-7:"}},
		{"to a graver actor", "198.51.100.7", "203.0.113.50", []string{"actor/CRIMSON-LYNX:", "actor/CRIMSON-LYNX:moved", "actor/ELECTRUM-7:"}},
		{"a lesser actor does not take over", "203.0.113.50", "198.51.100.7", []string{"actor/ELECTRUM-7:", "actor/ELECTRUM-7:"}},
		{"an unattributed source does not take over", "203.0.113.50", "198.18.0.1", []string{"actor/ELECTRUM-7:", "actor/ELECTRUM-7:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStage(t, options(t, 0), 1)
			st.signal("p0", wipe(tc.first, "10.20.3.21", 0))
			st.signal("p0", wipe(tc.second, "10.20.3.22", time.Minute))
			out := st.flush()
			if got := closedOf(out); !slices.Equal(got, tc.want) {
				t.Fatalf("outputs %v, want %v", got, tc.want)
			}
			for i, o := range out {
				if o.Summary.ID != out[0].Summary.ID || o.Summary.Version != uint64(i+1) {
					t.Errorf("output %d: %s v%d", i, o.Summary.ID, o.Summary.Version)
				}
				if o.Key != o.Summary.CampaignKey() && o.Summary.Closed != ClosedMoved {
					t.Errorf("output %d under %q, its key is %q", i, o.Key, o.Summary.CampaignKey())
				}
			}
			// It closes under the key it was last published under.
			st.mark("p0", t0.Add(48*time.Hour), true)
			last := st.out[len(st.out)-1]
			if last.Summary.Closed != ClosedQuiet || last.Key != tc.want[len(tc.want)-1][:strings.Index(tc.want[len(tc.want)-1], ":")] {
				t.Errorf("closed %q under %q", last.Summary.Closed, last.Key)
			}
		})
	}
}

// An evicted incident that was published gets a last summary.
func TestTaskRetiresEvicted(t *testing.T) {
	st := newStage(t, options(t, 1), 1)
	st.signal("p0", wipe("198.18.0.1", "172.16.1.1", 0))
	st.signal("p0", wipe("198.18.0.1", "172.16.2.1", time.Minute))
	out := st.flush()
	if got, want := closedOf(out), []string{"national:", "national:evicted", "national:"}; !slices.Equal(got, want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	if out[1].Summary.Organisation != "unknown 172.16.1.0/24" || !out[1].Summary.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("evicted %s at %s", out[1].Summary.Organisation, out[1].Summary.Time)
	}
}

// Repeats publish nothing new once the evidence is full; a spray of spoofed
// sources publishes a summary per doubling, not per signal, and the
// incident's memory stays bounded.
func TestTaskPublishesMaterialChangesOnly(t *testing.T) {
	t.Run("repeats", func(t *testing.T) {
		st := newStage(t, options(t, 0), 1)
		for i := range 1000 {
			st.signal("p0", wipe("203.0.113.50", "10.20.3.21", time.Duration(i)*time.Second))
		}
		out := st.flush()
		// One summary per evidence item kept (the default cap, 10), then none.
		if len(out) != 10 {
			t.Errorf("%d summaries for 1000 repeats, want 10", len(out))
		}
	})
	t.Run("spray", func(t *testing.T) {
		n, early := 100_000, 10_000
		if raceEnabled || testing.Short() {
			n, early = 20_000, 2_000
		}
		st := newStage(t, options(t, 0), 1)
		rng := rand.New(rand.NewPCG(3, 4))
		var atEarly, bytesEarly int
		for i := range n {
			src := netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
			// A flood of n spoofed sources within a minute: only the
			// source count grows.
			at := time.Duration(i) * (time.Minute / time.Duration(n+1))
			st.signal("p0", flood(src.String(), "10.20.0.80", at))
			if i%1000 == 999 {
				st.mark("p0", t0.Add(at), false)
			}
			if i == early-1 {
				st.flush()
				atEarly, bytesEarly = len(st.out), st.task.Tracker().Stats().Bytes
			}
		}
		st.flush()
		total, b := len(st.out), st.task.Tracker().Stats().Bytes
		// Its sets are capped at MaxDistinct (256) and a summary lists the
		// first 64 clusters, so cluster churn is bounded by the caps, long
		// reached by the early count; the source count is published by
		// doublings, log2(n/early) of them from there on.
		if limit := bits.Len(uint(n/early)) + 1; total-atEarly > limit {
			t.Errorf("%d summaries from %d to %d sources, want at most %d (a summary per doubling)", total-atEarly, early, n, limit)
		}
		if total > 2*256+2*bits.Len(uint(n))+16 {
			t.Errorf("%d summaries for %d spoofed sources", total, n)
		}
		if b > 32<<10 || b != bytesEarly {
			t.Errorf("incident holds %d bytes after %d sources and %d after %d: want bounded, at most 32 KiB", bytesEarly, early, b, n)
		}
		last := st.out[len(st.out)-1].Summary
		if j, _ := json.Marshal(last); len(j) > 8<<10 {
			t.Errorf("summary of %d bytes", len(j))
		}
		if last.Sources < 16384 {
			t.Errorf("last summary counts %d sources", last.Sources)
		}
		t.Logf("%d summaries (%d by %d sources), incident %d bytes", total, atEarly, early, b)
	})
	t.Run("long flood", func(t *testing.T) {
		// A flood signalled every minute for 30 hours from one source: its
		// length is published by doublings of minutes, and once more on
		// reaching the 24 hours the policy's candidacy reads.
		st := newStage(t, options(t, 0), 1)
		for m := range 30 * 60 {
			st.signal("p0", flood("198.18.0.1", "10.20.0.80", time.Duration(m)*time.Minute))
			if m%60 == 59 {
				st.mark("p0", t0.Add(time.Duration(m)*time.Minute), false)
			}
		}
		st.flush()
		out := st.out
		if len(out) > 30 {
			t.Errorf("%d summaries for a 30-hour flood", len(out))
		}
		var day *Summary
		for i := range out {
			if out[i].Summary.LongestDenial >= 24*time.Hour {
				day = &out[i].Summary
				break
			}
		}
		if day == nil || !day.Time.Equal(t0.Add(24*time.Hour)) {
			t.Errorf("the denial reaching 24h was not published when it did: %+v", day)
		}
	})
}

// A reconnaissance-only incident's targets decay in its summaries, down to
// its closing summary a close_after later.
func TestTaskReconDecays(t *testing.T) {
	p := severity.Default()
	st := newStage(t, options(t, 0), 1)
	for i := range 64 {
		st.signal("p0", recon("198.18.0.1", fmt.Sprintf("10.20.1.%d", i), 0))
	}
	st.mark("p0", t0.Add(time.Second), false)
	st.mark("p0", t0.Add(p.CloseAfter+time.Second), true)
	first, last := st.out[0].Summary, st.out[len(st.out)-1].Summary
	if last.Closed != ClosedQuiet || first.Targets != 1 {
		t.Fatalf("first summary %d targets, last closed %q", first.Targets, last.Closed)
	}
	want := int(math.Round(64 * math.Exp2(-float64(p.CloseAfter)/float64(p.ReconHalfLife))))
	if last.Targets != want {
		t.Errorf("closing summary: %d targets, want 64 halved per %s over %s: %d", last.Targets, p.ReconHalfLife, p.CloseAfter, want)
	}
}

// Restoring a task from the state its Changes wrote, part way through,
// gives the same outputs as the task that ran on.
func TestTaskChangesRestore(t *testing.T) {
	opt := options(t, 4)
	seen := map[string]bool{} // closing reasons and late signals the scripts exercised
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			steps := script(rand.New(rand.NewPCG(seed, 99)), 400)
			a := newStage(t, opt, 2)
			state := map[string][]byte{}
			into := func(state map[string][]byte) func(string, []byte) error {
				return func(k string, v []byte) error {
					if v == nil {
						delete(state, k) // possibly never written: a harmless tombstone
						return nil
					}
					state[k] = slices.Clone(v)
					return nil
				}
			}
			apply := into(state)
			half := len(steps) / 2
			for i, s := range steps[:half] {
				s(a)
				if i%37 == 0 { // a commit now and then
					if err := a.task.Changes(apply); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := a.task.Changes(apply); err != nil {
				t.Fatal(err)
			}
			// Nothing changed: nothing to write.
			if err := a.task.Changes(func(k string, _ []byte) error { return fmt.Errorf("wrote %q with no change", k) }); err != nil {
				t.Error(err)
			}
			b := newStage(t, opt, 2)
			if err := b.task.Restore(maps.Clone(state)); err != nil {
				t.Fatal(err)
			}
			stateB := maps.Clone(state)
			b.pos = maps.Clone(a.pos)
			if b.task.Held() != a.task.Held() || len(b.task.Tracker().Incidents()) != len(a.task.Tracker().Incidents()) {
				t.Fatalf("restored %d held, %d incidents; had %d, %d", b.task.Held(), len(b.task.Tracker().Incidents()), a.task.Held(), len(a.task.Tracker().Incidents()))
			}
			a.out = nil
			// The restored task drops what its sources send again.
			for src, n := range a.pos {
				b.task.Signal(src, Position{Offset: n}, wipe("198.18.0.1", "10.20.3.21", 0))
			}
			if b.task.Duplicates() != uint64(len(a.pos)) {
				t.Errorf("restored task folded %d replayed signals", uint64(len(a.pos))-b.task.Duplicates())
			}
			for _, s := range steps[half:] {
				s(a)
				s(b)
			}
			a.flush()
			b.flush()
			ja, jb := outputsJSON(t, a.out), outputsJSON(t, b.out)
			if ja != jb {
				t.Errorf("outputs differ after restore: %s", firstDiff(ja, jb))
			}
			if len(a.out) == 0 {
				t.Error("no outputs after the cut: the case tests nothing")
			}
			if sa, sb := incidentsJSON(t, a.task), incidentsJSON(t, b.task); sa != sb {
				t.Errorf("incidents differ after restore: %s", firstDiff(sa, sb))
			}
			// And the durable state each went on writing agrees.
			if err := a.task.Changes(apply); err != nil {
				t.Fatal(err)
			}
			if err := b.task.Changes(into(stateB)); err != nil {
				t.Fatal(err)
			}
			if ja, jb := stateJSON(t, state), stateJSON(t, stateB); ja != jb {
				t.Errorf("state differs after restore: %s", firstDiff(ja, jb))
			}
			for _, o := range a.out {
				seen[o.Summary.Closed] = true
			}
			seen["late"] = seen["late"] || a.task.Late() > 0
		})
	}
	for _, k := range []string{ClosedQuiet, ClosedEvicted, ClosedMoved, "late"} {
		if !seen[k] {
			t.Errorf("no script after a restore exercised %q", k)
		}
	}
}

// stateJSON renders state as sorted lines key=value.
func stateJSON(t *testing.T, state map[string][]byte) string {
	t.Helper()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(state)) {
		fmt.Fprintf(&b, "%s=%s\n", k, state[k])
	}
	return b.String()
}

// script is a stream of signals and marks from two sources over a few
// organisations and days: scans, intrusions, wipes, floods, attributed and
// not, with quiet gaps (closures), more organisations than the task keeps
// (evictions), actors taking over (moves) and the odd late signal.
func script(rng *rand.Rand, n int) []func(*stage) {
	targets := []string{"10.20.3.21", "10.20.3.22", "10.21.0.9", "10.22.1.1", "10.30.0.80", "10.40.7.1", "172.16.5.5", "172.16.6.6"}
	sources := []string{"203.0.113.50", "192.0.2.50", "198.51.100.7", "198.18.0.1", "198.18.7.7"}
	kinds := []func(string, string, time.Duration) event.Signal{recon, recon, intrude, wipe, flood}
	var steps []func(*stage)
	clock := map[string]time.Duration{"p0": 0, "p1": 0}
	for range n {
		src := fmt.Sprintf("p%d", rng.IntN(2))
		switch r := rng.IntN(10); {
		case r < 7:
			at := clock[src] + time.Duration(rng.IntN(600))*time.Second
			if rng.IntN(30) == 0 {
				at += 30 * time.Hour // a quiet gap
			}
			clock[src] = at
			if rng.IntN(20) == 0 {
				at -= 3 * time.Hour // late
			}
			sig := kinds[rng.IntN(len(kinds))](sources[rng.IntN(len(sources))], targets[rng.IntN(len(targets))], at)
			sig.Evidence = event.Evidence{Topic: "telemetry", Partition: rng.IntN(3), Offset: int64(rng.IntN(1000)), EventTime: sig.Time}
			steps = append(steps, func(s *stage) { s.signal(src, sig) })
		default:
			w, idle := t0.Add(clock[src]), rng.IntN(6) == 0
			steps = append(steps, func(s *stage) { s.mark(src, w, idle) })
		}
	}
	return steps
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d of %d/%d:\n  ran on:   %s\n  restored: %s", i+1, len(la), len(lb), x, y)
		}
	}
	return "no difference"
}

func outputsJSON(t *testing.T, out []Output) string {
	t.Helper()
	var b strings.Builder
	for _, o := range out {
		j, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func incidentsJSON(t *testing.T, task *Task) string {
	t.Helper()
	j, err := json.Marshal(task.Tracker().Incidents())
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

// Restore refuses state it cannot read.
func TestTaskRestoreRejectsBadState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state map[string][]byte
	}{
		{"unknown key", map[string][]byte{"other": []byte("{}")}},
		{"bad incident", map[string][]byte{"incident/x": []byte("[")}},
		{"bad held signal", map[string][]byte{"held/x": []byte("{")}},
		{"bad meta", map[string][]byte{"meta": []byte("1")}},
		{"nameless source", map[string][]byte{"meta": []byte(`{"sources":[{"source":"","of":1,"watermark":"2026-03-02T06:00:00Z"}]}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := NewTask(TaskOptions{}).Restore(tc.state); err == nil {
				t.Error("restored")
			}
		})
	}
}

// The JSON of a summary is the incidents topic's format: compare it with
// testdata/summary.golden.json (go test -update rewrites it).
func TestSummaryGolden(t *testing.T) {
	st := newStage(t, options(t, 0), 1)
	sigs := []event.Signal{
		recon("203.0.113.11", "10.20.3.21", -3*time.Hour),
		recon("203.0.113.11", "10.20.3.22", -3*time.Hour+time.Minute),
		wipe("203.0.113.50", "10.20.3.21", 0),
		wipe("192.0.2.50", "10.20.3.23", 10*time.Minute),
	}
	for i, s := range sigs {
		s.Evidence = event.Evidence{Topic: "telemetry", Partition: i % 2, Offset: int64(100 + i), EventTime: s.Time}
		st.signal("p0", s)
	}
	out := st.flush()
	if len(out) == 0 {
		t.Fatal("no summary")
	}
	got, err := json.MarshalIndent(out[len(out)-1].Summary, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := "testdata/summary.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	// It reads back as the same summary.
	var back Summary
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.MarshalIndent(back, "", "  ")
	if !bytes.Equal(append(again, '\n'), got) {
		t.Errorf("summary does not survive a JSON round trip")
	}
}
