package sigma

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
)

const corrBase = `title: Conn
id: base-1
name: conn
level: low
tags: [attack.discovery]
logsource: {category: network_connection}
detection:
  sel: {network.transport: tcp}
  condition: sel
`

func corrRule(body string) string {
	return corrBase + "---\ntitle: Corr\nid: corr-1\nlevel: high\ntags: [attack.reconnaissance, attack.t1046]\ncorrelation:\n" + indent(body, "  ")
}

func conn(sec float64, src, dst string, port int) *event.Event {
	return &event.Event{
		Timestamp:        t0.Add(time.Duration(sec * float64(time.Second))),
		EventCategory:    "network",
		NetworkTransport: "tcp",
		SourceIP:         src,
		DestinationIP:    dst,
		DestinationPort:  port,
		HostName:         "h-" + dst,
	}
}

// observe feeds events and returns the signals, formatted id@second:count.
func observe(c *Correlator, evs ...*event.Event) []string {
	var out []string
	for i, ev := range evs {
		c.Observe(ev, event.Evidence{Offset: int64(i)}, func(s event.Signal) {
			out = append(out, fmt.Sprintf("%s@%g:%d", s.RuleID, s.Time.Sub(t0).Seconds(), s.Count))
		})
	}
	return out
}

func TestEventCountSlidingWindow(t *testing.T) {
	rs := compileOne(t, corrRule("type: event_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {gte: 4}"), Options{})
	for _, tc := range []struct {
		name  string
		times []float64
		want  []string
	}{
		{"four within a minute fire on the fourth", []float64{0, 10, 20, 30}, []string{"corr-1@30:4"}},
		{"three within a minute do not", []float64{0, 10, 20}, nil},
		{"spread over more than the window never reach four", []float64{0, 20, 40, 60, 80, 100, 120}, nil},
		{"old events slide out", []float64{0, 1, 2, 70, 71, 72}, nil},
		{"fires once per window then re-arms", []float64{0, 1, 2, 3, 4, 5, 6, 62, 63, 64}, []string{"corr-1@3:4", "corr-1@63:5"}},
		{"late event counts in the window", []float64{10, 11, 12, 5}, []string{"corr-1@5:4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rs.NewCorrelator()
			var evs []*event.Event
			for _, s := range tc.times {
				evs = append(evs, conn(s, "10.0.0.1", "10.0.0.2", 80))
			}
			if got := observe(c, evs...); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValueCount(t *testing.T) {
	rs := compileOne(t, corrRule("type: value_count\nrules: [conn]\ngroup-by: [source.ip, destination.ip]\ntimespan: 60s\ncondition: {field: destination.port, gte: 5}"), Options{})
	c := rs.NewCorrelator()
	var evs []*event.Event
	for i, p := range []int{22, 22, 80, 443, 80, 3389} { // 4 distinct
		evs = append(evs, conn(float64(i), "10.0.0.1", "10.0.0.2", p))
	}
	evs = append(evs, conn(10, "10.0.0.9", "10.0.0.2", 8080)) // another group
	if got := observe(c, evs...); got != nil {
		t.Fatalf("fired early: %v", got)
	}
	var sig []event.Signal
	c.Observe(conn(11, "10.0.0.1", "10.0.0.2", 8443), event.Evidence{Offset: 99}, func(s event.Signal) { sig = append(sig, s) })
	if len(sig) != 1 {
		t.Fatalf("signals %d, want 1", len(sig))
	}
	s := sig[0]
	if s.RuleID != "corr-1" || s.Count != 5 || s.Source != "10.0.0.1" || s.Target != "10.0.0.2" ||
		s.Evidence.Offset != 99 || !s.Time.Equal(t0.Add(11*time.Second)) || s.Class != event.ClassReconnaissance ||
		s.RuleLevel != "high" || !slices.Equal(s.Techniques, []string{"T1046"}) {
		t.Errorf("signal %+v", s)
	}
	// The base rule is consumed by the correlation: Match emits nothing.
	if ids := matchIDs(rs, conn(0, "a", "b", 1)); ids != nil {
		t.Errorf("base rule emitted %v without generate", ids)
	}
}

func TestValueSumAndGenerate(t *testing.T) {
	rs := compileOne(t, corrRule("type: value_sum\nrules: [conn]\ngroup-by: [destination.ip]\ntimespan: 1m\ncondition: {field: network.packets, gte: 1000}\ngenerate: true"), Options{})
	c := rs.NewCorrelator()
	var got []string
	for i := range 4 {
		ev := conn(float64(i), fmt.Sprintf("10.9.0.%d", i), "10.0.0.2", 80)
		ev.NetworkPackets = 300
		c.Observe(ev, event.Evidence{}, func(s event.Signal) {
			got = append(got, fmt.Sprintf("%s:%d:%s>%s", s.RuleID, s.Count, s.Source, s.Target))
		})
	}
	want := []string{
		"base-1:1:10.9.0.0>10.0.0.2", "base-1:1:10.9.0.1>10.0.0.2", "base-1:1:10.9.0.2>10.0.0.2",
		"base-1:1:10.9.0.3>10.0.0.2", "corr-1:4:10.9.0.3>10.0.0.2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("signals\n%v\nwant\n%v", got, want)
	}
}

func TestCorrelationRange(t *testing.T) {
	rs := compileOne(t, corrRule("type: event_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {gt: 2, lte: 3}"), Options{})
	c := rs.NewCorrelator()
	got := observe(c, conn(0, "a", "b", 1), conn(1, "a", "b", 1), conn(2, "a", "b", 1), conn(3, "a", "b", 1))
	if want := []string{"corr-1@2:3"}; !slices.Equal(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

func TestCorrelatorBounds(t *testing.T) {
	t.Run("max groups evicts the least recently active", func(t *testing.T) {
		rs := compileOne(t, corrRule("type: event_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {gte: 2}"), Options{MaxGroups: 2})
		c := rs.NewCorrelator()
		observe(c, conn(0, "a", "x", 1), conn(1, "b", "x", 1), conn(2, "c", "x", 1))
		st := c.Stats()
		if st.Groups != 2 || st.Evictions != 1 || st.CapEvictions != 1 {
			t.Errorf("stats %+v, want 2 groups, 1 cap eviction", st)
		}
		// "a" was evicted: its second event starts a new count.
		if got := observe(c, conn(3, "a", "x", 1)); got != nil {
			t.Errorf("evicted group fired: %v", got)
		}
		if got := observe(c, conn(4, "c", "x", 1)); len(got) != 1 {
			t.Errorf("kept group did not fire: %v", got)
		}
	})
	t.Run("idle groups expire in event time", func(t *testing.T) {
		rs := compileOne(t, corrRule("type: event_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {gte: 100}"), Options{})
		c := rs.NewCorrelator()
		observe(c, conn(0, "a", "x", 1), conn(10, "b", "x", 1), conn(50, "c", "x", 1))
		if st := c.Stats(); st.Groups != 3 || st.Evictions != 0 {
			t.Fatalf("stats %+v", st)
		}
		observe(c, conn(65, "c", "x", 1)) // a idle 65s > 60s
		if st := c.Stats(); st.Groups != 2 || st.Evictions != 1 || st.CapEvictions != 0 {
			t.Errorf("stats %+v, want 2 groups, 1 eviction", st)
		}
		// An event of another category still moves event time on.
		c.Observe(&event.Event{Timestamp: t0.Add(200 * time.Second), EventCategory: "process"}, event.Evidence{}, func(event.Signal) {})
		if st := c.Stats(); st.Groups != 0 || st.Evictions != 3 {
			t.Errorf("stats %+v, want all groups expired", st)
		}
	})
	t.Run("distinct values saturate", func(t *testing.T) {
		rs := compileOne(t, corrRule("type: value_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {field: destination.port, gte: 4}"), Options{MaxDistinct: 3})
		c := rs.NewCorrelator()
		got := observe(c, conn(0, "a", "x", 1), conn(1, "a", "x", 2), conn(2, "a", "x", 3), conn(3, "a", "x", 4), conn(4, "a", "x", 5))
		if got != nil {
			t.Errorf("fired above the cap: %v", got)
		}
		if st := c.Stats(); st.Saturations != 2 {
			t.Errorf("saturations %d, want 2", st.Saturations)
		}
	})
	t.Run("distinct values slide out", func(t *testing.T) {
		rs := compileOne(t, corrRule("type: value_count\nrules: [conn]\ngroup-by: [source.ip]\ntimespan: 60s\ncondition: {field: destination.port, gte: 3}"), Options{})
		c := rs.NewCorrelator()
		// Port 1 seen at 0, refreshed at 50; port 2 at 10 expires at 70.
		got := observe(c, conn(0, "a", "x", 1), conn(10, "a", "x", 2), conn(50, "a", "x", 1), conn(75, "a", "x", 3))
		if got != nil {
			t.Errorf("fired with an expired value: %v", got)
		}
		if got := observe(c, conn(76, "a", "x", 4)); !slices.Equal(got, []string{"corr-1@76:3"}) {
			t.Errorf("signals %v", got)
		}
	})
}

func TestCorrelationAliasesAndOrder(t *testing.T) {
	yml := corrBase + `---
title: Echo
id: base-2
name: echo
logsource: {category: network_connection}
detection:
  sel: {network.transport: icmp}
  condition: sel
---
title: Probe then connect
id: corr-a
correlation:
  type: event_count
  rules: [conn, echo]
  group-by: [peer]
  aliases:
    peer:
      conn: destination.ip
      echo: source.ip
  timespan: 60s
  condition: {gte: 2}
---
title: Any two conns
id: corr-b
correlation:
  type: event_count
  rules: [conn]
  group-by: [host.name]
  timespan: 60s
  condition: {gte: 2}
`
	rs := compileOne(t, yml, Options{})
	c := rs.NewCorrelator()
	echo := &event.Event{Timestamp: t0, EventCategory: "network", NetworkTransport: "icmp", SourceIP: "10.0.0.2", DestinationIP: "10.0.0.7"}
	got := observe(c, echo, conn(1, "10.0.0.1", "10.0.0.2", 80), conn(2, "10.0.0.3", "10.0.0.2", 80))
	// corr-a groups echo (by its source) with the conns (by destination);
	// at the second conn both correlations fire, in correlation order.
	want := []string{"corr-a@1:2", "corr-b@2:2"}
	if !slices.Equal(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
	info := rs.Rules()
	if len(info) != 4 || info[2].Correlation != "event_count" || info[0].Emits || info[1].Emits {
		t.Errorf("rules %+v", info)
	}
	// Untagged correlations carry their rules' tags and level.
	if info[2].Class != event.ClassReconnaissance || info[2].Level != "low" {
		t.Errorf("corr-a class %s level %q", info[2].Class, info[2].Level)
	}
}

func TestTimespan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60s", time.Minute, true}, {"5m", 5 * time.Minute, true}, {"1h", time.Hour, true}, {"2d", 48 * time.Hour, true},
		{"5", 0, false}, {"m", 0, false}, {"5M", 0, false}, {"-5m", 0, false}, {"0s", 0, false}, {"1.5h", 0, false},
	} {
		got, ok := parseTimespan(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
