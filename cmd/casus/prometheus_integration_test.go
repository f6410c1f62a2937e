package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// promRules is the rule file the test loads into Prometheus, relative to
// this package.
const promRules = "../../deploy/prometheus/casus-rules.yml"

// TestPrometheusAlertsIntegration runs the whole alerting path: `casus run`
// against the real broker, `promtool check metrics` on its live /metrics,
// and a real Prometheus server that scrapes it under job="casus" with
// deploy/prometheus/casus-rules.yml loaded. Once the bundled scenario is
// produced, CasusArmedAttackCandidate must fire within 2 minutes while
// casus stays up.
func TestPrometheusAlertsIntegration(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	promBin := promTool(t, "CASUS_TEST_PROMETHEUS", "prometheus")
	promtool := promTool(t, "CASUS_TEST_PROMTOOL", "promtool")
	rules, err := filepath.Abs(promRules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	prefix := fmt.Sprintf("it-prom-%d", time.Now().UnixNano())
	input, group := prefix+"-telemetry", prefix+"-group"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The scenario is produced only once Prometheus has scraped the
	// escalation counters at 0: increase() needs a sample before the first
	// escalation, as in production, where the counters start with casus.
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 3, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := startCasus(t, bin, scenarioEnv(t, brokers, group, prefix, input, addr, dir))
	p.waitReady(t, addr)

	before := scrape(t, addr)
	promCheckMetrics(t, promtool, before)
	promEveryEscalationAlerted(t, before, rules)

	prom := startPrometheus(t, promBin, dir, rules, addr)
	p.waitFor(t, "Prometheus scraping casus", func() bool {
		up, err := prom.query(`up{job="casus"}`)
		if err != nil || len(up) != 1 || up[0] != 1 {
			return false
		}
		zero, err := prom.query(`casus_escalations_total{job="casus",candidacy="armed-attack-candidate"}`)
		return err == nil && len(zero) > 0
	})

	produced := time.Now()
	produceScenario(t, ctx, brokers, input, 300)
	t.Logf("scenario produced in %s", time.Since(produced).Round(time.Millisecond))

	var counted time.Duration // until Prometheus held a candidate escalation
	var firing promAlert
	deadline := produced.Add(2 * time.Minute)
	for {
		if counted == 0 {
			if v, err := prom.query(`sum(casus_escalations_total{job="casus",candidacy="armed-attack-candidate"})`); err == nil && len(v) == 1 && v[0] > 0 {
				counted = time.Since(produced)
			}
		}
		alerts, err := prom.alerts()
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := alerts.find("CasusArmedAttackCandidate", "firing"); ok {
			firing = a
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CasusArmedAttackCandidate not firing 2 minutes after the scenario was produced; alerts: %v\ncasus:\n%s\nprometheus:\n%s",
				alerts, p.logs.String(), prom.logs.String())
		}
		select {
		case <-p.done:
			t.Fatalf("casus exited (%v)\n%s", p.err, p.logs.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Logf("CasusArmedAttackCandidate firing %s after the scenario was produced (the counter reached Prometheus after %s)",
		time.Since(produced).Round(100*time.Millisecond), counted.Round(100*time.Millisecond))

	for k, want := range map[string]string{"severity": "critical", "job": "casus", "candidacy": "armed-attack-candidate", "level": "4"} {
		if firing.Labels[k] != want {
			t.Errorf("CasusArmedAttackCandidate label %s=%q, want %q (labels %v)", k, firing.Labels[k], want, firing.Labels)
		}
	}
	if u := firing.Annotations["runbook_url"]; !strings.HasSuffix(u, "/docs/runbook.md#casusarmedattackcandidate") {
		t.Errorf("runbook_url %q", u)
	}
	if d := firing.Annotations["description"]; !strings.Contains(d, "never decides that an armed attack took place") || strings.Contains(d, "{{") {
		t.Errorf("description %q", d)
	}

	alerts, err := prom.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		t.Logf("alert %s %s %v", a.Labels["alertname"], a.State, a.Labels)
	}
	if a, ok := alerts.find("CasusDown", ""); ok {
		t.Errorf("CasusDown is %s: %v", a.State, a.Labels)
	}
	if up, err := prom.query(`up{job="casus"}`); err != nil || len(up) != 1 || up[0] != 1 {
		t.Errorf("up{job=\"casus\"} = %v (%v), want one series at 1", up, err)
	}

	// With the pipeline's series populated now (histograms, dead letters,
	// escalations), lint once more.
	promCheckMetrics(t, promtool, scrape(t, addr))
	p.sigterm(t)
}

// promTool returns the executable the environment variable names, skipping
// the test when it is unset.
func promTool(t *testing.T, env, name string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Skipf("%s is not set: set it to the %s binary (for example /usr/bin/%s) to run this test", env, name, name)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s=%s: %v", env, path, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable file (mode %v)", env, path, fi.Mode())
	}
	return path
}

// promCheckMetrics runs `promtool check metrics` on a scrape; it must pass.
func promCheckMetrics(t *testing.T, promtool, metrics string) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	out, err := cmd.CombinedOutput()
	if len(bytes.TrimSpace(out)) > 0 {
		t.Logf("promtool check metrics:\n%s", out)
	}
	if err != nil {
		t.Fatalf("promtool check metrics on a scrape of %d lines: %v", strings.Count(metrics, "\n"), err)
	}
}

var (
	escalationSeries = regexp.MustCompile(`(?m)^casus_escalations_total\{([^}]*)\} `)
	labelPair        = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
)

// promEveryEscalationAlerted checks that every escalation series the live
// process exports at level 3 or above, or with an armed-attack candidacy,
// is selected by an alert of the rule file.
func promEveryEscalationAlerted(t *testing.T, metrics, rules string) {
	t.Helper()
	data, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	// alerted reports whether some alert's matchers on casus_escalations_total
	// all hold for a series with these labels.
	selector := regexp.MustCompile(`casus_escalations_total\{([^}]*)\}`)
	alerted := func(labels map[string]string) bool {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				for _, sel := range selector.FindAllStringSubmatch(r.Expr, -1) {
					all := true
					for _, m := range labelPair.FindAllStringSubmatch(sel[1], -1) {
						all = all && labels[m[1]] == m[2]
					}
					if all {
						return true
					}
				}
			}
		}
		return false
	}
	series := escalationSeries.FindAllStringSubmatch(metrics, -1)
	if len(series) == 0 {
		t.Fatalf("no casus_escalations_total series in a scrape of a process running the campaign role")
	}
	for _, s := range series {
		labels := map[string]string{}
		for _, l := range labelPair.FindAllStringSubmatch(s[1], -1) {
			labels[l[1]] = l[2]
		}
		level, err := strconv.Atoi(labels["level"])
		if err != nil {
			t.Fatalf("casus_escalations_total{%s}: level %q", s[1], labels["level"])
		}
		if (level >= 3 || strings.HasPrefix(labels["candidacy"], "armed-attack-candidate")) && !alerted(labels) {
			t.Errorf("no alert selects casus_escalations_total{%s}", s[1])
		}
	}
}

// promServer is a Prometheus server child process of a test.
type promServer struct {
	url  string
	logs *syncBuffer
}

// startPrometheus starts a Prometheus server on a free loopback port that
// scrapes target every second as job "casus" and evaluates rules every
// second, and stops it when the test ends.
func startPrometheus(t *testing.T, bin, dir, rules, target string) *promServer {
	t.Helper()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: casus
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	s := &promServer{url: "http://" + listen, logs: &syncBuffer{}}
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-done:
			t.Fatalf("prometheus exited (%v)\n%s", err, s.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s\n%s", s.logs.String())
		}
	}
}

// get decodes the data of a Prometheus HTTP API answer.
func (s *promServer) get(path string, data any) error {
	resp, err := http.Get(s.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: %w: %s", path, err, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s %s", path, r.Status, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// query returns the values of an instant vector query.
func (s *promServer) query(q string) ([]float64, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := s.get("/api/v1/query?query="+url.QueryEscape(q), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", q, data.ResultType)
	}
	var out []float64
	for _, r := range data.Result {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", q, r.Value[1])
		}
		out = append(out, v)
	}
	return out, nil
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

type promAlertList []promAlert

// alerts returns the pending and firing alerts.
func (s *promServer) alerts() (promAlertList, error) {
	var data struct {
		Alerts promAlertList `json:"alerts"`
	}
	err := s.get("/api/v1/alerts", &data)
	return data.Alerts, err
}

// find returns the first alert named name in state ("" for any).
func (l promAlertList) find(name, state string) (promAlert, bool) {
	for _, a := range l {
		if a.Labels["alertname"] == name && (state == "" || a.State == state) {
			return a, true
		}
	}
	return promAlert{}, false
}
