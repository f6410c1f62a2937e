package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DocGroup is a heading of the configuration reference and the variables
// under it, in order.
type DocGroup struct {
	Title string
	Intro string
	Vars  []string
}

// DocGroups sorts every variable into the reference's sections. A variable
// added to Config without a place here makes Reference report it under
// "Unsorted" and the reference test fail.
func DocGroups() []DocGroup {
	p := func(names ...string) []string {
		for i, n := range names {
			names[i] = Prefix + "_" + n
		}
		return names
	}
	return []DocGroup{
		{"Kafka", "How casus reaches the brokers.", p("KAFKA_BROKERS", "KAFKA_CLIENT_ID")},
		{"Security", "TLS and SASL towards the brokers. casus refuses half-set security (a CA file without TLS, a user name without a mechanism) rather than connect in the clear; the `_FILE` variables are read once, at start-up.",
			p("KAFKA_TLS_ENABLED", "KAFKA_TLS_CA_FILE", "KAFKA_TLS_CERT_FILE", "KAFKA_TLS_KEY_FILE", "KAFKA_TLS_SERVER_NAME",
				"KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_USERNAME_FILE", "KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE")},
		{"Topics", "What casus reads and writes ([operations.md](operations.md#topics)).",
			p("INPUTS", "TOPIC_SIGNALS", "TOPIC_INCIDENTS", "TOPIC_ESCALATIONS", "TOPIC_DEADLETTER", "TOPIC_STATE",
				"CREATE_TOPICS", "TOPIC_PARTITIONS", "TOPIC_REPLICATION")},
		{"Processing", "Roles, batching, event time and the bounds on the stateful roles' memory ([operations.md](operations.md#roles-and-scaling)).",
			p("GROUP_ID", "ROLES", "BATCH_SIZE", "BATCH_TIMEOUT", "MAX_RECORD_BYTES", "GRACE_PERIOD",
				"ESCALATION_MIN_LEVEL", "ALLOWED_LATENESS", "IDLE_AFTER", "MAX_INCIDENTS", "MAX_CAMPAIGN_INCIDENTS")},
		{"Context files", "YAML files, decoded strictly and read at start-up: restart casus to load new versions ([operations.md](operations.md#context-files)).",
			p("ASSETS_FILE", "INTEL_FILE", "POLICY_FILE")},
		{"Rules", "Sigma rules added to the bundled ones, reloaded while casus runs ([operations.md](operations.md#reloading-rules), [writing-rules.md](writing-rules.md)).",
			p("RULES_DIRS", "RULES_POLL_INTERVAL")},
		{"Signing", "The Ed25519 key that signs the escalations topic's records ([escalations.md](escalations.md#signatures)). casus refuses a key file that others can read or write, or its group can write; group read is accepted for Kubernetes secret volumes with an `fsGroup`. Only processes running the campaign role read it.",
			p("SIGNING_KEY_FILE", "SIGNING_KEY_ID")},
		{"Observability", "HTTP endpoints and logs ([operations.md](operations.md#health-and-metrics)).",
			p("METRICS_ADDR", "LOG_LEVEL", "LOG_FORMAT")},
	}
}

// referenceHeader opens the reference.
const referenceHeader = `# Configuration reference

<!-- Generated from internal/config by Reference; do not edit by hand. -->

casus is configured by environment variables only. This page is generated
from the configuration struct (` + "`config.Vars()`" + `) and from what its validation
accepts, and a test fails when it is out of date; regenerate it with

    go test ./internal/config -run ConfigReference -update

` + "`casus config`" + ` prints every variable with the value in force, and
[deploy/casus.env.example](../deploy/casus.env.example) lists them with their
defaults. An invalid value stops casus with exit code 2 and one line per
problem: the variable, the value and what is allowed. A variable set to the
empty string is empty, not its default. Lists are comma-separated; spaces
around items are ignored. Durations are Go durations (` + "`200ms`, `30s`, `1m30s`" + `).

[operations.md](operations.md#configuration) says which variables most
deployments set.

`

// Reference renders the configuration reference as Markdown: every
// variable of Vars, grouped by DocGroups, with its type, default, the
// values Validate accepts, whether it is a secret and its _FILE
// counterpart. knownFormats are the input formats, as for Validate. The
// allowed values are Validate's own words: each variable is set to values
// that cannot pass, alone on the defaults, and the reference quotes what
// Validate answers.
func Reference(knownFormats []string) string {
	vars := Vars()
	byName := make(map[string]Var, len(vars))
	for _, v := range vars {
		byName[v.Name] = v
	}
	groups := DocGroups()
	placed := map[string]bool{}
	for _, g := range groups {
		for _, n := range g.Vars {
			placed[n] = true
		}
	}
	var unsorted []string
	for _, v := range vars {
		if !placed[v.Name] {
			unsorted = append(unsorted, v.Name)
		}
	}
	if len(unsorted) > 0 {
		groups = append(groups, DocGroup{Title: "Unsorted", Intro: "Variables DocGroups does not place yet.", Vars: unsorted})
	}

	var b strings.Builder
	b.WriteString(referenceHeader)
	b.WriteString("## Contents\n\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "- [%s](#%s):", g.Title, anchor(g.Title))
		for i, n := range g.Vars {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s [`%s`](#%s)", sep, n, anchor(n))
		}
		b.WriteString("\n")
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", g.Title, g.Intro)
		for _, n := range g.Vars {
			v, ok := byName[n]
			if !ok {
				fmt.Fprintf(&b, "\n### %s\n\nNot a variable of this version.\n", n)
				continue
			}
			writeVar(&b, v, byName, knownFormats)
		}
	}
	return b.String()
}

func writeVar(b *strings.Builder, v Var, byName map[string]Var, knownFormats []string) {
	fmt.Fprintf(b, "\n### %s\n\n%s\n\n", v.Name, sentence(strings.ReplaceAll(v.Description, "*", `\*`)))
	fmt.Fprintf(b, "- Type: %s\n", code(v.Type))
	if v.Default == "" {
		b.WriteString("- Default: empty\n")
	} else {
		fmt.Fprintf(b, "- Default: %s\n", code(v.Default))
	}
	allowed, needs := validation(v.Name, knownFormats)
	if allowed == "" {
		allowed = syntaxOf(v.Name)
	}
	fmt.Fprintf(b, "- Allowed: %s\n", allowed)
	if needs != "" {
		fmt.Fprintf(b, "- Set only when: %s\n", needs)
	}
	if v.Secret {
		b.WriteString("- Secret: never printed; `casus config` and error messages show `****`\n")
	}
	if f, ok := byName[v.Name+"_FILE"]; ok {
		fmt.Fprintf(b, "- From a file: set [`%s`](#%s) instead (one or the other)\n", f.Name, anchor(f.Name))
	}
	if base, ok := strings.CutSuffix(v.Name, "_FILE"); ok {
		if bv, ok := byName[base]; ok {
			fmt.Fprintf(b, "- File form of [`%s`](#%s): the file's content, less one trailing newline, is the value\n", bv.Name, anchor(bv.Name))
		}
	}
}

// validation sets the variable alone, on the defaults, to values that do
// not pass and returns what Validate says is allowed. A message of the
// form "empty unless X" states a dependency on another variable rather
// than a range; it is returned as needs.
func validation(name string, knownFormats []string) (allowed, needs string) {
	for _, probe := range []string{"-1", "-1ns", "", "\x01", "x,x"} {
		c := Defaults()
		f, ok := fieldNamed(&c, name)
		if !ok || f.set(probe) != nil {
			continue
		}
		for _, err := range c.validate(knownFormats) {
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Var != name {
				continue
			}
			if rest, ok := strings.CutPrefix(e.Allowed, "empty unless "); ok {
				if needs == "" {
					needs = rest
				}
				continue
			}
			if allowed == "" {
				allowed = e.Allowed
			}
		}
		if allowed != "" {
			break
		}
	}
	return allowed, needs
}

func fieldNamed(c *Config, name string) (field, bool) {
	i := slices.IndexFunc(fields(c), func(f field) bool { return f.name == name })
	if i < 0 {
		return field{}, false
	}
	return fields(c)[i], true
}

// syntaxOf is what a variable accepts when Validate adds nothing to its
// syntax.
func syntaxOf(name string) string {
	if strings.HasSuffix(name, "_FILE") {
		return "a file path; empty for none"
	}
	var c Config
	f, ok := fieldNamed(&c, name)
	if !ok {
		return ""
	}
	return allowedSyntax(f.value.Type())
}

// sentence capitalises a description and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// code renders a value as inline code, with room for backquotes in it.
func code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// anchor is the fragment GitHub derives from a heading: lower case, spaces
// as hyphens, punctuation other than - and _ dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
