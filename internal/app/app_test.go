package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite golden files")

func scenarioNDJSON(benign int) []byte {
	var b bytes.Buffer
	for _, r := range scenario.Generate(scenario.Config{Benign: benign}) {
		b.Write(r.Value)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func classify(t *testing.T, in []byte) (string, string, ClassifySummary) {
	t.Helper()
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	sum, err := Classify(bytes.NewReader(in), know, ClassifyOptions{Format: "ecs", Source: "scenario", MinLevel: 1, Stdout: &out, Stderr: &errw})
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errw.String(), sum
}

// TestClassifyGolden runs the bundled scenario offline and compares the
// escalations with testdata/scenario/expected.ndjson; a second run must be
// byte-identical (no wall clock, no map order, no random ids).
func TestClassifyGolden(t *testing.T) {
	in := scenarioNDJSON(2000)
	out, _, sum := classify(t, in)
	again, _, _ := classify(t, in)
	if out != again {
		t.Fatal("two runs over the same input gave different escalations")
	}
	if sum.Bad != 0 || sum.Escalations == 0 {
		t.Fatalf("summary %+v", sum)
	}
	golden := "testdata/scenario/expected.ndjson"
	if *update {
		if err := os.MkdirAll("testdata/scenario", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if out != string(want) {
		t.Errorf("escalations differ from %s (go test ./internal/app -run TestClassifyGolden -update rewrites it)", golden)
	}
}

func TestClassifyReportsBadRecordsAndGoesOn(t *testing.T) {
	good := scenarioNDJSON(200)
	var in bytes.Buffer
	in.WriteString("{\"truncated\": \n")
	in.WriteString("\n   \n") // blank lines are skipped, not bad
	in.Write(good)
	in.WriteString(`{"source":{"port":"eighty"}}` + "\n")
	in.WriteString(`{"message":"` + strings.Repeat("x", 2<<20) + `"}` + "\n")
	in.WriteString("\x00\xff\xfe") // binary, no final newline
	out, errw, sum := classify(t, in.Bytes())
	if sum.Bad != 4 {
		t.Errorf("bad records %d, want 4; stderr:\n%s", sum.Bad, errw)
	}
	for _, reason := range []string{"malformed", "wrong_type", "too_large", "invalid_utf8"} {
		if sum.Reasons[Reason(reason)] != 1 {
			t.Errorf("reason %s counted %d times; %v", reason, sum.Reasons[Reason(reason)], sum.Reasons)
		}
	}
	if !strings.Contains(errw, "scenario:1:") {
		t.Errorf("stderr does not name the bad line: %s", errw)
	}
	if !strings.Contains(out, `"armed-attack-candidate"`) {
		t.Errorf("good records around the bad ones did not escalate")
	}
}

func TestReadLineBoundsMemory(t *testing.T) {
	long := strings.Repeat("a", 100000)
	r := bufio.NewReaderSize(strings.NewReader(long+"\nshort\n"), 16)
	v, n, err := readLine(r, 1000)
	if err != nil || n != len(long)+1 || len(v) != 1001 {
		t.Fatalf("long line: %d bytes returned of %d read, err %v", len(v), n, err)
	}
	v, _, err = readLine(r, 1000)
	if err != nil || string(v) != "short" {
		t.Fatalf("next line %q, err %v", v, err)
	}
	if _, n, err = readLine(r, 1000); !errors.Is(err, io.EOF) || n != 0 {
		t.Fatalf("end: n %d err %v", n, err)
	}
	// A line of exactly the limit fits with either line ending.
	exact := strings.Repeat("b", 1000)
	for _, ending := range []string{"\n", "\r\n", ""} {
		r = bufio.NewReaderSize(strings.NewReader(exact+ending), 16)
		if v, _, _ := readLine(r, 1000); string(v) != exact {
			t.Errorf("line of exactly the limit with ending %q came back as %d bytes", ending, len(v))
		}
	}
}

// TestDemo runs `casus demo` against its embedded broker: the real service
// over TCP, fast. The embedded broker is not Apache Kafka; the integration
// tests prove the Kafka behaviour.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Demo(ctx, DemoOptions{Benign: 300, Out: &out}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"embedded Kafka-compatible broker on 127.0.0.1:", "candidacy: armed-attack-candidate", "decision: case-by-case consultation required", "scenario done"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "ESCALATION level"); n < 10 {
		t.Errorf("%d escalations printed, want the scenario's (at least 10)", n)
	}
}
