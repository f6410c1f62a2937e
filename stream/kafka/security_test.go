package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a certificate for the hosts (DNS names or IPs), a server or
// client one, valid until notAfter; it returns the PEM certificate and the
// PEM PKCS #8 key.
func (ca *testCA) leaf(t *testing.T, client bool, notAfter time.Time, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "casus-test"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewSecurityTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "casus test CA")
	certPEM, keyPEM := ca.leaf(t, true, time.Now().Add(time.Hour), "casus")
	otherCert, otherKey := newTestCA(t, "other").leaf(t, true, time.Now().Add(time.Hour), "casus")
	expiredCert, expiredKey := ca.leaf(t, true, time.Now().Add(-time.Hour), "casus")
	var (
		caFile      = writeFile(t, dir, "ca.pem", ca.pem)
		certFile    = writeFile(t, dir, "client.pem", certPEM)
		keyFile     = writeFile(t, dir, "client-key.pem", keyPEM)
		otherKey1   = writeFile(t, dir, "other-key.pem", otherKey)
		otherCert1  = writeFile(t, dir, "other.pem", otherCert)
		expiredFile = writeFile(t, dir, "expired.pem", expiredCert)
		expiredKeyF = writeFile(t, dir, "expired-key.pem", expiredKey)
		notPEM      = writeFile(t, dir, "not.pem", []byte("hello\n"))
		keyOnly     = writeFile(t, dir, "key-only.pem", keyPEM)
		badCert     = writeFile(t, dir, "bad-cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
		absent      = filepath.Join(dir, "absent.pem")
	)

	t.Run("system roots", func(t *testing.T) {
		s, err := NewSecurity(SecurityOptions{TLS: true})
		if err != nil {
			t.Fatal(err)
		}
		if s.TLS == nil || s.TLS.RootCAs != nil || s.TLS.MinVersion != tls.VersionTLS12 || s.TLS.InsecureSkipVerify || len(s.TLS.Certificates) != 0 {
			t.Fatalf("TLS config = %+v", s.TLS)
		}
		if s.SASL != nil {
			t.Fatalf("SASL = %v without a mechanism", s.SASL)
		}
	})
	t.Run("CA, client certificate and server name", func(t *testing.T) {
		s, err := NewSecurity(SecurityOptions{TLS: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "kafka.internal"})
		if err != nil {
			t.Fatal(err)
		}
		if s.TLS.ServerName != "kafka.internal" || len(s.TLS.Certificates) != 1 || s.TLS.RootCAs == nil {
			t.Fatalf("TLS config = %+v", s.TLS)
		}
		// The pool holds our CA: a certificate it issued verifies.
		serverPEM, _ := ca.leaf(t, false, time.Now().Add(time.Hour), "kafka.internal")
		block, _ := pem.Decode(serverPEM)
		leaf, _ := x509.ParseCertificate(block.Bytes)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.TLS.RootCAs, DNSName: "kafka.internal"}); err != nil {
			t.Fatalf("certificate of the CA does not verify against the pool: %v", err)
		}
	})
	t.Run("no TLS builds none", func(t *testing.T) {
		s, err := NewSecurity(SecurityOptions{CAFile: absent})
		if err != nil || s.TLS != nil || s.SASL != nil {
			t.Fatalf("NewSecurity = %+v, %v", s, err)
		}
	})
	for _, tc := range []struct {
		name string
		opt  SecurityOptions
		want string
		is   error
	}{
		{"missing CA file", SecurityOptions{TLS: true, CAFile: absent}, "read Kafka TLS CA file " + absent + ": no such file or directory", fs.ErrNotExist},
		{"CA file without certificates", SecurityOptions{TLS: true, CAFile: notPEM},
			"no certificate in Kafka TLS CA file " + notPEM + ": it must hold PEM blocks of type CERTIFICATE", nil},
		{"CA file with a key only", SecurityOptions{TLS: true, CAFile: keyOnly},
			"no certificate in Kafka TLS CA file " + keyOnly + ": it must hold PEM blocks of type CERTIFICATE", nil},
		{"CA file with a broken certificate", SecurityOptions{TLS: true, CAFile: badCert}, "parse Kafka TLS CA file " + badCert + ": certificate 1: x509: malformed certificate", nil},
		{"missing certificate file", SecurityOptions{TLS: true, CertFile: absent, KeyFile: keyFile},
			"read Kafka TLS client certificate file " + absent + ": no such file or directory", fs.ErrNotExist},
		{"missing key file", SecurityOptions{TLS: true, CertFile: certFile, KeyFile: absent},
			"read Kafka TLS client key file " + absent + ": no such file or directory", fs.ErrNotExist},
		{"certificate file without a certificate", SecurityOptions{TLS: true, CertFile: keyFile, KeyFile: keyFile},
			"no certificate in Kafka TLS client certificate file " + keyFile, nil},
		{"key file without a key", SecurityOptions{TLS: true, CertFile: certFile, KeyFile: certFile},
			"no private key in Kafka TLS client key file " + certFile, nil},
		{"key of another certificate", SecurityOptions{TLS: true, CertFile: certFile, KeyFile: otherKey1},
			"load Kafka TLS client certificate " + certFile + " with key " + otherKey1 + ": tls: private key does not match public key", nil},
		{"certificate of another key", SecurityOptions{TLS: true, CertFile: otherCert1, KeyFile: keyFile},
			"load Kafka TLS client certificate " + otherCert1 + " with key " + keyFile + ": tls: private key does not match public key", nil},
		{"expired client certificate", SecurityOptions{TLS: true, CertFile: expiredFile, KeyFile: expiredKeyF},
			"the Kafka TLS client certificate in " + expiredFile + " expired on " + time.Now().Add(-time.Hour).UTC().Format(time.DateOnly), nil},
		{"certificate without key", SecurityOptions{TLS: true, CertFile: certFile}, "a Kafka TLS client certificate needs both its certificate and its key file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSecurity(tc.opt)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("NewSecurity error = %v\nwant %s", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("%v does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestNewSecuritySASL(t *testing.T) {
	for _, tc := range []struct {
		mechanism, want string
	}{{SASLPlain, "PLAIN"}, {SASLScramSHA256, "SCRAM-SHA-256"}, {SASLScramSHA512, "SCRAM-SHA-512"}} {
		s, err := NewSecurity(SecurityOptions{SASLMechanism: tc.mechanism, Username: "casus", Password: "pw-secret"})
		if err != nil {
			t.Fatal(err)
		}
		if s.SASL == nil || s.SASL.Name() != tc.want || Username(s.SASL) != "casus" {
			t.Fatalf("%s: mechanism %v", tc.mechanism, s.SASL)
		}
		// A mechanism printed by mistake shows its user, not its password.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, s.SASL); strings.Contains(out, "pw-secret") || !strings.Contains(out, "casus") {
				t.Errorf("%s: Sprintf(%s) = %s", tc.mechanism, verb, out)
			}
		}
	}
	for _, tc := range []struct {
		opt  SecurityOptions
		want string
	}{
		{SecurityOptions{SASLMechanism: "GSSAPI", Username: "u", Password: "p"}, `unknown SASL mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{SecurityOptions{SASLMechanism: SASLScramSHA512, Username: "u"}, "SASL SCRAM-SHA-512 needs a user name and a password"},
		{SecurityOptions{SASLMechanism: SASLPlain, Password: "p"}, "SASL PLAIN needs a user name and a password"},
	} {
		if _, err := NewSecurity(tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("NewSecurity(%v) = %v, want %s", tc.opt, err, tc.want)
		}
	}
	if Username(nil) != "" {
		t.Error("Username(nil) is not empty")
	}
}

func TestSecurityOptionsHidePassword(t *testing.T) {
	o := SecurityOptions{TLS: true, SASLMechanism: SASLPlain, Username: "casus", Password: "pw-secret"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, o); strings.Contains(out, "pw-secret") || !strings.Contains(out, "Password:****") {
			t.Errorf("Sprintf(%s) = %s", verb, out)
		}
	}
}

func TestSecurityApply(t *testing.T) {
	s, err := NewSecurity(SecurityOptions{TLS: true, SASLMechanism: SASLScramSHA256, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	d, tr := &kafkago.Dialer{ClientID: "casus"}, &kafkago.Transport{ClientID: "casus"}
	s.Apply(d, tr)
	if d.TLS != s.TLS || tr.TLS != s.TLS || d.SASLMechanism != s.SASL || tr.SASL != s.SASL || d.ClientID != "casus" {
		t.Fatalf("Apply: dialer %+v transport %+v", d, tr)
	}
	// Every connection this package opens copies the dialer's security.
	if got := dialerTransport(d); got.TLS != s.TLS || got.SASL != s.SASL {
		t.Fatal("dialerTransport drops the security")
	}
	if got := adminTransport(tr); got.TLS != s.TLS || got.SASL != s.SASL {
		t.Fatal("adminTransport drops the security")
	}
	s.Apply(nil, nil) // nil values are left alone
}

// TestScramRFC7677 runs the SCRAM-SHA-256 exchange of RFC 7677, section 3.
