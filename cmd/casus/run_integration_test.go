package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/stream/kafka/kafkatest"
)

// TestRunSIGTERMIntegration runs the built binary against the real broker,
// waits until it has processed and committed a scenario, sends SIGTERM and
// expects a clean exit 0 with escalations on the topic.
func TestRunSIGTERMIntegration(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	bin := filepath.Join(t.TempDir(), "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prefix := fmt.Sprintf("it-sigterm-%d", time.Now().UnixNano())
	input, group, escalations := prefix+"-telemetry", prefix+"-group", prefix+"-escalations"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	produceScenario(t, ctx, brokers, input, 1000)

	addr := freeAddr(t)
	p := startCasus(t, bin, scenarioEnv(t, brokers, group, prefix, input, addr, t.TempDir()))
	// Ready only once joined and assigned.
	p.waitReady(t, addr)
	// Every role has read all of its input: escalations come from the
	// campaign role, behind the other two.
	p.waitCaughtUp(t, ctx, brokers, group, prefix, input)
	// Idle markers then release what the watermarks held; wait for the
	// escalations they cause.
	p.waitRecords(t, ctx, brokers, nil, escalations)
	p.sigterm(t)
	if !strings.Contains(p.logs.String(), "casus stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", p.logs.String())
	}
	n, err := recordCount(ctx, brokers, nil, escalations)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no escalations published")
	}
}
