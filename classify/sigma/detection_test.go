package sigma

import (
	"errors"
	"slices"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func TestModifiers(t *testing.T) {
	proc := func(f func(*event.Event)) *event.Event {
		e := &event.Event{EventCategory: "process"}
		f(e)
		return e
	}
	opt := Options{Placeholders: map[string][]string{"admins": {"10.1.0.0/16", "192.168.7.7"}, "tool": {"psexec", "paexec"}}}
	for _, tc := range []struct {
		name string
		det  string
		ev   *event.Event
		want bool
	}{
		{"equals is case-insensitive", "s:\n  process.name: VSSADMIN.EXE", proc(func(e *event.Event) { e.ProcessName = "vssadmin.exe" }), true},
		{"sigma name Image endswith", "s:\n  Image|endswith: '\\vssadmin.exe'", proc(func(e *event.Event) { e.ProcessExecutable = `C:\Windows\System32\vssadmin.exe` }), true},
		{"endswith near miss", "s:\n  Image|endswith: '\\vssadmin.exe'", proc(func(e *event.Event) { e.ProcessExecutable = `C:\Windows\System32\vssadmin.exe.bak` }), false},
		{"startswith", "s:\n  CommandLine|startswith: 'net '", proc(func(e *event.Event) { e.ProcessCommandLine = "NET user" }), true},
		{"startswith miss", "s:\n  CommandLine|startswith: 'net '", proc(func(e *event.Event) { e.ProcessCommandLine = "xnet user" }), false},
		{"contains any", "s:\n  CommandLine|contains: [foo, bar]", proc(func(e *event.Event) { e.ProcessCommandLine = "a BAR b" }), true},
		{"contains all", "s:\n  CommandLine|contains|all: [foo, bar]", proc(func(e *event.Event) { e.ProcessCommandLine = "a BAR b" }), false},
		{"contains all hit", "s:\n  CommandLine|contains|all: [foo, bar]", proc(func(e *event.Event) { e.ProcessCommandLine = "bar foo" }), true},
		{"cased", "s:\n  CommandLine|contains|cased: Foo", proc(func(e *event.Event) { e.ProcessCommandLine = "foo" }), false},
		{"re", "s:\n  CommandLine|re: '^net\\s+user'", proc(func(e *event.Event) { e.ProcessCommandLine = "net   user" }), true},
		{"re is case-sensitive", "s:\n  CommandLine|re: '^net'", proc(func(e *event.Event) { e.ProcessCommandLine = "NET" }), false},
		{"re|i", "s:\n  CommandLine|re|i: '^net'", proc(func(e *event.Event) { e.ProcessCommandLine = "NET" }), true},
		{"cidr", "s:\n  source.ip|cidr: 10.0.0.0/8", proc(func(e *event.Event) { e.SourceIP = "10.2.3.4" }), true},
		{"cidr miss", "s:\n  source.ip|cidr: 10.0.0.0/8", proc(func(e *event.Event) { e.SourceIP = "11.2.3.4" }), false},
		{"cidr v6", "s:\n  source.ip|cidr: 'fd00::/8'", proc(func(e *event.Event) { e.SourceIP = "fd12::1" }), true},
		{"cidr bad address", "s:\n  source.ip|cidr: 10.0.0.0/8", proc(func(e *event.Event) { e.SourceIP = "host" }), false},
		{"expand cidr", "s:\n  source.ip|cidr|expand: '%admins%'", proc(func(e *event.Event) { e.SourceIP = "192.168.7.7" }), true},
		{"expand cidr miss", "s:\n  source.ip|cidr|expand: '%admins%'", proc(func(e *event.Event) { e.SourceIP = "192.168.7.8" }), false},
		{"expand glob", "s:\n  process.name|expand: '%tool%.exe'", proc(func(e *event.Event) { e.ProcessName = "PAEXEC.exe" }), true},
		{"gt on number field", "s:\n  network.packets|gt: 10", proc(func(e *event.Event) { e.NetworkPackets = 11 }), true},
		{"gt boundary", "s:\n  network.packets|gt: 10", proc(func(e *event.Event) { e.NetworkPackets = 10 }), false},
		{"gte boundary", "s:\n  network.packets|gte: 10", proc(func(e *event.Event) { e.NetworkPackets = 10 }), true},
		{"lt", "s:\n  destination.port|lt: 1024", proc(func(e *event.Event) { e.DestinationPort = 443 }), true},
		{"lte miss", "s:\n  destination.port|lte: 1024", proc(func(e *event.Event) { e.DestinationPort = 8080 }), false},
		{"gt on text field", "s:\n  labels.size|gt: 5", proc(func(e *event.Event) { e.Labels = map[string]string{"size": "6.5"} }), true},
		{"gt on non-number", "s:\n  labels.size|gt: 5", proc(func(e *event.Event) { e.Labels = map[string]string{"size": "big"} }), false},
		{"int equals number field", "s:\n  DestinationPort: 445", proc(func(e *event.Event) { e.DestinationPort = 445 }), true},
		{"int list", "s:\n  ics.function_code: [5, 6]", proc(func(e *event.Event) { e.ICSFunctionCode = 6 }), true},
		{"wildcard on number field", "s:\n  destination.port: '44*'", proc(func(e *event.Event) { e.DestinationPort = 4444 }), true},
		{"EventID to event.code", "s:\n  EventID: 4624", proc(func(e *event.Event) { e.EventCode = "4624" }), true},
		{"windash", "s:\n  CommandLine|contains|windash: ' -all'", proc(func(e *event.Event) { e.ProcessCommandLine = "whoami /all" }), true},
		{"windash miss", "s:\n  CommandLine|contains|windash: ' -all'", proc(func(e *event.Event) { e.ProcessCommandLine = "whoami +all" }), false},
		{"exists true", "s:\n  user.name|exists: true", proc(func(e *event.Event) { e.UserName = "x" }), true},
		{"exists true absent", "s:\n  user.name|exists: true", proc(func(e *event.Event) {}), false},
		{"exists false absent", "s:\n  user.name|exists: false", proc(func(e *event.Event) {}), true},
		{"null absent", "s:\n  user.name: null", proc(func(e *event.Event) {}), true},
		{"null present", "s:\n  user.name: null", proc(func(e *event.Event) { e.UserName = "x" }), false},
		{"null in list", "s:\n  user.name: [null, bob]", proc(func(e *event.Event) { e.UserName = "bob" }), true},
		{"empty string absent", "s:\n  user.name: ''", proc(func(e *event.Event) {}), true},
		{"absent field misses", "s:\n  user.name: bob", proc(func(e *event.Event) {}), false},
		{"not absent", "s:\n  user.name: bob", proc(func(e *event.Event) {}), false},
		{"unmapped from labels", "s:\n  LogonType: 3", proc(func(e *event.Event) { e.Labels = map[string]string{"LogonType": "3"} }), true},
		{"list of maps is OR", "s:\n  - process.name: a.exe\n  - user.name: bob", proc(func(e *event.Event) { e.UserName = "bob" }), true},
		{"map is AND", "s:\n  process.name: a.exe\n  user.name: bob", proc(func(e *event.Event) { e.UserName = "bob" }), false},
		{"keywords", "s:\n  - mimikatz\n  - 'sekurlsa::*'", proc(func(e *event.Event) { e.ProcessCommandLine = "SEKURLSA::logonpasswords" }), true},
		{"keywords miss", "s:\n  - mimikatz", proc(func(e *event.Event) { e.ProcessCommandLine = "notepad" }), false},
		{"keyword contains", "s:\n  '|contains': evil", proc(func(e *event.Event) { e.FilePath = "/tmp/EVIL/x" }), true},
		{"technique multi-value", "s:\n  threat.technique.id: T1490", proc(func(e *event.Event) { e.ThreatTechniques = []string{"T1059", "T1490"} }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := compileOne(t, detectionRule("process_creation", tc.det+"\ncondition: s"), opt)
			got := len(matchIDs(rs, tc.ev)) == 1
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestModifierErrors(t *testing.T) {
	for _, tc := range []struct {
		det  string
		want error
	}{
		{"s:\n  a|neq: x", ErrUnsupported},
		{"s:\n  a|base64: x*y", ErrUnsupported},
		{"s:\n  a|fieldref|base64: b", ErrInvalid},
		{"s:\n  a|fieldref|re: b", ErrInvalid},
		{"s:\n  a|bogus: x", ErrInvalid},
		{"s:\n  a|re: '(?<=x)y'", ErrRegexp},
		{"s:\n  a|cidr: not-a-cidr", ErrInvalid},
		{"s:\n  a|gt: many", ErrInvalid},
		{"s:\n  a|exists: maybe", ErrInvalid},
		{"s:\n  a|expand: '%nope%'", ErrPlaceholder},
		{"s:\n  a|re|cidr: x", ErrInvalid},
		{"s:\n  a|contains|startswith: x", ErrInvalid},
		{"s:\n  a|i: x", ErrInvalid},
		{"s:\n  a: []", ErrInvalid},
		{"s:\n  a: {b: c}", ErrInvalid},
	} {
		_, _, err := Compile([]File{{Name: "m.yml", Data: []byte(detectionRule("x", tc.det+"\ncondition: s"))}}, Options{})
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: error %v, want %v", tc.det, err, tc.want)
		}
	}
}

func TestRouting(t *testing.T) {
	yml := `title: proc
id: p
logsource: {category: process_creation, product: windows}
detection:
  s: {process.name: x.exe}
  condition: s
---
title: any
id: a
logsource: {product: windows, service: security}
detection:
  s: {process.name: x.exe}
  condition: s
---
title: file
id: f
logsource: {category: file_event}
detection:
  s: {process.name: x.exe}
  condition: s
`
	rs := compileOne(t, yml, Options{})
	for _, tc := range []struct {
		ev   event.Event
		want []string
	}{
		{event.Event{EventCategory: "process", ProcessName: "x.exe"}, []string{"p", "a"}},
		{event.Event{EventCategory: "file", ProcessName: "x.exe"}, []string{"a", "f"}},
		{event.Event{EventCategory: "network", ProcessName: "x.exe"}, []string{"a"}},
		{event.Event{ProcessName: "x.exe"}, []string{"a"}},
		{event.Event{EventCategory: "process", ProcessName: "x.exe", HostOSFamily: "linux"}, nil},
		{event.Event{EventCategory: "process", ProcessName: "x.exe", HostOSFamily: "Windows"}, []string{"p", "a"}},
	} {
		got := matchIDs(rs, &tc.ev)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: matched %v, want %v", tc.ev, got, tc.want)
		}
	}
}

func TestAttackTags(t *testing.T) {
	for _, tc := range []struct {
		tags           []string
		tactics, techs []string
		class          event.Class
	}{
		{[]string{"attack.impact", "attack.t1490"}, []string{"TA0040"}, []string{"T1490"}, event.ClassDestructive},
		{[]string{"attack.discovery", "attack.t1087.002", "attack.T1087.002"}, []string{"TA0007"}, []string{"T1087.002"}, event.ClassReconnaissance},
		{[]string{"attack.reconnaissance", "attack.t1595.002"}, []string{"TA0043"}, []string{"T1595.002"}, event.ClassReconnaissance},
		{[]string{"attack.discovery", "attack.impact"}, []string{"TA0007", "TA0040"}, nil, event.ClassDestructive},
		{[]string{"attack.execution", "attack.defense_evasion", "attack.stealth"}, []string{"TA0002", "TA0005"}, nil, event.ClassIntrusion},
		{[]string{"attack.defense-impairment"}, []string{"TA0112"}, nil, event.ClassIntrusion},
		{[]string{"attack.ta0040"}, []string{"TA0040"}, nil, event.ClassDestructive},
		{[]string{"attack.inhibit-response-function", "attack.t0816"}, []string{"TA0107"}, []string{"T0816"}, event.ClassDestructive},
		{[]string{"attack.impair-process-control", "attack.impact", "attack.t0831"}, []string{"TA0105", "TA0106"}, []string{"T0831"}, event.ClassDestructive},
		{[]string{"attack.discovery", "attack.t0846"}, []string{"TA0102"}, []string{"T0846"}, event.ClassReconnaissance},
		{[]string{"attack.g0032", "attack.s0002", "car.2016-04-005", "cve.2021-44228"}, nil, nil, event.ClassIntrusion},
		{nil, nil, nil, event.ClassIntrusion},
	} {
		tac, tech := attackTags(tc.tags)
		if !slices.Equal(tac, tc.tactics) || !slices.Equal(tech, tc.techs) {
			t.Errorf("%v: tactics %v techniques %v, want %v %v", tc.tags, tac, tech, tc.tactics, tc.techs)
		}
		if c := classify(tac); c != tc.class {
			t.Errorf("%v: class %s, want %s", tc.tags, c, tc.class)
		}
	}
}

func TestSignalFields(t *testing.T) {
	yml := "title: Shadow\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\ntags: [attack.impact, attack.t1490]\n" +
		"logsource: {category: process_creation}\ndetection:\n  s: {process.name: vssadmin.exe}\n  condition: s\n"
	rs := compileOne(t, yml, Options{})
	ev := &event.Event{Timestamp: t0, EventCategory: "process", ProcessName: "vssadmin.exe", HostIP: "10.0.0.5", HostName: "srv1"}
	evid := event.Evidence{Topic: "telemetry", Partition: 3, Offset: 42, EventTime: t0}
	var got []event.Signal
	rs.Match(ev, evid, func(s event.Signal) { got = append(got, s) })
	if len(got) != 1 {
		t.Fatalf("signals = %d, want 1", len(got))
	}
	s := got[0]
	if s.RuleID != "11111111-2222-3333-4444-555555555555" || s.RuleTitle != "Shadow" || s.RuleLevel != "high" ||
		s.Class != event.ClassDestructive || !slices.Equal(s.Tactics, []string{"TA0040"}) ||
		!slices.Equal(s.Techniques, []string{"T1490"}) || !s.Time.Equal(t0) || s.Count != 1 ||
		s.Source != "10.0.0.5" || s.Target != "10.0.0.5" || s.Evidence != evid {
		t.Errorf("signal = %+v", s)
	}
}

func TestWarnings(t *testing.T) {
	yml := "title: w\nid: w1\ncolour: blue\nlogsource: {category: process_creation, flavour: x}\n" +
		"detection:\n  s: {LogonType: 3, process.name: a}\n  condition: s\n"
	_, warns, err := Compile([]File{{Name: "w.yml", Data: []byte(yml)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, w := range warns {
		msgs = append(msgs, w.String())
	}
	want := []string{
		`w.yml:3:1: rule "w": unknown attribute "colour"`,
		`w.yml:4:41: rule "w": unknown logsource attribute "flavour"`,
		`w.yml:6:3: rule "w": fields without a canonical mapping, read from the source's own fields or labels: LogonType`,
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("warnings:\n%q\nwant\n%q", msgs, want)
	}
}

func TestDuplicateID(t *testing.T) {
	r := "title: a\nid: same\nlogsource: {category: process_creation}\ndetection:\n  s: {process.name: x}\n  condition: s\n"
	_, _, err := Compile([]File{{Name: "a.yml", Data: []byte(r)}, {Name: "b.yml", Data: []byte(r)}}, Options{})
	if !errors.Is(err, ErrDuplicate) {
		t.Errorf("error %v, want %v", err, ErrDuplicate)
	}
}

func TestConcurrentMatch(t *testing.T) {
	rs := compileOne(t, detectionRule("process_creation", "s:\n  CommandLine|re: 'del.*shadows'\n  Image|endswith: vssadmin.exe\ncondition: s"), Options{})
	ev := &event.Event{EventCategory: "process", ProcessExecutable: `c:\vssadmin.exe`, ProcessCommandLine: "delete shadows"}
	done := make(chan int)
	for range 8 {
		go func() {
			n := 0
			for range 500 {
				rs.Match(ev, event.Evidence{}, func(event.Signal) { n++ })
			}
			done <- n
		}()
	}
	for range 8 {
		if n := <-done; n != 500 {
			t.Errorf("matches %d, want 500", n)
		}
	}
}
