package pipeline

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/stream/decode"
)

func newPipeline(t *testing.T, reg prometheus.Registerer) *Pipeline {
	t.Helper()
	rs, _, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Decoders: decode.Default(1024), Rules: rs, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcess(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newPipeline(t, reg)
	var res Result
	recTime := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		value   string
		dead    decode.Reason
		signals int
	}{
		{"benign", `{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"},"host":{"name":"ws1"},"process":{"name":"chrome.exe","command_line":"chrome.exe"}}`, "", 0},
		{"shadow copies deleted, no timestamp", `{"event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","executable":"C:\\Windows\\System32\\vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`, "", 1},
		{"truncated", `{"event":`, decode.ReasonMalformed, 0},
		{"too large", `{"m":"` + strings.Repeat("x", 2000) + `"}`, decode.ReasonTooLarge, 0},
		{"empty", ``, decode.ReasonEmpty, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Process(Record{Topic: "t", Value: []byte(tc.value), Time: recTime, Format: "ecs"}, &res)
			if tc.dead != "" {
				if res.Dead == nil || res.Dead.Reason != tc.dead {
					t.Fatalf("dead letter %+v, want reason %s", res.Dead, tc.dead)
				}
				return
			}
			if res.Dead != nil {
				t.Fatalf("unexpected dead letter: %v", res.Dead.Err)
			}
			if len(res.Signals) != tc.signals {
				t.Fatalf("%d signals, want %d", len(res.Signals), tc.signals)
			}
			for _, s := range res.Signals {
				if !s.Time.Equal(recTime) {
					t.Errorf("signal time %s, want the record's time %s when the event has none", s.Time, recTime)
				}
			}
		})
	}
	if n := testutil.ToFloat64(p.m.timestampFallbacks.WithLabelValues("t", "missing")); n != 1 {
		t.Errorf("timestamp fallbacks %v, want 1", n)
	}
	if n := testutil.ToFloat64(p.m.decodeFailures.WithLabelValues("t", "too_large")); n != 1 {
		t.Errorf("too_large failures %v, want 1", n)
	}
	if n := testutil.ToFloat64(p.m.consumed.WithLabelValues("t")); n != 5 {
		t.Errorf("consumed %v, want 5", n)
	}
	if n := testutil.ToFloat64(p.m.signals.WithLabelValues("destructive", "high")); n != 1 {
		t.Errorf("destructive/high signals %v, want 1", n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("registry: %v", err)
	}
}

// Close gives the pipeline's incidents back to the gauge, so replacing the
// pipeline after a new assignment does not inflate incidents_open.
func TestCloseReleasesGauges(t *testing.T) {
	p := newPipeline(t, nil)
	var res Result
	p.Process(Record{Topic: "t", Format: "ecs", Value: []byte(`{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`)}, &res)
	open := func() float64 {
		var sum float64
		for lvl := 0; lvl <= 5; lvl++ {
			sum += testutil.ToFloat64(p.m.incidentsOpen.WithLabelValues(strconv.Itoa(lvl)))
		}
		return sum
	}
	if open() != 1 {
		t.Fatalf("incidents_open %v after one incident, want 1", open())
	}
	p.Close()
	if open() != 0 {
		t.Errorf("incidents_open %v after Close, want 0", open())
	}
}

func TestImplausibleEventTimes(t *testing.T) {
	recTime := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	shadow := func(ts string) string {
		stamp := ""
		if ts != "" {
			stamp = `"@timestamp":"` + ts + `",`
		}
		return `{` + stamp + `"event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`
	}
	for _, tc := range []struct {
		name    string
		ts      string
		record  time.Time
		want    time.Time
		reason  string
		deadFor decode.Reason
	}{
		{"plausible", "2026-03-02T07:59:00Z", recTime, time.Date(2026, 3, 2, 7, 59, 0, 0, time.UTC), "", ""},
		{"an old but plausible event is kept", "2025-01-01T00:00:00Z", recTime, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "", ""},
		{"dead sensor clock", "1970-01-01T00:00:05Z", recTime, recTime, "implausible", ""},
		{"year 9999", "9999-12-31T23:59:59Z", recTime, recTime, "implausible", ""},
		{"a day ahead of its record", "2026-03-03T08:00:00Z", recTime, recTime, "future", ""},
		{"no time and no record time", "", time.Time{}, time.Time{}, "", decode.ReasonMissingField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t, nil)
			var res Result
			p.Process(Record{Topic: "t", Value: []byte(shadow(tc.ts)), Time: tc.record, Format: "ecs"}, &res)
			if tc.deadFor != "" {
				if res.Dead == nil || res.Dead.Reason != tc.deadFor {
					t.Fatalf("dead letter %+v, want %s", res.Dead, tc.deadFor)
				}
				return
			}
			if res.Dead != nil || len(res.Signals) != 1 {
				t.Fatalf("dead %v, %d signals", res.Dead, len(res.Signals))
			}
			if got := res.Signals[0].Time; !got.Equal(tc.want) {
				t.Errorf("signal time %s, want %s", got, tc.want)
			}
			if tc.reason != "" {
				if n := testutil.ToFloat64(p.m.timestampFallbacks.WithLabelValues("t", tc.reason)); n != 1 {
					t.Errorf("fallbacks{reason=%s} = %v", tc.reason, n)
				}
			}
		})
	}
	// Without a record time the latest plausible event time stands in.
	p := newPipeline(t, nil)
	var res Result
	p.Process(Record{Topic: "t", Value: []byte(shadow("2026-03-02T06:00:00Z")), Format: "ecs"}, &res)
	p.Process(Record{Topic: "t", Value: []byte(shadow("2200-06-01T00:00:00Z")), Format: "ecs"}, &res)
	if res.Dead != nil || len(res.Signals) != 1 || !res.Signals[0].Time.Equal(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("offline far-future event: dead %v, signals %v", res.Dead, res.Signals)
	}
}

// A replayed record changes state but is not counted again.
func TestReplayIsNotCountedTwice(t *testing.T) {
	p := newPipeline(t, nil)
	var res Result
	rec := Record{Topic: "t", Format: "ecs", Value: []byte(`{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`)}
	p.Replay(rec, &res)
	if len(res.Signals) != 1 {
		t.Fatalf("replay produced %d signals", len(res.Signals))
	}
	if n := testutil.ToFloat64(p.m.consumed.WithLabelValues("t")); n != 0 {
		t.Errorf("replay counted as consumed: %v", n)
	}
	if n := testutil.ToFloat64(p.m.signals.WithLabelValues("destructive", "high")); n != 0 {
		t.Errorf("replay counted its signal: %v", n)
	}
	var open float64
	for lvl := 0; lvl <= 5; lvl++ {
		open += testutil.ToFloat64(p.m.incidentsOpen.WithLabelValues(strconv.Itoa(lvl)))
	}
	if open != 1 {
		t.Errorf("incidents_open %v after replay, want 1: the state is real", open)
	}
}
