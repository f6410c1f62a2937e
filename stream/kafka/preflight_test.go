package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// cluster starts an in-process broker for one test.
func cluster(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tlsFixture is a CA and a server certificate for 127.0.0.1 and localhost.
type tlsFixture struct {
	ca, other *testCA
	server    *tls.Config
}

func newTLSFixture(t *testing.T) tlsFixture {
	t.Helper()
	ca := newTestCA(t, "casus test CA")
	certPEM, keyPEM := ca.leaf(t, false, time.Now().Add(time.Hour), "127.0.0.1", "localhost")
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tlsFixture{ca: ca, other: newTestCA(t, "unrelated CA"), server: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
}

// dialer builds the Dialer NewSecurity's options make, writing the CA to a file.
func (f tlsFixture) dialer(t *testing.T, ca *testCA, o SecurityOptions) *kafkago.Dialer {
	t.Helper()
	if o.TLS && ca != nil {
		o.CAFile = writeFile(t, t.TempDir(), "ca.pem", ca.pem)
	}
	s, err := NewSecurity(o)
	if err != nil {
		t.Fatal(err)
	}
	d := &kafkago.Dialer{ClientID: "casus-test", Timeout: 5 * time.Second}
	s.Apply(d, nil)
	return d
}

// mutual is the server configuration of a broker that requires a client
// certificate of the fixture's CA.
func (f tlsFixture) mutual(t *testing.T) *tls.Config {
	t.Helper()
	c := f.server.Clone()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = x509.NewCertPool()
	c.ClientCAs.AddCert(f.ca.cert)
	return c
}

// clientDialer presents a client certificate of the fixture's CA, read
// from files as NewSecurity reads them.
func (f tlsFixture) clientDialer(t *testing.T) *kafkago.Dialer {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := f.ca.leaf(t, true, time.Now().Add(time.Hour), "casus")
	return f.dialer(t, f.ca, SecurityOptions{TLS: true, CertFile: writeFile(t, dir, "c.pem", certPEM), KeyFile: writeFile(t, dir, "k.pem", keyPEM)})
}

var envSettings = Settings{
	Brokers: "CASUS_KAFKA_BROKERS", TLS: "CASUS_KAFKA_TLS_ENABLED", CAFile: "CASUS_KAFKA_TLS_CA_FILE", CertFile: "CASUS_KAFKA_TLS_CERT_FILE",
	ServerName: "CASUS_KAFKA_TLS_SERVER_NAME", Mechanism: "CASUS_KAFKA_SASL_MECHANISM", Username: "CASUS_KAFKA_SASL_USERNAME",
	Password: "the password in CASUS_KAFKA_SASL_PASSWORD_FILE",
}

func TestCheckBrokersSucceeds(t *testing.T) {
	f := newTLSFixture(t)
	plain := cluster(t)
	tlsOnly := cluster(t, kfake.TLS(f.server))
	users := []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "casus", "pw-plain"),
		kfake.Superuser("SCRAM-SHA-256", "casus", "pw-256"), kfake.Superuser("SCRAM-SHA-512", "casus", "pw-512")}
	sasl := cluster(t, users...)
	saslTLS := cluster(t, append(users, kfake.TLS(f.server))...)
	for _, tc := range []struct {
		name   string
		broker string
		d      *kafkago.Dialer
	}{
		{"plaintext", plain, nil},
		{"TLS", tlsOnly, f.dialer(t, f.ca, SecurityOptions{TLS: true})},
		{"TLS with server name", tlsOnly, f.dialer(t, f.ca, SecurityOptions{TLS: true, ServerName: "localhost"})},
		{"SCRAM-SHA-256", sasl, f.dialer(t, nil, SecurityOptions{SASLMechanism: SASLScramSHA256, Username: "casus", Password: "pw-256"})},
		{"SCRAM-SHA-512", sasl, f.dialer(t, nil, SecurityOptions{SASLMechanism: SASLScramSHA512, Username: "casus", Password: "pw-512"})},
		{"PLAIN over TLS", saslTLS, f.dialer(t, f.ca, SecurityOptions{TLS: true, SASLMechanism: SASLPlain, Username: "casus", Password: "pw-plain"})},
		{"SCRAM-SHA-512 over TLS", saslTLS, f.dialer(t, f.ca, SecurityOptions{TLS: true, SASLMechanism: SASLScramSHA512, Username: "casus", Password: "pw-512"})},
		{"first broker down", closedAddr(t) + "," + plain, nil},
		{"client certificate", cluster(t, kfake.TLS(f.mutual(t))), f.clientDialer(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := CheckBrokers(ctx, strings.Split(tc.broker, ","), tc.d); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The same security works for the package's own clients.
	t.Run("Partitions over SCRAM and TLS", func(t *testing.T) {
		d := f.dialer(t, f.ca, SecurityOptions{TLS: true, SASLMechanism: SASLScramSHA256, Username: "casus", Password: "pw-256"})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := EnsureTopics(ctx, []string{saslTLS}, dialerTransport(d), []TopicSpec{{Name: "t", Partitions: 2, ReplicationFactor: 1}}); err != nil {
			t.Fatal(err)
		}
		if n, err := Partitions(ctx, []string{saslTLS}, d, "t"); err != nil || n != 2 {
			t.Fatalf("Partitions = %d, %v", n, err)
		}
	})
}

func TestCheckBrokersFailures(t *testing.T) {
	f := newTLSFixture(t)
	plain := cluster(t)
	tlsOnly := cluster(t, kfake.TLS(f.server))
	sasl := cluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "casus", "right"), kfake.Superuser("SCRAM-SHA-512", "casus", "right"))
	saslTLS := cluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "casus", "right"), kfake.TLS(f.server))
	mutual := cluster(t, kfake.TLS(f.mutual(t)))
	down1, down2 := closedAddr(t), closedAddr(t)
	for _, tc := range []struct {
		name     string
		brokers  []string
		d        *kafkago.Dialer
		settings Settings
		kind     ConnectKind
		want     string // the whole message; "..." stands for any text
	}{
		{"wrong SCRAM-SHA-512 password", []string{sasl}, f.dialer(t, nil, SecurityOptions{SASLMechanism: SASLScramSHA512, Username: "casus", Password: "wrong"}),
			envSettings, ConnectAuth,
			`SASL SCRAM-SHA-512 authentication as "casus" failed at ` + sasl + ": check CASUS_KAFKA_SASL_USERNAME and the password in CASUS_KAFKA_SASL_PASSWORD_FILE"},
		{"unknown user, plain words", []string{sasl}, f.dialer(t, nil, SecurityOptions{SASLMechanism: SASLScramSHA256, Username: "nobody", Password: "right"}),
			Settings{}, ConnectAuth, `SASL SCRAM-SHA-256 authentication as "nobody" failed at ` + sasl + ": check the user name and the password"},
		{"TLS client, plaintext listener", []string{plain}, f.dialer(t, f.ca, SecurityOptions{TLS: true}), envSettings, ConnectTLS,
			"TLS handshake with " + plain + " failed: the listener does not seem to speak TLS (plaintext listener?): point CASUS_KAFKA_BROKERS at the brokers' TLS listener"},
		{"untrusted CA", []string{tlsOnly}, f.dialer(t, f.other, SecurityOptions{TLS: true}), envSettings, ConnectCertificate,
			"broker certificate of " + tlsOnly + ` not trusted (x509: certificate signed by unknown authority): set CASUS_KAFKA_TLS_CA_FILE to the CA that signs the broker certificates`},
		{"system roots do not know the CA", []string{tlsOnly}, f.dialer(t, nil, SecurityOptions{TLS: true}), Settings{}, ConnectCertificate,
			"broker certificate of " + tlsOnly + " not trusted (x509: certificate signed by unknown authority): set the TLS CA file to the CA that signs the broker certificates"},
		{"server name the certificate lacks", []string{tlsOnly}, f.dialer(t, f.ca, SecurityOptions{TLS: true, ServerName: "kafka.internal"}), envSettings, ConnectCertificate,
			"broker certificate of " + tlsOnly + ` does not carry the name "kafka.internal" (x509: certificate is valid for localhost, not kafka.internal): set CASUS_KAFKA_TLS_SERVER_NAME to a name the certificate carries, or name the brokers that way in CASUS_KAFKA_BROKERS`},
		{"plaintext client, TLS listener", []string{tlsOnly}, nil, envSettings, ConnectProtocol,
			"the broker at " + tlsOnly + " did not answer ApiVersions over a plaintext connection, as a TLS listener does: turn on CASUS_KAFKA_TLS_ENABLED if the listener expects TLS, or point CASUS_KAFKA_BROKERS at a plaintext one"},
		{"SASL required, none configured", []string{saslTLS}, f.dialer(t, f.ca, SecurityOptions{TLS: true}), envSettings, ConnectAuth,
			"the broker at " + saslTLS + " closed the TLS connection instead of answering ...: set CASUS_KAFKA_SASL_MECHANISM, CASUS_KAFKA_SASL_USERNAME and the password in CASUS_KAFKA_SASL_PASSWORD_FILE"},
		{"client certificate required, none given", []string{mutual}, f.dialer(t, f.ca, SecurityOptions{TLS: true}), envSettings, ConnectTLS,
			"the broker at " + mutual + " refused the TLS connection (remote error: tls: certificate required): check CASUS_KAFKA_TLS_CERT_FILE: the broker must trust the CA that signed it"},
		{"nothing listens", []string{down1, down2}, nil, envSettings, ConnectUnreachable,
			"no Kafka broker reachable at " + down1 + ", " + down2 + " (dial tcp " + down2 + ": connect: connection refused): check CASUS_KAFKA_BROKERS and that the brokers run"},
		{"a TLS failure beats an unreachable broker", []string{down1, plain}, f.dialer(t, f.ca, SecurityOptions{TLS: true}), Settings{}, ConnectTLS,
			"TLS handshake with " + plain + " failed: the listener does not seem to speak TLS (plaintext listener?): point the broker addresses at the brokers' TLS listener"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			err := Preflight{Brokers: tc.brokers, Dialer: tc.d, Timeout: 3 * time.Second, Settings: tc.settings}.Check(ctx)
			ce, ok := errors.AsType[*ConnectError](err)
			if !ok {
				t.Fatalf("Check = %v (%T), want a *ConnectError", err, err)
			}
			if ce.Kind != tc.kind {
				t.Errorf("kind %q, want %q (%v)", ce.Kind, tc.kind, err)
			}
			if before, after, cut := strings.Cut(tc.want, "..."); cut && !(strings.HasPrefix(err.Error(), before) && strings.HasSuffix(err.Error(), after)) || !cut && err.Error() != tc.want {
				t.Errorf("message\n%s\nwant\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans lines: %q", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	t.Run("wrong password is kafka-go's SASLAuthenticationFailed", func(t *testing.T) {
		d := f.dialer(t, nil, SecurityOptions{SASLMechanism: SASLScramSHA256, Username: "casus", Password: "wrong"})
		err := CheckBrokers(context.Background(), []string{sasl}, d)
		if !errors.Is(err, kafkago.SASLAuthenticationFailed) {
			t.Fatalf("%v does not wrap SASLAuthenticationFailed", err)
		}
	})
}

func TestCheckBrokersContext(t *testing.T) {
	// A listener that accepts and never answers: only ctx ends the wait.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = Preflight{Brokers: []string{l.Addr().String()}, Timeout: time.Minute}.Check(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
	// The per-broker timeout bounds a silent broker too.
	err = Preflight{Brokers: []string{l.Addr().String()}, Timeout: 300 * time.Millisecond, Settings: envSettings}.Check(context.Background())
	if ce, ok := errors.AsType[*ConnectError](err); !ok || ce.Kind != ConnectProtocol {
		t.Fatalf("Check = %v, want a protocol ConnectError", err)
	}
	if err := CheckBrokers(context.Background(), nil, nil); err == nil {
		t.Fatal("no brokers accepted")
	}
}
