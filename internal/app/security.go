package app

import (
	"context"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
)

// applySecurity sets the configured TLS and SASL on the dialer and the
// transport that every other connection of the service copies.
func applySecurity(k config.Kafka, dialer *kafkago.Dialer, transport *kafkago.Transport) error {
	user, password, err := k.Credentials()
	if err != nil {
		return err
	}
	security, err := kafka.NewSecurity(kafka.SecurityOptions{TLS: k.TLSEnabled, CAFile: k.TLSCAFile, CertFile: k.TLSCertFile,
		KeyFile: k.TLSKeyFile, ServerName: k.TLSServerName, SASLMechanism: string(k.SASLMechanism), Username: user, Password: password.Reveal()})
	if err != nil {
		return err
	}
	security.Apply(dialer, transport)
	return nil
}

// preflight connects to the brokers once before anything else. A wrong
// address, certificate or password ends the run here, with one error naming
// the variable to fix, before the clients retry it in a loop.
func (s *Service) preflight(ctx context.Context) error {
	v := func(name string) string { return config.Prefix + "_KAFKA_" + name }
	user, password := v("SASL_USERNAME"), "the password in "+v("SASL_PASSWORD")
	if s.cfg.SASLUsernameFile != "" {
		user = v("SASL_USERNAME_FILE")
	}
	if s.cfg.SASLPasswordFile != "" {
		password = "the password in " + v("SASL_PASSWORD_FILE")
	}
	return kafka.Preflight{Brokers: s.cfg.Brokers, Dialer: s.dialer, Settings: kafka.Settings{
		Brokers: v("BROKERS"), TLS: v("TLS_ENABLED"), CAFile: v("TLS_CA_FILE"), CertFile: v("TLS_CERT_FILE"), ServerName: v("TLS_SERVER_NAME"),
		Mechanism: v("SASL_MECHANISM"), Username: user, Password: password,
	}}.Check(ctx)
}
