package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/assets"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/intel"
	"github.com/casus-sec/casus/classify/severity"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/internal/scenario"
	"github.com/casus-sec/casus/stream/embedded"
	"github.com/casus-sec/casus/stream/kafka"
)

// DemoOptions configure `casus demo`.
type DemoOptions struct {
	Follow bool // keep running after the scenario, for kcat
	Port   int  // broker port; 0 picks a free one
	Benign int  // benign background records
	Out    io.Writer
	Log    *slog.Logger
}

// DemoTopic is the telemetry topic the demo feeds.
const DemoTopic = "telemetry"

// ScenarioKnowledge is the bundled rules and policy with the scenario's
// asset inventory and intelligence.
func ScenarioKnowledge() (*Knowledge, error) {
	inv, err := assets.Parse("scenario/assets.yaml", scenario.AssetsYAML())
	if err != nil {
		return nil, err
	}
	in, err := intel.Parse("scenario/intel.yaml", scenario.IntelYAML())
	if err != nil {
		return nil, err
	}
	rs, warns, err := compileRules("", inv)
	if err != nil {
		return nil, err
	}
	return &Knowledge{Rules: rs, Policy: severity.Default(), Assets: inv, Intel: in, Warnings: warns}, nil
}

// Demo starts an embedded broker, runs the real service against it over TCP,
// replays the bundled scenario and prints each escalation as it arrives.
func Demo(ctx context.Context, opt DemoOptions) error {
	if opt.Benign <= 0 {
		opt.Benign = 3000
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	cfg := config.Defaults()
	broker, err := embedded.Start(opt.Port, int32(cfg.Partitions), DemoTopic)
	if err != nil {
		return err
	}
	defer broker.Close()
	fmt.Fprintf(opt.Out, "casus demo: embedded Kafka-compatible broker on %s\n", broker.Addr())

	know, err := ScenarioKnowledge()
	if err != nil {
		return err
	}
	cfg.Brokers = []string{broker.Addr()}
	cfg.Inputs = []config.Input{{Topic: DemoTopic, Format: "ecs"}}
	cfg.Group.ID = "casus-demo"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.BatchTimeout = 50 * time.Millisecond
	// The scenario is finite: its partitions fall idle soon after its last
	// record, which releases what the event-time watermarks hold.
	cfg.IdleAfter = 300 * time.Millisecond
	svc, err := NewService(cfg, know, opt.Log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- svc.Run(runCtx) }()

	// Print escalations as they arrive.
	var seen atomic.Int64
	printEscalations(runCtx, cfg, opt.Out, start, &seen)

	records := scenario.Generate(scenario.Config{Benign: opt.Benign})
	w := &kafkago.Writer{Addr: kafkago.TCP(broker.Addr()), Topic: DemoTopic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 500,
		Transport: &kafkago.Transport{MetadataTTL: 100 * time.Millisecond}}
	msgs := make([]kafkago.Message, len(records))
	for i, r := range records {
		msgs[i] = kafkago.Message{Key: r.Key, Value: r.Value, Time: time.Now()}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce scenario: %w", err)
	}
	_ = w.Close()
	fmt.Fprintf(opt.Out, "casus demo: produced %d telemetry records (%d benign) to %q; escalations follow\n\n", len(records), opt.Benign, DemoTopic)

	stopped := func() error {
		select {
		case err := <-runErr:
			return fmt.Errorf("service stopped before the scenario was processed: %w", err)
		default:
			return nil
		}
	}
	if err := WaitSettled(runCtx, []string{broker.Addr()}, cfg, 3*cfg.IdleAfter+500*time.Millisecond, stopped); err != nil {
		return err
	}
	total, err := waitDrained(runCtx, broker.Addr(), cfg.Escalations, &seen)
	if err != nil {
		return err
	}
	fmt.Fprintf(opt.Out, "casus demo: scenario done in %s: %d records, %d escalations on %q\n",
		time.Since(start).Round(100*time.Millisecond), len(records), total, cfg.Escalations)
	if opt.Follow {
		fmt.Fprintf(opt.Out, "\ncasus demo: still running (Ctrl-C to stop). Broker: %s  metrics: http://%s/metrics\n", broker.Addr(), svc.MetricsAddr())
		fmt.Fprintf(opt.Out, "  kcat -b %s -t %s -C -e          # read escalations\n", broker.Addr(), cfg.Escalations)
		fmt.Fprintf(opt.Out, "  kcat -b %s -t %s -P -k site < telemetry.ndjson   # send telemetry\n", broker.Addr(), DemoTopic)
		<-ctx.Done()
	}
	stop()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// printEscalations reads every partition of the escalations topic from the
// start and prints each escalation, counting them in seen.
func printEscalations(ctx context.Context, cfg config.Config, out io.Writer, start time.Time, seen *atomic.Int64) {
	type rec struct{ m kafkago.Message }
	ch := make(chan rec)
	for p := 0; p < cfg.Partitions; p++ {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Escalations, Partition: p, MaxWait: 100 * time.Millisecond})
		go func() {
			defer r.Close()
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return
				}
				select {
				case ch <- rec{m}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-ch:
				var e escalate.Escalation
				var c escalate.Closed
				switch err := json.Unmarshal(r.m.Value, &e); {
				case err != nil:
					fmt.Fprintf(out, "unreadable escalation at %d/%d: %v\n", r.m.Partition, r.m.Offset, err)
				case e.Type == escalate.ClosedType && json.Unmarshal(r.m.Value, &c) == nil:
					fmt.Fprintf(out, "[+%s] CLOSED %s at level %d (%s), %s since %s\n", time.Since(start).Round(100*time.Millisecond),
						c.Data.IncidentID, c.Data.Level, c.Data.Candidacy, c.Data.Reason, c.Data.LastSeen.Format(time.RFC3339))
				default:
					fmt.Fprintf(out, "[+%s] %s\n", time.Since(start).Round(100*time.Millisecond), FormatEscalation(e))
				}
				seen.Add(1)
			}
		}
	}()
}

// waitDrained waits until the printer has read as many escalations as the
// topic holds now that all telemetry is processed.
func waitDrained(ctx context.Context, addr, topic string, seen *atomic.Int64) (int64, error) {
	ends, err := kafka.EndOffsets(ctx, []string{addr}, nil, topic)
	if err != nil {
		return 0, err
	}
	var want int64
	for _, o := range ends {
		want += o
	}
	for seen.Load() < want {
		select {
		case <-ctx.Done():
			return seen.Load(), ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return seen.Load(), nil
}

// FormatEscalation renders an escalation for a duty officer's terminal.
func FormatEscalation(e escalate.Escalation) string {
	d := e.Data
	var b strings.Builder
	fmt.Fprintf(&b, "ESCALATION level %d %s (was %d)  candidacy: %s  score %.1f\n", d.Level, d.LevelName, d.PreviousLevel, d.Candidacy, d.Score)
	where := fmt.Sprintf("tier %d", d.Targets.Tier)
	if d.Targets.Sector != "" {
		where = d.Targets.Sector + ", " + where
	}
	fmt.Fprintf(&b, "    incident %s  %s (%s)  event time %s\n", d.IncidentID, d.Targets.Organisation, where, e.Time)
	fmt.Fprintf(&b, "    %s: %s\n", d.Class, strings.Join(d.Techniques, " "))
	if d.Transition != "" {
		fmt.Fprintf(&b, "    %s\n", d.Transition)
	}
	if len(d.Gates) > 0 {
		fmt.Fprintf(&b, "    gates: %s\n", strings.Join(d.Gates, "; "))
	}
	fmt.Fprintf(&b, "    %s\n", d.Rationale)
	if d.Decision != "" {
		fmt.Fprintf(&b, "    decision: %s\n", d.Decision)
	}
	fmt.Fprintf(&b, "    id %s  policy %s@%s", e.ID, d.Policy.Name, d.Policy.Version)
	return b.String()
}
