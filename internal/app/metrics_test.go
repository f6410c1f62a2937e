package app

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/casus-sec/casus/internal/config"
)

func TestMetrics(t *testing.T) {
	ms, err := Metrics()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Metric{}
	for _, m := range ms {
		if _, dup := byName[m.Name]; dup {
			t.Errorf("%s listed twice", m.Name)
		}
		byName[m.Name] = m
		if m.Help == "" {
			t.Errorf("%s has no help", m.Name)
		}
		if !strings.HasPrefix(m.Name, "casus_") {
			continue
		}
		// Prometheus naming: counters end in _total and nothing else does.
		if (m.Type == "counter") != strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s is a %s", m.Name, m.Type)
		}
	}
	for _, want := range []Metric{
		{Name: "casus_escalations_total", Type: "counter", Labels: []string{"level", "candidacy"}},
		{Name: "casus_consumer_lag", Type: "gauge", Labels: []string{"topic", "partition"}},
		{Name: "casus_record_to_output_seconds", Type: "histogram", Labels: []string{"output"}},
		{Name: "casus_rules_loaded", Type: "gauge"},
		{Name: "casus_ready", Type: "gauge"},
		{Name: "casus_signing_key_info", Type: "gauge", Labels: []string{"key_id"}},
		{Name: "go_gc_duration_seconds", Type: "summary"},
		{Name: "process_resident_memory_bytes", Type: "gauge"},
	} {
		got, ok := byName[want.Name]
		if !ok {
			t.Errorf("%s missing", want.Name)
			continue
		}
		if got.Type != want.Type || !slices.Equal(got.Labels, want.Labels) {
			t.Errorf("%s = %s %v, want %s %v", want.Name, got.Type, got.Labels, want.Type, want.Labels)
		}
	}

	// Every family a real service gathers is listed: the list is what casus
	// serves, not a copy of it.
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(config.Defaults(), know, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fams, err := svc.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) < 20 {
		t.Fatalf("a fresh service gathers only %d families", len(fams))
	}
	for _, f := range fams {
		if _, ok := byName[f.GetName()]; !ok {
			t.Errorf("%s is served but not listed", f.GetName())
		}
	}
}

// The escalation series a campaign role can publish exist at zero from the
// start, so increase() in an alert sees the first escalation of each kind.
func TestEscalationSeriesInitialised(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		roles    []config.Role
		minLevel int
		want     []string
	}{
		{[]config.Role{config.RoleCampaign}, 1, []string{
			"1/none", "2/none", "3/significant",
			"4/armed-attack-candidate", "4/armed-attack-candidate-pending-attribution", "4/significant",
			"5/armed-attack-candidate", "5/armed-attack-candidate-pending-attribution", "5/significant",
		}},
		{[]config.Role{config.RoleCampaign}, 4, []string{
			"4/armed-attack-candidate", "4/armed-attack-candidate-pending-attribution", "4/significant",
			"5/armed-attack-candidate", "5/armed-attack-candidate-pending-attribution", "5/significant",
		}},
		{[]config.Role{config.RoleClassify}, 1, nil},
	} {
		cfg := config.Defaults()
		cfg.Roles, cfg.MinLevel = tt.roles, tt.minLevel
		got := seriesAtStart(t, cfg, know, "casus_escalations_total", func(l map[string]string) string { return l["level"] + "/" + l["candidacy"] })
		if !slices.Equal(got, tt.want) {
			t.Errorf("roles %v, min level %d: series %v, want %v", tt.roles, tt.minLevel, got, tt.want)
		}
	}
}

// Every casus metric has a row in the metrics table of docs/operations.md.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Metrics()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(line[2:], "|")
		for _, name := range strings.Split(cell, ",") {
			rows["casus_"+strings.Trim(strings.TrimSpace(name), "`")] = true
		}
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Name, "casus_") && !rows[m.Name] {
			t.Errorf("%s has no row in the metrics table of docs/operations.md", m.Name)
		}
	}
}

// The eviction series the alert reads exist at zero in the roles that
// evict, so the first burst of a process's life shows as an increase.
func TestEvictionSeriesInitialised(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		role config.Role
		want string
	}{
		{config.RoleCorrelate, "incident"},
		{config.RoleCampaign, "campaign_incident"},
		{config.RoleClassify, ""},
	} {
		cfg := config.Defaults()
		cfg.Roles = []config.Role{tt.role}
		kinds := seriesAtStart(t, cfg, know, "casus_state_evictions_total", func(l map[string]string) string { return l["kind"] })
		if got := strings.Join(kinds, ","); got != tt.want {
			t.Errorf("%s: eviction series %q, want %q", tt.role, got, tt.want)
		}
	}
}

// seriesAtStart builds a service from cfg and returns the series of the
// family name it has before doing anything, each named by key and sorted;
// it fails the test on a series that does not start at zero.
func seriesAtStart(t *testing.T, cfg config.Config, know *Knowledge, name string, key func(map[string]string) string) []string {
	t.Helper()
	svc, err := NewService(cfg, know, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fams, err := svc.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("roles %v: %s%v starts at %v", cfg.Roles, name, labels, v)
			}
			out = append(out, key(labels))
		}
	}
	slices.Sort(out)
	return out
}
