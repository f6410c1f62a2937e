package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"
)

var update = flag.Bool("update", false, "rewrite testdata/config.golden")

// leaves lists the settable fields of a struct type, looking through embedded
// structs, independently of the package's own walk.
func leaves(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for sf := range t.Fields() {
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			out = append(out, leaves(sf.Type)...)
			continue
		}
		out = append(out, sf)
	}
	return out
}

func TestVarsCoverEveryField(t *testing.T) {
	vars := Vars()
	byName := map[string]Var{}
	for _, v := range vars {
		if _, dup := byName[v.Name]; dup {
			t.Errorf("%s is declared twice", v.Name)
		}
		byName[v.Name] = v
	}
	fs := leaves(reflect.TypeFor[Config]())
	if len(fs) != len(vars) {
		t.Errorf("Config has %d fields, Vars() lists %d", len(fs), len(vars))
	}
	for _, sf := range fs {
		key := sf.Tag.Get("envconfig")
		if key == "" {
			t.Errorf("field %s has no envconfig tag", sf.Name)
			continue
		}
		v, ok := byName["CASUS_"+key]
		if !ok {
			t.Errorf("field %s (CASUS_%s) is missing from Vars()", sf.Name, key)
			continue
		}
		if strings.TrimSpace(sf.Tag.Get("desc")) == "" || v.Description != sf.Tag.Get("desc") {
			t.Errorf("%s: field %s needs a desc tag", v.Name, sf.Name)
		}
		if v.Type == "" {
			t.Errorf("%s has no type", v.Name)
		}
	}
	if !byName["CASUS_KAFKA_SASL_PASSWORD"].Secret {
		t.Error("CASUS_KAFKA_SASL_PASSWORD is not marked secret")
	}
}

// TestVarsMatchEnvconfig checks that envconfig's own walk of Config names the
// same variables, defaults and descriptions, in the same order, as Vars.
func TestVarsMatchEnvconfig(t *testing.T) {
	const sep = "\x1f"
	var buf bytes.Buffer
	tmpl := `{{range .}}{{usage_key .}}` + sep + `{{usage_default .}}` + sep + `{{usage_description .}}` + "\n{{end}}"
	if err := envconfig.Usagef(Prefix, &Config{}, &buf, tmpl); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, v := range Vars() {
		want = append(want, v.Name+sep+v.Default+sep+v.Description)
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("envconfig sees\n%s\nVars() has\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEnvconfigProcessAgrees checks that envconfig.Process reads the same
// environment into the same Config as FromEnv, so the struct stays a valid
// envconfig specification. It sets every variable, so envconfig never falls
// back to an unprefixed name.
func TestEnvconfigProcessAgrees(t *testing.T) {
	env := map[string]string{}
	for _, tc := range goodValues {
		env[tc.v] = tc.value
	}
	env["CASUS_KAFKA_TLS_ENABLED"] = "1"
	env["CASUS_KAFKA_SASL_PASSWORD"] = "pw"
	for k, v := range env {
		t.Setenv(k, v)
	}
	var viaEnvconfig Config
	if err := envconfig.Process(Prefix, &viaEnvconfig); err != nil {
		t.Fatal(err)
	}
	viaFromEnv, err := FromEnv(mapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaEnvconfig, viaFromEnv) {
		t.Fatalf("envconfig.Process = %+v\nFromEnv         = %+v", viaEnvconfig, viaFromEnv)
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	const pw = "correct-horse-battery"
	c := Defaults()
	c.SASLPassword = pw
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, pw) {
		t.Fatalf("Print shows the password:\n%s", out)
	}
	var line string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "CASUS_KAFKA_SASL_PASSWORD ") {
			line = l
		}
	}
	if fields := strings.Fields(line); len(fields) < 2 || fields[1] != "****" {
		t.Fatalf("password line %q does not show ****", line)
	}
}

func TestPrintShowsValues(t *testing.T) {
	c := Defaults()
	c.Brokers = []string{"k1:9092", "k2:9092"}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "k1:9092,k2:9092") {
		t.Fatalf("Print does not show the brokers:\n%s", buf.String())
	}
	if n := strings.Count(buf.String(), "\n"); n != len(Vars())+1 {
		t.Fatalf("Print wrote %d lines, want a header and %d variables", n, len(Vars()))
	}
}

func TestPrintGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Print(&buf, Defaults()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "config.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Print(Defaults()) differs from %s (run go test -update if intended):\n%s", golden, buf.String())
	}
}
