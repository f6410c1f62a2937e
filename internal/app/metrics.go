package app

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/casus-sec/casus/internal/config"
)

// Metric describes one metric family that `casus run` exports.
type Metric struct {
	Name   string // without the _bucket, _sum and _count series of histograms
	Type   string // counter, gauge, histogram, summary or untyped
	Help   string
	Labels []string // variable labels, in order
}

// Metrics lists every metric family a process running all three roles
// exports, including vectors that have no series yet, so that dashboards,
// alerting rules and docs can be checked against what casus really serves.
func Metrics() ([]Metric, error) {
	know, err := ScenarioKnowledge()
	if err != nil {
		return nil, err
	}
	cfg := config.Defaults()
	rec := &describer{Registerer: prometheus.NewRegistry(), byName: map[string]Metric{}}
	// Nothing connects: consumers, producer and state store dial lazily.
	if _, err := newService(cfg, know, slog.New(slog.NewTextHandler(io.Discard, nil)), rec); err != nil {
		return nil, fmt.Errorf("describe metrics: %w", err)
	}
	if rec.err != nil {
		return nil, fmt.Errorf("describe metrics: %w", rec.err)
	}
	out := make([]Metric, 0, len(rec.byName))
	for _, m := range rec.byName {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// describer is a Registerer that also records what each collector
// describes. The registry alone cannot say: it gathers series, and a
// vector without series gathers nothing.
type describer struct {
	prometheus.Registerer
	byName map[string]Metric
	err    error
}

var descPattern = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*"), unit: "(?:[^"\\]|\\.)*", constLabels: \{[^}]*\}, variableLabels: \{([^}]*)\}\}$`)

func (d *describer) Register(c prometheus.Collector) error {
	if err := d.Registerer.Register(c); err != nil {
		return err
	}
	typ := collectorType(c)
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		m, err := parseDesc(desc.String())
		if err != nil {
			d.err = err
			continue
		}
		m.Type = typ
		if m.Type == "" {
			m.Type = gatheredType(c, m.Name)
		}
		d.byName[m.Name] = m
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

func parseDesc(s string) (Metric, error) {
	g := descPattern.FindStringSubmatch(s)
	if g == nil {
		return Metric{}, fmt.Errorf("unreadable metric description %q", s)
	}
	name, err1 := strconv.Unquote(g[1])
	help, err2 := strconv.Unquote(g[2])
	if err1 != nil || err2 != nil {
		return Metric{}, fmt.Errorf("unreadable metric description %q", s)
	}
	m := Metric{Name: name, Help: help}
	for _, l := range strings.Split(g[3], ",") {
		if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
			m.Labels = append(m.Labels, l)
		}
	}
	return m, nil
}

// collectorType names the type of a vector, which may have no series to
// gather yet. Single metrics are gathered instead: as interfaces, a gauge
// is also a Counter and a summary a Histogram.
func collectorType(c prometheus.Collector) string {
	switch c.(type) {
	case *prometheus.CounterVec:
		return "counter"
	case *prometheus.GaugeVec:
		return "gauge"
	case *prometheus.HistogramVec:
		return "histogram"
	case *prometheus.SummaryVec:
		return "summary"
	}
	return ""
}

// gatheredType asks a collector other than a vector for the type of one
// of its families; such collectors always have series.
func gatheredType(c prometheus.Collector, name string) string {
	r := prometheus.NewPedanticRegistry()
	if err := r.Register(c); err != nil {
		return "untyped"
	}
	fams, err := r.Gather()
	if err != nil {
		return "untyped"
	}
	for _, f := range fams {
		if f.GetName() == name {
			return strings.ToLower(dto.MetricType_name[int32(f.GetType())])
		}
	}
	return "untyped"
}
