package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/stream/kafka"
)

// saslBroker is the SASL_SSL broker scripts/kafka.sh starts with
// CASUS_KAFKA_SECURITY=sasl_ssl.
type saslBroker struct {
	sasl, plaintext string // listeners of the same broker
	tlsDir          string // ca.pem, client.pem, client-key.pem, other-ca.pem, casus.password
	password        string
}

// saslBrokerOf reads CASUS_TEST_SASL_BROKERS and its companions. Without
// them the test is skipped, and under CI (CI=true) it fails: there the
// script starts the broker, so a missing one is a broken run.
func saslBrokerOf(t *testing.T) saslBroker {
	t.Helper()
	b := saslBroker{sasl: os.Getenv("CASUS_TEST_SASL_BROKERS"), plaintext: os.Getenv("CASUS_TEST_PLAINTEXT_BROKERS"), tlsDir: os.Getenv("CASUS_TEST_TLS_DIR")}
	if b.sasl == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CASUS_TEST_SASL_BROKERS is not set under CI: start the broker with CASUS_KAFKA_SECURITY=sasl_ssl scripts/kafka.sh start and export what it prints")
		}
		t.Skip("security integration test needs a SASL_SSL Kafka broker: run CASUS_KAFKA_SECURITY=sasl_ssl CASUS_KAFKA_DIR=/tmp/k-sasl bash scripts/kafka.sh start and export the CASUS_TEST_SASL_BROKERS, CASUS_TEST_PLAINTEXT_BROKERS and CASUS_TEST_TLS_DIR it prints")
	}
	if b.plaintext == "" || b.tlsDir == "" {
		t.Fatal("CASUS_TEST_SASL_BROKERS is set without CASUS_TEST_PLAINTEXT_BROKERS and CASUS_TEST_TLS_DIR: export every line scripts/kafka.sh start printed")
	}
	pw, err := os.ReadFile(b.file("casus.password"))
	if err != nil {
		t.Fatal(err)
	}
	b.password = strings.TrimSuffix(string(pw), "\n")
	return b
}

func (b saslBroker) file(name string) string { return filepath.Join(b.tlsDir, name) }

// security is what a test client uses to reach the SASL_SSL listener.
func (b saslBroker) security(t *testing.T, mechanism string) kafka.Security {
	t.Helper()
	s, err := kafka.NewSecurity(kafka.SecurityOptions{TLS: true, CAFile: b.file("ca.pem"), SASLMechanism: mechanism, Username: "casus", Password: b.password})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSecurityIntegration runs `casus run` against the SASL_SSL listener of
// a real broker: each mechanism end to end, and each mistake an operator
// makes ending the process at once with one sentence naming what to fix.
// No secret may show in the logs (at debug level), `casus config`, or the
// metrics.
func TestSecurityIntegration(t *testing.T) {
	b := saslBrokerOf(t)
	bin := filepath.Join(t.TempDir(), "casus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(b.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	userFile := filepath.Join(dir, "user")
	if err := os.WriteFile(userFile, []byte("casus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsEnv := []string{"CASUS_KAFKA_BROKERS=" + b.sasl, "CASUS_KAFKA_TLS_ENABLED=true", "CASUS_KAFKA_TLS_CA_FILE=" + b.file("ca.pem")}

	for _, tc := range []struct {
		name, mechanism string
		env             []string
	}{
		{"PLAIN, password file, client certificate", "PLAIN", []string{"CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD_FILE=" + pwFile,
			"CASUS_KAFKA_TLS_CERT_FILE=" + b.file("client.pem"), "CASUS_KAFKA_TLS_KEY_FILE=" + b.file("client-key.pem")}},
		{"SCRAM-SHA-256, password variable, user file", "SCRAM-SHA-256", []string{"CASUS_KAFKA_SASL_USERNAME_FILE=" + userFile, "CASUS_KAFKA_SASL_PASSWORD=" + b.password}},
		{"SCRAM-SHA-512, password file", "SCRAM-SHA-512", []string{"CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD_FILE=" + b.file("casus.password")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append(tlsEnv, "CASUS_KAFKA_SASL_MECHANISM="+tc.mechanism), tc.env...)
			runSecured(t, bin, b, tc.mechanism, env)
		})
	}

	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"wrong password", append(tlsEnv, "CASUS_KAFKA_SASL_MECHANISM=SCRAM-SHA-512", "CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD=not-"+b.password),
			`SASL SCRAM-SHA-512 authentication as \"casus\" failed at ` + b.sasl + ": check CASUS_KAFKA_SASL_USERNAME and the password in CASUS_KAFKA_SASL_PASSWORD"},
		{"wrong password from a file, PLAIN", append(tlsEnv, "CASUS_KAFKA_SASL_MECHANISM=PLAIN", "CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD_FILE="+userFile),
			`SASL PLAIN authentication as \"casus\" failed at ` + b.sasl + ": check CASUS_KAFKA_SASL_USERNAME and the password in CASUS_KAFKA_SASL_PASSWORD_FILE"},
		{"TLS client, plaintext listener", []string{"CASUS_KAFKA_BROKERS=" + b.plaintext, "CASUS_KAFKA_TLS_ENABLED=true", "CASUS_KAFKA_TLS_CA_FILE=" + b.file("ca.pem")},
			"TLS handshake with " + b.plaintext + " failed: the listener does not seem to speak TLS (plaintext listener?): point CASUS_KAFKA_BROKERS at the brokers' TLS listener"},
		{"untrusted CA", []string{"CASUS_KAFKA_BROKERS=" + b.sasl, "CASUS_KAFKA_TLS_ENABLED=true", "CASUS_KAFKA_TLS_CA_FILE=" + b.file("other-ca.pem"),
			"CASUS_KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD=" + b.password},
			"broker certificate of " + b.sasl + " not trusted (x509: certificate signed by unknown authority): set CASUS_KAFKA_TLS_CA_FILE to the CA that signs the broker certificates"},
		{"plaintext client, SASL_SSL listener", []string{"CASUS_KAFKA_BROKERS=" + b.sasl,
			"CASUS_KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD=" + b.password},
			"the broker at " + b.sasl + " did not answer ApiVersions over a plaintext connection, as a TLS listener does: turn on CASUS_KAFKA_TLS_ENABLED if the listener expects TLS, or point CASUS_KAFKA_BROKERS at a plaintext one"},
		{"TLS without SASL", tlsEnv,
			"the broker at " + b.sasl + " closed the TLS connection instead of answering ApiVersions, as a listener that requires SASL does: set CASUS_KAFKA_SASL_MECHANISM, CASUS_KAFKA_SASL_USERNAME and the password in CASUS_KAFKA_SASL_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, bin, b, tc.env, tc.want)
		})
	}

	t.Run("casus config masks the password", func(t *testing.T) {
		cmd := exec.Command(bin, "config")
		cmd.Env = append(append(os.Environ(), tlsEnv...), "CASUS_KAFKA_SASL_MECHANISM=SCRAM-SHA-512", "CASUS_KAFKA_SASL_USERNAME=casus", "CASUS_KAFKA_SASL_PASSWORD="+b.password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("casus config: %v\n%s", err, out)
		}
		if strings.Contains(string(out), b.password) {
			t.Fatalf("casus config shows the password:\n%s", out)
		}
		found := false
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "CASUS_KAFKA_SASL_PASSWORD" {
				found = f[1] == "****"
			}
		}
		if !found {
			t.Fatalf("casus config does not show the password as ****:\n%s", out)
		}
	})
}

// runSecured runs casus with env, writes an undecodable record to its
// input with the same security, and waits for the dead letter it causes:
// the cheapest proof that casus consumed and published over SASL_SSL. It
// checks the secrets stayed out of the logs and metrics, and that SIGTERM
// stops it cleanly.
func runSecured(t *testing.T, bin string, b saslBroker, mechanism string, env []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sec := b.security(t, mechanism)
	transport := &kafkago.Transport{MetadataTTL: time.Second}
	sec.Apply(nil, transport)
	defer transport.CloseIdleConnections()
	brokers := []string{b.sasl}

	prefix := fmt.Sprintf("it-sec-%s-%d", strings.ToLower(mechanism), time.Now().UnixNano())
	input, deadletter := prefix+"-telemetry", prefix+"-deadletter"
	// The test creates every topic, over the same security, so that casus
	// need not: a fresh kafka-go Transport sometimes sends CreateTopics
	// before it knows the controller and fails with BrokerNotAvailable,
	// which the test retries and `casus run` would not.
	var specs []kafka.TopicSpec
	for _, name := range []string{input, deadletter, prefix + "-signals", prefix + "-escalations", prefix + "-incidents", prefix + "-state"} {
		specs = append(specs, kafka.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: 1})
	}
	for attempt := 1; ; attempt++ {
		err := kafka.EnsureTopics(ctx, brokers, transport, specs)
		if err == nil {
			break
		}
		if !errors.Is(err, kafkago.BrokerNotAvailable) || attempt == 5 {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	addr := freeAddr(t)
	p := startCasus(t, bin, slices.Concat(env, []string{
		"CASUS_INPUTS=" + input + ":ecs", "CASUS_GROUP_ID=" + prefix + "-group", "CASUS_ROLES=classify",
		"CASUS_TOPIC_SIGNALS=" + prefix + "-signals", "CASUS_TOPIC_ESCALATIONS=" + prefix + "-escalations", "CASUS_TOPIC_INCIDENTS=" + prefix + "-incidents",
		"CASUS_TOPIC_DEADLETTER=" + deadletter, "CASUS_TOPIC_STATE=" + prefix + "-state", "CASUS_CREATE_TOPICS=false",
		"CASUS_METRICS_ADDR=" + addr, "CASUS_GRACE_PERIOD=10s", "CASUS_BATCH_TIMEOUT=50ms", "CASUS_LOG_LEVEL=debug", "CASUS_LOG_FORMAT=text"}))
	p.waitReady(t, addr)
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: input, RequiredAcks: kafkago.RequireAll, BatchTimeout: time.Millisecond, Transport: transport}
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("k"), Value: []byte("this is not telemetry")}); err != nil {
		t.Fatalf("write over %s: %v", mechanism, err)
	}
	w.Close()
	// The dead letter the undecodable record causes.
	p.waitRecords(t, ctx, brokers, transport, deadletter)

	if strings.Contains(scrape(t, addr), b.password) {
		t.Error("/metrics shows the password")
	}
	p.sigterm(t)
	out := p.logs.String()
	if strings.Contains(out, b.password) {
		t.Fatalf("the debug log shows the password:\n%s", out)
	}
	if !strings.Contains(out, "casus stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", out)
	}
}

// refused runs casus with a security mistake and expects it to exit with
// status 1 within 30 s, having logged want once in a handful of lines.
func refused(t *testing.T, bin string, b saslBroker, env []string, want string) {
	start := time.Now()
	p := startCasus(t, bin, slices.Concat(env, []string{"CASUS_METRICS_ADDR=" + freeAddr(t), "CASUS_LOG_LEVEL=debug", "CASUS_GROUP_ID=it-sec-refused"}))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("casus still running after 30s\n%s", p.logs.String())
	}
	ee, ok := errors.AsType[*exec.ExitError](p.err)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("casus run ended with %v after %s, want exit status 1\n%s", p.err, time.Since(start), p.logs.String())
	}
	out := p.logs.String()
	if n := strings.Count(out, "\n"); n > 3 {
		t.Errorf("%d log lines, want at most 3:\n%s", n, out)
	}
	if strings.Count(out, want) != 1 {
		t.Errorf("log does not hold, once,\n%s\nin:\n%s", want, out)
	}
	if strings.Contains(out, b.password) {
		t.Errorf("the log shows the password:\n%s", out)
	}
}
