package campaign_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
)

// benchBatch is how many signals a task takes between advances, as a
// consumer's batch.
const benchBatch = 64

// BenchmarkCorrelate measures signals/s through a correlate.Task over the
// determinism scenario, beside two baselines in the same run: the bare
// Tracker.Observe loop (the task's ordering, dedup, closing and summaries
// are the difference) and decoding the same signals from JSON (what the
// role does to every record anyway).
func BenchmarkCorrelate(b *testing.B) {
	sigs := detScenario(7)
	opt := detOptions(b)
	rate := func(b *testing.B) {
		b.ReportMetric(float64(len(sigs)*b.N)/b.Elapsed().Seconds(), "signals/s")
	}
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			task := correlate.NewTask(correlate.TaskOptions{Tracker: opt, Name: "c", Of: 1})
			for i, s := range sigs {
				task.Signal("s", correlate.Position{Offset: int64(i)}, s)
				if i%benchBatch == benchBatch-1 {
					task.Mark(eventtime.Mark{Source: "s", Of: 1, Watermark: s.Time.Add(-detLateness)})
					task.Advance()
					task.Outputs()
				}
			}
			task.Flush()
			task.Outputs()
		}
		rate(b)
	})
	b.Run("tracker-observe", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			tr := correlate.New(opt)
			for _, s := range sigs {
				tr.Observe(s)
			}
		}
		rate(b)
	})
	b.Run("json-unmarshal", func(b *testing.B) {
		raw := make([][]byte, len(sigs))
		for i, s := range sigs {
			v, err := json.Marshal(s)
			if err != nil {
				b.Fatal(err)
			}
			raw[i] = v
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for _, v := range raw {
				var s event.Signal
				if err := json.Unmarshal(v, &s); err != nil {
					b.Fatal(err)
				}
			}
		}
		rate(b)
	})
}

// benchSummaries are the summaries the correlate stage publishes for the
// determinism scenario, in order.
func benchSummaries(b *testing.B) []correlate.Output {
	task := correlate.NewTask(correlate.TaskOptions{Tracker: detOptions(b), Name: "c", Of: 1})
	var out []correlate.Output
	for i, s := range detScenario(7) {
		task.Signal("s", correlate.Position{Offset: int64(i)}, s)
		task.Mark(eventtime.Mark{Source: "s", Of: 1, Watermark: s.Time.Add(-detLateness)})
		task.Advance()
		out = append(out, task.Outputs()...)
	}
	task.Flush()
	return append(out, task.Outputs()...)
}

// BenchmarkCampaign measures summaries/s through a campaign.Task: linking,
// assessing every member whose campaign changed, and the ladder.
func BenchmarkCampaign(b *testing.B) {
	sums := benchSummaries(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		task := campaign.NewTask(detCampOptions())
		for i, o := range sums {
			task.Summary("c", o.Seq, o.Summary)
			if i%benchBatch == benchBatch-1 {
				task.Mark(eventtime.Mark{Source: "c", Of: 1, Watermark: o.Summary.Time})
				task.Advance()
				task.Outputs()
			}
		}
		task.Flush()
		task.Outputs()
	}
	b.ReportMetric(float64(len(sums)*b.N)/b.Elapsed().Seconds(), "summaries/s")
}

// BenchmarkIncidentMemory reports the heap an incident of the correlate
// stage holds: exact-mode (a few sources and targets, counted exactly) and
// sketch-mode (past the exact bound: two HyperLogLog sketches, full sets).
func BenchmarkIncidentMemory(b *testing.B) {
	for _, tc := range []struct {
		name      string
		incidents int
		sources   int // distinct sources (and targets) per incident
	}{
		{"exact", 2000, 8},
		{"sketch", 100, 300},
	} {
		incidents := tc.incidents
		b.Run(tc.name, func(b *testing.B) {
			opt := detOptions(b)
			opt.MaxIncidents = incidents
			var perIncident, estimate float64
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				tr := correlate.New(opt)
				at := detT0
				for k := range incidents {
					// Each incident an unknown /24 of 100.64.0.0/10.
					for s := range tc.sources {
						at = at.Add(time.Millisecond)
						tr.Observe(event.Signal{RuleID: "syn-flood", Class: event.ClassDestructive, Tactics: []string{"TA0040"},
							Techniques: []string{"T1498.001"}, Time: at, Count: 1,
							Source: fmt.Sprintf("%d.%d.%d.%d", 11+s%100, s/100, k%256, 1+s%250),
							Target: fmt.Sprintf("100.%d.%d.%d", 64+k/256, k%256, 1+s%250)})
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				st := tr.Stats()
				if st.Incidents != incidents {
					b.Fatalf("%d incidents, want %d", st.Incidents, incidents)
				}
				perIncident += float64(after.HeapAlloc-before.HeapAlloc) / float64(incidents)
				estimate += float64(st.Bytes) / float64(incidents)
				runtime.KeepAlive(tr)
			}
			b.ReportMetric(perIncident/float64(b.N), "heap-bytes/incident")
			b.ReportMetric(estimate/float64(b.N), "estimated-bytes/incident")
		})
	}
}
