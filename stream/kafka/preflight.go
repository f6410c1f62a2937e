package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// ConnectKind says which part of connecting to a broker failed, so that a
// caller can react (exit, alert) without reading the message.
type ConnectKind string

// The ways a connection fails, each with its own remedy.
const (
	// ConnectUnreachable: no broker accepted a TCP connection.
	ConnectUnreachable ConnectKind = "unreachable"
	// ConnectTLS: the TLS handshake failed other than on the broker's
	// certificate, typically because the listener does not speak TLS, or
	// the broker refused the client certificate.
	ConnectTLS ConnectKind = "tls"
	// ConnectCertificate: the broker's certificate was not accepted: an
	// unknown CA, another host name, or outside its validity.
	ConnectCertificate ConnectKind = "certificate"
	// ConnectAuth: SASL failed: wrong credentials, a mechanism the broker
	// does not enable, or SASL missing where the listener requires it.
	ConnectAuth ConnectKind = "auth"
	// ConnectProtocol: connected, but the broker did not answer Kafka
	// requests, as a TLS listener does with a plaintext client.
	ConnectProtocol ConnectKind = "protocol"
)

// ConnectError is why CheckBrokers could not talk to the brokers. Its
// message is one sentence: what failed, then what to change.
type ConnectError struct {
	Broker string // the broker that failed; every broker tried when none was reachable
	Kind   ConnectKind
	Err    error // the underlying error

	problem string // what failed
	Fix     string // what to change
}

func (e *ConnectError) Error() string {
	if e.Fix == "" {
		return e.problem
	}
	return e.problem + ": " + e.Fix
}

// Unwrap returns the underlying error, e.g. kafka-go's SASLAuthenticationFailed.
func (e *ConnectError) Unwrap() error { return e.Err }

// Settings names what an operator changes to fix a connection, in the
// caller's terms (environment variables, flags), for ConnectError messages.
// An empty field is described in plain words.
type Settings struct {
	Brokers    string // the broker addresses
	TLS        string // the switch that turns TLS on
	CAFile     string // the CAs the broker certificates are checked against
	CertFile   string // the client certificate
	ServerName string // the name broker certificates must carry
	Mechanism  string // the SASL mechanism
	Username   string // the SASL user name
	Password   string // the SASL password
}

func (s Settings) or(name, plain string) string {
	if name != "" {
		return name
	}
	return plain
}

// Preflight checks, before anything else runs, that the brokers can be
// reached and that TLS and SASL work, so that a mistake ends the process
// with one clear error instead of clients retrying forever.
type Preflight struct {
	Brokers  []string
	Dialer   *kafkago.Dialer // its TLS, SASL, ClientID and DialFunc are used; nil: plaintext
	Timeout  time.Duration   // per broker; zero means 10s
	Settings Settings
}

// CheckBrokers is Preflight.Check with messages in plain words.
func CheckBrokers(ctx context.Context, brokers []string, dialer *kafkago.Dialer) error {
	return Preflight{Brokers: brokers, Dialer: dialer}.Check(ctx)
}

// Check tries the brokers in turn until one completes the TCP connection,
// the TLS handshake, SASL authentication, and an ApiVersions and a Metadata
// request. A certificate or authentication failure ends the check at once:
// it would be the same at every broker, and repeated failed logins may
// lock the account. Otherwise, when every broker fails, the error is the
// first one that got further than TCP, else an unreachable error naming
// all. An ended ctx returns its own error.
func (p Preflight) Check(ctx context.Context) error {
	if len(p.Brokers) == 0 {
		return errors.New("no Kafka broker to check")
	}
	d := p.Dialer
	if d == nil {
		d = &kafkago.Dialer{}
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var first *ConnectError
	var unreachable []error
	for _, b := range p.Brokers {
		err := p.checkBroker(ctx, d, b, timeout)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch err.Kind {
		case ConnectCertificate, ConnectAuth:
			return err
		case ConnectUnreachable:
			unreachable = append(unreachable, err.Err)
		default:
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return first
	}
	all := strings.Join(p.Brokers, ", ")
	return &ConnectError{Broker: all, Kind: ConnectUnreachable, Err: errors.Join(unreachable...),
		problem: fmt.Sprintf("no Kafka broker reachable at %s (%v)", all, unreachable[len(unreachable)-1]),
		Fix:     "check " + p.Settings.or(p.Settings.Brokers, "the broker addresses") + " and that the brokers run"}
}

// checkBroker runs each step on its own, so that a failure is pinned to
// TCP, TLS, SASL or the Kafka protocol.
func (p Preflight) checkBroker(ctx context.Context, d *kafkago.Dialer, addr string, timeout time.Duration) *ConnectError {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := d.DialFunc
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return &ConnectError{Broker: addr, Kind: ConnectUnreachable, Err: err, problem: fmt.Sprintf("Kafka broker %s unreachable (%v)", addr, err)}
	}
	if d.TLS != nil {
		c := d.TLS.Clone()
		if c.ServerName == "" {
			c.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(raw, c)
		err := tc.HandshakeContext(ctx)
		_ = tc.Close()
		if err != nil {
			return p.tlsError(addr, c.ServerName, err)
		}
	} else {
		_ = raw.Close()
	}

	// A fresh transport: its connection runs ApiVersions and SASL before
	// any request, as every client of this package does. The tracker
	// tells a failure during SASL from one before it, since a broker may
	// answer wrong credentials by just closing the connection.
	var tracker *saslTracker
	t := &kafkago.Transport{ClientID: d.ClientID, TLS: d.TLS, Dial: d.DialFunc, DialTimeout: timeout}
	if d.SASLMechanism != nil {
		tracker = &saslTracker{Mechanism: d.SASLMechanism}
		t.SASL = tracker
	}
	defer t.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(addr), Timeout: timeout, Transport: t}
	if _, err := client.ApiVersions(ctx, &kafkago.ApiVersionsRequest{}); err != nil {
		return p.requestError(addr, d, tracker, "ApiVersions", err)
	}
	if _, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{}}); err != nil {
		return p.requestError(addr, d, tracker, "Metadata", err)
	}
	return nil
}

// saslTracker records how far a SASL exchange got.
type saslTracker struct {
	sasl.Mechanism
	started, finished atomic.Bool
}

func (m *saslTracker) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	m.started.Store(true)
	sm, ir, err := m.Mechanism.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return trackedSession{sm, m}, ir, nil
}

// failed reports whether an exchange began and did not complete.
func (m *saslTracker) failed() bool { return m != nil && m.started.Load() && !m.finished.Load() }

type trackedSession struct {
	sasl.StateMachine
	m *saslTracker
}

func (s trackedSession) Next(ctx context.Context, challenge []byte) (bool, []byte, error) {
	done, resp, err := s.StateMachine.Next(ctx, challenge)
	if done && err == nil {
		s.m.finished.Store(true)
	}
	return done, resp, err
}

func (p Preflight) tlsError(addr, serverName string, err error) *ConnectError {
	s := p.Settings
	e := &ConnectError{Broker: addr, Kind: ConnectTLS, Err: err}
	var host x509.HostnameError
	var authority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	alert, isAlert := remoteAlert(err)
	switch {
	case errors.As(err, &host):
		e.Kind = ConnectCertificate
		e.problem = fmt.Sprintf("broker certificate of %s does not carry the name %s (%v)", addr, strconv.Quote(serverName), host)
		e.Fix = "set " + s.or(s.ServerName, "the TLS server name") + " to a name the certificate carries, or name the brokers that way in " + s.or(s.Brokers, "the broker addresses")
	case errors.As(err, &authority):
		e.Kind = ConnectCertificate
		e.problem = fmt.Sprintf("broker certificate of %s not trusted (%v)", addr, authority)
		e.Fix = "set " + s.or(s.CAFile, "the TLS CA file") + " to the CA that signs the broker certificates"
	case errors.As(err, &invalid):
		e.Kind = ConnectCertificate
		e.problem = fmt.Sprintf("broker certificate of %s not valid (%v)", addr, invalid)
		e.Fix = "have the broker's certificate renewed or corrected, and check this machine's clock"
	case errors.As(err, &verify):
		e.Kind = ConnectCertificate
		e.problem = fmt.Sprintf("broker certificate of %s not trusted (%v)", addr, verify.Err)
		e.Fix = "check " + s.or(s.CAFile, "the TLS CA file")
	// A TLS listener answers a ClientHello at once; one that closes,
	// answers something else or keeps silent is not one.
	case errors.As(err, &header), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, context.DeadlineExceeded):
		e.problem = fmt.Sprintf("TLS handshake with %s failed: the listener does not seem to speak TLS (plaintext listener?)", addr)
		e.Fix = "point " + s.or(s.Brokers, "the broker addresses") + " at the brokers' TLS listener"
	case isAlert:
		e.problem = fmt.Sprintf("TLS handshake with %s failed: the broker refused it (%v)", addr, alert)
		e.Fix = "check that the listener accepts TLS 1.2 or later and, if it asks for one, " + s.or(s.CertFile, "the client certificate")
	default:
		e.problem = fmt.Sprintf("TLS handshake with %s failed (%v)", addr, err)
		e.Fix = "check the listener's TLS settings"
	}
	return e
}

func (p Preflight) requestError(addr string, d *kafkago.Dialer, tracker *saslTracker, request string, err error) *ConnectError {
	s := p.Settings
	// TLS 1.3 checks the client certificate after the handshake: a broker
	// refusing it shows as an alert on the first read.
	if alert, ok := remoteAlert(err); ok {
		return &ConnectError{Broker: addr, Kind: ConnectTLS, Err: err,
			problem: fmt.Sprintf("the broker at %s refused the TLS connection (%v)", addr, alert),
			Fix:     "check " + s.or(s.CertFile, "the client certificate") + ": the broker must trust the CA that signed it"}
	}
	if d.TLS != nil && isTLSError(err) {
		return p.tlsError(addr, d.TLS.ServerName, err)
	}
	creds := s.or(s.Username, "the user name") + " and " + s.or(s.Password, "the password")
	mechanism := s.or(s.Mechanism, "the SASL mechanism")
	e := &ConnectError{Broker: addr, Kind: ConnectAuth, Err: err}
	closed := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	as := ""
	if u := Username(d.SASLMechanism); u != "" {
		as = " as " + strconv.Quote(u)
	}
	switch {
	case tracker.failed() && (closed || errors.Is(err, kafkago.SASLAuthenticationFailed)):
		e.problem = fmt.Sprintf("SASL %s authentication%s failed at %s", d.SASLMechanism.Name(), as, addr)
		e.Fix = "check " + creds
		if !errors.Is(err, kafkago.SASLAuthenticationFailed) {
			// Callers branch on kafka-go's error whichever way the broker said no.
			e.Err = fmt.Errorf("%w (%w)", kafkago.SASLAuthenticationFailed, err)
		}
	case tracker.failed():
		e.problem = fmt.Sprintf("SASL %s authentication%s at %s failed (%v)", d.SASLMechanism.Name(), as, addr, err)
		e.Fix = "check " + creds + ", and " + mechanism
	case d.SASLMechanism != nil && errors.Is(err, kafkago.UnsupportedSASLMechanism):
		e.problem = fmt.Sprintf("the broker at %s does not enable SASL %s", addr, d.SASLMechanism.Name())
		e.Fix = "set " + mechanism + " to a mechanism its listener enables"
	case d.SASLMechanism != nil && errors.Is(err, kafkago.IllegalSASLState):
		e.problem = fmt.Sprintf("the listener at %s does not use SASL", addr)
		e.Fix = "point " + s.or(s.Brokers, "the broker addresses") + " at the brokers' SASL listener, or unset " + mechanism
	case d.SASLMechanism == nil && d.TLS != nil && closed:
		e.problem = fmt.Sprintf("the broker at %s closed the TLS connection instead of answering %s, as a listener that requires SASL does", addr, request)
		e.Fix = "set " + mechanism + ", " + creds
	case d.TLS == nil && (closed || errors.Is(err, context.DeadlineExceeded)):
		e.Kind = ConnectProtocol
		e.problem = fmt.Sprintf("the broker at %s did not answer %s over a plaintext connection, as a TLS listener does", addr, request)
		e.Fix = "turn on " + s.or(s.TLS, "TLS") + " if the listener expects TLS, or point " + s.or(s.Brokers, "the broker addresses") + " at a plaintext one"
	default:
		e.Kind = ConnectProtocol
		e.problem = fmt.Sprintf("Kafka %s request to %s failed (%v)", request, addr, err)
		e.Fix = "check " + s.or(s.Brokers, "the broker addresses") + " and the broker's logs"
	}
	return e
}

// remoteAlert finds a TLS alert the broker sent, which crypto/tls reports
// as a *net.OpError of Op "remote error".
func remoteAlert(err error) (error, bool) {
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "remote error" {
		return op, true
	}
	return nil, false
}

func isTLSError(err error) bool {
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var host x509.HostnameError
	var authority x509.UnknownAuthorityError
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &host) || errors.As(err, &authority)
}
