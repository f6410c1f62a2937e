package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesExitCodes(t *testing.T) {
	data := filepath.Join("..", "..", "internal", "app", "testdata", "rulestool")
	lint := filepath.Join(data, "lint")
	builtin := filepath.Join("..", "..", "classify", "rules")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no subcommand", []string{"rules"}, exitUsage, "", "usage: casus rules lint"},
		{"unknown subcommand", []string{"rules", "check"}, exitUsage, "", `unknown command "check"`},
		{"help", []string{"rules", "help"}, exitOK, "usage: casus rules", ""},
		{"lint without paths", []string{"rules", "lint"}, exitUsage, "", "usage: casus rules lint"},
		{"lint a missing path", []string{"rules", "lint", filepath.Join(data, "nope")}, exitUsage, "", "no such file"},
		{"lint a bad flag", []string{"rules", "lint", "--strict", lint}, exitUsage, "", "flag provided but not defined"},
		{"lint good rules", []string{"rules", "lint", filepath.Join(lint, "good")}, exitOK, "2 files read, 3 rules loaded, 0 rejected", ""},
		{"lint warnings only", []string{"rules", "lint", filepath.Join(lint, "warnings")}, exitOK, `warning: rule "Rule with warnings"`, ""},
		{"lint bad rules", []string{"rules", "lint", filepath.Join(lint, "bad")}, exitFailure, "modifier.yml:9:5: error: unsupported:", ""},
		{"lint with placeholders", []string{"rules", "lint", "--placeholders", filepath.Join(lint, "placeholders.yaml"), filepath.Join(lint, "placeholder")}, exitOK, "1 rules loaded", ""},
		{"lint without placeholders", []string{"rules", "lint", filepath.Join(lint, "placeholder")}, exitFailure, "unresolved placeholder", ""},
		{"lint a bad placeholders file", []string{"rules", "lint", "--placeholders", filepath.Join(lint, "placeholders.bad.yaml"), filepath.Join(lint, "placeholder")}, exitUsage, "", "placeholders.bad.yaml:2:3"},
		{"lint built-in rules", []string{"rules", "lint", builtin}, exitOK, "0 rejected, 0 errors", ""},
		{"test without paths", []string{"rules", "test"}, exitUsage, "", "usage: casus rules test"},
		{"test a missing path", []string{"rules", "test", filepath.Join(data, "nope")}, exitUsage, "", "no such file"},
		{"test an unknown format", []string{"rules", "test", "--format", "pcap", filepath.Join(data, "ruletest", "pass")}, exitUsage, "", `unknown format "pcap"`},
		{"test a tree without tests", []string{"rules", "test", filepath.Join(lint, "warnings")}, exitUsage, "", "no rule tests"},
		{"test passing cases", []string{"rules", "test", filepath.Join(data, "ruletest", "pass")}, exitOK, "7 cases, 7 passed, 0 failed", ""},
		{"test failing cases", []string{"rules", "test", filepath.Join(data, "ruletest", "fail")}, exitFailure, "should have fired and did not", ""},
		{"test regression layout", []string{"rules", "test", "--format", "ecs", filepath.Join(data, "sigma", "rules")}, exitFailure, "4 cases, 2 passed, 1 failed, 1 skipped", ""},
		{"test regression with --rules and placeholders", []string{"rules", "test", "--format", "ecs", "--placeholders", filepath.Join(lint, "placeholders.yaml"),
			"--rules", filepath.Join(data, "sigma", "rules"), "--rules", filepath.Join(data, "sigma", "rules-placeholder"),
			filepath.Join(data, "sigma", "regression_data", "rules-placeholder")}, exitOK, "1 cases, 1 passed", ""},
		{"test built-in rules", []string{"rules", "test", builtin}, exitOK, " 0 failed, 0 skipped", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code := run(tc.args, &out, &errw)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errw.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if !strings.Contains(errw.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errw.String())
			}
		})
	}
}
