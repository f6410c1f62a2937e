package pipeline

import (
	"io/fs"
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

// Close gives the pipeline's correlation groups back to the gauge, so
// replacing the pipeline after a new assignment does not inflate it.
func TestCloseReleasesGauges(t *testing.T) {
	p := newPipeline(t, nil)
	var res Result
	for port := 1; port < 5; port++ {
		p.Process(Record{Topic: "t", Format: "ecs", Value: []byte(`{"@timestamp":"2026-03-02T08:00:02Z","event":{"category":"network"},"source":{"ip":"192.0.2.9"},"destination":{"ip":"10.0.0.1","port":` + strconv.Itoa(port) + `},"network":{"transport":"tcp"}}`)}, &res)
	}
	if g := testutil.ToFloat64(p.m.StateEntries.WithLabelValues("correlation_group")); g == 0 {
		t.Fatal("no correlation group after four connection attempts")
	}
	p.Close()
	if g := testutil.ToFloat64(p.m.StateEntries.WithLabelValues("correlation_group")); g != 0 {
		t.Errorf("correlation_group entries %v after Close, want 0", g)
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
		{"dead sensor clock", "1970-01-01T00:00:05Z", recTime, time.Time{}, "", decode.ReasonWrongType},
		{"year 9999", "9999-12-31T23:59:59Z", recTime, time.Time{}, "", decode.ReasonWrongType},
		{"year 2200", "2200-01-01T00:00:00Z", recTime, time.Time{}, "", decode.ReasonWrongType},
		{"the last plausible year", "2199-12-31T23:59:59Z", time.Time{}, time.Date(2199, 12, 31, 23, 59, 59, 0, time.UTC), "", ""},
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
				if tc.ts != "" && !strings.Contains(res.Dead.Err.Error(), "field @timestamp: event time "+tc.ts) {
					t.Errorf("dead letter error %q does not name the event time", res.Dead.Err)
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
	p.Process(Record{Topic: "t", Value: []byte(shadow("")), Format: "ecs"}, &res)
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
	if !res.EventTime.Equal(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("replay event time %s", res.EventTime)
	}
}

// probeRule matches one made-up process; no bundled rule does.
const probeRule = `title: Reload probe
id: 0b7e3f1c-5a2d-4e8b-9c61-2f4d8a7b3e90
status: test
description: A process only tests start.
tags:
  - attack.discovery
  - attack.t1082
logsource:
  category: process_creation
detection:
  selection:
    process.name: casus-probe.exe
  condition: selection
level: low
`

// SetRules changes the rules of the records processed after it, starts the
// correlation windows afresh, and keeps incidents and the escalation ladder.
func TestSetRules(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newPipeline(t, reg)
	old := p.Rules()
	files := []sigma.File{{Name: "probe.yml", Data: []byte(probeRule)}}
	bundled, err := fs.Glob(rules.FS(), "*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range bundled {
		b, err := fs.ReadFile(rules.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, sigma.File{Name: name, Data: b})
	}
	next, _, err := sigma.Compile(files, sigma.Options{Placeholders: rules.DefaultPlaceholders()})
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	process := func(value string) int {
		t.Helper()
		p.Process(Record{Topic: "t", Format: "ecs", Value: []byte(value)}, &res)
		if res.Dead != nil {
			t.Fatalf("dead letter: %v", res.Dead.Err)
		}
		return len(res.Signals)
	}
	probe := `{"@timestamp":"2026-03-02T08:00:01Z","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"casus-probe.exe"}}`
	shadow := `{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"},"host":{"name":"ws1","ip":"10.0.0.1"},"process":{"name":"vssadmin.exe","command_line":"vssadmin delete shadows /all"}}`
	conn := func(port int) string {
		return `{"@timestamp":"2026-03-02T08:00:02Z","event":{"category":"network"},"source":{"ip":"192.0.2.9"},"destination":{"ip":"10.0.0.1","port":` + strconv.Itoa(port) + `},"network":{"transport":"tcp"}}`
	}

	if n := process(probe); n != 0 {
		t.Fatalf("the probe matched %d rules before the new set", n)
	}
	if process(shadow) != 1 {
		t.Fatalf("shadow-copy deletion: %d signals, want 1", len(res.Signals))
	}
	for port := 1; port < 20; port++ { // one short of the vertical scan's 20 ports
		process(conn(port))
	}
	if g := testutil.ToFloat64(p.m.StateEntries.WithLabelValues("correlation_group")); g == 0 {
		t.Fatal("no correlation group after 19 connection attempts")
	}

	p.SetRules(nil) // no set: nothing changes
	if p.Rules() != old {
		t.Fatal("SetRules(nil) changed the rules")
	}
	p.SetRules(next)
	if p.Rules() != next {
		t.Fatal("SetRules did not install the new set")
	}
	if g := testutil.ToFloat64(p.m.StateEntries.WithLabelValues("correlation_group")); g != 0 {
		t.Errorf("correlation_group entries %v after the swap, want 0: the old windows are dropped", g)
	}
	if n := process(probe); n != 1 || res.Signals[0].RuleTitle != "Reload probe" {
		t.Fatalf("after the swap the probe gave %v", res.Signals)
	}
	// The 20th port would complete the scan in the old windows; the new
	// windows count it as the first.
	for _, s := range res.Signals[:process(conn(20))] {
		if s.Count > 1 {
			t.Errorf("correlation %q fired over windows of the previous set", s.RuleTitle)
		}
	}
	if process(shadow) != 1 {
		t.Errorf("after the swap the deletion gave %d signals, want 1", len(res.Signals))
	}
}

// TestFormatSelection checks how a record's format is chosen and counted:
// the topic's format, else the content-type, else the record's shape.
func TestFormatSelection(t *testing.T) {
	p := newPipeline(t, prometheus.NewRegistry())
	var res Result
	recTime := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	eve := `{"timestamp":"2026-03-02T08:00:00Z","event_type":"alert","src_ip":"203.0.113.7","dest_ip":"10.0.0.5","alert":{"signature":"ET SCAN x","category":"Detection of a Network Scan","severity":3}}`
	ecsRec := `{"@timestamp":"2026-03-02T08:00:00Z","event":{"category":"process"}}`
	for _, tc := range []struct {
		name, format, contentType, value string
		decodedAs                        string // "" for a dead letter
		dead                             decode.Reason
		deadFormat                       string
	}{
		{"sniffed EVE", decode.Auto, "", eve, "suricata", "", ""},
		{"sniffed ECS with no configured format", "", "application/json", ecsRec, "ecs", "", ""},
		{"content-type names the format", decode.Auto, "application/vnd.casus.ecs+json", ecsRec, "ecs", "", ""},
		{"the topic's format beats the header", "suricata", "application/json; format=ecs", eve, "suricata", "", ""},
		{"header names an unknown format", decode.Auto, "application/json; format=cef", eve, "", decode.ReasonUnknownFormat, decode.Auto},
		{"no format recognises it", decode.Auto, "", `{"msg":"x"}`, "", decode.ReasonUnknownFormat, decode.Auto},
		{"the sniffed format refuses it", decode.Auto, "", `{"timestamp":"2026-03-02T08:00:00Z","event_type":"flow","dest_port":70000}`,
			"", decode.ReasonWrongType, "suricata"},
		{"the configured format refuses it", "suricata", "", ecsRec, "", decode.ReasonMissingField, "suricata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(p.m.decoded.WithLabelValues("t", tc.decodedAs))
			p.Process(Record{Topic: "t", Value: []byte(tc.value), Time: recTime, Format: tc.format, ContentType: tc.contentType}, &res)
			if tc.dead != "" {
				if res.Dead == nil || res.Dead.Reason != tc.dead || res.Dead.Format != tc.deadFormat {
					t.Fatalf("dead letter %+v, want reason %s, format %s", res.Dead, tc.dead, tc.deadFormat)
				}
				return
			}
			if res.Dead != nil {
				t.Fatalf("unexpected dead letter: %v", res.Dead.Err)
			}
			if got := testutil.ToFloat64(p.m.decoded.WithLabelValues("t", tc.decodedAs)) - before; got != 1 {
				t.Errorf("records_decoded_total{format=%s} rose by %v, want 1", tc.decodedAs, got)
			}
		})
	}
	// The scan alert was classed by its classtype.
	p.Process(Record{Topic: "t", Value: []byte(eve), Time: recTime, Format: decode.Auto}, &res)
	if len(res.Signals) != 1 || res.Signals[0].Class != "reconnaissance" {
		t.Errorf("EVE network-scan alert gave signals %+v, want one reconnaissance signal", res.Signals)
	}
}
