// Package rules holds casus's built-in Sigma rules: recognisers of
// reconnaissance (scans, ping sweeps, discovery commands, scanner tools) and
// destructive attack (recovery inhibition, wiping, ransomware encryption,
// service stops, floods, unauthorised ICS writes). README.md lists them.
//
// It only embeds the files; classify/sigma compiles them.
package rules
