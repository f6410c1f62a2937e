// Package deploy holds what runs casus outside the repository: the
// container build, the Helm chart, the systemd unit, the Prometheus rules
// and the Grafana dashboard. Its tests check them against the metrics a
// casus process really exports; the tools that render and validate them
// are run by scripts/deploy-check.sh.
package deploy
