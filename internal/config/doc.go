// Package config reads casus's configuration from CASUS_* environment variables
// and validates it.
//
// The settings live in one struct per concern (Kafka, Topics, Group, Runtime,
// Files, Escalation, Signing), embedded into Config. Every field carries envconfig tags:
// `envconfig` names the variable (without the CASUS_ prefix), `default` its
// default and `desc` its meaning; `secret:"true"` masks a value when printed.
// Those tags are the single source of the variable list: FromEnv, Defaults,
// Vars and Print all walk them, and the struct stays readable by
// envconfig.Process("CASUS", &cfg).
//
// FromEnv reports every unparsable variable at once and Validate every invalid
// value at once, each problem as an *Error naming the variable, the value and
// what is allowed. Validate does no I/O: paths are checked where they are opened.
// Kafka.Credentials reads the SASL user name and password files, once, at
// start-up. The password is a Secret, which prints as "****" however it is
// formatted, marshalled or logged.
//
// The package imports nothing of casus and nothing of Kafka.
package config
