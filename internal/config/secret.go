package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Secret is a value that must never be printed, such as a password. Every
// way fmt, encoding/json, encoding (text) and log/slog render it shows
// "****" (an empty Secret stays empty), so a Config can be logged, dumped
// with %#v or carried by a panic without leaking it. Reveal returns the
// value itself, for the one place that uses it.
type Secret string

const masked = "****"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return masked
}

// String masks the secret.
func (s Secret) String() string { return s.shown() }

// GoString masks the secret in %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// Format masks the secret under every verb and flag; %q quotes the mask and
// %#v shows Go syntax around it.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// MarshalJSON masks the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalText masks the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// LogValue masks the secret in log/slog records.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

var (
	_ fmt.Formatter  = Secret("")
	_ fmt.GoStringer = Secret("")
	_ json.Marshaler = Secret("")
	_ slog.LogValuer = Secret("")
)

// Credentials returns the SASL user name and password, each from its
// variable or read from its file. A file's content is taken whole but for
// one trailing newline ("\n" or "\r\n"), and must not be empty. Validate
// does no I/O, so the files are read here, once, when the service starts;
// without a SASL mechanism Credentials returns nothing.
func (k Kafka) Credentials() (user string, password Secret, err error) {
	if k.SASLMechanism == SASLNone {
		return "", "", nil
	}
	user = k.SASLUsername
	if k.SASLUsernameFile != "" {
		if user, err = readSecretFile(Prefix+"_KAFKA_SASL_USERNAME_FILE", "SASL user name", k.SASLUsernameFile); err != nil {
			return "", "", err
		}
	}
	password = k.SASLPassword
	if k.SASLPasswordFile != "" {
		pw, err := readSecretFile(Prefix+"_KAFKA_SASL_PASSWORD_FILE", "SASL password", k.SASLPasswordFile)
		if err != nil {
			return "", "", err
		}
		password = Secret(pw)
	}
	return user, password, nil
}

// readSecretFile reads a one-value file. Its errors name the variable and
// the path, never the content.
func readSecretFile(name, what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err // the path is already in the message
		}
		return "", fmt.Errorf("read %s file %s (%s): %w", what, path, name, err)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", fmt.Errorf("%s file %s (%s) is empty", what, path, name)
	}
	return s, nil
}
