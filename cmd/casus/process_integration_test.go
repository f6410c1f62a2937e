package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/kafka"
)

// casusProc is a `casus run` child process of an integration test.
type casusProc struct {
	cmd  *exec.Cmd
	logs *syncBuffer // its stderr
	done chan struct{}
	err  error // what cmd.Wait returned; read it only once done is closed
}

// startCasus starts `casus run` with env added to the test's environment,
// capturing its stderr, and kills it when the test ends if it still runs.
func startCasus(t *testing.T, bin string, env []string) *casusProc {
	t.Helper()
	p := &casusProc{cmd: exec.Command(bin, "run"), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor polls cond until it holds, failing the test if casus exits first
// or 90s pass.
func (p *casusProc) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("casus exited (%v) before %s\n%s", p.err, what, p.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 90s\n%s", what, p.logs.String())
		}
	}
}

// waitReady waits for /readyz on the metrics address: casus is ready only
// once it has joined its groups and been assigned partitions.
func (p *casusProc) waitReady(t *testing.T, addr string) {
	t.Helper()
	p.waitFor(t, "ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitCaughtUp waits until each role of a `casus run` with every role has
// read all of its input: classify (group) the input, correlate the
// signals and campaign the incidents, each behind the one before.
func (p *casusProc) waitCaughtUp(t *testing.T, ctx context.Context, brokers []string, group, prefix, input string) {
	t.Helper()
	for _, g := range [][2]string{{group, input}, {group + "-correlate", prefix + "-signals"}, {group + "-campaign", prefix + "-incidents"}} {
		p.waitFor(t, "caught up on "+g[1], func() bool {
			ok, err := kafka.CaughtUp(ctx, brokers, nil, g[0], g[1])
			return err == nil && ok
		})
	}
}

// waitRecords waits until topic holds a record.
func (p *casusProc) waitRecords(t *testing.T, ctx context.Context, brokers []string, base *kafkago.Transport, topic string) {
	t.Helper()
	p.waitFor(t, "records on "+topic, func() bool {
		n, err := recordCount(ctx, brokers, base, topic)
		return err == nil && n > 0
	})
}

// sigterm sends SIGTERM and expects exit status 0 within 30s.
func (p *casusProc) sigterm(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("casus ended with %v after SIGTERM, want exit status 0\n%s", p.err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("casus did not exit within 30s of SIGTERM\n%s", p.logs.String())
	}
}

// scrape returns what /metrics on addr serves.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// recordCount is the sum of topic's end offsets.
func recordCount(ctx context.Context, brokers []string, base *kafkago.Transport, topic string) (int64, error) {
	ends, err := kafka.EndOffsets(ctx, brokers, base, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// produceScenario creates input with three partitions and writes the
// scenario with benign background records to it, keyed as casus expects.
func produceScenario(t *testing.T, ctx context.Context, brokers []string, input string, benign int) {
	t.Helper()
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 3, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: input, Balancer: &kafkago.Murmur2Balancer{}, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, Transport: &kafkago.Transport{MetadataTTL: time.Second}}
	defer w.Close()
	var msgs []kafkago.Message
	for _, r := range scenario.Generate(scenario.Config{Benign: benign}) {
		msgs = append(msgs, kafkago.Message{Key: r.Key, Value: r.Value})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// scenarioEnv is the environment of a `casus run` over the scenario on
// input, with the scenario's assets and intel files in dir (written
// there) and every other topic named after prefix.
func scenarioEnv(t *testing.T, brokers []string, group, prefix, input, addr, dir string) []string {
	t.Helper()
	for name, data := range map[string][]byte{"assets.yaml": scenario.AssetsYAML(), "intel.yaml": scenario.IntelYAML()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return []string{
		"CASUS_KAFKA_BROKERS=" + strings.Join(brokers, ","), "CASUS_INPUTS=" + input + ":ecs", "CASUS_GROUP_ID=" + group,
		"CASUS_TOPIC_SIGNALS=" + prefix + "-signals", "CASUS_TOPIC_ESCALATIONS=" + prefix + "-escalations", "CASUS_TOPIC_INCIDENTS=" + prefix + "-incidents",
		"CASUS_TOPIC_DEADLETTER=" + prefix + "-deadletter", "CASUS_TOPIC_STATE=" + prefix + "-state",
		"CASUS_METRICS_ADDR=" + addr, "CASUS_GRACE_PERIOD=20s", "CASUS_BATCH_TIMEOUT=50ms", "CASUS_IDLE_AFTER=500ms",
		"CASUS_ASSETS_FILE=" + filepath.Join(dir, "assets.yaml"), "CASUS_INTEL_FILE=" + filepath.Join(dir, "intel.yaml"),
	}
}

// eachRecord calls fn with every record topic holds when it is called,
// partition by partition in order.
func eachRecord(t *testing.T, ctx context.Context, brokers []string, topic string, fn func(kafkago.Message)) {
	t.Helper()
	ends, err := kafka.EndOffsets(ctx, brokers, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := range len(ends) {
		if ends[p] == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			fn(m)
			if m.Offset+1 >= ends[p] {
				break
			}
		}
		r.Close()
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a child's stderr, which os/exec copies from another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
