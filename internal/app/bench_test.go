package app

import (
	"github.com/casus-sec/casus/classify/campaign"
	"runtime"
	"testing"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/pipeline"
)

// The pipeline benchmarks run the bundled scenario (10,000 benign records
// plus the attack) through the in-process pipeline, and through the decoder
// alone as the baseline of the same run: compare events/s and allocs/event
// between the two rather than across machines.
//
//	go test -run '^$' -bench 'Scenario' -benchmem ./internal/app
func scenarioRecords(b *testing.B) []scenario.Record {
	b.Helper()
	return scenario.Generate(scenario.Config{Benign: 10000})
}

func BenchmarkScenarioDecodeOnly(b *testing.B) {
	recs := scenarioRecords(b)
	dec := decode.Default(0)
	var ev event.Event
	perEvent := allocsPerEvent(len(recs), func() {
		for _, r := range recs {
			_ = dec.Decode("ecs", r.Value, &ev)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range recs {
			if err := dec.Decode("ecs", r.Value, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	report(b, len(recs))
	b.ReportMetric(perEvent, "allocs/event")
}

func BenchmarkScenarioPipeline(b *testing.B) {
	recs := scenarioRecords(b)
	know, err := ScenarioKnowledge()
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Defaults()
	dec := decode.Default(0)
	var res pipeline.Result
	escalations := 0
	pass := func() int {
		p, err := pipeline.New(pipelineOptions(know, dec, nil))
		if err != nil {
			b.Fatal(err)
		}
		chain := campaign.NewChain(correlateOptions(cfg, know), campaignOptions(cfg, know), cfg.AllowedLateness)
		n := 0
		for j, r := range recs {
			p.Process(pipeline.Record{Topic: "telemetry", Offset: int64(j), Value: r.Value, Format: "ecs"}, &res)
			for _, s := range res.Signals {
				chain.Signal(s)
			}
			n += len(chain.Tick(res.EventTime))
		}
		return n + len(chain.Flush())
	}
	perEvent := allocsPerEvent(len(recs), func() { pass() })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		escalations = pass()
	}
	if escalations == 0 {
		b.Fatal("the scenario escalated nothing")
	}
	report(b, len(recs))
	b.ReportMetric(perEvent, "allocs/event")
}

func report(b *testing.B, records int) {
	events := float64(b.N * records)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
}

// allocsPerEvent measures the mallocs of one pass over the records.
// It returns the figure for b.ReportMetric after the timed loop, because
// ResetTimer drops metrics reported before it.
func allocsPerEvent(records int, pass func()) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pass()
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(records)
}
