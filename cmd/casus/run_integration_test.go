package main

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// TestRunSIGTERMIntegration runs the built binary against the real broker,
// waits until it has processed and committed a scenario, sends SIGTERM and
// expects a clean exit 0 with escalations on the topic.
func TestRunSIGTERMIntegration(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	b := strings.Join(brokers, ",")
	bin := filepath.Join(t.TempDir(), "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix := fmt.Sprintf("it-sigterm-%d", time.Now().UnixNano())
	input := prefix + "-telemetry"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 3, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: input, Balancer: &kafkago.Murmur2Balancer{}, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, Transport: &kafkago.Transport{MetadataTTL: 100 * time.Millisecond}}
	var msgs []kafkago.Message
	for _, r := range scenario.Generate(scenario.Config{Benign: 1000}) {
		msgs = append(msgs, kafkago.Message{Key: r.Key, Value: r.Value})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	dir := t.TempDir()
	for name, data := range map[string][]byte{"assets.yaml": scenario.AssetsYAML(), "intel.yaml": scenario.IntelYAML()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	group := prefix + "-group"
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(),
		"CASUS_KAFKA_BROKERS="+b, "CASUS_INPUTS="+input+":ecs", "CASUS_GROUP_ID="+group,
		"CASUS_TOPIC_SIGNALS="+prefix+"-signals", "CASUS_TOPIC_ESCALATIONS="+prefix+"-escalations", "CASUS_TOPIC_INCIDENTS="+prefix+"-incidents",
		"CASUS_TOPIC_DEADLETTER="+prefix+"-deadletter", "CASUS_TOPIC_STATE="+prefix+"-state",
		"CASUS_METRICS_ADDR="+addr, "CASUS_GRACE_PERIOD=20s", "CASUS_BATCH_TIMEOUT=50ms", "CASUS_IDLE_AFTER=500ms",
		"CASUS_ASSETS_FILE="+filepath.Join(dir, "assets.yaml"), "CASUS_INTEL_FILE="+filepath.Join(dir, "intel.yaml"))
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	// Ready only once joined and assigned.
	waitFor(t, exited, &logs, "ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// Every role has read all of its input: escalations come from the
	// campaign role, behind the other two.
	for _, g := range [][2]string{{group, input}, {group + "-correlate", prefix + "-signals"}, {group + "-campaign", prefix + "-incidents"}} {
		waitFor(t, exited, &logs, "caught up on "+g[1], func() bool {
			ok, err := kafka.CaughtUp(ctx, brokers, nil, g[0], g[1])
			return err == nil && ok
		})
	}
	// Idle markers then release what the watermarks held; wait for the
	// escalations they cause.
	waitFor(t, exited, &logs, "escalations", func() bool {
		ends, err := kafka.EndOffsets(ctx, brokers, nil, prefix+"-escalations")
		var n int64
		for _, e := range ends {
			n += e
		}
		return err == nil && n > 0
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit %d after SIGTERM, want 0\n%s", ee.ExitCode(), logs.String())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("casus did not exit within the grace period after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "casus stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", logs.String())
	}
	ends, err := kafka.EndOffsets(ctx, brokers, nil, prefix+"-escalations")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	if n == 0 {
		t.Errorf("no escalations published")
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

func waitFor(t *testing.T, exited <-chan error, logs *syncBuffer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case err := <-exited:
			t.Fatalf("casus exited (%v) before %s\n%s", err, what, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 90s\n%s", what, logs.String())
		}
	}
}

// syncBuffer collects the child's stderr, which os/exec copies from another goroutine.
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
