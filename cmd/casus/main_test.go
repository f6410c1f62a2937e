package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.ndjson")
	data := `{"@timestamp":"2026-03-02T06:00:00Z","event":{"category":"process"},"host":{"name":"ws1"},"process":{"name":"vssadmin.exe","executable":"C:\\Windows\\System32\\vssadmin.exe","command_line":"vssadmin delete shadows /all /quiet"}}` + "\n{broken\n"
	if err := os.WriteFile(input, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string
		stdout string
	}{
		{"no command", nil, nil, exitUsage, "usage: casus", ""},
		{"unknown command", []string{"frobnicate"}, nil, exitUsage, `unknown command "frobnicate"`, ""},
		{"classify unknown format", []string{"classify", "--format", "pcap", input}, nil, exitUsage, `unknown format "pcap"`, ""},
		{"classify two files", []string{"classify", input, input}, nil, exitUsage, "usage: casus classify", ""},
		{"classify missing file", []string{"classify", filepath.Join(dir, "nope")}, nil, exitUsage, "no such file", ""},
		{"classify with a bad record still succeeds", []string{"classify", "--signals", input}, nil, exitOK, "2 records, 1 bad, 1 signals", `"rule_title":"Shadow copies deleted"`},
		{"bad configuration names every problem", []string{"classify", input}, map[string]string{"CASUS_BATCH_SIZE": "0", "CASUS_LOG_LEVEL": "loud"}, exitUsage, "CASUS_BATCH_SIZE=0", ""},
		{"config prints variables", []string{"config"}, nil, exitOK, "", "CASUS_KAFKA_BROKERS"},
		{"config with a bad value exits 2", []string{"config"}, map[string]string{"CASUS_GRACE_PERIOD": "soon"}, exitUsage, "CASUS_GRACE_PERIOD=soon", "CASUS_GRACE_PERIOD"},
		{"run refuses an unknown role", []string{"run"}, map[string]string{"CASUS_ROLES": "classify,score"}, exitUsage, "CASUS_ROLES", ""},
		{"version", []string{"version"}, nil, exitOK, "", "casus devel"},
		{"run rejects arguments", []string{"run", "extra"}, nil, exitUsage, "usage: casus run", ""},
		{"demo rejects a bad port", []string{"demo", "--port", "70000"}, nil, exitUsage, "--port", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errw bytes.Buffer
			code := run(tc.args, &out, &errw)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errw.String())
			}
			if !strings.Contains(errw.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errw.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if tc.name == "bad configuration names every problem" && !strings.Contains(errw.String(), "CASUS_LOG_LEVEL=loud") {
				t.Errorf("only the first problem reported:\n%s", errw.String())
			}
		})
	}
}
