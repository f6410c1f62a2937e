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
	c.Signing.validate(&p)
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

	k.validateTLS(p)
	k.validateSASL(p)
}

// validateTLS refuses TLS settings that would not take effect: a CA,
// certificate or server name without CASUS_KAFKA_TLS_ENABLED=true means
// the operator expected TLS, and casus must not connect in the clear.
func (k Kafka) validateTLS(p *problems) {
	const enabled = Prefix + "_KAFKA_TLS_ENABLED"
	needTLS := "empty unless " + enabled + "=true"
	for _, v := range []struct{ name, value string }{
		{Prefix + "_KAFKA_TLS_CA_FILE", k.TLSCAFile},
		{Prefix + "_KAFKA_TLS_CERT_FILE", k.TLSCertFile},
		{Prefix + "_KAFKA_TLS_KEY_FILE", k.TLSKeyFile},
		{Prefix + "_KAFKA_TLS_SERVER_NAME", k.TLSServerName},
	} {
		if v.value != "" && !k.TLSEnabled {
			p.add(v.name, v.value, needTLS, "set while %s is false: casus would connect without TLS", enabled)
		}
	}
	const cert, key = Prefix + "_KAFKA_TLS_CERT_FILE", Prefix + "_KAFKA_TLS_KEY_FILE"
	if k.TLSCertFile != "" && k.TLSKeyFile == "" {
		p.add(cert, k.TLSCertFile, "a certificate file together with "+key, "a client certificate needs its private key in %s", key)
	}
	if k.TLSKeyFile != "" && k.TLSCertFile == "" {
		p.add(key, k.TLSKeyFile, "a key file together with "+cert, "a private key needs its client certificate in %s", cert)
	}
	if n := k.TLSServerName; n != "" {
		if err := serverName(n); err != nil {
			p.add(Prefix+"_KAFKA_TLS_SERVER_NAME", n, "a host name or IP address, without a port", "%w", err)
		}
	}
}

// serverName checks a TLS server name the way the operator would write
// it: a host, not a host:port or URL.
func serverName(n string) error {
	for _, r := range n {
		if r <= ' ' || r == 0x7f || r == '/' {
			return fmt.Errorf("contains %q", r)
		}
	}
	if strings.Contains(n, ":") && net.ParseIP(n) == nil {
		return errors.New("contains a port or scheme")
	}
	return nil
}

// validateSASL checks that a mechanism comes with exactly one user name and
// one password source, that credentials do not come without a mechanism,
// and that PLAIN, which sends the password as it is, runs over TLS only.
func (k Kafka) validateSASL(p *problems) {
	const (
		mech     = Prefix + "_KAFKA_SASL_MECHANISM"
		user     = Prefix + "_KAFKA_SASL_USERNAME"
		userFile = Prefix + "_KAFKA_SASL_USERNAME_FILE"
		pw       = Prefix + "_KAFKA_SASL_PASSWORD"
		pwFile   = Prefix + "_KAFKA_SASL_PASSWORD_FILE"
	)
	switch k.SASLMechanism {
	case SASLNone:
		needMech := "empty unless " + mech + " is set"
		for _, v := range []struct{ name, value string }{
			{user, k.SASLUsername}, {userFile, k.SASLUsernameFile}, {pw, k.SASLPassword.String()}, {pwFile, k.SASLPasswordFile},
		} {
			if v.value != "" {
				p.add(v.name, v.value, needMech, "set while %s is empty: casus would connect without SASL", mech)
			}
		}
		return
	case SASLPlain:
		if !k.TLSEnabled {
			p.add(mech, string(k.SASLMechanism), "SCRAM-SHA-256 or SCRAM-SHA-512, or PLAIN with "+Prefix+"_KAFKA_TLS_ENABLED=true",
				"PLAIN sends the password as it is, readable on the network without TLS")
		}
	case SASLScramSHA256, SASLScramSHA512:
	default:
		enumCheck(p, mech, k.SASLMechanism)
		return
	}
	switch {
	case k.SASLUsername == "" && k.SASLUsernameFile == "":
		p.add(user, "", "a user name here or a file in "+userFile, "%s %s needs a user name", mech, k.SASLMechanism)
	case k.SASLUsername != "" && k.SASLUsernameFile != "":
		p.add(userFile, k.SASLUsernameFile, "empty when "+user+" is set", "%s is set too: set only one", user)
	}
	if k.SASLUsername != "" {
		if err := userName(k.SASLUsername); err != nil {
			p.add(user, k.SASLUsername, "a user name without control characters", "%w", err)
		}
	}
	switch {
	case k.SASLPassword == "" && k.SASLPasswordFile == "":
		p.add(pw, "", "a password here or, better, a file in "+pwFile, "%s %s needs a password", mech, k.SASLMechanism)
	case k.SASLPassword != "" && k.SASLPasswordFile != "":
		p.add(pwFile, k.SASLPasswordFile, "empty when "+pw+" is set", "%s is set too: set only one", pw)
	}
}

// userName refuses control characters, which no broker accepts in a user
// name and which are most likely a stray newline or a pasting mistake.
func userName(u string) error {
	for _, r := range u {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("contains %q", r)
		}
	}
	return nil
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

// maxKeyIDBytes bounds CASUS_SIGNING_KEY_ID, which travels with every
// signed record.
const maxKeyIDBytes = 64

// validate checks the key id; the key file is read, and checked, where the
// service loads it.
func (s Signing) validate(p *problems) {
	const id, file = Prefix + "_SIGNING_KEY_ID", Prefix + "_SIGNING_KEY_FILE"
	if s.SigningKeyID == "" {
		return
	}
	allowed := fmt.Sprintf("1 to %d printable ASCII characters without spaces", maxKeyIDBytes)
	if len(s.SigningKeyID) > maxKeyIDBytes {
		p.add(id, s.SigningKeyID, allowed, "%d characters long", len(s.SigningKeyID))
	}
	for _, r := range s.SigningKeyID {
		if r <= ' ' || r > '~' {
			p.add(id, s.SigningKeyID, allowed, "contains %q", r)
			break
		}
	}
	if s.SigningKeyFile == "" {
		p.add(id, s.SigningKeyID, "empty unless "+file+" is set", "a key id without a key: set %s, or leave both empty to publish unsigned", file)
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
