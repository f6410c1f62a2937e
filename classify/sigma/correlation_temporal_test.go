package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
)

// actionRules are three detection rules a, b and c, matching network events
// whose event.action is their name.
const actionRules = `title: A
id: rule-a
name: a
level: low
tags: [attack.discovery]
logsource: {category: network_connection}
detection:
  sel: {event.action: a}
  condition: sel
---
title: B
id: rule-b
name: b
level: medium
logsource: {category: network_connection}
detection:
  sel: {event.action: b}
  condition: sel
---
title: C
id: rule-c
name: c
level: low
logsource: {category: network_connection}
detection:
  sel: {event.action: c}
  condition: sel
`

// seqRule is actionRules and one correlation "seq" with the given body.
func seqRule(body string) string {
	return actionRules + "---\ntitle: Seq\nid: seq\ncorrelation:\n" + indent(body, "  ")
}

// step is one event: its second, its action and its user.
type step struct {
	sec    float64
	action string
	user   string
}

func (s step) event() *event.Event {
	user := s.user
	if user == "" {
		user = "alice"
	}
	return &event.Event{
		Timestamp:     t0.Add(time.Duration(s.sec * float64(time.Second))),
		EventCategory: "network",
		EventAction:   s.action,
		UserName:      user,
		SourceIP:      "10.0.0.1",
		DestinationIP: "10.0.0.2",
	}
}

func steps(ss ...step) []*event.Event {
	evs := make([]*event.Event, len(ss))
	for i, s := range ss {
		evs[i] = s.event()
	}
	return evs
}

type corrCase struct {
	name  string
	steps []step
	want  []string
}

func runCorrCases(t *testing.T, rs *Ruleset, cases []corrCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := observe(rs.NewCorrelator(), steps(tc.steps...)...); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTemporal(t *testing.T) {
	rs := compileOne(t, seqRule("type: temporal\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s"), Options{})
	runCorrCases(t, rs, []corrCase{
		{"all three in any order fire on the last", []step{{0, "c", ""}, {10, "a", ""}, {20, "b", ""}}, []string{"seq@20:3"}},
		{"two of three do not", []step{{0, "a", ""}, {10, "b", ""}, {20, "b", ""}}, nil},
		{"one rule many times does not", []step{{0, "a", ""}, {1, "a", ""}, {2, "a", ""}}, nil},
		{"all three spread over more than the timespan do not", []step{{0, "a", ""}, {30, "b", ""}, {60, "c", ""}}, nil},
		{"an old occurrence is replaced by a newer one", []step{{0, "a", ""}, {30, "b", ""}, {50, "a", ""}, {70, "c", ""}}, []string{"seq@70:3"}},
		{"groups are separate", []step{{0, "a", "alice"}, {1, "b", "bob"}, {2, "c", "alice"}, {3, "b", "carol"}}, nil},
		{"group with all three fires", []step{{0, "a", "alice"}, {1, "b", "bob"}, {2, "c", "alice"}, {3, "b", "alice"}}, []string{"seq@3:3"}},
		{"late event inside the window counts", []step{{50, "a", ""}, {60, "c", ""}, {20, "b", ""}}, []string{"seq@20:3"}},
		{"late event older than the window does not", []step{{50, "a", ""}, {100, "c", ""}, {30, "b", ""}}, nil},
		{"fires once, re-arms one timespan after firing", []step{
			{0, "a", ""}, {1, "b", ""}, {2, "c", ""},
			{10, "a", ""}, {11, "b", ""}, {12, "c", ""}, // suppressed
			{61, "c", ""}, // re-armed? 61-2 < 60: no
			{62, "c", ""}, // a@10 b@11 c@62 inside (2, 62]
		}, []string{"seq@2:3", "seq@62:3"}},
		{"after re-arming a fresh set is needed", []step{
			{0, "a", ""}, {1, "b", ""}, {2, "c", ""},
			{70, "a", ""}, {71, "b", ""}, // the first set expired
			{72, "c", ""},
		}, []string{"seq@2:3", "seq@72:3"}},
	})
	t.Run("condition counts distinct rules", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s\ncondition: {gte: 2}"), Options{})
		runCorrCases(t, rs, []corrCase{
			{"two distinct", []step{{0, "a", ""}, {1, "a", ""}, {2, "c", ""}}, []string{"seq@2:2"}},
			{"one distinct", []step{{0, "a", ""}, {1, "a", ""}}, nil},
		})
	})
	t.Run("signal carries the correlation's identity", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal\nrules: [a, b]\ngroup-by: [source.ip]\ntimespan: 60s"), Options{})
		var sig []event.Signal
		c := rs.NewCorrelator()
		for i, ev := range steps(step{0, "a", ""}, step{1, "b", ""}) {
			c.Observe(ev, event.Evidence{Offset: int64(i)}, func(s event.Signal) { sig = append(sig, s) })
		}
		if len(sig) != 1 {
			t.Fatalf("signals %+v, want one", sig)
		}
		s := sig[0]
		// No level or tags of its own: the highest level and the union of tags.
		if s.RuleID != "seq" || s.RuleLevel != "medium" || s.Count != 2 || s.Source != "10.0.0.1" ||
			s.Evidence.Offset != 1 || s.Class != event.ClassReconnaissance {
			t.Errorf("signal %+v", s)
		}
		info := rs.Rules()
		if info[3].Correlation != "temporal" || info[0].Emits || info[1].Emits || !info[2].Emits || !info[3].Emits {
			t.Errorf("rules %+v", info)
		}
	})
}

func TestTemporalOrdered(t *testing.T) {
	rs := compileOne(t, seqRule("type: temporal_ordered\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s"), Options{})
	runCorrCases(t, rs, []corrCase{
		{"in order", []step{{0, "a", ""}, {10, "b", ""}, {20, "c", ""}}, []string{"seq@20:3"}},
		{"reversed", []step{{0, "c", ""}, {10, "b", ""}, {20, "a", ""}}, nil},
		{"two swapped", []step{{0, "a", ""}, {10, "c", ""}, {20, "b", ""}}, nil},
		{"two swapped, then the last again", []step{{0, "a", ""}, {10, "c", ""}, {20, "b", ""}, {30, "c", ""}}, []string{"seq@30:3"}},
		{"an earlier start keeps the sequence", []step{{0, "a", ""}, {5, "b", ""}, {7, "a", ""}, {10, "c", ""}}, []string{"seq@10:3"}},
		{"a later start inside the window", []step{{0, "a", ""}, {50, "a", ""}, {55, "b", ""}, {70, "c", ""}}, []string{"seq@70:3"}},
		{"longer than the timespan", []step{{0, "a", ""}, {30, "b", ""}, {60, "c", ""}}, nil},
		{"groups are separate", []step{{0, "a", "alice"}, {1, "b", "bob"}, {2, "c", "alice"}}, nil},
		{"equal times order by arrival", []step{{5, "a", ""}, {5, "b", ""}, {5, "c", ""}}, []string{"seq@5:3"}},
		{"equal times out of arrival order", []step{{5, "c", ""}, {5, "b", ""}, {5, "a", ""}}, nil},
		{"late event ordered by its event time", []step{{0, "a", ""}, {20, "c", ""}, {10, "b", ""}}, []string{"seq@10:3"}},
		{"late event after its successor in event time", []step{{0, "a", ""}, {20, "c", ""}, {25, "b", ""}}, nil},
		{"late event older than the window is dropped", []step{{100, "b", ""}, {110, "c", ""}, {30, "a", ""}}, nil},
		{"fires once, re-arms one timespan after firing", []step{
			{0, "a", ""}, {1, "b", ""}, {2, "c", ""},
			{30, "a", ""}, {31, "b", ""}, {32, "c", ""}, // suppressed
			{62, "c", ""}, // a@30 b@31 c@32 still inside (2, 62]
		}, []string{"seq@2:3", "seq@62:3"}},
	})
	t.Run("one event never fills two places", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal_ordered\nrules: [a, a]\ngroup-by: [user.name]\ntimespan: 60s"), Options{})
		runCorrCases(t, rs, []corrCase{
			{"once", []step{{0, "a", ""}}, nil},
			{"twice", []step{{0, "a", ""}, {1, "a", ""}}, []string{"seq@1:2"}},
		})
	})
	t.Run("repeated rule in a sequence", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal_ordered\nrules: [a, b, a]\ngroup-by: [user.name]\ntimespan: 60s"), Options{})
		runCorrCases(t, rs, []corrCase{
			{"a b a", []step{{0, "a", ""}, {1, "b", ""}, {2, "a", ""}}, []string{"seq@2:3"}},
			{"b a a", []step{{0, "b", ""}, {1, "a", ""}, {2, "a", ""}}, nil},
		})
	})
	t.Run("condition counts the rules matched in order", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal_ordered\nrules: [a, b, c]\ngroup-by: [user.name]\ntimespan: 60s\ncondition: {gte: 2}"), Options{})
		runCorrCases(t, rs, []corrCase{
			{"first two", []step{{0, "a", ""}, {1, "b", ""}}, []string{"seq@1:2"}},
			{"last two", []step{{0, "b", ""}, {1, "c", ""}}, nil},
		})
	})
	t.Run("occurrences are capped by MaxDistinct", func(t *testing.T) {
		rs := compileOne(t, seqRule("type: temporal_ordered\nrules: [a, b]\ngroup-by: [user.name]\ntimespan: 60s"), Options{MaxDistinct: 2})
		c := rs.NewCorrelator()
		// Four a's: the two oldest are dropped; b still follows the rest.
		got := observe(c, steps(step{0, "a", ""}, step{1, "a", ""}, step{2, "a", ""}, step{3, "a", ""}, step{4, "b", ""})...)
		if !slices.Equal(got, []string{"seq@4:2"}) {
			t.Errorf("signals %v", got)
		}
		if st := c.Stats(); st.Saturations != 2 {
			t.Errorf("saturations %d, want 2", st.Saturations)
		}
	})
}

func TestTemporalGroupsExpire(t *testing.T) {
	for _, typ := range []string{"temporal", "temporal_ordered"} {
		t.Run(typ, func(t *testing.T) {
			rs := compileOne(t, seqRule("type: "+typ+"\nrules: [a, b]\ngroup-by: [user.name]\ntimespan: 60s"), Options{MaxGroups: 2})
			c := rs.NewCorrelator()
			observe(c, steps(step{0, "a", "u1"}, step{1, "a", "u2"}, step{2, "a", "u3"})...)
			if st := c.Stats(); st.Groups != 2 || st.CapEvictions != 1 {
				t.Errorf("stats %+v, want 2 groups, 1 cap eviction", st)
			}
			// u1 was evicted: its b alone does not complete the sequence.
			if got := observe(c, steps(step{3, "b", "u1"})...); got != nil {
				t.Errorf("evicted group fired: %v", got)
			}
			if got := observe(c, steps(step{4, "b", "u3"})...); len(got) != 1 {
				t.Errorf("kept group did not fire: %v", got)
			}
			observe(c, steps(step{200, "c", "nobody"})...)
			if st := c.Stats(); st.Groups != 0 {
				t.Errorf("stats %+v, want every group expired", st)
			}
		})
	}
}

func TestValueAvg(t *testing.T) {
	rs := compileOne(t, corrRule("type: value_avg\nrules: [conn]\ngroup-by: [destination.ip]\ntimespan: 60s\ncondition: {field: network.bytes, gt: 500}"), Options{})
	for _, tc := range []struct {
		name  string
		bytes []int64
		times []float64
		want  []string
	}{
		{"average crosses the bound", []int64{100, 1000, 1000}, []float64{0, 1, 2}, []string{"corr-1@1:2"}},
		{"average stays below", []int64{100, 900, 400}, []float64{0, 1, 2}, nil},
		{"events without the value do not count", []int64{0, 0, 600}, []float64{0, 1, 2}, []string{"corr-1@2:1"}},
		{"old values slide out", []int64{10, 10, 10, 900}, []float64{0, 1, 2, 65}, []string{"corr-1@65:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evs []*event.Event
			for i, b := range tc.bytes {
				ev := conn(tc.times[i], "10.0.0.1", "10.0.0.2", 80)
				ev.NetworkBytes = b
				evs = append(evs, ev)
			}
			if got := observe(rs.NewCorrelator(), evs...); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
		})
	}
}

// chainRules: conn (network.transport tcp) and login (event.action login);
// "many" counts three conns per source; "breach" is many then a login from
// the same source; "spree" counts breaches per host, a name aliased to the
// source of breach.
const chainRules = corrBase + `---
title: Login
id: base-login
name: login
level: medium
logsource: {category: network_connection}
detection:
  sel: {event.action: login}
  condition: sel
---
title: Breach
id: corr-breach
name: breach
level: critical
correlation:
  type: temporal_ordered
  rules: [many, login]
  group-by: [source.ip]
  timespan: 5m
---
title: Spree
id: corr-spree
correlation:
  type: event_count
  rules: [breach]
  group-by: [host]
  aliases:
    host:
      breach: source.ip
  timespan: 1h
  condition: {gte: 1}
---
title: Many conns
id: corr-many
name: many
correlation:
  type: event_count
  rules: [conn]
  group-by: [source.ip]
  timespan: 60s
  condition: {gte: 3}
`

func login(sec float64, src string) *event.Event {
	return &event.Event{Timestamp: t0.Add(time.Duration(sec * float64(time.Second))), EventCategory: "network", EventAction: "login", SourceIP: src, DestinationIP: "10.0.0.9"}
}

func TestChainedCorrelations(t *testing.T) {
	rs := compileOne(t, chainRules, Options{})
	info := rs.Rules()
	var order []string
	for _, r := range info {
		order = append(order, fmt.Sprintf("%s:%v", r.ID, r.Emits))
	}
	// A correlation comes after those it references; only the outermost emits.
	if want := []string{"base-1:false", "base-login:false", "corr-many:false", "corr-breach:false", "corr-spree:true"}; !slices.Equal(order, want) {
		t.Errorf("rules %v, want %v", order, want)
	}
	// Spree has no level: it takes breach's own, not its rules'.
	if info[4].Level != "critical" || info[3].Level != "critical" || info[2].Level != "low" {
		t.Errorf("levels %q %q %q", info[2].Level, info[3].Level, info[4].Level)
	}
	for _, tc := range []struct {
		name string
		evs  []*event.Event
		want []string
	}{
		{"three conns then a login fire the chain", []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), login(10, "10.0.0.1"),
		}, []string{"corr-spree@10:1"}},
		{"a login before the conns does not", []*event.Event{
			login(0, "10.0.0.1"), conn(1, "10.0.0.1", "x", 1), conn(2, "10.0.0.1", "x", 2), conn(3, "10.0.0.1", "x", 3),
		}, nil},
		{"the login must come from the same source", []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), login(10, "10.0.0.2"),
		}, nil},
		{"the inner count must fire", []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.3", "x", 3), login(10, "10.0.0.1"),
		}, nil},
		{"the inner firing expires with the outer timespan", []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), login(400, "10.0.0.1"),
		}, nil},
		{"two sources, two breaches, one spree each", []*event.Event{
			conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3),
			conn(3, "10.0.0.2", "x", 1), conn(4, "10.0.0.2", "x", 2), conn(5, "10.0.0.2", "x", 3),
			login(10, "10.0.0.2"), login(11, "10.0.0.1"),
		}, []string{"corr-spree@10:1", "corr-spree@11:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rs.NewCorrelator()
			if got := observe(c, tc.evs...); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("group-by values come from the inner group", func(t *testing.T) {
		c := rs.NewCorrelator()
		var sig []event.Signal
		for _, ev := range []*event.Event{conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), login(10, "10.0.0.1")} {
			c.Observe(ev, event.Evidence{}, func(s event.Signal) { sig = append(sig, s) })
		}
		if len(sig) != 1 || sig[0].RuleLevel != "critical" || sig[0].Source != "10.0.0.1" {
			t.Errorf("signals %+v", sig)
		}
		if st := c.Stats(); st.Fired != 1 || st.Chained != 2 {
			t.Errorf("stats %+v, want 1 fired, 2 chained", st)
		}
	})
	t.Run("generate emits the referenced correlation", func(t *testing.T) {
		yml := strings.Replace(chainRules, "  rules: [breach]\n", "  rules: [breach]\n  generate: true\n", 1)
		rs := compileOne(t, yml, Options{})
		got := observe(rs.NewCorrelator(), conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), login(10, "10.0.0.1"))
		if want := []string{"corr-breach@10:2", "corr-spree@10:1"}; !slices.Equal(got, want) {
			t.Errorf("signals %v, want %v", got, want)
		}
	})
}

func TestChainedAliases(t *testing.T) {
	// A source that made many conns is then the destination of a login:
	// "host" is the inner group's source.ip and the login's destination.ip.
	yml := chainRules + `---
title: Scanner logged into
id: corr-pivot
correlation:
  type: temporal
  rules: [many, login]
  group-by: [host]
  aliases:
    host:
      many: source.ip
      login: destination.ip
  timespan: 5m
`
	rs, warns, err := Compile([]File{{Name: "chain.yml", Data: []byte(yml)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
	in := &event.Event{Timestamp: t0.Add(20 * time.Second), EventCategory: "network", EventAction: "login", SourceIP: "10.9.9.9", DestinationIP: "10.0.0.1"}
	got := observe(rs.NewCorrelator(), conn(0, "10.0.0.1", "x", 1), conn(1, "10.0.0.1", "x", 2), conn(2, "10.0.0.1", "x", 3), in)
	if want := []string{"corr-pivot@20:2"}; !slices.Equal(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

func TestChainedFieldNotGrouped(t *testing.T) {
	// The inner correlation does not group by user.name: the value is read
	// from the event that made it fire, with a warning.
	yml := corrBase + `---
title: Many
id: corr-many
name: many
correlation: {type: event_count, rules: [conn], group-by: [source.ip], timespan: 60s, condition: {gte: 2}}
---
title: Outer
id: corr-outer
correlation: {type: event_count, rules: [many], group-by: [host.name], timespan: 60s, condition: {gte: 1}}
`
	rs, warns, err := Compile([]File{{Name: "w.yml", Data: []byte(yml)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, `correlation "many" does not group by host.name`) || warns[0].Line != 18 || warns[0].Column != 42 {
		t.Errorf("warnings %v", warns)
	}
	if got := observe(rs.NewCorrelator(), conn(0, "a", "b", 1), conn(1, "a", "b", 1)); !slices.Equal(got, []string{"corr-outer@1:1"}) {
		t.Errorf("signals %v", got)
	}
}

func TestCorrelationReferenceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yml  string
		want []string // file:line:column: message
	}{
		{"cycle of two", corrBase + `---
title: A
id: corr-a
correlation:
  type: event_count
  rules:
    - conn
    - corr-b
  timespan: 60s
  condition: {gte: 1}
---
title: B
id: corr-b
correlation:
  type: temporal
  rules: [corr-a]
  timespan: 60s
`, []string{
			`t.yml:17:7: rule "A" (corr-a): unknown rule reference: reference cycle "corr-a" → "corr-b" → "corr-a"`,
			`t.yml:25:11: rule "B" (corr-b): unknown rule reference: reference cycle "corr-b" → "corr-a" → "corr-b"`,
		}},
		{"self reference", corrBase + `---
title: Self
name: self
correlation: {type: event_count, rules: [self], timespan: 60s, condition: {gte: 1}}
`, []string{`t.yml:13:42: rule "Self": unknown rule reference: reference cycle "self" → "self"`}},
		{"unknown reference", corrBase + `---
title: Lost
id: corr-lost
correlation: {type: temporal_ordered, rules: [conn, nowhere], timespan: 60s}
`, []string{`t.yml:13:53: rule "Lost" (corr-lost): unknown rule reference: "nowhere"`}},
		{"reference to a correlation that does not compile", corrBase + `---
title: Broken
name: broken
correlation: {type: event_count, rules: [conn], timespan: 60s}
---
title: Outer
id: corr-outer
correlation: {type: temporal, rules: [broken], timespan: 60s}
`, []string{
			`t.yml:13:14: rule "Broken": invalid rule: correlation has no condition`,
			`t.yml:17:39: rule "Outer" (corr-outer): unknown rule reference: "broken" is a correlation that does not compile`,
		}},
		{"temporal condition with a field", corrBase + `---
title: T
id: corr-t
correlation: {type: temporal, rules: [conn], timespan: 60s, condition: {field: user.name, gte: 1}}
`, []string{`t.yml:13:80: rule "T" (corr-t): invalid rule: temporal condition takes no field`}},
		{"value_avg without a field", corrBase + `---
title: V
id: corr-v
correlation: {type: value_avg, rules: [conn], timespan: 60s, condition: {gte: 1}}
`, []string{`t.yml:13:73: rule "V" (corr-v): invalid rule: value_avg condition needs a field`}},
		{"temporal condition expression", corrBase + `---
title: E
id: corr-e
correlation: {type: temporal, rules: [conn], timespan: 60s, condition: conn}
`, []string{`t.yml:13:72: rule "E" (corr-e): unsupported: temporal condition expression`}},
		{"correlation id used by a rule", corrBase + `---
title: D
id: base-1
correlation: {type: event_count, rules: [conn], timespan: 60s, condition: {gte: 1}}
`, []string{`t.yml:13:14: rule "D" (base-1): duplicate rule: "base-1" is used by more than one rule`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Compile([]File{{Name: "t.yml", Data: []byte(tc.yml)}}, Options{})
			if err == nil {
				t.Fatal("compiled without error")
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("error is not joined: %T", err)
			}
			var got []string
			for _, e := range joined.Unwrap() {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.name == "cycle of two" || tc.name == "self reference" || tc.name == "unknown reference" {
				for _, e := range joined.Unwrap() {
					if !errors.Is(e, ErrReference) {
						t.Errorf("%v is not ErrReference", e)
					}
				}
			}
		})
	}
}
