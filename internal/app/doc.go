// Package app is casus's composition root: it turns a config.Config into a
// running service (`casus run`), the offline pipeline (`casus classify`) and
// the demo (`casus demo`). It loads the rules, the policy and the context
// files, builds the one Prometheus registry, the Kafka clients and the HTTP
// endpoints, and owns shutdown. The packages it wires know nothing of each
// other's construction.
package app
