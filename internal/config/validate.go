package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits enforced by Validate.
const (
	maxGracePeriod     = 10 * time.Minute
	maxBatchTimeout    = time.Minute // longer holds records uncommitted for no gain
	minRecordBytes     = 1 << 10
	maxRecordBytes     = 64 << 20
	maxBatchSize       = 100_000
	maxPartitions      = 1<<31 - 1 // Kafka's partition count is an int32
	maxReplication     = 1<<15 - 1 // Kafka's replication factor is an int16
	maxEscalationLevel = 5
	maxTopicNameBytes  = 249
	minRulesPoll       = time.Second // shorter only burns CPU on stat calls
	maxRulesPoll       = 24 * time.Hour
)

// Validate checks every value and returns all problems joined, each an
// *Error naming the variable, its value and what is allowed. knownFormats are
// the decoder names CASUS_INPUTS may use. Validate does no I/O.
func (c Config) Validate(knownFormats []string) error {
	return errors.Join(c.validate(knownFormats)...)
}

// problems collects Errors; the helpers keep each check to one line.
type problems []error

func (p *problems) add(name, value, allowed string, format string, args ...any) {
	*p = append(*p, &Error{Var: name, Value: value, Allowed: allowed, Err: fmt.Errorf(format, args...)})
}

func (p *problems) intRange(name string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(name, strconv.Itoa(v), fmt.Sprintf("an integer from %d to %d", lo, hi), "out of range")
	}
}

func (p *problems) durationRange(name string, d, hi time.Duration) {
	if d <= 0 || d > hi {
		p.add(name, d.String(), fmt.Sprintf("a duration greater than 0 and at most %s", hi), "out of range")
	}
}

func (p *problems) nonEmpty(name, v string) {
	if strings.TrimSpace(v) == "" {
		p.add(name, v, "a non-empty string", "must be set")
	}
}

func enumCheck[E interface {
	~string
	enum
}](p *problems, name string, v E) {
	if !slices.Contains(v.allowed(), string(v)) {
		p.add(name, string(v), oneOf(v.allowed()), "unknown value")
	}
}

func (c Config) validate(knownFormats []string) []error {
	var p problems
	c.Kafka.validate(&p)
	c.validateInputs(&p, knownFormats)
	c.Topics.validate(&p)
	c.Group.validate(&p)
	c.Runtime.validate(&p)
	c.Files.validate(&p)
	p.intRange(Prefix+"_ESCALATION_MIN_LEVEL", c.MinLevel, 0, maxEscalationLevel)
	if c.AllowedLateness < 0 || c.AllowedLateness > 24*time.Hour {
		p.add(Prefix+"_ALLOWED_LATENESS", c.AllowedLateness.String(), "a duration from 0 to 24h", "out of range")
	}
	if c.IdleAfter < 100*time.Millisecond || c.IdleAfter > 10*time.Minute {
		p.add(Prefix+"_IDLE_AFTER", c.IdleAfter.String(), "a duration from 100ms to 10m", "out of range")
	}
	p.intRange(Prefix+"_MAX_INCIDENTS", c.MaxIncidents, 100, 10_000_000)
	p.intRange(Prefix+"_MAX_CAMPAIGN_INCIDENTS", c.MaxCampaignIncidents, 100, 10_000_000)
	return p
}

func (k Kafka) validate(p *problems) {
	const brokers = Prefix + "_KAFKA_BROKERS"
	const brokerForm = "comma-separated host:port addresses with a port from 1 to 65535"
	if len(k.Brokers) == 0 {
		p.add(brokers, "", brokerForm, "at least one broker is needed")
	}
	for _, b := range k.Brokers {
		if err := hostPort(b, 1, true); err != nil {
			p.add(brokers, strings.Join(k.Brokers, ","), brokerForm, "broker %q: %w", b, err)
		}
	}
	p.nonEmpty(Prefix+"_KAFKA_CLIENT_ID", k.ClientID)

	// TLS and SASL are declared but not implemented: refuse rather than
	// connect in the clear when the operator asked for security.
	const noTLS, noSASL = "TLS is not supported by this version", "SASL is not supported by this version"
	if k.TLSEnabled {
		p.add(Prefix+"_KAFKA_TLS_ENABLED", "true", "false", noTLS)
	}
	if k.TLSCAFile != "" {
		p.add(Prefix+"_KAFKA_TLS_CA_FILE", k.TLSCAFile, "empty", noTLS)
	}
	switch k.SASLMechanism {
	case SASLNone:
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		p.add(Prefix+"_KAFKA_SASL_MECHANISM", string(k.SASLMechanism), "empty", noSASL)
	default:
		enumCheck(p, Prefix+"_KAFKA_SASL_MECHANISM", k.SASLMechanism)
	}
	if k.SASLUsername != "" {
		p.add(Prefix+"_KAFKA_SASL_USERNAME", k.SASLUsername, "empty", noSASL)
	}
	if k.SASLPassword != "" {
		p.add(Prefix+"_KAFKA_SASL_PASSWORD", mask(k.SASLPassword), "empty", noSASL)
	}
	if k.SASLPasswordFile != "" {
		p.add(Prefix+"_KAFKA_SASL_PASSWORD_FILE", k.SASLPasswordFile, "empty", noSASL)
	}
}

func (c Config) validateInputs(p *problems, knownFormats []string) {
	const name = Prefix + "_INPUTS"
	all := format(reflect.ValueOf(c.Inputs))
	formats := "comma-separated topic:format pairs, format one of: " + strings.Join(knownFormats, ", ")
	if len(knownFormats) == 0 {
		formats = "comma-separated topic:format pairs (no input format is available)"
	}
	if len(c.Inputs) == 0 {
		p.add(name, all, formats, "at least one input is needed")
	}
	// An input that is also an output topic would feed casus its own records.
	outputs := map[string]string{
		c.Signals: Prefix + "_TOPIC_SIGNALS", c.Escalations: Prefix + "_TOPIC_ESCALATIONS",
		c.Deadletter: Prefix + "_TOPIC_DEADLETTER", c.State: Prefix + "_TOPIC_STATE",
		c.Incidents: Prefix + "_TOPIC_INCIDENTS",
	}
	seen := map[string]bool{}
	for _, in := range c.Inputs {
		if err := topicName(in.Topic); err != nil {
			p.add(name, all, "Kafka topic names: 1 to 249 of a-z A-Z 0-9 . _ -", "topic %q: %w", in.Topic, err)
		}
		if !slices.Contains(knownFormats, in.Format) {
			p.add(name, all, formats, "topic %q: unknown format %q", in.Topic, in.Format)
		}
		if seen[in.Topic] {
			p.add(name, all, "each topic at most once", "topic %q is listed twice", in.Topic)
		}
		seen[in.Topic] = true
		if out, ok := outputs[in.Topic]; ok {
			p.add(name, all, "topics other than casus's output topics", "topic %q is also %s", in.Topic, out)
		}
	}
}

func (t Topics) validate(p *problems) {
	topics := []struct{ name, value string }{
		{Prefix + "_TOPIC_SIGNALS", t.Signals},
		{Prefix + "_TOPIC_ESCALATIONS", t.Escalations},
		{Prefix + "_TOPIC_DEADLETTER", t.Deadletter},
		{Prefix + "_TOPIC_STATE", t.State},
		{Prefix + "_TOPIC_INCIDENTS", t.Incidents},
	}
	used := map[string]string{}
	for _, tp := range topics {
		if err := topicName(tp.value); err != nil {
			p.add(tp.name, tp.value, "a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -", "%w", err)
			continue
		}
		if other, ok := used[tp.value]; ok {
			p.add(tp.name, tp.value, "a topic no other CASUS_TOPIC_* variable names", "same topic as %s", other)
		}
		used[tp.value] = tp.name
	}
	p.intRange(Prefix+"_TOPIC_PARTITIONS", t.Partitions, 1, maxPartitions)
	p.intRange(Prefix+"_TOPIC_REPLICATION", t.Replication, 1, maxReplication)
}

func (g Group) validate(p *problems) {
	p.nonEmpty(Prefix+"_GROUP_ID", g.ID)
	const name = Prefix + "_ROLES"
	all := format(reflect.ValueOf(g.Roles))
	allowed := "a comma-separated list of " + orList(Role("").allowed()) + ", each at most once"
	if len(g.Roles) == 0 {
		p.add(name, all, allowed, "at least one role is needed")
	}
	seen := map[Role]bool{}
	for _, r := range g.Roles {
		switch r {
		case RoleClassify, RoleCorrelate, RoleCampaign:
		default:
			p.add(name, all, allowed, "unknown role %q", r)
		}
		if seen[r] {
			p.add(name, all, allowed, "role %q is listed twice", r)
		}
		seen[r] = true
	}
}

func (r Runtime) validate(p *problems) {
	p.durationRange(Prefix+"_GRACE_PERIOD", r.GracePeriod, maxGracePeriod)
	if err := hostPort(r.MetricsAddr, 0, false); err != nil {
		p.add(Prefix+"_METRICS_ADDR", r.MetricsAddr, "host:port with a port from 0 to 65535; an empty host listens on all interfaces", "%w", err)
	}
	enumCheck(p, Prefix+"_LOG_LEVEL", r.LogLevel)
	enumCheck(p, Prefix+"_LOG_FORMAT", r.LogFormat)
	p.intRange(Prefix+"_MAX_RECORD_BYTES", r.MaxRecordBytes, minRecordBytes, maxRecordBytes)
	p.intRange(Prefix+"_BATCH_SIZE", r.BatchSize, 1, maxBatchSize)
	p.durationRange(Prefix+"_BATCH_TIMEOUT", r.BatchTimeout, maxBatchTimeout)
}

func (f Files) validate(p *problems) {
	const dirs = Prefix + "_RULES_DIRS"
	seen := map[string]bool{}
	for _, d := range f.RulesDirs {
		clean := filepath.Clean(d)
		if seen[clean] {
			p.add(dirs, strings.Join(f.RulesDirs, ","), "comma-separated directories, each at most once", "directory %q is listed twice", d)
		}
		seen[clean] = true
	}
	if d := f.RulesPollInterval; d != 0 && (d < minRulesPoll || d > maxRulesPoll) {
		p.add(Prefix+"_RULES_POLL_INTERVAL", d.String(), fmt.Sprintf("0 (no polling), or a duration from %s to %s", minRulesPoll, maxRulesPoll), "out of range")
	}
}

// hostPort checks a host:port address without resolving it.
func hostPort(addr string, minPort int, needHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if ae, ok := errors.AsType[*net.AddrError](err); ok {
			return errors.New(ae.Err)
		}
		return err
	}
	if needHost && host == "" {
		return errors.New("missing host")
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("port %q is not a number", port)
	}
	if n < minPort || n > 65535 {
		return fmt.Errorf("port %d is out of range", n)
	}
	return nil
}

// topicName applies Kafka's rules for topic names.
func topicName(s string) error {
	switch {
	case s == "":
		return errors.New("empty topic name")
	case s == "." || s == "..":
		return errors.New(`topic name cannot be "." or ".."`)
	case len(s) > maxTopicNameBytes:
		return fmt.Errorf("topic name is %d bytes long", len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name contains %q", r)
		}
	}
	return nil
}
