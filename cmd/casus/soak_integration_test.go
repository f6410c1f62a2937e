//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/internal/app"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/internal/soak"
	"github.com/casus-sec/casus/stream/kafka"
)

// TestSoak runs casus for minutes against a real three-broker cluster
// while a producer sends the scenario at a steady rate with malformed
// records mixed in, and faults strike at moments drawn from a seed: casus
// processes killed and restarted, brokers stopped or killed and restarted,
// an instance added and removed, the escalation topic's leaders moved.
// Once all settled it checks the escalations against those `casus
// classify` finds offline in the same records, and the dead letters
// against the malformed records sent, and prints the report.
//
// It runs only when CASUS_SOAK is short or full; scripts/soak.sh starts
// the cluster and sets the rest:
//
//	CASUS_SOAK_BROKERS    the cluster's brokers, comma-separated
//	CASUS_SOAK_KAFKA_DIR  its state dir, for scripts/kafka.sh stop-node|kill-node|start-node
//	CASUS_SOAK_SEED       the seed (default: the clock)
//	CASUS_SOAK_REPORT     a file to write the report to (markdown)
//	CASUS_SOAK_LOG_DIR    a directory to keep the casus processes' logs in
//	CASUS_SOAK_KAFKA_SH   the kafka.sh to drive the cluster with (default scripts/kafka.sh)
func TestSoak(t *testing.T) {
	mode := os.Getenv("CASUS_SOAK")
	if mode == "" {
		t.Skip("soak test: run `bash scripts/soak.sh short|full`, or set CASUS_SOAK=short|full and CASUS_SOAK_BROKERS (and CASUS_SOAK_KAFKA_DIR for broker faults)")
	}
	prof, err := soak.ProfileOf(mode)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CASUS_SOAK_BROKERS") == "" {
		t.Fatal("CASUS_SOAK is set but CASUS_SOAK_BROKERS is not: scripts/soak.sh starts a cluster and sets it")
	}
	brokers := strings.Split(os.Getenv("CASUS_SOAK_BROKERS"), ",")
	kdir := os.Getenv("CASUS_SOAK_KAFKA_DIR")
	nodes := len(brokers)
	if kdir == "" && nodes > 1 {
		t.Fatal("CASUS_SOAK_KAFKA_DIR is not set: broker faults need the cluster's state dir")
	}
	seed := uint64(time.Now().UnixNano()) % 1_000_000
	if s := os.Getenv("CASUS_SOAK_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CASUS_SOAK_SEED=%q: %v", s, err)
		}
	}
	t.Logf("soak %s: seed %d (CASUS_SOAK_SEED=%d repeats it), %d brokers", mode, seed, seed, nodes)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), prof.Budget)
	defer cancel()
	logDir := os.Getenv("CASUS_SOAK_LOG_DIR")
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	replicas, minISR := min(3, nodes), min(2, nodes)
	prefix := fmt.Sprintf("soak-%s-%d-%d", mode, seed, time.Now().Unix())
	input := prefix + "-telemetry"
	topics := map[string]string{"signals": prefix + "-signals", "incidents": prefix + "-incidents",
		"escalations": prefix + "-escalations", "deadletter": prefix + "-deadletter", "state": prefix + "-state"}
	t.Cleanup(func() { soakCleanup(t, brokers, prefix, append([]string{input}, mapValues(topics)...)) })
	if err := kafka.EnsureTopics(ctx, brokers, nil, []kafka.TopicSpec{{Name: input, Partitions: 6, ReplicationFactor: replicas,
		Configs: map[string]string{"min.insync.replicas": strconv.Itoa(minISR)}}}); err != nil {
		t.Fatal(err)
	}

	// The telemetry and its ground truth.
	recs := scenario.Generate(scenario.Config{Benign: prof.Records(), Seed: seed})
	rnd := rand.New(rand.NewPCG(seed, 1))
	var msgs []kafkago.Message
	var good bytes.Buffer
	malformed := map[string]bool{}
	for _, r := range recs {
		if rnd.IntN(prof.MalformedEvery) == 0 {
			k, v := soak.Malformed(len(malformed))
			malformed[string(k)] = true
			msgs = append(msgs, kafkago.Message{Key: k, Value: v})
		}
		msgs = append(msgs, kafkago.Message{Key: r.Key, Value: r.Value})
		good.Write(r.Value)
		good.WriteByte('\n')
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"assets.yaml": scenario.AssetsYAML(), "intel.yaml": scenario.IntelYAML(), "input.ndjson": good.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Modest batches: the machine is shared with three brokers.
	env := append(os.Environ(),
		"CASUS_KAFKA_BROKERS="+strings.Join(brokers, ","), "CASUS_INPUTS="+input+":ecs", "CASUS_GROUP_ID="+prefix,
		"CASUS_TOPIC_SIGNALS="+topics["signals"], "CASUS_TOPIC_INCIDENTS="+topics["incidents"],
		"CASUS_TOPIC_ESCALATIONS="+topics["escalations"], "CASUS_TOPIC_DEADLETTER="+topics["deadletter"],
		"CASUS_TOPIC_STATE="+topics["state"], "CASUS_TOPIC_PARTITIONS=6", "CASUS_TOPIC_REPLICATION="+strconv.Itoa(replicas),
		"CASUS_METRICS_ADDR=127.0.0.1:0", "CASUS_GRACE_PERIOD=15s", "CASUS_BATCH_TIMEOUT=200ms", "CASUS_BATCH_SIZE=200",
		"CASUS_IDLE_AFTER=5s", "CASUS_LOG_LEVEL=info",
		"CASUS_ASSETS_FILE="+filepath.Join(dir, "assets.yaml"), "CASUS_INTEL_FILE="+filepath.Join(dir, "intel.yaml"))
	truth := soak.Truth{Escalations: soakOffline(t, bin, env, filepath.Join(dir, "input.ndjson")), Malformed: malformed}
	t.Logf("%d records (%d malformed) at %d/s; %d escalations expected", len(msgs), len(malformed), prof.Rate, len(truth.Escalations))

	run := soak.Run{Mode: mode, Seed: seed, Rate: prof.Rate, MaxLag: map[string]int64{}}
	procs := &soakProcs{t: t, bin: bin, env: env, logDir: logDir}
	t.Cleanup(procs.killAll)
	for range 3 {
		procs.start()
	}

	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	var lagMu sync.Mutex
	sampling.Go(func() {
		soakSampleLag(ctx, brokers, prefix, input, topics, stopSampling, func(group string, lag int64) {
			lagMu.Lock()
			defer lagMu.Unlock()
			run.MaxLag[group] = max(run.MaxLag[group], lag)
		}, func() {
			lagMu.Lock()
			defer lagMu.Unlock()
			run.LagSamples++
		})
	})

	prod := &soakProducer{brokers: brokers, topic: input, rate: prof.Rate, msgs: msgs}
	produced := make(chan error, 1)
	start := time.Now()
	go func() { produced <- prod.run(ctx, t) }()

	// The faults, one at a time.
	cluster := &soakCluster{t: t, brokers: brokers, kdir: kdir, topics: append([]string{input}, mapValues(topics)...)}
	faults := soak.Schedule(seed, prof, nodes)
	for _, f := range faults {
		t.Logf("scheduled: %s", f)
	}
	var extra []*soakProc
	for _, f := range faults {
		for time.Now().Before(start.Add(f.At)) {
			select {
			case <-time.After(min(time.Second, time.Until(start.Add(f.At)))):
			case <-ctx.Done():
				t.Fatalf("out of time before the fault %s", f)
			}
			run.Crashes = append(run.Crashes, procs.restartCrashed()...)
		}
		t.Logf("%s: %s", time.Since(start).Round(time.Second), f)
		run.Faults = append(run.Faults, f.String())
		switch f.Kind {
		case soak.KillCasus:
			victim := procs.members()[rnd.IntN(len(procs.members()))]
			procs.kill(victim)
			time.Sleep(f.Down)
			procs.start()
			run.CasusRestarts++
			run.Rebalances += 2
			if i := slices.Index(extra, victim); i >= 0 {
				extra = slices.Delete(extra, i, i+1) // its replacement is a regular member now
			}
		case soak.StopBroker, soak.KillBroker:
			if cluster.restart(ctx, f) {
				run.BrokerRestarts++
			}
		case soak.AddCasus:
			extra = append(extra, procs.start())
			run.Rebalances++
		case soak.RemoveCasus:
			if len(extra) == 0 {
				t.Logf("no added instance left to remove (a kill replaced it)")
				continue
			}
			p := extra[len(extra)-1]
			extra = extra[:len(extra)-1]
			procs.terminate(p)
			run.Rebalances++
		case soak.MoveLeaders:
			run.LeaderMoves += cluster.moveLeaders(ctx, topics["escalations"])
		}
		run.Crashes = append(run.Crashes, procs.restartCrashed()...)
	}
	for waiting := true; waiting; {
		select {
		case err := <-produced:
			if err != nil {
				procs.dumpLogs()
				t.Fatal(err)
			}
			waiting = false
		case <-time.After(time.Second):
			run.Crashes = append(run.Crashes, procs.restartCrashed()...)
		}
	}
	run.Produced, run.ProduceRetries = len(msgs), int(prod.retries.Load())
	t.Logf("%s: the producer finished (%d records, %d retried); settling", time.Since(start).Round(time.Second), run.Produced, run.ProduceRetries)

	cfg := config.Defaults()
	cfg.Group.ID = prefix
	cfg.Inputs = []config.Input{{Topic: input, Format: "ecs"}}
	cfg.Signals, cfg.Incidents = topics["signals"], topics["incidents"]
	settleCtx, settleCancel := context.WithTimeout(ctx, time.Until(began.Add(prof.Budget-time.Minute)))
	err = app.WaitSettled(settleCtx, brokers, cfg, 10*time.Second, func() error {
		run.Crashes = append(run.Crashes, procs.restartCrashed()...)
		return nil
	})
	settleCancel()
	close(stopSampling)
	sampling.Wait()
	if err != nil {
		procs.quitAll() // a goroutine dump shows where a stuck process waits
		procs.dumpLogs()
		t.Fatalf("casus did not settle: %v (logs in %s)", err, logDir)
	}
	t.Logf("%s: settled", time.Since(start).Round(time.Second))
	procs.terminateAll()

	var obs soak.Observed
	for _, r := range []struct {
		topic string
		into  *[]soak.Record
	}{{topics["escalations"], &obs.Escalations}, {topics["deadletter"], &obs.DeadLetters}, {input, &obs.Telemetry}} {
		recs, err := soak.ReadTopic(ctx, brokers, r.topic)
		if err != nil && !(r.topic == topics["deadletter"] && len(malformed) == 0) {
			t.Fatal(err)
		}
		*r.into = recs
	}
	lagMu.Lock()
	run.Duration = time.Since(began)
	report := soak.Report{Run: run, Verdict: soak.Check(truth, obs)}
	lagMu.Unlock()
	md := report.Markdown()
	t.Logf("report:\n%s", md)
	if path := os.Getenv("CASUS_SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Error(err)
		}
	}
	if f := report.Verdict.Failures(); len(f) > 0 {
		for _, id := range append(append(report.Verdict.Missing, report.Verdict.Conflicting...), report.Verdict.Differing...) {
			t.Logf("expected %s: %s", id, truth.Escalations[id])
			for _, r := range obs.Escalations {
				if gid, body, err := soak.Normalize(r.Value); err == nil && gid == id {
					t.Logf("published %s at %d@%d: %s", id, r.Partition, r.Offset, body)
				}
			}
		}
		for _, id := range report.Verdict.Unexpected {
			for _, r := range obs.Escalations {
				if gid, body, err := soak.Normalize(r.Value); err == nil && gid == id {
					t.Logf("unexpected %s at %d@%d: %s", id, r.Partition, r.Offset, body)
				}
			}
		}
		t.Errorf("soak failed (seed %d, logs in %s):\n%s", seed, logDir, strings.Join(f, "\n"))
	}
	// Only the faults may stop a process: one that exits by itself when a
	// broker is down or a rebalance runs would need a supervisor to stay up.
	if n := len(report.Run.Crashes); n > 0 {
		t.Errorf("%d casus processes exited on their own (seed %d, logs in %s); see the report", n, seed, logDir)
	}
}

// soakOffline runs `casus classify` over the records and returns the
// escalations it finds, normalized, by id.
func soakOffline(t *testing.T, bin string, env []string, file string) map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "classify", "--format", "ecs", file)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("casus classify: %v\n%s", err, stderr.String())
	}
	truth := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var e escalate.Escalation
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type != escalate.EventType {
			continue
		}
		id, body, err := soak.Normalize([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		truth[id] = body
	}
	return truth
}

// soakProducer sends its records in order at a steady rate, with acks from
// all in-sync replicas, and sends a record again until a write of it is
// acknowledged: a broker fault delays records, it does not lose them.
type soakProducer struct {
	brokers []string
	topic   string
	rate    int
	msgs    []kafkago.Message
	retries atomic.Int64
}

func (p *soakProducer) run(ctx context.Context, t *testing.T) error {
	w := &kafkago.Writer{Addr: kafkago.TCP(p.brokers...), Topic: p.topic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 500, MaxAttempts: 3,
		WriteTimeout: 10 * time.Second, Transport: &kafkago.Transport{MetadataTTL: time.Second, DialTimeout: 5 * time.Second}}
	defer w.Close()
	start := time.Now()
	logged := 0
	for next := 0; next < len(p.msgs); {
		due := min(len(p.msgs), int(time.Since(start).Seconds()*float64(p.rate))+1)
		if due <= next {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		// A whole chunk is acknowledged before the next one goes: the
		// records stay in event-time order on every partition.
		pending := slices.Clone(p.msgs[next:min(due, next+500)])
		for len(pending) > 0 {
			err := w.WriteMessages(ctx, pending...)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("producer: %d of %d records sent when time ran out: %w", next, len(p.msgs), err)
			}
			if we, ok := errors.AsType[kafkago.WriteErrors](err); ok && len(we) == len(pending) {
				var failed []kafkago.Message
				for i, e := range we {
					if e != nil {
						failed = append(failed, pending[i])
					}
				}
				pending = failed
			}
			p.retries.Add(int64(len(pending)))
			if logged < 20 {
				logged++
				t.Logf("produce: %d records to retry: %v", len(pending), err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		next += min(due, next+500) - next
	}
	return nil
}

// soakProc is one `casus run` process.
type soakProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set before done closes
}

func (p *soakProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// soakProcs is the set of casus processes of the run.
type soakProcs struct {
	t      *testing.T
	bin    string
	env    []string
	logDir string
	n      int
	all    []*soakProc
	live   []*soakProc // members of the group now
}

func (ps *soakProcs) start() *soakProc {
	ps.t.Helper()
	ps.n++
	p := &soakProc{name: fmt.Sprintf("casus-%02d", ps.n), cmd: exec.Command(ps.bin, "run"), done: make(chan struct{})}
	p.log = filepath.Join(ps.logDir, p.name+".log")
	f, err := os.Create(p.log)
	if err != nil {
		ps.t.Fatal(err)
	}
	p.cmd.Env, p.cmd.Stderr, p.cmd.Stdout = ps.env, f, f
	// A test that times out exits without its cleanups: the kernel then
	// ends the processes it started.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		ps.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	ps.all = append(ps.all, p)
	ps.live = append(ps.live, p)
	return p
}

func (ps *soakProcs) members() []*soakProc { return ps.live }

func (ps *soakProcs) leave(p *soakProc) {
	if i := slices.Index(ps.live, p); i >= 0 {
		ps.live = slices.Delete(ps.live, i, i+1)
	}
}

// kill ends p with SIGKILL, as a crash would.
func (ps *soakProcs) kill(p *soakProc) {
	ps.leave(p)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// terminate stops p with SIGTERM and expects a clean exit within its grace.
func (ps *soakProcs) terminate(p *soakProc) {
	ps.t.Helper()
	ps.leave(p)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			ps.t.Errorf("%s exited with %v after SIGTERM (log %s)\n%s", p.name, p.err, p.log, soakTail(p.log))
		}
	case <-time.After(60 * time.Second):
		ps.t.Errorf("%s did not stop within 60s of SIGTERM (log %s)", p.name, p.log)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (ps *soakProcs) terminateAll() {
	for _, p := range slices.Clone(ps.live) {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range slices.Clone(ps.live) {
		ps.terminate(p)
	}
}

// restartCrashed replaces the members that exited without being told to,
// as a supervisor would, and describes each exit with its last log line.
func (ps *soakProcs) restartCrashed() []string {
	var out []string
	for _, p := range slices.Clone(ps.live) {
		if !p.exited() {
			continue
		}
		ps.leave(p)
		last := strings.TrimSpace(soakTail(p.log))
		last = last[strings.LastIndexByte(last, '\n')+1:]
		ps.t.Logf("%s exited on its own (%v); restarting it. Its last line: %s", p.name, p.err, last)
		out = append(out, fmt.Sprintf("%s (%v): %s", p.name, p.err, last))
		ps.start()
	}
	return out
}

func (ps *soakProcs) quitAll() {
	for _, p := range ps.live {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
			}
		}
	}
}

func (ps *soakProcs) killAll() {
	for _, p := range ps.all {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func (ps *soakProcs) dumpLogs() {
	for _, p := range ps.live {
		ps.t.Logf("--- %s (%s):\n%s", p.name, p.log, soakTail(p.log))
	}
}

// soakTail returns the end of a log file.
func soakTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// soakCluster stops and starts brokers through scripts/kafka.sh and moves
// partition leaders through the admin API.
type soakCluster struct {
	t       *testing.T
	brokers []string
	kdir    string
	topics  []string // whose replicas must be back in sync before the next broker fault
}

func (c *soakCluster) client() *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.brokers...), Timeout: 20 * time.Second,
		Transport: &kafkago.Transport{MetadataTTL: time.Second, DialTimeout: 5 * time.Second}}
}

func (c *soakCluster) script(ctx context.Context, args ...string) error {
	script := os.Getenv("CASUS_SOAK_KAFKA_SH")
	if script == "" {
		script = "../../scripts/kafka.sh"
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "CASUS_KAFKA_DIR="+c.kdir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// inSync waits until every partition of the topics has all its replicas in
// sync; false if they are not within the bound.
func (c *soakCluster) inSync(ctx context.Context, within time.Duration) bool {
	deadline := time.Now().Add(within)
	cl := c.client()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: c.topics})
		if err == nil && len(md.Topics) == len(c.topics) {
			ok := true
			for _, tp := range md.Topics {
				for _, p := range tp.Partitions {
					ok = ok && tp.Error == nil && p.Error == nil && len(p.Isr) == len(p.Replicas)
				}
			}
			if ok {
				return true
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}

// restart takes a broker down for f.Down and starts it again; false if the
// fault was skipped because the cluster was not fully in sync.
func (c *soakCluster) restart(ctx context.Context, f soak.Fault) bool {
	c.t.Helper()
	if !c.inSync(ctx, 90*time.Second) {
		c.t.Logf("skipping %s: replicas not all in sync after 90s", f)
		return false
	}
	cmd := "stop-node"
	if f.Kind == soak.KillBroker {
		cmd = "kill-node"
	}
	node := strconv.Itoa(f.Node)
	if err := c.script(ctx, cmd, node); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(f.Down)
	if err := c.script(ctx, "start-node", node); err != nil {
		c.t.Fatal(err)
	}
	if !c.inSync(ctx, 120*time.Second) {
		c.t.Logf("after %s: replicas not all in sync after 120s", f)
	}
	return true
}

// moveLeaders rotates each partition's replica list of topic (the same
// brokers, another preferred leader) and elects the preferred leaders. It
// returns how many partitions changed leader.
func (c *soakCluster) moveLeaders(ctx context.Context, topic string) int {
	c.t.Helper()
	cl := c.client()
	leaders := func() (map[int]int, map[int][]int, error) {
		md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return nil, nil, err
		}
		if len(md.Topics) != 1 || md.Topics[0].Error != nil {
			return nil, nil, fmt.Errorf("metadata of %s: %v", topic, md.Topics)
		}
		lead, reps := map[int]int{}, map[int][]int{}
		for _, p := range md.Topics[0].Partitions {
			lead[p.ID] = p.Leader.ID
			for _, r := range p.Replicas {
				reps[p.ID] = append(reps[p.ID], r.ID)
			}
		}
		return lead, reps, nil
	}
	before, reps, err := leaders()
	if err != nil {
		c.t.Logf("move leaders: %v", err)
		return 0
	}
	req := &kafkago.AlterPartitionReassignmentsRequest{Topic: topic, Timeout: 20 * time.Second}
	var parts []int
	for p, r := range reps {
		if len(r) < 2 {
			continue
		}
		req.Assignments = append(req.Assignments, kafkago.AlterPartitionReassignmentsRequestAssignment{PartitionID: p, BrokerIDs: append(r[1:], r[0])})
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return 0
	}
	res, err := cl.AlterPartitionReassignments(ctx, req)
	if err == nil {
		err = res.Error
		for _, pr := range res.PartitionResults {
			err = errors.Join(err, pr.Error)
		}
	}
	if err != nil {
		c.t.Logf("move leaders: reassign %s: %v", topic, err)
		return 0
	}
	// Reordering the same replicas moves no data; wait until the new order
	// is in the metadata before electing.
	for range 40 {
		_, now, err := leaders()
		if err == nil && now[parts[0]][0] == reps[parts[0]][1] {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	el, err := cl.ElectLeaders(ctx, &kafkago.ElectLeadersRequest{Topic: topic, Partitions: parts, Timeout: 20 * time.Second})
	if err != nil {
		c.t.Logf("move leaders: elect %s: %v", topic, err)
	} else if el.Error != nil {
		c.t.Logf("move leaders: elect %s: %v", topic, el.Error)
	}
	moved := 0
	for range 40 {
		after, _, err := leaders()
		if err == nil {
			moved = 0
			for p, l := range after {
				if l != before[p] {
					moved++
				}
			}
			if moved == len(parts) {
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Logf("move leaders: %d of %d partitions of %s have a new leader", moved, len(parts), topic)
	return moved
}

// soakSampleLag records every 5 s how far each role's group is behind its
// input, from the committed and end offsets (the processes' own metrics die
// with them, the offsets do not).
func soakSampleLag(ctx context.Context, brokers []string, group, input string, topics map[string]string, stop <-chan struct{}, note func(string, int64), sampled func()) {
	stages := [][3]string{{"classify", group, input}, {"correlate", group + "-correlate", topics["signals"]}, {"campaign", group + "-campaign", topics["incidents"]}}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range stages {
			ends, err := kafka.EndOffsets(ctx, brokers, nil, s[2])
			if err != nil {
				continue
			}
			var parts []int
			for p := range ends {
				parts = append(parts, p)
			}
			committed, err := kafka.Committed(ctx, brokers, nil, s[1], s[2], parts)
			if err != nil {
				continue
			}
			var lag int64
			for p, end := range ends {
				lag += end - max(committed[p], 0)
			}
			note(s[0], lag)
		}
		sampled()
	}
}

// soakCleanup deletes the run's topics and consumer groups.
func soakCleanup(t *testing.T, brokers []string, group string, topics []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 20 * time.Second}
	if _, err := cl.DeleteGroups(ctx, &kafkago.DeleteGroupsRequest{GroupIDs: []string{group, group + "-correlate", group + "-campaign"}}); err != nil {
		t.Logf("delete groups: %v", err)
	}
	if _, err := cl.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: topics}); err != nil {
		t.Logf("delete topics: %v", err)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
