package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/internal/app"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// TestScaleOutIntegration runs three `casus run` processes in one group
// over six partitions, kills one with SIGKILL in the middle of the
// scenario and adds a fourth, and checks that the escalations are those of
// a single process over the same input and of `casus classify` over the
// same records: same ids, same bodies (but for the CloudEvents source,
// which names the group), no id with two different bodies.
func TestScaleOutIntegration(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	b := strings.Join(brokers, ",")
	bin := filepath.Join(t.TempDir(), "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("it-scaleout-%d", time.Now().UnixNano())
	input := prefix + "-telemetry"
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 6, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	recs := scenario.Generate(scenario.Config{Benign: 6000})
	var msgs []kafkago.Message
	for _, r := range recs {
		// Keyed by site, as docs/operations.md asks: the Sigma correlation
		// rules of the classify role count within a partition, so records a
		// rule aggregates must share one.
		msgs = append(msgs, kafkago.Message{Key: r.Key, Value: r.Value})
	}
	half := len(msgs) / 2
	produce := func(part []kafkago.Message) {
		t.Helper()
		w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: input, Balancer: &kafkago.Murmur2Balancer{}, RequiredAcks: kafkago.RequireAll,
			BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, Transport: &kafkago.Transport{MetadataTTL: time.Second}}
		defer w.Close()
		if err := w.WriteMessages(ctx, part...); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var lines bytes.Buffer
	for _, m := range msgs {
		lines.Write(m.Value)
		lines.WriteByte('\n')
	}
	for name, data := range map[string][]byte{"assets.yaml": scenario.AssetsYAML(), "intel.yaml": scenario.IntelYAML(), "input.ndjson": lines.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := func(run, addr string) []string {
		return append(os.Environ(),
			"CASUS_KAFKA_BROKERS="+b, "CASUS_INPUTS="+input+":ecs", "CASUS_GROUP_ID="+prefix+"-"+run,
			"CASUS_TOPIC_SIGNALS="+prefix+"-"+run+"-signals", "CASUS_TOPIC_INCIDENTS="+prefix+"-"+run+"-incidents",
			"CASUS_TOPIC_ESCALATIONS="+prefix+"-"+run+"-escalations", "CASUS_TOPIC_DEADLETTER="+prefix+"-"+run+"-deadletter",
			"CASUS_TOPIC_STATE="+prefix+"-"+run+"-state", "CASUS_TOPIC_PARTITIONS=6",
			"CASUS_METRICS_ADDR="+addr, "CASUS_GRACE_PERIOD=10s", "CASUS_BATCH_TIMEOUT=50ms", "CASUS_BATCH_SIZE=100",
			"CASUS_IDLE_AFTER=500ms", "CASUS_LOG_LEVEL=warn",
			"CASUS_ASSETS_FILE="+filepath.Join(dir, "assets.yaml"), "CASUS_INTEL_FILE="+filepath.Join(dir, "intel.yaml"))
	}
	type proc struct {
		cmd    *exec.Cmd
		logs   *syncBuffer
		exited chan error
		addr   string // of /metrics
	}
	start := func(run string) *proc {
		t.Helper()
		p := &proc{cmd: exec.Command(bin, "run"), logs: &syncBuffer{}, exited: make(chan error, 1), addr: freeAddr(t)}
		p.cmd.Env = env(run, p.addr)
		p.cmd.Stderr = p.logs
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.exited <- p.cmd.Wait() }()
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		})
		return p
	}
	settle := func(run string, procs ...*proc) {
		t.Helper()
		cfg := config.Defaults()
		cfg.Group.ID = prefix + "-" + run
		cfg.Inputs = []config.Input{{Topic: input, Format: "ecs"}}
		cfg.Signals, cfg.Incidents = prefix+"-"+run+"-signals", prefix+"-"+run+"-incidents"
		exited := func() error {
			for _, p := range procs {
				select {
				case err := <-p.exited:
					return fmt.Errorf("a casus process exited (%v) before the %s run settled\n%s", err, run, p.logs.String())
				default:
				}
			}
			return nil
		}
		if err := app.WaitSettled(ctx, brokers, cfg, 3*time.Second, exited); err != nil {
			var logs strings.Builder
			for _, p := range procs {
				if p.cmd.ProcessState == nil {
					// A goroutine dump shows where a stuck process waits.
					_ = p.cmd.Process.Signal(syscall.SIGQUIT)
					<-p.exited
				}
				logs.WriteString(p.logs.String())
			}
			t.Fatalf("%v\n%s", err, logs.String())
		}
	}
	stop := func(ps ...*proc) {
		t.Helper()
		for _, p := range ps {
			_ = p.cmd.Process.Signal(os.Interrupt)
		}
		for _, p := range ps {
			select {
			case err := <-p.exited:
				if err != nil {
					t.Errorf("casus exited with %v after SIGINT\n%s", err, p.logs.String())
				}
			case <-time.After(60 * time.Second):
				t.Errorf("casus did not stop within 60s\n%s", p.logs.String())
			}
		}
	}

	produce(msgs[:half])
	// The cluster: three processes, one killed mid-scenario, one added.
	a, b2, c := start("cluster"), start("cluster"), start("cluster")
	committed := func() int64 {
		ends, _ := kafka.Committed(ctx, brokers, nil, prefix+"-cluster", input, []int{0, 1, 2, 3, 4, 5})
		var n int64
		for _, o := range ends {
			n += max(o, 0)
		}
		return n
	}
	for committed() < int64(half)/3 {
		if ctx.Err() != nil {
			t.Fatal("the cluster made no progress")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := b2.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b2.exited
	killedAt := committed()
	d := start("cluster")
	produce(msgs[half:])
	settle("cluster", a, c, d)
	// Each partition's lag is reported by the process that reads it, and by
	// no other: partitions moved by the rebalances leave no stale series.
	lagOwners := map[string][]string{}
	for _, p := range []*proc{a, c, d} {
		for _, line := range strings.Split(scrape(t, p.addr), "\n") {
			if strings.HasPrefix(line, "casus_consumer_lag{") && strings.Contains(line, `topic="`+input+`"`) {
				part := line[strings.Index(line, `partition="`)+len(`partition="`):]
				part = part[:strings.IndexByte(part, '"')]
				lagOwners[part] = append(lagOwners[part], p.addr)
			}
		}
	}
	for p := range 6 {
		if owners := lagOwners[strconv.Itoa(p)]; len(owners) != 1 {
			t.Errorf("lag of %s partition %d reported by %d processes %v, want 1", input, p, len(owners), owners)
		}
	}
	stop(a, c, d)

	// The reference: one process over the same input.
	single := start("single")
	settle("single", single)
	stop(single)

	cluster, clusterDups := readEscalations(t, ctx, brokers, prefix+"-cluster-escalations")
	ref, _ := readEscalations(t, ctx, brokers, prefix+"-single-escalations")
	if len(ref) == 0 {
		t.Fatal("the single process escalated nothing")
	}
	for id, body := range ref {
		if got, ok := cluster[id]; !ok {
			t.Errorf("missing from the cluster run: %s", body)
		} else if got != body {
			t.Errorf("escalation %s differs:\ncluster %s\nsingle  %s", id, got, body)
		}
	}
	for id, body := range cluster {
		if _, ok := ref[id]; !ok {
			t.Errorf("only in the cluster run: %s", body)
		}
	}

	// And `casus classify` over the records gives the same escalations.
	classify := exec.Command(bin, "classify", "--format", "ecs", filepath.Join(dir, "input.ndjson"))
	classify.Env = env("offline", "127.0.0.1:0")
	out, err := classify.Output()
	if err != nil {
		t.Fatalf("casus classify: %v", err)
	}
	offline := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e escalate.Escalation
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == escalate.EventType {
			offline[e.ID] = fmt.Sprintf("%s L%d %s", e.Data.Targets.Organisation, e.Data.Level, e.Data.Candidacy)
		}
	}
	var refIDs, offIDs []string
	for id := range ref {
		refIDs = append(refIDs, id)
	}
	for id := range offline {
		offIDs = append(offIDs, id)
	}
	slices.Sort(refIDs)
	slices.Sort(offIDs)
	if !slices.Equal(refIDs, offIDs) {
		t.Errorf("casus run and casus classify escalate differently:\n run      %v\n classify %v", refIDs, offIDs)
	}
	t.Logf("%d records over 6 partitions; one process killed at %d committed; %d escalations, %d repeated with identical bodies",
		len(msgs), killedAt, len(cluster), clusterDups)
}

// readEscalations reads a topic's escalations by id, with the CloudEvents
// source (which names the group) blanked. It fails on an id published with
// two different bodies and counts the identical repeats.
func readEscalations(t *testing.T, ctx context.Context, brokers []string, topic string) (map[string]string, int) {
	t.Helper()
	out := map[string]string{}
	dups := 0
	eachRecord(t, ctx, brokers, topic, func(m kafkago.Message) {
		var e map[string]any
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		id, _ := e["id"].(string)
		e["source"] = ""
		body, _ := json.Marshal(e)
		if prev, ok := out[id]; ok {
			dups++
			if prev != string(body) {
				t.Errorf("%s published twice with different bodies:\n%s\n%s", id, prev, body)
			}
		}
		out[id] = string(body)
	})
	return out, dups
}
