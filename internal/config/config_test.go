package config

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testFormats = []string{"auto", "ecs", "ocsf", "winevt", "zeek.conn"}

func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	want := Config{
		Kafka:  Kafka{Brokers: []string{"127.0.0.1:9092"}, ClientID: "casus"},
		Inputs: []Input{{Topic: "telemetry", Format: "auto"}},
		Topics: Topics{
			Signals: "casus.signals", Escalations: "casus.escalations",
			Deadletter: "casus.deadletter", State: "casus.state", Incidents: "casus.incidents",
			CreateTopics: true, Partitions: 3, Replication: 1,
		},
		Group: Group{ID: "casus", Roles: []Role{RoleClassify, RoleCorrelate, RoleCampaign}},
		Runtime: Runtime{
			GracePeriod: 30 * time.Second, MetricsAddr: "127.0.0.1:9464",
			LogLevel: LogInfo, LogFormat: LogJSON, MaxRecordBytes: 1 << 20,
			BatchSize: 500, BatchTimeout: 200 * time.Millisecond,
		},
		Files:      Files{RulesPollInterval: 10 * time.Second},
		Escalation: Escalation{MinLevel: 1, AllowedLateness: time.Minute, IdleAfter: 5 * time.Second, MaxIncidents: 10000, MaxCampaignIncidents: 50000},
	}
	got := Defaults()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Defaults() = %+v\nwant %+v", got, want)
	}
	if err := got.Validate(testFormats); err != nil {
		t.Fatalf("Defaults().Validate: %v", err)
	}
	// A default tag must be written the way the value prints, so that
	// `casus config` shows VALUE == DEFAULT for an untouched variable.
	for _, f := range fields(&got) {
		if def, ok := f.tag.Lookup("default"); ok && format(f.value) != def {
			t.Errorf("%s: default tag %q prints as %q", f.name, def, format(f.value))
		}
	}
}

func TestFromEnvParsing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		get  func(Config) any
		want any
	}{
		{"two brokers", map[string]string{"CASUS_KAFKA_BROKERS": "a:1,b:2"}, func(c Config) any { return c.Brokers }, []string{"a:1", "b:2"}},
		{"list items are trimmed", map[string]string{"CASUS_ROLES": " classify , campaign "}, func(c Config) any { return c.Roles }, []Role{RoleClassify, RoleCampaign}},
		{"empty list", map[string]string{"CASUS_ROLES": ""}, func(c Config) any { return c.Roles }, []Role{}},
		{"set empty beats default", map[string]string{"CASUS_KAFKA_CLIENT_ID": ""}, func(c Config) any { return c.ClientID }, ""},
		{"unset keeps default", map[string]string{}, func(c Config) any { return c.ClientID }, "casus"},
		{"duration Go syntax", map[string]string{"CASUS_GRACE_PERIOD": "1m30s"}, func(c Config) any { return c.GracePeriod }, 90 * time.Second},
		{"duration ms", map[string]string{"CASUS_BATCH_TIMEOUT": "50ms"}, func(c Config) any { return c.BatchTimeout }, 50 * time.Millisecond},
		{"bool true", map[string]string{"CASUS_CREATE_TOPICS": "true"}, func(c Config) any { return c.CreateTopics }, true},
		{"bool 0", map[string]string{"CASUS_CREATE_TOPICS": "0"}, func(c Config) any { return c.CreateTopics }, false},
		{"bool false", map[string]string{"CASUS_CREATE_TOPICS": "false"}, func(c Config) any { return c.CreateTopics }, false},
		{"bool 1", map[string]string{"CASUS_KAFKA_TLS_ENABLED": "1"}, func(c Config) any { return c.TLSEnabled }, true},
		{"inputs", map[string]string{"CASUS_INPUTS": "edr:ocsf,win.events:winevt"}, func(c Config) any { return c.Inputs },
			[]Input{{"edr", "ocsf"}, {"win.events", "winevt"}}},
		{"int", map[string]string{"CASUS_BATCH_SIZE": "42"}, func(c Config) any { return c.BatchSize }, 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnv(mapLookup(tc.env))
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// goodValues and badValues cover every variable; TestEveryVariableIsTested
// keeps it that way.
var goodValues = []struct {
	v, value string
	get      func(Config) any
	want     any
}{
	{"CASUS_KAFKA_BROKERS", "kafka-0.kafka:9092,[::1]:9093", func(c Config) any { return c.Brokers }, []string{"kafka-0.kafka:9092", "[::1]:9093"}},
	{"CASUS_KAFKA_CLIENT_ID", "casus-eu", func(c Config) any { return c.ClientID }, "casus-eu"},
	{"CASUS_KAFKA_TLS_ENABLED", "false", func(c Config) any { return c.TLSEnabled }, false},
	{"CASUS_KAFKA_TLS_ENABLED", "true", func(c Config) any { return c.TLSEnabled }, true},
	{"CASUS_KAFKA_TLS_CA_FILE", "", func(c Config) any { return c.TLSCAFile }, ""},
	{"CASUS_KAFKA_TLS_CERT_FILE", "", func(c Config) any { return c.TLSCertFile }, ""},
	{"CASUS_KAFKA_TLS_KEY_FILE", "", func(c Config) any { return c.TLSKeyFile }, ""},
	{"CASUS_KAFKA_TLS_SERVER_NAME", "", func(c Config) any { return c.TLSServerName }, ""},
	{"CASUS_KAFKA_SASL_MECHANISM", "", func(c Config) any { return c.SASLMechanism }, SASLNone},
	{"CASUS_KAFKA_SASL_USERNAME", "", func(c Config) any { return c.SASLUsername }, ""},
	{"CASUS_KAFKA_SASL_USERNAME_FILE", "", func(c Config) any { return c.SASLUsernameFile }, ""},
	{"CASUS_KAFKA_SASL_PASSWORD", "", func(c Config) any { return c.SASLPassword }, Secret("")},
	{"CASUS_KAFKA_SASL_PASSWORD_FILE", "", func(c Config) any { return c.SASLPasswordFile }, ""},
	{"CASUS_SIGNING_KEY_FILE", "/etc/casus/signing.pem", func(c Config) any { return c.SigningKeyFile }, "/etc/casus/signing.pem"},
	{"CASUS_SIGNING_KEY_ID", "", func(c Config) any { return c.SigningKeyID }, ""},
	{"CASUS_INPUTS", "edr:ocsf,telemetry:ecs", func(c Config) any { return c.Inputs }, []Input{{"edr", "ocsf"}, {"telemetry", "ecs"}}},
	{"CASUS_INPUTS", "mixed, zeek:zeek.conn,lake:auto", func(c Config) any { return c.Inputs },
		[]Input{{"mixed", "auto"}, {"zeek", "zeek.conn"}, {"lake", "auto"}}},
	{"CASUS_TOPIC_SIGNALS", "s", func(c Config) any { return c.Signals }, "s"},
	{"CASUS_TOPIC_ESCALATIONS", "soc.escalations-v1", func(c Config) any { return c.Escalations }, "soc.escalations-v1"},
	{"CASUS_TOPIC_DEADLETTER", "dlq_casus", func(c Config) any { return c.Deadletter }, "dlq_casus"},
	{"CASUS_TOPIC_STATE", "casus.state.v2", func(c Config) any { return c.State }, "casus.state.v2"},
	{"CASUS_CREATE_TOPICS", "0", func(c Config) any { return c.CreateTopics }, false},
	{"CASUS_TOPIC_PARTITIONS", "64", func(c Config) any { return c.Partitions }, 64},
	{"CASUS_TOPIC_REPLICATION", "32767", func(c Config) any { return c.Replication }, 32767},
	{"CASUS_GROUP_ID", "casus-blue", func(c Config) any { return c.Group.ID }, "casus-blue"},
	{"CASUS_ROLES", "correlate", func(c Config) any { return c.Roles }, []Role{RoleCorrelate}},
	{"CASUS_GRACE_PERIOD", "10m", func(c Config) any { return c.GracePeriod }, 10 * time.Minute},
	{"CASUS_METRICS_ADDR", ":0", func(c Config) any { return c.MetricsAddr }, ":0"},
	{"CASUS_LOG_LEVEL", "debug", func(c Config) any { return c.LogLevel }, LogDebug},
	{"CASUS_LOG_FORMAT", "text", func(c Config) any { return c.LogFormat }, LogText},
	{"CASUS_MAX_RECORD_BYTES", "1024", func(c Config) any { return c.MaxRecordBytes }, 1024},
	{"CASUS_BATCH_SIZE", "100000", func(c Config) any { return c.BatchSize }, 100000},
	{"CASUS_BATCH_TIMEOUT", "1s", func(c Config) any { return c.BatchTimeout }, time.Second},
	{"CASUS_ASSETS_FILE", "/etc/casus/assets.yaml", func(c Config) any { return c.AssetsFile }, "/etc/casus/assets.yaml"},
	{"CASUS_INTEL_FILE", "intel.yaml", func(c Config) any { return c.IntelFile }, "intel.yaml"},
	{"CASUS_POLICY_FILE", "/does/not/exist.yaml", func(c Config) any { return c.PolicyFile }, "/does/not/exist.yaml"},
	{"CASUS_RULES_DIRS", "rules.d,/etc/casus/rules", func(c Config) any { return c.RulesDirs }, []string{"rules.d", "/etc/casus/rules"}},
	{"CASUS_RULES_POLL_INTERVAL", "0", func(c Config) any { return c.RulesPollInterval }, time.Duration(0)},
	{"CASUS_ESCALATION_MIN_LEVEL", "5", func(c Config) any { return c.MinLevel }, 5},
	{"CASUS_TOPIC_INCIDENTS", "casus.incidents.v2", func(c Config) any { return c.Incidents }, "casus.incidents.v2"},
	{"CASUS_ALLOWED_LATENESS", "0s", func(c Config) any { return c.AllowedLateness }, time.Duration(0)},
	{"CASUS_IDLE_AFTER", "250ms", func(c Config) any { return c.IdleAfter }, 250 * time.Millisecond},
	{"CASUS_MAX_INCIDENTS", "100", func(c Config) any { return c.MaxIncidents }, 100},
	{"CASUS_MAX_CAMPAIGN_INCIDENTS", "2000000", func(c Config) any { return c.MaxCampaignIncidents }, 2000000},
}

var badValues = []struct {
	v, value string
	shown    string            // the value as the message shows it, when not value itself
	allowed  string            // a substring of the message's "allowed" part
	with     map[string]string // other variables the case needs, which must raise no problem themselves
}{
	{v: "CASUS_KAFKA_BROKERS", value: "", allowed: "host:port"},
	{v: "CASUS_KAFKA_BROKERS", value: "a:1,nocolon", allowed: "host:port"},
	{v: "CASUS_KAFKA_BROKERS", value: "a:99999", allowed: "port from 1 to 65535"},
	{v: "CASUS_KAFKA_BROKERS", value: ":9092", allowed: "host:port"},
	{v: "CASUS_KAFKA_BROKERS", value: "a:1,,b:2", allowed: "comma-separated list"},
	{v: "CASUS_KAFKA_CLIENT_ID", value: "", allowed: "non-empty"},
	{v: "CASUS_KAFKA_TLS_ENABLED", value: "yes", allowed: "true, false, 1 or 0"},
	{v: "CASUS_KAFKA_TLS_CA_FILE", value: "/etc/ca.pem", allowed: "empty unless CASUS_KAFKA_TLS_ENABLED=true"},
	{v: "CASUS_KAFKA_TLS_CERT_FILE", value: "/etc/casus/client.pem", allowed: "together with CASUS_KAFKA_TLS_KEY_FILE", with: map[string]string{"CASUS_KAFKA_TLS_ENABLED": "true"}},
	{v: "CASUS_KAFKA_TLS_KEY_FILE", value: "/etc/casus/client-key.pem", allowed: "together with CASUS_KAFKA_TLS_CERT_FILE", with: map[string]string{"CASUS_KAFKA_TLS_ENABLED": "true"}},
	{v: "CASUS_KAFKA_TLS_SERVER_NAME", value: "kafka.internal", allowed: "empty unless CASUS_KAFKA_TLS_ENABLED=true"},
	{v: "CASUS_KAFKA_TLS_SERVER_NAME", value: "kafka.internal:9093", allowed: "without a port", with: map[string]string{"CASUS_KAFKA_TLS_ENABLED": "true"}},
	{v: "CASUS_KAFKA_TLS_SERVER_NAME", value: "https://kafka.internal", allowed: "without a port", with: map[string]string{"CASUS_KAFKA_TLS_ENABLED": "true"}},
	{v: "CASUS_KAFKA_TLS_SERVER_NAME", value: "kafka internal", allowed: "a host name", with: map[string]string{"CASUS_KAFKA_TLS_ENABLED": "true"}},
	{v: "CASUS_KAFKA_SASL_MECHANISM", value: "plain", allowed: `one of "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
	{v: "CASUS_KAFKA_SASL_MECHANISM", value: "GSSAPI", allowed: `one of "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
	{v: "CASUS_KAFKA_SASL_MECHANISM", value: "PLAIN", allowed: "PLAIN with CASUS_KAFKA_TLS_ENABLED=true",
		with: map[string]string{"CASUS_KAFKA_SASL_USERNAME": "casus", "CASUS_KAFKA_SASL_PASSWORD_FILE": "/run/secrets/pw"}},
	{v: "CASUS_KAFKA_SASL_USERNAME", value: "casus", allowed: "empty unless CASUS_KAFKA_SASL_MECHANISM is set"},
	{v: "CASUS_KAFKA_SASL_USERNAME", value: "", allowed: "a user name here or a file in CASUS_KAFKA_SASL_USERNAME_FILE", with: map[string]string{"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "CASUS_KAFKA_SASL_PASSWORD_FILE": "/pw"}},
	{v: "CASUS_KAFKA_SASL_USERNAME", value: "casus\n", allowed: "without control characters", with: map[string]string{"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "CASUS_KAFKA_SASL_PASSWORD_FILE": "/pw"}},
	{v: "CASUS_KAFKA_SASL_USERNAME_FILE", value: "/run/secrets/user", allowed: "empty unless CASUS_KAFKA_SASL_MECHANISM is set"},
	{v: "CASUS_KAFKA_SASL_USERNAME_FILE", value: "/run/secrets/user", allowed: "empty when CASUS_KAFKA_SASL_USERNAME is set",
		with: map[string]string{"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "CASUS_KAFKA_SASL_USERNAME": "casus", "CASUS_KAFKA_SASL_PASSWORD_FILE": "/pw"}},
	{v: "CASUS_KAFKA_SASL_PASSWORD", value: "hunter2", shown: "****", allowed: "empty unless CASUS_KAFKA_SASL_MECHANISM is set"},
	{v: "CASUS_KAFKA_SASL_PASSWORD_FILE", value: "/run/secrets/pw", allowed: "empty unless CASUS_KAFKA_SASL_MECHANISM is set"},
	{v: "CASUS_KAFKA_SASL_PASSWORD", value: "", allowed: "a password here or, better, a file in CASUS_KAFKA_SASL_PASSWORD_FILE",
		with: map[string]string{"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "CASUS_KAFKA_SASL_USERNAME": "casus"}},
	{v: "CASUS_KAFKA_SASL_PASSWORD_FILE", value: "/run/secrets/pw", allowed: "empty when CASUS_KAFKA_SASL_PASSWORD is set",
		with: map[string]string{"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "CASUS_KAFKA_SASL_USERNAME": "casus", "CASUS_KAFKA_SASL_PASSWORD": "pw"}},
	{v: "CASUS_SIGNING_KEY_ID", value: "k1", allowed: "empty unless CASUS_SIGNING_KEY_FILE is set"},
	{v: "CASUS_SIGNING_KEY_ID", value: "key 1", allowed: "printable ASCII characters without spaces", with: map[string]string{"CASUS_SIGNING_KEY_FILE": "/etc/casus/signing.pem"}},
	{v: "CASUS_SIGNING_KEY_ID", value: "clé", allowed: "printable ASCII characters without spaces", with: map[string]string{"CASUS_SIGNING_KEY_FILE": "/etc/casus/signing.pem"}},
	{v: "CASUS_SIGNING_KEY_ID", value: strings.Repeat("k", 65), allowed: "1 to 64 printable ASCII", with: map[string]string{"CASUS_SIGNING_KEY_FILE": "/etc/casus/signing.pem"}},
	{v: "CASUS_INPUTS", value: ":ecs", allowed: "topic:format"},
	{v: "CASUS_INPUTS", value: "telemetry:", allowed: "topic:format"},
	{v: "CASUS_INPUTS", value: "telemetry:csv", allowed: "format one of: auto, ecs, ocsf, winevt, zeek.conn"},
	{v: "CASUS_INPUTS", value: "", allowed: "topic:format"},
	{v: "CASUS_INPUTS", value: "a:ecs,a:ocsf", allowed: "each topic at most once"},
	{v: "CASUS_INPUTS", value: "bad/topic:ecs", allowed: "Kafka topic names"},
	{v: "CASUS_INPUTS", value: "casus.signals:ecs", allowed: "other than casus's output topics"},
	{v: "CASUS_TOPIC_SIGNALS", value: "", allowed: "Kafka topic name"},
	{v: "CASUS_TOPIC_ESCALATIONS", value: "a b", allowed: "Kafka topic name"},
	{v: "CASUS_TOPIC_DEADLETTER", value: "..", allowed: "Kafka topic name"},
	{v: "CASUS_TOPIC_STATE", value: strings.Repeat("x", 250), allowed: "1 to 249"},
	{v: "CASUS_TOPIC_STATE", value: "casus.signals", allowed: "no other CASUS_TOPIC_*"},
	{v: "CASUS_CREATE_TOPICS", value: "maybe", allowed: "true, false, 1 or 0"},
	{v: "CASUS_TOPIC_PARTITIONS", value: "0", allowed: "from 1 to 2147483647"},
	{v: "CASUS_TOPIC_PARTITIONS", value: "three", allowed: "an integer"},
	{v: "CASUS_TOPIC_REPLICATION", value: "0", allowed: "from 1 to 32767"},
	{v: "CASUS_TOPIC_REPLICATION", value: "32768", allowed: "from 1 to 32767"},
	{v: "CASUS_GROUP_ID", value: " ", allowed: "non-empty"},
	{v: "CASUS_ROLES", value: "classify,detect", allowed: "classify, correlate or campaign"},
	{v: "CASUS_ROLES", value: "classify,classify", allowed: "each at most once"},
	{v: "CASUS_ROLES", value: "", allowed: "classify, correlate or campaign"},
	{v: "CASUS_GRACE_PERIOD", value: "0s", allowed: "greater than 0 and at most 10m0s"},
	{v: "CASUS_GRACE_PERIOD", value: "11m", shown: "11m0s", allowed: "at most 10m0s"},
	{v: "CASUS_GRACE_PERIOD", value: "-1s", allowed: "greater than 0"},
	{v: "CASUS_GRACE_PERIOD", value: "30", allowed: "a duration"},
	{v: "CASUS_METRICS_ADDR", value: "9464", allowed: "host:port"},
	{v: "CASUS_METRICS_ADDR", value: "localhost:http", allowed: "port from 0 to 65535"},
	{v: "CASUS_METRICS_ADDR", value: "localhost:65536", allowed: "port from 0 to 65535"},
	{v: "CASUS_LOG_LEVEL", value: "verbose", allowed: "one of debug, info, warn or error"},
	{v: "CASUS_LOG_LEVEL", value: "INFO", allowed: "one of debug, info, warn or error"},
	{v: "CASUS_LOG_FORMAT", value: "logfmt", allowed: "one of json or text"},
	{v: "CASUS_MAX_RECORD_BYTES", value: "1023", allowed: "from 1024 to 67108864"},
	{v: "CASUS_MAX_RECORD_BYTES", value: "67108865", allowed: "from 1024 to 67108864"},
	{v: "CASUS_MAX_RECORD_BYTES", value: "1MiB", allowed: "an integer"},
	{v: "CASUS_BATCH_SIZE", value: "0", allowed: "from 1 to 100000"},
	{v: "CASUS_BATCH_SIZE", value: "100001", allowed: "from 1 to 100000"},
	{v: "CASUS_BATCH_SIZE", value: "99999999999999999999", allowed: "an integer"},
	{v: "CASUS_BATCH_TIMEOUT", value: "0s", allowed: "greater than 0"},
	{v: "CASUS_BATCH_TIMEOUT", value: "2m", shown: "2m0s", allowed: "at most 1m0s"},
	{v: "CASUS_BATCH_TIMEOUT", value: "200", allowed: "a duration"},
	{v: "CASUS_RULES_DIRS", value: "rules.d,/etc/casus/rules,rules.d/", allowed: "each at most once"},
	{v: "CASUS_RULES_DIRS", value: "a,,b", allowed: "a comma-separated list"},
	{v: "CASUS_RULES_POLL_INTERVAL", value: "500ms", allowed: "0 (no polling), or a duration from 1s to 24h0m0s"},
	{v: "CASUS_RULES_POLL_INTERVAL", value: "25h", shown: "25h0m0s", allowed: "from 1s to 24h0m0s"},
	{v: "CASUS_RULES_POLL_INTERVAL", value: "-1s", allowed: "0 (no polling)"},
	{v: "CASUS_RULES_POLL_INTERVAL", value: "often", allowed: "a duration"},
	{v: "CASUS_RULES_DIR", value: "rules.d", allowed: "unset or empty"},
	{v: "CASUS_ESCALATION_MIN_LEVEL", value: "6", allowed: "from 0 to 5"},
	{v: "CASUS_TOPIC_INCIDENTS", value: "casus.signals", allowed: "no other CASUS_TOPIC_*"},
	{v: "CASUS_ALLOWED_LATENESS", value: "25h0m0s", allowed: "from 0 to 24h"},
	{v: "CASUS_ALLOWED_LATENESS", value: "-1s", allowed: "from 0 to 24h"},
	{v: "CASUS_IDLE_AFTER", value: "10ms", allowed: "from 100ms to 10m"},
	{v: "CASUS_MAX_INCIDENTS", value: "99", allowed: "from 100 to 10000000"},
	{v: "CASUS_MAX_CAMPAIGN_INCIDENTS", value: "many", allowed: "an integer"},
	{v: "CASUS_ESCALATION_MIN_LEVEL", value: "-1", allowed: "from 0 to 5"},
	{v: "CASUS_ESCALATION_MIN_LEVEL", value: "high", allowed: "an integer"},
}

func TestGoodValues(t *testing.T) {
	for _, tc := range goodValues {
		t.Run(tc.v+"="+tc.value, func(t *testing.T) {
			c, err := Load(mapLookup(map[string]string{tc.v: tc.value}), testFormats)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range badValues {
		name := tc.v + "=" + tc.value
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			env := map[string]string{tc.v: tc.value}
			for k, v := range tc.with {
				env[k] = v
			}
			_, err := Load(mapLookup(env), testFormats)
			if err == nil {
				t.Fatal("Load accepted the value")
			}
			errs := err.(interface{ Unwrap() []error }).Unwrap()
			shown := tc.shown
			if shown == "" {
				shown = displayValue(tc.value)
			}
			for _, e := range errs {
				ce, ok := errors.AsType[*Error](e)
				if !ok {
					t.Fatalf("problem %v is a %T, not an *Error", e, e)
				}
				if ce.Var != tc.v {
					t.Errorf("unexpected problem with another variable: %v", e)
					continue
				}
				msg := e.Error()
				if !strings.HasPrefix(msg, tc.v+"="+shown+": ") {
					t.Errorf("message %q does not start with %q", msg, tc.v+"="+shown+": ")
				}
				if !strings.Contains(ce.Allowed, tc.allowed) || !strings.Contains(msg, "(allowed: "+ce.Allowed+")") {
					t.Errorf("message %q: allowed part %q does not contain %q", msg, ce.Allowed, tc.allowed)
				}
			}
		})
	}
}

func TestEveryVariableIsTested(t *testing.T) {
	good, bad := map[string]bool{}, map[string]bool{}
	for _, tc := range goodValues {
		good[tc.v] = true
	}
	for _, tc := range badValues {
		bad[tc.v] = true
	}
	// Optional paths accept anything; there is no bad value to test.
	noBad := map[string]bool{"CASUS_ASSETS_FILE": true, "CASUS_INTEL_FILE": true, "CASUS_POLICY_FILE": true, "CASUS_SIGNING_KEY_FILE": true}
	for _, v := range Vars() {
		if !good[v.Name] {
			t.Errorf("%s has no good-value case", v.Name)
		}
		if !bad[v.Name] && !noBad[v.Name] {
			t.Errorf("%s has no bad-value case", v.Name)
		}
	}
}

// CASUS_RULES_DIR was replaced by CASUS_RULES_DIRS: a deployment still
// setting it must stop at start-up, told what to set instead, rather than
// run without its rules.
func TestRemovedRulesDir(t *testing.T) {
	_, err := Load(mapLookup(map[string]string{"CASUS_RULES_DIR": "/etc/casus/rules"}), testFormats)
	const want = "CASUS_RULES_DIR=/etc/casus/rules: replaced by CASUS_RULES_DIRS, a comma-separated list of directories: set CASUS_RULES_DIRS=/etc/casus/rules instead (allowed: unset or empty)"
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v\nwant %s", err, want)
	}
	// Empty, it meant "no extra rules", which is still what happens.
	if _, err := Load(mapLookup(map[string]string{"CASUS_RULES_DIR": ""}), testFormats); err != nil {
		t.Fatalf("empty CASUS_RULES_DIR refused: %v", err)
	}
	for _, v := range Vars() {
		if v.Name == RemovedRulesDir {
			t.Errorf("%s is still listed as a variable", RemovedRulesDir)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	t.Run("FromEnv", func(t *testing.T) {
		_, err := FromEnv(mapLookup(map[string]string{
			"CASUS_BATCH_SIZE":    "many",
			"CASUS_GRACE_PERIOD":  "soon",
			"CASUS_CREATE_TOPICS": "perhaps",
		}))
		assertProblems(t, err, "CASUS_CREATE_TOPICS=perhaps", "CASUS_GRACE_PERIOD=soon", "CASUS_BATCH_SIZE=many")
	})
	t.Run("Validate", func(t *testing.T) {
		c := Defaults()
		c.LogLevel = "loud"
		c.Replication = 0
		c.Roles = []Role{"campaign", "audit"}
		assertProblems(t, c.Validate(testFormats), "CASUS_TOPIC_REPLICATION=0", "CASUS_ROLES=campaign,audit", "CASUS_LOG_LEVEL=loud")
	})
	t.Run("Load mixes parse and validation problems", func(t *testing.T) {
		c, err := Load(mapLookup(map[string]string{
			"CASUS_BATCH_SIZE": "many",
			"CASUS_LOG_FORMAT": "xml",
			"CASUS_INPUTS":     "edr:cef",
		}), testFormats)
		assertProblems(t, err, "CASUS_BATCH_SIZE=many", "CASUS_INPUTS=edr:cef", "CASUS_LOG_FORMAT=xml")
		if c.BatchSize != 500 {
			t.Errorf("unparsable CASUS_BATCH_SIZE left %d, want the default 500", c.BatchSize)
		}
	})
}

// assertProblems checks that err holds exactly one problem per prefix, in
// order: parse problems, then validation problems, each in declaration order.
func assertProblems(t *testing.T, err error, prefixes ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(prefixes) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(prefixes), err)
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(lines[i], p+": ") {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], p)
		}
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	for _, env := range []map[string]string{
		{"CASUS_KAFKA_SASL_PASSWORD": pw},
		{"CASUS_KAFKA_SASL_PASSWORD": pw, "CASUS_KAFKA_SASL_MECHANISM": "PLAIN"},
		{"CASUS_KAFKA_SASL_PASSWORD": pw, "CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "CASUS_KAFKA_SASL_PASSWORD_FILE": "/pw"},
	} {
		_, err := Load(mapLookup(env), testFormats)
		if err == nil {
			t.Fatalf("%v accepted", env)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error shows the password: %v", err)
		}
	}
	_, err := Load(mapLookup(map[string]string{"CASUS_KAFKA_SASL_PASSWORD": pw}), testFormats)
	if !strings.Contains(err.Error(), "CASUS_KAFKA_SASL_PASSWORD=****: ") {
		t.Fatalf("error does not name the password variable: %v", err)
	}
}

func TestErrorUnwrap(t *testing.T) {
	_, err := FromEnv(mapLookup(map[string]string{"CASUS_BATCH_SIZE": "x"}))
	ce, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("%v is not an *Error", err)
	}
	if ce.Var != "CASUS_BATCH_SIZE" || ce.Value != "x" || ce.Allowed != "an integer" {
		t.Fatalf("got %+v", ce)
	}
	if !errors.Is(err, strconv.ErrSyntax) {
		t.Fatalf("%v does not wrap strconv.ErrSyntax", err)
	}
}

// TestKafkaSecurity covers the settings that only make sense together:
// whole configurations that load, and ones refused with every problem named.
func TestKafkaSecurity(t *testing.T) {
	const (
		tls      = "CASUS_KAFKA_TLS_ENABLED"
		ca       = "CASUS_KAFKA_TLS_CA_FILE"
		cert     = "CASUS_KAFKA_TLS_CERT_FILE"
		key      = "CASUS_KAFKA_TLS_KEY_FILE"
		sni      = "CASUS_KAFKA_TLS_SERVER_NAME"
		mech     = "CASUS_KAFKA_SASL_MECHANISM"
		user     = "CASUS_KAFKA_SASL_USERNAME"
		userFile = "CASUS_KAFKA_SASL_USERNAME_FILE"
		pw       = "CASUS_KAFKA_SASL_PASSWORD"
		pwFile   = "CASUS_KAFKA_SASL_PASSWORD_FILE"
	)
	for _, tc := range []struct {
		name     string
		env      map[string]string
		problems []string // prefixes of the problems, in order; none: it loads
	}{
		{"TLS alone, system roots", map[string]string{tls: "true"}, nil},
		{"TLS with everything", map[string]string{tls: "true", ca: "/ca.pem", cert: "/c.pem", key: "/k.pem", sni: "kafka.internal"}, nil},
		{"TLS server name as an IP", map[string]string{tls: "true", sni: "10.0.0.7"}, nil},
		{"TLS server name as an IPv6 address", map[string]string{tls: "true", sni: "::1"}, nil},
		{"SCRAM-SHA-256 without TLS", map[string]string{mech: "SCRAM-SHA-256", user: "casus", pw: "pw"}, nil},
		{"SCRAM-SHA-512 from files", map[string]string{mech: "SCRAM-SHA-512", userFile: "/u", pwFile: "/p"}, nil},
		{"PLAIN over TLS", map[string]string{tls: "true", mech: "PLAIN", user: "casus", pwFile: "/p"}, nil},
		{"PLAIN in the clear", map[string]string{mech: "PLAIN", user: "casus", pwFile: "/p"},
			[]string{mech + "=PLAIN: PLAIN sends the password as it is, readable on the network without TLS"}},
		{"CA, client certificate and name without TLS", map[string]string{ca: "/ca.pem", cert: "/c.pem", key: "/k.pem", sni: "kafka"},
			[]string{ca + "=/ca.pem: set while " + tls + " is false", cert + "=/c.pem: set while", key + "=/k.pem: set while", sni + "=kafka: set while"}},
		{"TLS explicitly off with a CA", map[string]string{tls: "false", ca: "/ca.pem"}, []string{ca + "=/ca.pem: set while " + tls + " is false: casus would connect without TLS"}},
		{"mechanism without credentials", map[string]string{mech: "SCRAM-SHA-256"},
			[]string{user + `="": ` + mech + " SCRAM-SHA-256 needs a user name", pw + `="": ` + mech + " SCRAM-SHA-256 needs a password"}},
		{"both sources of each credential", map[string]string{mech: "SCRAM-SHA-512", user: "a", userFile: "/u", pw: "p", pwFile: "/p"},
			[]string{userFile + "=/u: " + user + " is set too: set only one", pwFile + "=/p: " + pw + " is set too: set only one"}},
		{"credentials without a mechanism", map[string]string{user: "casus", pwFile: "/p"},
			[]string{user + "=casus: set while " + mech + " is empty: casus would connect without SASL", pwFile + "=/p: set while"}},
		{"unknown mechanism reports only itself", map[string]string{mech: "OAUTHBEARER", user: "casus"}, []string{mech + "=OAUTHBEARER: unknown value"}},
		{"every PLAIN problem at once", map[string]string{mech: "PLAIN"},
			[]string{mech + "=PLAIN: PLAIN sends", user + `="": `, pw + `="": `}},
		{"key id with its key", map[string]string{"CASUS_SIGNING_KEY_FILE": "/k.pem", "CASUS_SIGNING_KEY_ID": "casus-2026-01"}, nil},
		{"key id of 64 characters", map[string]string{"CASUS_SIGNING_KEY_FILE": "/k.pem", "CASUS_SIGNING_KEY_ID": strings.Repeat("~", 64)}, nil},
		{"key file without an id", map[string]string{"CASUS_SIGNING_KEY_FILE": "/k.pem"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(mapLookup(tc.env), testFormats)
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Load accepted the configuration")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.problems) {
				t.Fatalf("%d problems, want %d:\n%v", len(lines), len(tc.problems), err)
			}
			for i, p := range tc.problems {
				if !strings.HasPrefix(lines[i], p) {
					t.Errorf("problem %d = %q, want prefix %q", i, lines[i], p)
				}
			}
		})
	}
}
