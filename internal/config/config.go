package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix starts the name of every casus variable.
const Prefix = "CASUS"

// Config is the whole of casus's configuration. Each concern is an embedded
// struct so that its variables keep their flat CASUS_ names under envconfig.
type Config struct {
	Kafka
	Inputs []Input `envconfig:"INPUTS" default:"telemetry:auto" desc:"telemetry topics to consume, each as topic:format; a topic without a format, or format auto, takes the format a content-type header names, else the one the record's shape shows"`
	Topics
	Group
	Runtime
	Files
	Escalation
	Signing
}

// Kafka is how casus reaches the brokers, and how it secures the
// connections: TLS with server verification, an optional client
// certificate, and SASL. Validate refuses half-set security (a CA file
// without TLS, a user name without a mechanism) rather than connect in the
// clear; the password files are read by Credentials, at start-up.
type Kafka struct {
	Brokers          []string      `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092" desc:"Kafka bootstrap brokers, comma-separated host:port"`
	ClientID         string        `envconfig:"KAFKA_CLIENT_ID" default:"casus" desc:"client id sent to the brokers"`
	TLSEnabled       bool          `envconfig:"KAFKA_TLS_ENABLED" default:"false" desc:"connect to the brokers over TLS 1.2 or later, verifying their certificates; needed by the other KAFKA_TLS_* variables and by SASL PLAIN"`
	TLSCAFile        string        `envconfig:"KAFKA_TLS_CA_FILE" desc:"PEM file of the CAs that sign the broker certificates; empty trusts the system's CAs"`
	TLSCertFile      string        `envconfig:"KAFKA_TLS_CERT_FILE" desc:"PEM client certificate presented to the brokers, with KAFKA_TLS_KEY_FILE; empty presents none"`
	TLSKeyFile       string        `envconfig:"KAFKA_TLS_KEY_FILE" desc:"PEM private key of KAFKA_TLS_CERT_FILE"`
	TLSServerName    string        `envconfig:"KAFKA_TLS_SERVER_NAME" desc:"host name the broker certificates must carry, when it differs from the hosts in KAFKA_BROKERS; empty checks each broker against its own host"`
	SASLMechanism    SASLMechanism `envconfig:"KAFKA_SASL_MECHANISM" desc:"SASL mechanism: PLAIN (only with KAFKA_TLS_ENABLED), SCRAM-SHA-256 or SCRAM-SHA-512; empty for no SASL"`
	SASLUsername     string        `envconfig:"KAFKA_SASL_USERNAME" desc:"SASL user name; or set KAFKA_SASL_USERNAME_FILE"`
	SASLUsernameFile string        `envconfig:"KAFKA_SASL_USERNAME_FILE" desc:"file holding the SASL user name (one trailing newline is ignored), instead of KAFKA_SASL_USERNAME"`
	SASLPassword     Secret        `envconfig:"KAFKA_SASL_PASSWORD" secret:"true" desc:"SASL password, never printed; prefer KAFKA_SASL_PASSWORD_FILE"`
	SASLPasswordFile string        `envconfig:"KAFKA_SASL_PASSWORD_FILE" desc:"file holding the SASL password (one trailing newline is ignored), instead of KAFKA_SASL_PASSWORD; read at start-up"`
}

// Topics names the topics casus writes and how it creates them.
type Topics struct {
	Signals      string `envconfig:"TOPIC_SIGNALS" default:"casus.signals" desc:"topic for signals (rule matches)"`
	Escalations  string `envconfig:"TOPIC_ESCALATIONS" default:"casus.escalations" desc:"topic for escalation events (CloudEvents JSON)"`
	Incidents    string `envconfig:"TOPIC_INCIDENTS" default:"casus.incidents" desc:"topic for incident updates, keyed by campaign, from the correlate role to the campaign role"`
	Deadletter   string `envconfig:"TOPIC_DEADLETTER" default:"casus.deadletter" desc:"topic for records that could not be processed"`
	State        string `envconfig:"TOPIC_STATE" default:"casus.state" desc:"compacted topic holding the correlate and campaign roles' state, partition p for input partition p; needs at least as many partitions as the signals and incidents topics"`
	CreateTopics bool   `envconfig:"CREATE_TOPICS" default:"true" desc:"create the output topics at start-up when missing"`
	Partitions   int    `envconfig:"TOPIC_PARTITIONS" default:"3" desc:"partitions of topics casus creates"`
	Replication  int    `envconfig:"TOPIC_REPLICATION" default:"1" desc:"replication factor of topics casus creates (1..32767)"`
}

// Group is the consumer group and the roles this process plays in it.
type Group struct {
	ID    string `envconfig:"GROUP_ID" default:"casus" desc:"Kafka consumer group id"`
	Roles []Role `envconfig:"ROLES" default:"classify,correlate,campaign" desc:"pipeline roles this process runs: classify (telemetry to signals), correlate (signals to incidents), campaign (incidents to escalations); each role is its own consumer group, GROUP_ID for classify and GROUP_ID-correlate, GROUP_ID-campaign for the others"`
}

// Runtime is process behaviour: shutdown, metrics, logging and batching.
type Runtime struct {
	GracePeriod    time.Duration `envconfig:"GRACE_PERIOD" default:"30s" desc:"time allowed to drain and commit on shutdown (up to 10m)"`
	MetricsAddr    string        `envconfig:"METRICS_ADDR" default:"127.0.0.1:9464" desc:"host:port for /metrics, /healthz and /readyz"`
	LogLevel       LogLevel      `envconfig:"LOG_LEVEL" default:"info" desc:"log level: debug, info, warn or error"`
	LogFormat      LogFormat     `envconfig:"LOG_FORMAT" default:"json" desc:"log format: json or text"`
	MaxRecordBytes int           `envconfig:"MAX_RECORD_BYTES" default:"1048576" desc:"largest record accepted, in bytes (1 KiB..64 MiB); larger ones are dead-lettered"`
	BatchSize      int           `envconfig:"BATCH_SIZE" default:"500" desc:"records per processing batch (1..100000)"`
	BatchTimeout   time.Duration `envconfig:"BATCH_TIMEOUT" default:"200ms" desc:"longest wait to fill a batch before processing it (up to 1m)"`
}

// Files names the context files and extra rules. They are optional; they are
// read, and their paths checked, where they are loaded.
type Files struct {
	AssetsFile        string        `envconfig:"ASSETS_FILE" desc:"YAML asset inventory (optional)"`
	IntelFile         string        `envconfig:"INTEL_FILE" desc:"YAML threat-intelligence file (optional)"`
	PolicyFile        string        `envconfig:"POLICY_FILE" desc:"YAML severity policy replacing the embedded default (optional)"`
	RulesDirs         []string      `envconfig:"RULES_DIRS" desc:"directories of extra Sigma rules, comma-separated, added to the bundled ones; *.test.yml files in them are rule tests, not rules (optional)"`
	RulesPollInterval time.Duration `envconfig:"RULES_POLL_INTERVAL" default:"10s" desc:"how often the rule directories are checked for changed files, reloaded when they change; 0 disables (SIGHUP still reloads)"`
}

// RemovedRulesDir is the variable CASUS_RULES_DIRS replaced. It is refused
// rather than ignored, so that a deployment still setting it learns that
// its rules would otherwise not load.
const RemovedRulesDir = Prefix + "_RULES_DIR"

// Escalation decides what is published as an escalation, and how the
// stateful roles keep time and memory.
type Escalation struct {
	MinLevel int `envconfig:"ESCALATION_MIN_LEVEL" default:"1" desc:"lowest severity level (0..5) that is published as an escalation"`
	// AllowedLateness trades latency for order: a larger value holds
	// signals longer before correlating them in event-time order.
	AllowedLateness      time.Duration `envconfig:"ALLOWED_LATENESS" default:"1m0s" desc:"how far behind a partition's latest event time a record may arrive and still be correlated in event-time order (0..24h); later ones are counted as late and correlated at once"`
	IdleAfter            time.Duration `envconfig:"IDLE_AFTER" default:"5s" desc:"wall time after which a partition with nothing to read counts as idle and stops holding back the event-time watermark (100ms..10m)"`
	MaxIncidents         int           `envconfig:"MAX_INCIDENTS" default:"10000" desc:"incidents the correlate role keeps per partition (100..10000000); the least valuable is evicted first"`
	MaxCampaignIncidents int           `envconfig:"MAX_CAMPAIGN_INCIDENTS" default:"50000" desc:"incidents the campaign role keeps per partition (100..10000000)"`
}

// Signing is the key escalations are signed with.
type Signing struct {
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE" desc:"PEM (PKCS #8) Ed25519 private key that signs every record on the escalations topic; empty publishes them unsigned"`
	SigningKeyID   string `envconfig:"SIGNING_KEY_ID" desc:"key id sent with each signature so that verifiers pick the right public key; empty derives it from the public key"`
}

// Input is one consumed topic and the format of its records.
type Input struct {
	Topic  string
	Format string
}

var _ envconfig.Decoder = (*Input)(nil)

// AutoFormat is the format of an input whose records name or show their
// own format.
const AutoFormat = "auto"

// Decode parses "topic:format", or "topic" alone for AutoFormat. It lets
// envconfig, and FromEnv, read Input lists.
func (in *Input) Decode(s string) error {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		s, i = s+":"+AutoFormat, len(s)
	}
	topic, format := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if topic == "" || format == "" {
		return fmt.Errorf("%q has an empty topic or format", s)
	}
	*in = Input{Topic: topic, Format: format}
	return nil
}

// String is the inverse of Decode.
func (in Input) String() string { return in.Topic + ":" + in.Format }

// Role is a pipeline stage group a process runs (DESIGN §1).
type Role string

// The roles; a small deployment runs all three in one process.
const (
	RoleClassify  Role = "classify"
	RoleCorrelate Role = "correlate"
	RoleCampaign  Role = "campaign"
)

func (Role) allowed() []string {
	return []string{string(RoleClassify), string(RoleCorrelate), string(RoleCampaign)}
}

// LogLevel is the minimum level logged.
type LogLevel string

// The log levels, as slog names them.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

func (LogLevel) allowed() []string {
	return []string{string(LogDebug), string(LogInfo), string(LogWarn), string(LogError)}
}

// LogFormat is the log encoding.
type LogFormat string

// The log formats.
const (
	LogJSON LogFormat = "json"
	LogText LogFormat = "text"
)

func (LogFormat) allowed() []string { return []string{string(LogJSON), string(LogText)} }

// SASLMechanism is the Kafka SASL mechanism; empty means no SASL.
type SASLMechanism string

// The SASL mechanisms casus speaks.
const (
	SASLNone        SASLMechanism = ""
	SASLPlain       SASLMechanism = "PLAIN"
	SASLScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	SASLScramSHA512 SASLMechanism = "SCRAM-SHA-512"
)

func (SASLMechanism) allowed() []string {
	return []string{string(SASLNone), string(SASLPlain), string(SASLScramSHA256), string(SASLScramSHA512)}
}

// enum is implemented by the string types that take a fixed set of values, so
// that Vars and error messages can list them.
type enum interface{ allowed() []string }

// Defaults is the configuration when no variable is set: the `default` tags.
func Defaults() Config {
	c, err := FromEnv(nil)
	if err != nil {
		// The default tags are constants; TestDefaults keeps them parsable.
		panic(fmt.Sprintf("config: default tag does not parse: %v", err))
	}
	return c
}

// FromEnv reads every variable through lookup (os.LookupEnv in production, a
// map in tests; nil means nothing is set). An unset variable takes its default;
// a variable set to the empty string is empty. Lists are comma-separated, with
// spaces around items ignored.
//
// Every variable that does not parse is reported, as an *Error, in one
// errors.Join; such a variable keeps its default in the returned Config, so
// the Config can still be validated to find the remaining problems (see Load).
// FromEnv checks syntax only: ranges and allowed values are Validate's job.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	c, errs := fromEnv(lookup)
	return c, errors.Join(errs...)
}

func fromEnv(lookup func(string) (string, bool)) (Config, []error) {
	var c Config
	var errs []error
	for _, f := range fields(&c) {
		if def, ok := f.tag.Lookup("default"); ok {
			if err := f.set(def); err != nil {
				errs = append(errs, f.error(def, err))
				continue
			}
		}
		if lookup == nil {
			continue
		}
		if raw, ok := lookup(f.name); ok {
			if err := f.set(raw); err != nil {
				errs = append(errs, f.error(raw, err))
			}
		}
	}
	if lookup != nil {
		if raw, ok := lookup(RemovedRulesDir); ok && strings.TrimSpace(raw) != "" {
			errs = append(errs, &Error{Var: RemovedRulesDir, Value: raw, Allowed: "unset or empty",
				Err: fmt.Errorf("replaced by %s_RULES_DIRS, a comma-separated list of directories: set %s_RULES_DIRS=%s instead", Prefix, Prefix, raw)})
		}
	}
	return c, errs
}

// Load is FromEnv followed by Validate: it returns every parse and validation
// problem together, so one start-up names all of them.
func Load(lookup func(string) (string, bool), knownFormats []string) (Config, error) {
	c, errs := fromEnv(lookup)
	errs = append(errs, c.validate(knownFormats)...)
	return c, errors.Join(errs...)
}
