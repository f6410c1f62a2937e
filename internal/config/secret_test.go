package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testPassword = "Tr0ub4dor&3-horse"

// secretConfig is a valid Config carrying testPassword.
func secretConfig(t *testing.T) Config {
	t.Helper()
	c, err := Load(mapLookup(map[string]string{
		"CASUS_KAFKA_TLS_ENABLED":    "true",
		"CASUS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"CASUS_KAFKA_SASL_USERNAME":  "casus",
		"CASUS_KAFKA_SASL_PASSWORD":  testPassword,
	}), testFormats)
	if err != nil {
		t.Fatal(err)
	}
	if c.SASLPassword.Reveal() != testPassword {
		t.Fatalf("Reveal = %q", c.SASLPassword.Reveal())
	}
	return c
}

func TestSecretFormatting(t *testing.T) {
	s := Secret(testPassword)
	for _, tc := range []struct{ format, want string }{
		{"%v", "****"}, {"%+v", "****"}, {"%#v", `config.Secret("****")`}, {"%s", "****"}, {"%q", `"****"`},
		{"%x", "****"}, {"%X", "****"}, {"%d", "****"}, {"%10s", "****"}, {"%-8v|", "****|"},
	} {
		if got := fmt.Sprintf(tc.format, s); got != tc.want {
			t.Errorf("Sprintf(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		got  string
	}{
		{"String", s.String()}, {"GoString", s.GoString()}, {"Sprint", fmt.Sprint(s)}, {"Sprintln", fmt.Sprintln(s)},
		{"Sprint pointer", fmt.Sprint(&s)}, {"Sprintf %v of a slice", fmt.Sprintf("%v", []Secret{s})},
		{"Sprintf %#v of a map", fmt.Sprintf("%#v", map[string]Secret{"pw": s})},
	} {
		if strings.Contains(tc.got, testPassword) || !strings.Contains(tc.got, "****") {
			t.Errorf("%s = %q", tc.name, tc.got)
		}
	}
	// Empty stays empty, so "not set" remains visible.
	var empty Secret
	for _, tc := range []struct{ format, want string }{{"%v", ""}, {"%s", ""}, {"%q", `""`}, {"%#v", `config.Secret("")`}} {
		if got := fmt.Sprintf(tc.format, empty); got != tc.want {
			t.Errorf("empty: Sprintf(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestSecretMarshalling(t *testing.T) {
	for _, tc := range []struct {
		s          Secret
		json, text string
	}{{Secret(testPassword), `"****"`, "****"}, {"", `""`, ""}} {
		j, err := json.Marshal(tc.s)
		if err != nil || string(j) != tc.json {
			t.Errorf("json.Marshal = %s, %v; want %s", j, err, tc.json)
		}
		txt, err := tc.s.MarshalText()
		if err != nil || string(txt) != tc.text {
			t.Errorf("MarshalText = %s, %v; want %s", txt, err, tc.text)
		}
		if v := tc.s.LogValue(); v.String() != tc.text {
			t.Errorf("LogValue = %q, want %q", v, tc.text)
		}
	}
}

// TestConfigNeverShowsSecret formats, marshals and logs a whole Config,
// as a careless debug line or error message would.
func TestConfigNeverShowsSecret(t *testing.T) {
	c := secretConfig(t)
	outputs := map[string]string{
		"Kafka %+v": fmt.Sprintf("%+v", c.Kafka), "pointer %+v": fmt.Sprintf("%+v", &c),
		"error": fmt.Errorf("start with %+v: %w", c.Kafka, errors.ErrUnsupported).Error(),
	}
	// %s and %q are not meant for a struct, but fmt still walks its fields.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		outputs[verb] = fmt.Sprintf(verb, c)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	if !strings.Contains(string(j), `"SASLPassword":"****"`) {
		t.Errorf("JSON does not mask the password: %s", j)
	}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"slog JSON", func(b *bytes.Buffer) slog.Handler {
			return slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		}},
		{"slog text", func(b *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		}},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Debug("config", "config", c, "kafka", c.Kafka, "password", c.SASLPassword, "ptr", &c)
		log.With("kafka", c.Kafka).Info("with", slog.Group("g", "pw", c.SASLPassword))
		outputs[h.name] = buf.String()
	}
	for name, out := range outputs {
		if strings.Contains(out, testPassword) {
			t.Errorf("%s shows the password:\n%s", name, out)
		}
		if !strings.Contains(out, "****") {
			t.Errorf("%s does not show the mask:\n%s", name, out)
		}
	}
}

func TestPrintMasksSecretFromEnv(t *testing.T) {
	c := secretConfig(t)
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), testPassword) || !strings.Contains(buf.String(), "CASUS_KAFKA_SASL_PASSWORD       ****") {
		t.Fatalf("Print:\n%s", buf.String())
	}
}

// TestPanicNeverShowsSecret lets panics built from the Config kill a child
// process, since only an unrecovered panic shows what the runtime prints.
func TestPanicNeverShowsSecret(t *testing.T) {
	if mode := os.Getenv("CASUS_CONFIG_PANIC"); mode != "" {
		c := secretConfig(t)
		switch mode {
		case "config":
			panic(c)
		case "kafka":
			panic(c.Kafka)
		case "pointer":
			panic(&c)
		case "secret":
			panic(c.SASLPassword)
		case "sprintf":
			panic(fmt.Sprintf("bad configuration %#v", c))
		case "error":
			panic(fmt.Errorf("bad configuration %+v", c))
		}
		t.Fatalf("unknown mode %q", mode)
	}
	for _, mode := range []string{"config", "kafka", "pointer", "secret", "sprintf", "error"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPanicNeverShowsSecret$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CASUS_CONFIG_PANIC="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "panic: ") {
				t.Fatalf("child did not panic (%v):\n%s", err, out)
			}
			if strings.Contains(string(out), testPassword) {
				t.Fatalf("panic output shows the password:\n%s", out)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scram := func(k Kafka) Kafka { k.SASLMechanism = SASLScramSHA256; return k }
	for _, tc := range []struct {
		name     string
		kafka    Kafka
		user, pw string
	}{
		{"values", scram(Kafka{SASLUsername: "casus", SASLPassword: "pw"}), "casus", "pw"},
		{"files with a newline", scram(Kafka{SASLUsernameFile: write("u1", "casus\n"), SASLPasswordFile: write("p1", "s3cret\n")}), "casus", "s3cret"},
		{"CRLF", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: write("p2", "s3cret\r\n")}), "casus", "s3cret"},
		{"only one newline is stripped", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: write("p3", " s3 cret \n\n")}), "casus", " s3 cret \n"},
		{"no newline", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: write("p4", "s3cret")}), "casus", "s3cret"},
		{"no mechanism reads nothing", Kafka{SASLPasswordFile: filepath.Join(dir, "absent")}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, pw, err := tc.kafka.Credentials()
			if err != nil {
				t.Fatal(err)
			}
			if user != tc.user || pw.Reveal() != tc.pw {
				t.Fatalf("Credentials = %q, %q; want %q, %q", user, pw.Reveal(), tc.user, tc.pw)
			}
		})
	}
	absent := filepath.Join(dir, "absent")
	for _, tc := range []struct {
		name  string
		kafka Kafka
		want  string
		is    error
	}{
		{"missing password file", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: absent}),
			"read SASL password file " + absent + " (CASUS_KAFKA_SASL_PASSWORD_FILE): no such file or directory", fs.ErrNotExist},
		{"missing user file", scram(Kafka{SASLUsernameFile: absent, SASLPassword: "pw"}),
			"read SASL user name file " + absent + " (CASUS_KAFKA_SASL_USERNAME_FILE): no such file or directory", fs.ErrNotExist},
		{"empty password file", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: write("empty", "\n")}),
			"SASL password file " + filepath.Join(dir, "empty") + " (CASUS_KAFKA_SASL_PASSWORD_FILE) is empty", nil},
		{"directory", scram(Kafka{SASLUsername: "casus", SASLPasswordFile: dir}),
			"read SASL password file " + dir + " (CASUS_KAFKA_SASL_PASSWORD_FILE): is a directory", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.kafka.Credentials()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Credentials error = %v\nwant %s", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("%v does not wrap %v", err, tc.is)
			}
		})
	}
}
