package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/classify/event"
)

func TestLogsourceRouting(t *testing.T) {
	rule := func(id, logsource string) string {
		return "title: " + id + "\nid: " + id + "\nlevel: low\nlogsource:\n" + indent(logsource, "  ") +
			"detection:\n  sel:\n    CommandLine|contains: evil\n  condition: sel\n---\n"
	}
	yml := rule("proc", "category: process_creation") +
		rule("win-proc", "product: windows\ncategory: process_creation") +
		rule("linux-proc", "product: linux\ncategory: process_creation") +
		rule("sysmon", "product: windows\nservice: sysmon") +
		rule("security", "product: windows\nservice: security") +
		rule("registry", "product: windows\ncategory: registry_event") +
		rule("reg-set", "product: windows\ncategory: registry_set") +
		rule("any", "product: windows")
	rs := compileOne(t, yml, Options{})
	tests := []struct {
		name string
		ls   event.Logsource
		want []string
	}{
		{"sysmon process creation", event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			[]string{"proc", "win-proc", "sysmon", "any"}},
		{"security 4688", event.Logsource{Product: "windows", Category: "process_creation", Service: "security"},
			[]string{"proc", "win-proc", "security", "any"}},
		{"linux", event.Logsource{Product: "linux", Category: "process_creation"}, []string{"proc", "linux-proc"}},
		{"product unknown", event.Logsource{Category: "process_creation"},
			[]string{"proc", "win-proc", "linux-proc", "sysmon", "security", "any"}},
		{"registry_set is a registry_event", event.Logsource{Product: "windows", Category: "registry_set", Service: "sysmon"},
			[]string{"sysmon", "registry", "reg-set", "any"}},
		{"registry_add", event.Logsource{Product: "windows", Category: "registry_add", Service: "sysmon"},
			[]string{"sysmon", "registry", "any"}},
		{"unknown category and service", event.Logsource{Product: "windows", Category: "clipboard", Service: "other"},
			[]string{"any"}},
		{"upper case", event.Logsource{Product: "Windows", Category: "Process_Creation", Service: "SYSMON"},
			[]string{"proc", "win-proc", "sysmon", "any"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &event.Event{Logsource: tt.ls, ProcessCommandLine: "evil.exe"}
			if got := matchIDs(rs, ev); !slices.Equal(got, tt.want) {
				t.Errorf("fired %v, want %v", got, tt.want)
			}
		})
	}
	// Hostile logsource values share one route; the cache stays bounded.
	for i := range 1000 {
		ev := &event.Event{Logsource: event.Logsource{Product: fmt.Sprint("p", i), Category: fmt.Sprint("c", i), Service: fmt.Sprint("s", i)}}
		matchIDs(rs, ev)
	}
	if n := len(rs.router.routes); n > 20 {
		t.Errorf("%d cached routes after 1000 distinct unknown logsources", n)
	}
}

// Windows rules name the event's own fields; events decoded from ECS carry
// the canonical ones. Both match.
func TestNativeFieldsFirst(t *testing.T) {
	rs := compileOne(t, detectionRule("process_creation", `sel:
  Image|endswith: '\psexec.exe'
  IntegrityLevel: High
condition: sel
`), Options{})
	native := &event.Event{
		Logsource: event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
		Fields:    []event.Field{{Name: "Image", Value: `C:\t\PsExec.exe`}, {Name: "IntegrityLevel", Value: "High"}},
	}
	if got := matchIDs(rs, native); len(got) != 1 {
		t.Errorf("native fields: fired %v", got)
	}
	// Image absent natively (Security 4688 names it NewProcessName): the
	// canonical process.executable the decoder filled answers.
	fallback := &event.Event{
		Logsource:         event.Logsource{Product: "windows", Category: "process_creation", Service: "security"},
		ProcessExecutable: `C:\t\psexec.exe`,
		Fields:            []event.Field{{Name: "IntegrityLevel", Value: "High"}},
	}
	if got := matchIDs(rs, fallback); len(got) != 1 {
		t.Errorf("canonical fallback: fired %v", got)
	}
	// A native value wins over the canonical one.
	conflict := &event.Event{
		Logsource:         event.Logsource{Category: "process_creation"},
		ProcessExecutable: `C:\t\psexec.exe`,
		Fields:            []event.Field{{Name: "Image", Value: `C:\t\other.exe`}, {Name: "IntegrityLevel", Value: "High"}},
	}
	if got := matchIDs(rs, conflict); len(got) != 0 {
		t.Errorf("native value should win: fired %v", got)
	}
	// Keywords search the native fields too.
	kw := compileOne(t, detectionRule("process_creation", "keywords:\n  - 'mimikatz'\ncondition: keywords\n"), Options{})
	kev := withField(event.Event{EventCategory: "process"}, "ParentCommandLine", "x MimiKatz y")
	if got := matchIDs(kw, &kev); len(got) != 1 {
		t.Errorf("keyword in a native field: fired %v", got)
	}
}

func TestPipeline(t *testing.T) {
	pipe := `name: acme sensors
transformations:
  - id: acme_proc
    type: field_name_mapping
    mapping:
      ProcPath: process.executable
      Tenant: labels.tenant
    rule_conditions:
      - type: logsource
        product: windows
`
	rules := `title: w
id: w
level: low
logsource: {product: windows, category: process_creation}
detection:
  sel:
    ProcPath|endswith: '\nc.exe'
    Tenant: blue
  condition: sel
---
title: l
id: l
level: low
logsource: {product: linux, category: process_creation}
detection:
  sel:
    ProcPath|endswith: '/nc'
  condition: sel
`
	rs, _, err := Compile([]File{{Name: "acme.pipeline.yml", Data: []byte(pipe)}, {Name: "r.yml", Data: []byte(rules)},
		{Name: "r.test.yml", Data: []byte("not: [a rule")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &event.Event{EventCategory: "process", HostOSFamily: "windows", ProcessExecutable: `C:\x\nc.exe`, Labels: map[string]string{"tenant": "blue"}}
	if got := matchIDs(rs, ev); !slices.Equal(got, []string{"w"}) {
		t.Errorf("windows rule through the pipeline: fired %v", got)
	}
	// The linux rule is outside the mapping's condition: ProcPath stays a
	// source-native name.
	lx := &event.Event{EventCategory: "process", HostOSFamily: "linux", ProcessExecutable: "/usr/bin/nc"}
	if got := matchIDs(rs, lx); len(got) != 0 {
		t.Errorf("unmapped linux rule fired %v", got)
	}
	lx.Fields = []event.Field{{Name: "ProcPath", Value: "/usr/bin/nc"}}
	if got := matchIDs(rs, lx); !slices.Equal(got, []string{"l"}) {
		t.Errorf("linux rule on the native field: fired %v", got)
	}
}

func TestPipelineErrors(t *testing.T) {
	tests := []struct {
		name, yml string
		kind      error
		pos       string
	}{
		{"unknown target", "transformations:\n  - type: field_name_mapping\n    mapping:\n      A: process.nope\n", ErrInvalid, ":4:10"},
		{"other transformation", "transformations:\n  - type: add_condition\n", ErrUnsupported, ":2:11"},
		{"condition type", "transformations:\n  - type: field_name_mapping\n    mapping: {A: host.name}\n    rule_conditions:\n      - type: include_fields\n", ErrUnsupported, ":5:15"},
		{"one to many", "transformations:\n  - type: field_name_mapping\n    mapping:\n      A: [host.name, host.ip]\n", ErrUnsupported, ":4:10"},
		{"syntax", "transformations: [", ErrSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePipeline("p.pipeline.yml", []byte(tt.yml))
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v, want %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), "p.pipeline.yml"+tt.pos) {
				t.Errorf("error %q lacks position %q", err, tt.pos)
			}
		})
	}
}
