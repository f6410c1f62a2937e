package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// envExample is deploy/casus.env.example, generated from Vars so that it
// cannot drift from the configuration struct.
const envExample = "../../deploy/casus.env.example"

func renderEnvExample() string {
	var b strings.Builder
	b.WriteString("# casus configuration: every CASUS_* variable with its default.\n")
	b.WriteString("# Generated from internal/config (go test ./internal/config -update); do not edit by hand.\n")
	b.WriteString("# Uncomment and change what your deployment needs; `casus config` prints the values in force.\n")
	for _, v := range Vars() {
		fmt.Fprintf(&b, "\n# %s (%s)\n", v.Description, v.Type)
		fmt.Fprintf(&b, "#%s=%s\n", v.Name, v.Default)
	}
	return b.String()
}

func TestEnvExampleIsCurrent(t *testing.T) {
	want := renderEnvExample()
	if *update {
		if err := os.WriteFile(envExample, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatalf("%v (go test ./internal/config -update writes it)", err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with the configuration struct: go test ./internal/config -update", envExample)
	}
	for _, v := range Vars() {
		if !strings.Contains(string(got), "#"+v.Name+"=") {
			t.Errorf("%s lacks %s", envExample, v.Name)
		}
	}
}
