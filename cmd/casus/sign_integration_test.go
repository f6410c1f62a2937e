package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/kafka/kafkatest"
	"github.com/casus-sec/casus/stream/sign"
)

// TestSignIntegration runs `casus run` with a key from `casus keygen`
// against the real broker, reads every record of the escalations topic,
// dumps them as kcat -J and as casus's own NDJSON, and expects `casus
// verify` to pass both; one flipped byte in one value must fail, naming
// that record, and a verifier without the key must fail every record.
func TestSignIntegration(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyID := strings.TrimSpace(casusOK(t, bin, nil, "keygen", "-out", filepath.Join(dir, "esc")))
	pub := filepath.Join(dir, "esc.pub")

	prefix := fmt.Sprintf("it-sign-%d", time.Now().UnixNano())
	input, escalations := prefix+"-telemetry", prefix+"-escalations"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 3, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: input, Balancer: &kafkago.Murmur2Balancer{}, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000, Transport: &kafkago.Transport{MetadataTTL: 100 * time.Millisecond}}
	var msgs []kafkago.Message
	for _, r := range scenario.Generate(scenario.Config{Benign: 300}) {
		msgs = append(msgs, kafkago.Message{Key: r.Key, Value: r.Value})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for name, data := range map[string][]byte{"assets.yaml": scenario.AssetsYAML(), "intel.yaml": scenario.IntelYAML()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	group := prefix + "-group"
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(),
		"CASUS_KAFKA_BROKERS="+strings.Join(brokers, ","), "CASUS_INPUTS="+input+":ecs", "CASUS_GROUP_ID="+group,
		"CASUS_TOPIC_SIGNALS="+prefix+"-signals", "CASUS_TOPIC_ESCALATIONS="+escalations, "CASUS_TOPIC_INCIDENTS="+prefix+"-incidents",
		"CASUS_TOPIC_DEADLETTER="+prefix+"-deadletter", "CASUS_TOPIC_STATE="+prefix+"-state",
		"CASUS_METRICS_ADDR="+addr, "CASUS_GRACE_PERIOD=20s", "CASUS_BATCH_TIMEOUT=50ms", "CASUS_IDLE_AFTER=500ms",
		"CASUS_ASSETS_FILE="+filepath.Join(dir, "assets.yaml"), "CASUS_INTEL_FILE="+filepath.Join(dir, "intel.yaml"),
		"CASUS_SIGNING_KEY_FILE="+filepath.Join(dir, "esc.key"), "CASUS_SIGNING_KEY_ID=")
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
	waitFor(t, exited, &logs, "ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, g := range [][2]string{{group, input}, {group + "-correlate", prefix + "-signals"}, {group + "-campaign", prefix + "-incidents"}} {
		waitFor(t, exited, &logs, "caught up on "+g[1], func() bool {
			ok, err := kafka.CaughtUp(ctx, brokers, nil, g[0], g[1])
			return err == nil && ok
		})
	}
	waitFor(t, exited, &logs, "escalations", func() bool {
		ends, err := kafka.EndOffsets(ctx, brokers, nil, escalations)
		var n int64
		for _, e := range ends {
			n += e
		}
		return err == nil && n > 0
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `casus_signing_key_info{key_id="` + keyID + `"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit %d after SIGTERM\n%s", ee.ExitCode(), logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("casus did not exit after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), keyID) {
		t.Errorf("the start log does not name key %s:\n%s", keyID, logs.String())
	}

	records := readAllRecords(t, ctx, brokers, escalations)
	kcatFile, casusFile := filepath.Join(dir, "kcat.ndjson"), filepath.Join(dir, "casus.ndjson")
	writeKcat(t, kcatFile, records, -1)
	writeCasus(t, casusFile, records, -1)
	n := len(records)
	t.Logf("%d records on %s, signed by %s", n, escalations, keyID)
	for _, f := range []string{kcatFile, casusFile} {
		out, errOut, code := casus(t, bin, nil, "verify", "-key", pub, f)
		if code != exitOK || strings.Count(out, "ok ") != n || strings.Contains(out, "FAIL") {
			t.Fatalf("verify %s: exit %d, want 0 with %d ok lines\n%s\n%s", filepath.Base(f), code, n, out, errOut)
		}
		if want := fmt.Sprintf("%d records, %d verified, 0 failed", n, n); !strings.Contains(errOut, want) {
			t.Errorf("verify %s: summary %q, want %q", filepath.Base(f), errOut, want)
		}
	}
	// From stdin too.
	stdin, err := os.ReadFile(casusFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := casus(t, bin, stdin, "verify", "-key", pub, "-"); code != exitOK {
		t.Errorf("verify from stdin: exit %d\n%s\n%s", code, out, errOut)
	}

	// One flipped byte in one value: that record, and only it, fails.
	bad := n / 2
	m := records[bad]
	name := fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)
	writeKcat(t, kcatFile, records, bad)
	writeCasus(t, casusFile, records, bad)
	for _, f := range []string{kcatFile, casusFile} {
		out, errOut, code := casus(t, bin, nil, "verify", "-key", pub, f)
		want := fmt.Sprintf("FAIL line %d: %s: signature does not match", bad+1, name)
		if code != exitFailure || !strings.Contains(out, want) || strings.Count(out, "FAIL") != 1 || strings.Count(out, "ok ") != n-1 {
			t.Errorf("verify %s with record %s changed: exit %d, want 1 and %q\n%s\n%s", filepath.Base(f), name, code, want, out, errOut)
		}
	}
	// Without the signing key every record names an unknown one.
	casusOK(t, bin, nil, "keygen", "-out", filepath.Join(dir, "other"))
	if out, _, code := casus(t, bin, nil, "verify", "-key", filepath.Join(dir, "other.pub"), casusFile); code != exitFailure || strings.Count(out, "unknown key id "+keyID) != n {
		t.Errorf("verify with another key: exit %d\n%s", code, out)
	}
}

// readAllRecords reads every record of topic, partition by partition.
func readAllRecords(t *testing.T, ctx context.Context, brokers []string, topic string) []kafkago.Message {
	t.Helper()
	ends, err := kafka.EndOffsets(ctx, brokers, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []kafkago.Message
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
			if len(m.Value) == 0 || m.Value[0] != '{' {
				t.Fatalf("%s/%d@%d: value %q", topic, p, m.Offset, m.Value)
			}
			out = append(out, m)
			if m.Offset+1 >= ends[p] {
				break
			}
		}
		r.Close()
	}
	if len(out) == 0 {
		t.Fatal("no records on the escalations topic")
	}
	return out
}

// flipped is a copy of value with one letter's case flipped, far enough in
// to be inside the event: the JSON stays valid, the bytes differ.
func flipped(value []byte) []byte {
	v := bytes.Clone(value)
	for i := len(v) / 2; i < len(v); i++ {
		if c := v[i]; c >= 'a' && c <= 'z' {
			v[i] ^= 0x20
			return v
		}
	}
	panic("no letter to flip")
}

// writeKcat writes records as kcat -C -J prints them; record bad (if >= 0)
// with one byte changed.
func writeKcat(t *testing.T, path string, records []kafkago.Message, bad int) {
	t.Helper()
	var b bytes.Buffer
	for i, m := range records {
		value := m.Value
		if i == bad {
			value = flipped(value)
		}
		headers := []string{}
		for _, h := range m.Headers {
			headers = append(headers, h.Key, string(h.Value))
		}
		line, err := json.Marshal(struct {
			Topic     string   `json:"topic"`
			Partition int      `json:"partition"`
			Offset    int64    `json:"offset"`
			TSType    string   `json:"tstype"`
			TS        int64    `json:"ts"`
			Broker    int      `json:"broker"`
			Headers   []string `json:"headers"`
			Key       string   `json:"key"`
			Payload   string   `json:"payload"`
		}{m.Topic, m.Partition, m.Offset, "create", m.Time.UnixMilli(), 1, headers, string(m.Key), string(value)})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCasus writes records in casus's envelope, values as raw JSON.
func writeCasus(t *testing.T, path string, records []kafkago.Message, bad int) {
	t.Helper()
	var b bytes.Buffer
	for i, m := range records {
		r := sign.Record{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Value: m.Value}
		if i == bad {
			r.Value = flipped(r.Value)
		}
		for _, h := range m.Headers {
			r.Headers = append(r.Headers, sign.Header(h))
		}
		line, err := sign.MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(line, []byte(`,"value":{`)) {
			t.Fatalf("value not written as raw JSON: %.200s", line)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// casus runs the binary and returns its stdout, stderr and exit code.
func casus(t *testing.T, bin string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	c := exec.Command(bin, args...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errOut.String(), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

func casusOK(t *testing.T, bin string, stdin []byte, args ...string) string {
	t.Helper()
	out, errOut, code := casus(t, bin, stdin, args...)
	if code != 0 {
		t.Fatalf("casus %v: exit %d\n%s", args, code, errOut)
	}
	return out
}
