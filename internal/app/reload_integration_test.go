package app

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/internal/config"
)

// A rule file added to a watched directory while casus runs is loaded by
// the poll and swapped in between two batches: records before the swap are
// classified by the old set, records after it (all of those produced once
// the reload was observed) by the new one; every record is processed and
// committed once, none lost.
func TestRuleReloadIntegration(t *testing.T) {
	e := newEnv(t)
	const partitions = 2
	topic := e.prefix + "-telemetry"
	e.createTopic(topic, partitions, nil)
	dir := t.TempDir()
	files := config.Files{RulesDirs: []string{dir}, RulesPollInterval: time.Second}
	know, err := LoadKnowledge(files)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config(topic)
	cfg.Files = files
	cfg.BatchSize = 20 // many batch boundaries for the swap to fall between
	svc, stop := e.start(cfg, know)

	// The records: phase A before the rule exists, C while it is written and
	// loaded, B once the reload was observed. Each says its phase and number.
	produced := 0
	record := func(phase string, i int) kafkago.Message {
		produced++
		return kafkago.Message{Key: fmt.Appendf(nil, "k%d", i), Value: probeRecord(probeProcess, fmt.Sprintf("%s-%d", phase, i))}
	}
	var phaseA []kafkago.Message
	for i := range 300 {
		phaseA = append(phaseA, record("A", i))
	}
	e.produce(topic, phaseA)
	e.waitCommitted(cfg.Group.ID, topic, 2*time.Minute)
	if n := metricValue(t, svc, "casus_rules_reloads_total"); n != 0 {
		t.Fatalf("%v reloads before any rule file changed", n)
	}

	// Phase C: produce steadily while the rule file appears and is polled.
	w := &kafkago.Writer{Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 2 * time.Millisecond,
		Transport: &kafkago.Transport{MetadataTTL: time.Second}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	i := 0
	steady := func(until func() bool) {
		t.Helper()
		for !until() {
			chunk := make([]kafkago.Message, 0, 5)
			for range 5 {
				chunk = append(chunk, record("C", i))
				i++
			}
			if err := w.WriteMessages(ctx, chunk...); err != nil {
				t.Fatalf("produce phase C: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	steady(func() bool { return i >= 100 })
	newRuleWriter(t).write(filepath.Join(dir, "probe.yml"), probeA)
	steady(func() bool { return hasRule(svc.Reloader().Rules(), probeTitle) })
	loadedAt := i
	steady(func() bool { return i >= loadedAt+100 }) // and on, across the swap

	var phaseB []kafkago.Message
	for j := range 300 {
		phaseB = append(phaseB, record("B", j))
	}
	e.produce(topic, phaseB)
	e.waitCommitted(cfg.Group.ID, topic, 2*time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("service stop: %v", err)
	}

	// Every record processed once and committed.
	if n := metricValue(t, svc, "casus_records_consumed_total"); n != float64(produced) {
		t.Errorf("casus_records_consumed_total %v, want the %d produced", n, produced)
	}
	if n := e.committed(cfg.Group.ID, topic, partitions); n != int64(produced) {
		t.Errorf("committed %d, want the %d produced", n, produced)
	}
	if n := metricValue(t, svc, "casus_rules_reloads_total"); n != 1 {
		t.Errorf("casus_rules_reloads_total %v, want 1 success", n)
	}
	if n := metricValue(t, svc, "casus_rules_last_reload_successful"); n != 1 {
		t.Errorf("casus_rules_last_reload_successful %v", n)
	}
	if n := metricValue(t, svc, "casus_rules_loaded"); n != float64(know.Rules.Len()+1) {
		t.Errorf("casus_rules_loaded %v, want %d", n, know.Rules.Len()+1)
	}

	// Which records the new rule saw.
	type pos struct {
		partition int
		offset    int64
	}
	signalled := map[pos]int{}
	for _, m := range e.readAll(cfg.Signals) {
		var s event.Signal
		if err := json.Unmarshal(m.Value, &s); err != nil {
			t.Fatal(err)
		}
		if s.RuleTitle == probeTitle {
			signalled[pos{s.Evidence.Partition, s.Evidence.Offset}]++
		}
	}
	input := e.readAll(topic)
	if len(input) != produced {
		t.Fatalf("%d input records read back, %d produced", len(input), produced)
	}
	phases := map[string][2]int{} // phase → {records, signalled}
	after := map[int]bool{}       // partition → a record with the new rule's signal was seen
	inputByPos := map[pos]string{}
	for _, m := range input {
		var rec struct{ Message string }
		if err := json.Unmarshal(m.Value, &rec); err != nil {
			t.Fatal(err)
		}
		inputByPos[pos{m.Partition, m.Offset}] = rec.Message
	}
	for p := range partitions {
		for off := int64(0); ; off++ {
			msg, ok := inputByPos[pos{p, off}]
			if !ok {
				break
			}
			phase, _, _ := strings.Cut(msg, "-")
			n := signalled[pos{p, off}]
			if n > 1 {
				t.Errorf("%s at %d/%d signalled %d times", msg, p, off, n)
			}
			c := phases[phase]
			c[0]++
			c[1] += n
			phases[phase] = c
			// Within a partition the swap is one point: no record without the
			// new rule's signal after one with it.
			if n > 0 {
				after[p] = true
			} else if after[p] {
				t.Errorf("%s at %d/%d has no signal of the new rule, after records that had", msg, p, off)
			}
		}
	}
	if a := phases["A"]; a[0] != len(phaseA) || a[1] != 0 {
		t.Errorf("phase A (before the rule): %d records, %d signalled; want %d, 0", a[0], a[1], len(phaseA))
	}
	if b := phases["B"]; b[0] != len(phaseB) || b[1] != len(phaseB) {
		t.Errorf("phase B (after the reload): %d records, %d signalled; want all %d", b[0], b[1], len(phaseB))
	}
	c := phases["C"]
	// The last 100 of C were produced after the reload was observed.
	if c[0] != i || c[1] < 100 {
		t.Errorf("phase C (across the reload): %d records of %d, %d signalled; want at least the 100 produced after the reload", c[0], i, c[1])
	}
	t.Logf("%d records: A %v, C %v, B %v (records, signalled)", produced, phases["A"], c, phases["B"])
}
