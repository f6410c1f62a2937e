package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/classify/sigma"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/pipeline"
)

// Service is a running `casus run`: one consumer per role it plays.
type Service struct {
	cfg      config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	know     *Knowledge
	roles    []*role
	producer *kafka.Producer
	handler  *handler // the classify role's, nil when it does not run here
	store    *kafka.StateStore
	metrics  net.Listener
	reloader *Reloader // nil when the rules were given, not loaded from the configuration
	corr     *correlateHandler
	camp     *campaignHandler

	dialer    *kafkago.Dialer
	transport *kafkago.Transport

	httpLimits httpLimits // zero: defaultHTTPLimits
}

// role is one role's consumer and handler.
type role struct {
	name     config.Role
	consumer *kafka.Consumer
	handler  kafka.Handler
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

// GroupOf is the consumer group of a role: the configured group for
// classify, suffixed with the role's name for the others, so that each
// role's instances share its partitions and rebalance apart from the rest.
func GroupOf(group string, r config.Role) string {
	if r == config.RoleClassify {
		return group
	}
	return group + "-" + string(r)
}

// NewService builds the service from a validated configuration.
func NewService(cfg config.Config, know *Knowledge, log *slog.Logger) (*Service, error) {
	return newService(cfg, know, log, nil)
}

// newService builds the service; a non-nil observe registers every
// collector in its place, to list them (Metrics).
func newService(cfg config.Config, know *Knowledge, log *slog.Logger, observe prometheus.Registerer) (*Service, error) {
	registry := prometheus.NewRegistry()
	var reg prometheus.Registerer = registry
	if observe != nil {
		reg = observe
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "casus_build_info", Help: "Build information; the value is 1.",
	}, []string{"version", "policy_version"})
	reg.MustRegister(buildInfo)
	buildInfo.WithLabelValues(version(), know.Policy.Version).Set(1)

	km := kafka.NewMetrics(reg)
	pm := pipeline.NewMetrics(reg)
	sm := newStageMetrics(reg, pm)
	// The client id names casus in the brokers' logs and quotas.
	dialer := &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: 10 * time.Second, DualStack: true}
	transport := &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: 10 * time.Second}
	// Every connection casus opens copies the security of these two.
	if err := applySecurity(cfg.Kafka, dialer, transport); err != nil {
		return nil, err
	}
	producer := kafka.NewProducer(kafka.ProducerConfig{Brokers: cfg.Brokers, Transport: transport, Logger: log, Metrics: km})
	store, err := kafka.NewStateStore(kafka.StateConfig{Brokers: cfg.Brokers, Dialer: dialer, Topic: cfg.State, Logger: log, Metrics: km})
	if err != nil {
		return nil, err
	}
	svc := &Service{transport: transport, dialer: dialer, cfg: cfg, log: log, reg: registry, know: know, producer: producer, store: store}
	io := stageIO{out: producer, store: store, stateTopic: cfg.State, deadletter: cfg.Deadletter, log: log, m: sm}
	consumer := func(r config.Role, topics []string, rebuild time.Duration) (*kafka.Consumer, error) {
		partial := ""
		if r == config.RoleClassify {
			partial = "this member holds only some input partitions: Sigma correlation rules (counts over several records) see only the records of its partitions, so key telemetry by the entity such rules group by (docs/operations.md)"
		}
		return kafka.NewConsumer(kafka.ConsumerConfig{
			PartialWarning: partial,
			Dialer:         dialer,
			Brokers:        cfg.Brokers,
			GroupID:        GroupOf(cfg.Group.ID, r),
			Topics:         topics,
			BatchSize:      cfg.BatchSize,
			BatchTimeout:   cfg.BatchTimeout,
			Grace:          cfg.GracePeriod,
			IdleAfter:      cfg.IdleAfter,
			RebuildWindow:  rebuild,
			Logger:         log.With("role", string(r)),
			Metrics:        km,
		})
	}
	for _, r := range cfg.Roles {
		var c *kafka.Consumer
		var h kafka.Handler
		switch r {
		case config.RoleClassify:
			svc.handler = newClassifyHandler(cfg, know, pm, km, reg, log)
			rm := newRuleMetrics(reg, know.Rules.Len(), time.Now())
			if know.source != nil {
				svc.reloader = newReloader(know, log, rm)
				svc.handler.rules = svc.reloader.Rules
			}
			svc.handler.out = producer
			var topics []string
			for _, in := range cfg.Inputs {
				topics = append(topics, in.Topic)
			}
			// Older records cannot change a Sigma correlation window, so the
			// replay after an assignment stops there.
			c, err = consumer(r, topics, know.Policy.Window)
			h = svc.handler
		case config.RoleCorrelate:
			sm.initEvictions("incident")
			svc.corr = &correlateHandler{stageIO: io, taskOptions: correlate.TaskOptions{Tracker: correlateOptions(cfg, know)},
				signals: cfg.Signals, incidents: cfg.Incidents, prefix: statePrefix(cfg.Group.ID, r)}
			c, err = consumer(r, []string{cfg.Signals}, 0)
			h = svc.corr
		case config.RoleCampaign:
			sm.initEscalations(cfg.MinLevel)
			sm.initEvictions("campaign_incident")
			svc.camp = &campaignHandler{stageIO: io, options: campaignOptions(cfg, know), escalations: cfg.Escalations, prefix: statePrefix(cfg.Group.ID, r)}
			if svc.camp.signer, err = newSigner(cfg, reg); err != nil {
				return nil, err
			}
			c, err = consumer(r, []string{cfg.Incidents}, 0)
			h = svc.camp
		default:
			return nil, fmt.Errorf("%s_ROLES: unknown role %q", config.Prefix, r)
		}
		if err != nil {
			return nil, err
		}
		svc.roles = append(svc.roles, &role{name: r, consumer: c, handler: h})
	}
	// Prometheus does not scrape /readyz; this gauge lets it alert on the same answer.
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "casus_ready", Help: "1 when /readyz answers 200 (every role's consumer holds partitions, their state restored), else 0.",
	}, func() float64 {
		if svc.Ready() {
			return 1
		}
		return 0
	}))
	return svc, nil
}

func newClassifyHandler(cfg config.Config, know *Knowledge, pm *pipeline.Metrics, km *kafka.Metrics, reg prometheus.Registerer, log *slog.Logger) *handler {
	formats := map[string]string{}
	for _, in := range cfg.Inputs {
		formats[in.Topic] = in.Format
	}
	decoders := decode.Default(cfg.MaxRecordBytes)
	newPipeline := func(rs *sigma.Ruleset) *pipeline.Pipeline {
		opt := pipelineOptions(know, decoders, pm)
		opt.Rules = rs
		p, err := pipeline.New(opt)
		if err != nil {
			panic(err) // options are complete by construction
		}
		return p
	}
	return &handler{
		newPipeline: newPipeline,
		current:     know.Rules,
		parts:       map[kafka.TopicPartition]*pipeline.Pipeline{},
		formats:     formats,
		topics:      cfg.Topics,
		orgOf:       signalKey(know),
		latency:     km,
		lateness:    cfg.AllowedLateness,
		latest:      map[kafka.TopicPartition]time.Time{},
		idle:        map[kafka.TopicPartition]bool{},
		marked:      map[kafka.TopicPartition]eventtime.Mark{},
		deadLetters: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "casus_deadletters_total", Help: "Dead letters acknowledged by the brokers, by reason.",
		}, []string{"reason"}),
		tooLarge: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "casus_outputs_too_large_total", Help: "Signals too large to publish, replaced by a dead letter of their record.",
		}, []string{"output"}),
	}
}

func correlateOptions(cfg config.Config, know *Knowledge) correlate.Options {
	return correlate.Options{Assets: know.Assets, Intel: know.Intel, Policy: know.Policy,
		MaxIncidents: cfg.MaxIncidents, EvidenceCap: know.Policy.EvidenceCap}
}

func campaignOptions(cfg config.Config, know *Knowledge) campaign.Options {
	return campaign.Options{
		Policy:       know.Policy,
		Ladder:       escalate.Options{Source: "casus/" + cfg.Group.ID, MinLevel: cfg.MinLevel, Policy: know.Policy},
		MaxIncidents: cfg.MaxCampaignIncidents,
	}
}

func pipelineOptions(know *Knowledge, decoders *decode.Registry, m *pipeline.Metrics) pipeline.Options {
	return pipeline.Options{Decoders: decoders, Rules: know.Rules, Metrics: m}
}

// Registry exposes the service's metrics registry (tests and the demo).
func (s *Service) Registry() *prometheus.Registry { return s.reg }

// Ready reports whether every role's consumer has joined its group, holds
// partitions and has restored their state.
func (s *Service) Ready() bool {
	for _, r := range s.roles {
		if !r.consumer.Ready() {
			return false
		}
	}
	return len(s.roles) > 0
}

// Reloader returns the service's rule reloader, nil when its rules were
// given rather than loaded from the configuration.
func (s *Service) Reloader() *Reloader { return s.reloader }

// Run creates the topics when configured to, serves the HTTP endpoints, and
// consumes until ctx is cancelled; then it drains within the grace period.
// With rules loaded from the configuration, SIGHUP and changed rule files
// reload them meanwhile.
func (s *Service) Run(ctx context.Context) error {
	if err := s.preflight(ctx); err != nil {
		return err
	}
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
	} else {
		// SIGHUP reloads rules; a process without them (given rules, or no
		// classify role) must not die of it.
		hup, stopHUP := notifyReload()
		defer stopHUP()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					s.log.Info("SIGHUP: this process has no rule files to reload")
				}
			}
		}()
	}
	if err := s.partitions(ctx); err != nil {
		return err
	}
	rules := 0
	if s.handler != nil {
		rules = s.handler.current.Len()
	}
	s.log.Info("casus running", "version", version(), "group", s.cfg.Group.ID, "roles", s.cfg.Roles, "inputs", s.cfg.Inputs,
		"brokers", s.cfg.Brokers, "rules", rules, "rules_dirs", s.cfg.RulesDirs,
		"policy", s.know.Policy.Name+"@"+s.know.Policy.Version, "metrics", s.metrics.Addr().String(),
		"signing_key", s.signingKey())
	// The roles run side by side; the first to fail stops the others.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(s.roles))
	for _, r := range s.roles {
		go func() {
			err := r.consumer.Run(rctx, r.handler)
			if err != nil {
				err = fmt.Errorf("%s role: %w", r.name, err)
				cancel()
			}
			errs <- err
		}()
	}
	var runErr error
	for range s.roles {
		runErr = errors.Join(runErr, <-errs)
	}
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

// partitions reads the partition counts the roles need: marks go to every
// partition of the next topic and say how many sources the stage has, and
// the state topic must have a partition for every stateful input partition.
func (s *Service) partitions(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	count := func(topic string) (int, error) {
		return kafka.Partitions(pctx, s.cfg.Brokers, s.dialer, topic)
	}
	var signals, incidents, state int
	var err error
	if signals, err = count(s.cfg.Signals); err != nil {
		return err
	}
	if incidents, err = count(s.cfg.Incidents); err != nil {
		return err
	}
	if s.handler != nil {
		s.handler.signalPartitions = signals
		s.handler.inputPartitions = 0
		for _, in := range s.cfg.Inputs {
			n, err := count(in.Topic)
			if err != nil {
				return err
			}
			s.handler.inputPartitions += n
		}
	}
	if s.corr != nil || s.camp != nil {
		if state, err = count(s.cfg.State); err != nil {
			return err
		}
		if need := max(signals, incidents); state < need {
			return fmt.Errorf("state topic %s has %d partitions, fewer than the %d of %s and %s: each stateful partition keeps its state in the state partition of the same number",
				s.cfg.State, state, need, s.cfg.Signals, s.cfg.Incidents)
		}
	}
	if s.corr != nil {
		s.corr.signalPart, s.corr.incidentPart = signals, incidents
	}
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
		{Name: s.cfg.Incidents, Partitions: n, ReplicationFactor: rf},
		{Name: s.cfg.Escalations, Partitions: n, ReplicationFactor: rf},
		{Name: s.cfg.Deadletter, Partitions: n, ReplicationFactor: rf},
		{Name: s.cfg.State, Partitions: n, ReplicationFactor: rf, Configs: kafka.StateTopicConfigs()},
	}
}
