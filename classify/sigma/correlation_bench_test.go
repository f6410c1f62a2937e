package sigma

import (
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
)

// benchCorrelator feeds evs in a loop, one second apart in event time, to a
// correlator for yml; the windows slide so state stays bounded.
func benchCorrelator(b *testing.B, yml string, evs []*event.Event) {
	rs := compileOne(b, yml, Options{})
	c := rs.NewCorrelator()
	emit := func(event.Signal) {}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := evs[i%len(evs)]
		ev.Timestamp = t0.Add(time.Duration(i) * time.Second)
		c.Observe(ev, event.Evidence{}, emit)
		i++
	}
}

func BenchmarkCorrelator(b *testing.B) {
	abc := steps(step{0, "a", ""}, step{0, "b", ""}, step{0, "c", ""})
	b.Run("event_count", func(b *testing.B) {
		benchCorrelator(b, corrRule("type: event_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {gte: 30}"),
			[]*event.Event{conn(0, "10.0.0.1", "10.0.0.2", 80)})
	})
	b.Run("temporal", func(b *testing.B) {
		benchCorrelator(b, seqRule("type: temporal\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s"), abc)
	})
	b.Run("temporal_ordered", func(b *testing.B) {
		benchCorrelator(b, seqRule("type: temporal_ordered\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s"), abc)
	})
	b.Run("chain", func(b *testing.B) {
		benchCorrelator(b, chainRules, []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(0, "10.0.0.1", "x", 2), conn(0, "10.0.0.1", "x", 3), login(0, "10.0.0.1"),
		})
	})
}

// FuzzCorrelations compiles correlation documents and feeds them events of
// every action the seeds use, in and out of order: nothing may panic.
func FuzzCorrelations(f *testing.F) {
	f.Add([]byte(seqRule("type: temporal_ordered\nrules: [a, b, a]\ngroup-by: [user.name]\ntimespan: 60s")))
	f.Add([]byte(seqRule("type: temporal\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 1m\ncondition: {gte: 2}")))
	f.Add([]byte(chainRules))
	f.Add([]byte(corrRule("type: value_avg\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {field: network.bytes, gt: 1}")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		rs, _, _ := Compile([]File{{Name: "fuzz.yml", Data: data}}, Options{MaxGroups: 4, MaxDistinct: 3})
		c := rs.NewCorrelator()
		for i, sec := range []int{0, 5, 3, 70, 71, 10, 200, 201, 202} {
			for _, ev := range []*event.Event{
				step{float64(sec), []string{"a", "b", "c", "login"}[i%4], []string{"u1", "u2"}[i%2]}.event(),
				conn(float64(sec), "10.0.0.1", "10.0.0.2", i),
			} {
				c.Observe(ev, event.Evidence{}, func(event.Signal) {})
			}
		}
		if st := c.Stats(); st.Groups > 4 || st.Groups < 0 {
			t.Fatalf("groups %d outside 0..4", st.Groups)
		}
	})
}
