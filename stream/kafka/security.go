package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// The SASL mechanisms NewSecurity builds.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SecurityOptions says how connections to the brokers are secured. The zero
// value is a plaintext connection without authentication.
type SecurityOptions struct {
	TLS        bool   // connect over TLS 1.2 or later, verifying the brokers' certificates
	CAFile     string // PEM CAs the broker certificates chain to; empty: the system's roots
	CertFile   string // PEM client certificate, with KeyFile; empty: none
	KeyFile    string // PEM private key of CertFile
	ServerName string // name the broker certificates must carry; empty: each broker's host

	SASLMechanism string // "", SASLPlain, SASLScramSHA256 or SASLScramSHA512
	Username      string
	Password      string
}

// String describes the options without the password.
func (o SecurityOptions) String() string {
	pw := ""
	if o.Password != "" {
		pw = "****"
	}
	return fmt.Sprintf("{TLS:%t CAFile:%s CertFile:%s KeyFile:%s ServerName:%s SASLMechanism:%s Username:%s Password:%s}",
		o.TLS, o.CAFile, o.CertFile, o.KeyFile, o.ServerName, o.SASLMechanism, o.Username, pw)
}

// GoString is String, so that %#v does not show the password either.
func (o SecurityOptions) GoString() string { return "kafka.SecurityOptions" + o.String() }

// Security is what secures a connection: a TLS configuration (nil for
// plaintext) and a SASL mechanism (nil for none). Apply sets both on the
// Dialer and the Transport every other connection of this package copies.
type Security struct {
	TLS  *tls.Config
	SASL sasl.Mechanism
}

// NewSecurity reads the CA and client certificate files and builds the
// SASL mechanism. Its errors name the file and what it was meant to hold.
func NewSecurity(o SecurityOptions) (Security, error) {
	var s Security
	if o.TLS {
		c, err := tlsConfig(o)
		if err != nil {
			return Security{}, err
		}
		s.TLS = c
	}
	if o.SASLMechanism != "" {
		m, err := saslMechanism(o.SASLMechanism, o.Username, o.Password)
		if err != nil {
			return Security{}, err
		}
		s.SASL = m
	}
	return s, nil
}

// Apply sets s on d and t; nil ones are left alone.
func (s Security) Apply(d *kafkago.Dialer, t *kafkago.Transport) {
	if d != nil {
		d.TLS, d.SASLMechanism = s.TLS, s.SASL
	}
	if t != nil {
		t.TLS, t.SASL = s.TLS, s.SASL
	}
}

func tlsConfig(o SecurityOptions) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pool, err := caPool(o.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := clientCertificate(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("a Kafka TLS client certificate needs both its certificate and its key file")
	}
	return c, nil
}

// caPool reads a file of PEM certificates, refusing one that holds none, since
// an empty pool would make every broker look untrusted.
func caPool(path string) (*x509.CertPool, error) {
	b, err := readFile("Kafka TLS CA file", path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse Kafka TLS CA file %s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no certificate in Kafka TLS CA file %s: it must hold PEM blocks of type CERTIFICATE", path)
	}
	return pool, nil
}

func clientCertificate(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readFile("Kafka TLS client certificate file", certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readFile("Kafka TLS client key file", keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !hasBlock(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		return tls.Certificate{}, fmt.Errorf("no certificate in Kafka TLS client certificate file %s", certFile)
	}
	if !hasBlock(keyPEM, func(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }) {
		return tls.Certificate{}, fmt.Errorf("no private key in Kafka TLS client key file %s", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load Kafka TLS client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("the Kafka TLS client certificate in %s expired on %s", certFile, cert.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return cert, nil
}

func hasBlock(b []byte, typ func(string) bool) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if typ(block.Type) {
			return true
		}
	}
}

func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err // the path is already in the message
		}
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return b, nil
}

// Username returns the user name of a mechanism NewSecurity built, "" for
// another one.
func Username(m sasl.Mechanism) string {
	if u, ok := m.(interface{ username() string }); ok {
		return u.username()
	}
	return ""
}

func saslMechanism(name, user, password string) (sasl.Mechanism, error) {
	if user == "" || password == "" {
		return nil, fmt.Errorf("SASL %s needs a user name and a password", name)
	}
	switch name {
	case SASLPlain:
		return plainMechanism{plain.Mechanism{Username: user, Password: password}}, nil
	case SASLScramSHA256, SASLScramSHA512:
		algo := scram.SHA256
		if name == SASLScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, user, password)
		if err != nil {
			// The library's message may quote the credentials; say only what failed.
			return nil, fmt.Errorf("SASL %s: the user name or password cannot be prepared (SASLprep)", name)
		}
		return scramMechanism{Mechanism: m, user: user}, nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q: want %s, %s or %s", name, SASLPlain, SASLScramSHA256, SASLScramSHA512)
}

// plainMechanism is kafka-go's PLAIN, kept from printing its password.
type plainMechanism struct{ m plain.Mechanism }

func (p plainMechanism) Name() string { return p.m.Name() }
func (p plainMechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	return p.m.Start(ctx)
}
func (p plainMechanism) username() string { return p.m.Username }
func (p plainMechanism) String() string   { return "SASL PLAIN as " + strconv.Quote(p.m.Username) }
func (p plainMechanism) GoString() string { return p.String() }

// scramMechanism is kafka-go's SCRAM, kept from printing its password.
type scramMechanism struct {
	sasl.Mechanism
	user string
}

func (m scramMechanism) username() string { return m.user }
func (m scramMechanism) String() string   { return "SASL " + m.Name() + " as " + strconv.Quote(m.user) }
func (m scramMechanism) GoString() string { return m.String() }
