package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/casus-sec/casus/classify/sigma"
)

// Reload triggers, as logged.
const (
	TriggerSIGHUP = "sighup"
	TriggerPoll   = "poll"
)

// maxLoggedRuleErrors bounds the error lines one failed reload logs; the
// summary line gives the total.
const maxLoggedRuleErrors = 50

// ruleMetrics are the rule set's collectors.
type ruleMetrics struct {
	reloads     *prometheus.CounterVec
	loaded      prometheus.Gauge
	lastSuccess prometheus.Gauge
	lastOK      prometheus.Gauge
}

// newRuleMetrics registers the collectors with reg (none when nil) and
// records the start-up load as the last successful one.
func newRuleMetrics(reg prometheus.Registerer, rules int, loadedAt time.Time) *ruleMetrics {
	f := promauto.With(reg)
	m := &ruleMetrics{
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "casus_rules_reloads_total", Help: "Rule reloads attempted after start-up, by result (success or failure).",
		}, []string{"result"}),
		loaded: f.NewGauge(prometheus.GaugeOpts{
			Name: "casus_rules_loaded", Help: "Rules (detection and correlation) in the active rule set.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "casus_rules_last_reload_success_timestamp_seconds", Help: "When the rules were last loaded successfully (start-up included), in seconds since the epoch.",
		}),
		lastOK: f.NewGauge(prometheus.GaugeOpts{
			Name: "casus_rules_last_reload_successful", Help: "1 if the last rule load succeeded, 0 if it failed and the previous rule set stayed in force.",
		}),
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.loaded.Set(float64(rules))
	m.lastSuccess.Set(float64(loadedAt.UnixNano()) / 1e9)
	m.lastOK.Set(1)
	return m
}

func (m *ruleMetrics) succeeded(rules int) {
	m.reloads.WithLabelValues("success").Inc()
	m.loaded.Set(float64(rules))
	m.lastSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
	m.lastOK.Set(1)
}

func (m *ruleMetrics) failed() {
	m.reloads.WithLabelValues("failure").Inc()
	m.lastOK.Set(0)
}

// Reloader compiles the rules of a Knowledge loaded from configuration (the
// bundled rules and CASUS_RULES_DIRS) again on SIGHUP, or when a rule file
// under the directories changes, and offers the new set through Rules. It
// never installs a set itself: the handler takes the new set between two
// batches, so each batch is classified by one set. A set that does not
// compile is logged and counted, and the previous one stays in force.
type Reloader struct {
	src      *ruleSource
	interval time.Duration
	log      *slog.Logger
	m        *ruleMetrics

	current atomic.Pointer[sigma.Ruleset]

	mu    sync.Mutex // one reload at a time
	state ruleState  // stamp of the files at the last attempt, digest of those in force
}

// ReloaderOptions configure NewReloader.
type ReloaderOptions struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: unregistered metrics
}

// ErrRulesNotReloadable is returned by NewReloader for a Knowledge whose
// rules were given rather than loaded by LoadKnowledge.
var ErrRulesNotReloadable = errors.New("rules were not loaded from the configuration: nothing to reload them from")

// NewReloader returns a Reloader for the rules of know, which LoadKnowledge
// must have built; know.Rules is the set in force. It polls at the
// interval of CASUS_RULES_POLL_INTERVAL.
func NewReloader(know *Knowledge, opt ReloaderOptions) (*Reloader, error) {
	if know.source == nil {
		return nil, ErrRulesNotReloadable
	}
	return newReloader(know, opt.Logger, newRuleMetrics(opt.Registerer, know.Rules.Len(), time.Now())), nil
}

func newReloader(know *Knowledge, log *slog.Logger, m *ruleMetrics) *Reloader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{src: know.source, interval: know.source.interval, log: log, m: m, state: know.loaded}
	r.current.Store(know.Rules)
	return r
}

// Rules returns the newest rule set that compiled. Safe for concurrent use.
func (r *Reloader) Rules() *sigma.Ruleset { return r.current.Load() }

// Reload reads and compiles the rules now; trigger names the cause in the
// logs. Files identical to those of the set in force change nothing (and
// keep the correlation windows). It returns the problems of a failed
// reload, which are also logged and counted.
func (r *Reloader) Reload(trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload(trigger, r.src.stamp())
}

// Check compares the rule files' stamp with that of the last attempt and
// reloads when it differs. It reports whether it reloaded, and the
// reload's error. A broken file is thus reported once, not at every poll,
// and reloaded when it changes again.
func (r *Reloader) Check() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp := r.src.stamp()
	if stamp == r.state.stamp {
		return false, nil
	}
	return true, r.reload(TriggerPoll, stamp)
}

// Run reloads on every value from hup (SIGHUP, see notifyReload) and checks
// the files every poll interval, until ctx ends. Without directories or with
// a zero interval it does not poll.
func (r *Reloader) Run(ctx context.Context, hup <-chan os.Signal) {
	var tick <-chan time.Time
	if r.interval > 0 && len(r.src.dirs) > 0 {
		t := time.NewTicker(r.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.Reload(TriggerSIGHUP) // logged and counted
		case <-tick:
			_, _ = r.Check()
		}
	}
}

// reload runs with r.mu held; stamp was taken before the files are read, so
// a file changed while being read stamps differently at the next poll.
func (r *Reloader) reload(trigger, stamp string) error {
	start := time.Now()
	r.state.stamp = stamp
	files, err := r.src.read()
	if err != nil {
		return r.fail(trigger, err)
	}
	digest := digestOf(files)
	if digest == r.state.digest {
		r.m.succeeded(r.Rules().Len())
		r.log.Info("rules unchanged; the rule set in force stays", "trigger", trigger, "rules", r.Rules().Len(), "files", len(files))
		return nil
	}
	rs, warns, err := r.src.compile(files)
	if err != nil {
		return r.fail(trigger, err)
	}
	for _, w := range warns {
		r.log.Warn("rule warning", "warning", w.String())
	}
	r.current.Store(rs)
	r.state.digest = digest
	r.m.succeeded(rs.Len())
	r.log.Info("rules reloaded; in force from the next batch", "trigger", trigger, "rules", rs.Len(), "files", len(files),
		"warnings", len(warns), "dirs", r.src.dirs, "duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func (r *Reloader) fail(trigger string, err error) error {
	r.m.failed()
	problems := leafErrors(err)
	for i, e := range problems {
		if i == maxLoggedRuleErrors {
			r.log.Error("rule error", "err", fmt.Sprintf("and %d more", len(problems)-i))
			break
		}
		r.log.Error("rule error", "err", e.Error())
	}
	r.log.Error("rules reload failed; the previous rule set stays in force", "trigger", trigger, "errors", len(problems),
		"rules", r.Rules().Len(), "dirs", r.src.dirs)
	return fmt.Errorf("reload rules: %w", err)
}

// leafErrors flattens errors.Join trees: one entry per problem.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// notifyReload delivers SIGHUP to the returned channel until stop is called;
// meanwhile SIGHUP does not end the process.
func notifyReload() (hup <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}
