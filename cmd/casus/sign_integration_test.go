package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

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
	input, group, escalations := prefix+"-telemetry", prefix+"-group", prefix+"-escalations"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	produceScenario(t, ctx, brokers, input, 300)
	addr := freeAddr(t)
	p := startCasus(t, bin, append(scenarioEnv(t, brokers, group, prefix, input, addr, dir),
		"CASUS_SIGNING_KEY_FILE="+filepath.Join(dir, "esc.key"), "CASUS_SIGNING_KEY_ID="))
	p.waitReady(t, addr)
	p.waitCaughtUp(t, ctx, brokers, group, prefix, input)
	p.waitRecords(t, ctx, brokers, nil, escalations)
	if want := `casus_signing_key_info{key_id="` + keyID + `"} 1`; !strings.Contains(scrape(t, addr), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	p.sigterm(t)
	if !strings.Contains(p.logs.String(), keyID) {
		t.Errorf("the start log does not name key %s:\n%s", keyID, p.logs.String())
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

// readAllRecords reads every record of topic, partition by partition; each
// must hold a JSON object.
func readAllRecords(t *testing.T, ctx context.Context, brokers []string, topic string) []kafkago.Message {
	t.Helper()
	var out []kafkago.Message
	eachRecord(t, ctx, brokers, topic, func(m kafkago.Message) {
		if len(m.Value) == 0 || m.Value[0] != '{' {
			t.Fatalf("%s/%d@%d: value %q", topic, m.Partition, m.Offset, m.Value)
		}
		out = append(out, m)
	})
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
