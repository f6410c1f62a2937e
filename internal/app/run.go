package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

// Service is a running `casus run`.
type Service struct {
	cfg      config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	know     *Knowledge
	consumer *kafka.Consumer
	producer *kafka.Producer
	handler  *handler
	metrics  net.Listener
	reloader *Reloader // nil when the rules were given, not loaded from the configuration

	transport *kafkago.Transport
}

// Version is the build's version, set by the linker or read from build info.
var Version = ""

// VersionString is the version to report: the linker's, the module's, or "devel".
func VersionString() string { return version() }

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// ErrRolesSplit is returned when CASUS_ROLES names only some roles: the
// stages do not yet run apart over their own topics, and running all of
// them while the operator asked for fewer would be silently wrong.
var ErrRolesSplit = errors.New("CASUS_ROLES: running the roles in separate processes is not supported by this version (allowed: classify,correlate,campaign)")

// NewService builds the service from a validated configuration.
func NewService(cfg config.Config, know *Knowledge, log *slog.Logger) (*Service, error) {
	if !allRoles(cfg.Roles) {
		return nil, ErrRolesSplit
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "casus_build_info", Help: "Build information; the value is 1.",
	}, []string{"version", "policy_version"})
	reg.MustRegister(buildInfo)
	buildInfo.WithLabelValues(version(), know.Policy.Version).Set(1)

	km := kafka.NewMetrics(reg)
	pm := pipeline.NewMetrics(reg)
	formats := map[string]string{}
	var topics []string
	for _, in := range cfg.Inputs {
		formats[in.Topic] = in.Format
		topics = append(topics, in.Topic)
	}
	decoders := decode.Default(cfg.MaxRecordBytes)
	newPipeline := func(rs *sigma.Ruleset) *pipeline.Pipeline {
		opt := pipelineOptions(cfg, know, decoders, pm)
		opt.Rules = rs
		p, err := pipeline.New(opt)
		if err != nil {
			panic(err) // options are complete by construction
		}
		return p
	}
	rm := newRuleMetrics(reg, know.Rules.Len(), time.Now())
	var reloader *Reloader
	if know.source != nil {
		reloader = newReloader(know, log, rm)
	}
	// The client id names casus in the brokers' logs and quotas.
	dialer := &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DualStack: true}
	transport := &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: 10 * time.Second}
	producer := kafka.NewProducer(kafka.ProducerConfig{Brokers: cfg.Brokers, Transport: transport, Logger: log, Metrics: km})
	consumer, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Dialer:       dialer,
		Brokers:      cfg.Brokers,
		GroupID:      cfg.Group.ID,
		Topics:       topics,
		BatchSize:    cfg.BatchSize,
		BatchTimeout: cfg.BatchTimeout,
		Grace:        cfg.GracePeriod,
		// Older records cannot change an incident inside the policy's
		// window, so the replay after an assignment stops there.
		RebuildWindow: know.Policy.Window,
		Logger:        log,
		Metrics:       km,
	})
	if err != nil {
		return nil, err
	}
	h := &handler{
		newPipeline: newPipeline,
		pipe:        newPipeline(know.Rules),
		formats:     formats,
		topics:      cfg.Topics,
		orgOf:       signalKey(know),
		out:         producer,
		latency:     km,
		deadLetters: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "casus_deadletters_total", Help: "Dead letters acknowledged by the brokers, by reason.",
		}, []string{"reason"}),
		tooLarge: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "casus_outputs_too_large_total", Help: "Signals or escalations too large to publish, replaced by a dead letter of their record.",
		}, []string{"output"}),
	}
	if reloader != nil {
		h.rules = reloader.Rules
	}
	return &Service{transport: transport, cfg: cfg, log: log, reg: reg, know: know, consumer: consumer, producer: producer, handler: h, reloader: reloader}, nil
}

func pipelineOptions(cfg config.Config, know *Knowledge, decoders *decode.Registry, m *pipeline.Metrics) pipeline.Options {
	return pipeline.Options{
		Decoders: decoders,
		Rules:    know.Rules,
		Tracker:  correlate.Options{Assets: know.Assets, Intel: know.Intel, Policy: know.Policy, EvidenceCap: know.Policy.EvidenceCap},
		Ladder:   escalate.Options{Source: "casus/" + cfg.Group.ID, MinLevel: cfg.MinLevel},
		Metrics:  m,
	}
}

// Registry exposes the service's metrics registry (tests and the demo).
func (s *Service) Registry() *prometheus.Registry { return s.reg }

// Ready reports whether the consumer has joined its group and holds partitions.
func (s *Service) Ready() bool { return s.consumer.Ready() }

// Reloader returns the service's rule reloader, nil when its rules were
// given rather than loaded from the configuration.
func (s *Service) Reloader() *Reloader { return s.reloader }

// Run creates the topics when configured to, serves the HTTP endpoints, and
// consumes until ctx is cancelled; then it drains within the grace period.
// With rules loaded from the configuration, SIGHUP and changed rule files
// reload them meanwhile.
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.CreateTopics {
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := kafka.EnsureTopics(tctx, s.cfg.Brokers, s.transport, s.topicSpecs())
		cancel()
		if err != nil {
			return fmt.Errorf("prepare topics: %w", err)
		}
	}
	srv, err := s.serveHTTP()
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if s.reloader != nil {
		hup, stopHUP := notifyReload()
		defer stopHUP()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.reloader.Run(rctx, hup)
		}()
		defer func() {
			cancel()
			<-done
		}()
	}
	s.log.Info("casus running", "version", version(), "group", s.cfg.Group.ID, "inputs", s.cfg.Inputs,
		"brokers", s.cfg.Brokers, "rules", s.handler.pipe.Rules().Len(), "rules_dirs", s.cfg.RulesDirs,
		"policy", s.know.Policy.Name+"@"+s.know.Policy.Version, "metrics", s.metrics.Addr().String())
	runErr := s.consumer.Run(ctx, s.handler)
	closeErr := s.producer.Close()
	if runErr != nil {
		return fmt.Errorf("consume: %w", runErr)
	}
	if closeErr != nil {
		return closeErr
	}
	s.log.Info("casus stopped cleanly")
	return nil
}

// MetricsAddr is the address the HTTP endpoints listen on, once Run started them.
func (s *Service) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr().String()
}

func (s *Service) topicSpecs() []kafka.TopicSpec {
	n, rf := s.cfg.Partitions, s.cfg.Replication
	return []kafka.TopicSpec{
		{Name: s.cfg.Signals, Partitions: n, ReplicationFactor: rf},
		{Name: s.cfg.Escalations, Partitions: n, ReplicationFactor: rf},
		{Name: s.cfg.Deadletter, Partitions: n, ReplicationFactor: rf},
	}
}

func (s *Service) serveHTTP() (*http.Server, error) {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on CASUS_METRICS_ADDR %s: %w", s.cfg.MetricsAddr, err)
	}
	s.metrics = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "not ready: not joined to the consumer group or no partition assigned", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	return srv, nil
}

func allRoles(roles []config.Role) bool {
	want := map[config.Role]bool{config.RoleClassify: false, config.RoleCorrelate: false, config.RoleCampaign: false}
	for _, r := range roles {
		want[r] = true
	}
	for _, ok := range want {
		if !ok {
			return false
		}
	}
	return true
}
