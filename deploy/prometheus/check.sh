#!/usr/bin/env bash
# Checks the Prometheus rules and example configuration of casus:
#   promtool check rules   casus-rules.yml          (syntax, expressions, templates)
#   promtool test rules    casus-rules.test.yml     (every alert fires, and not in a near miss)
#   promtool check config  prometheus.example.yml   (the example scrape config and its rule file)
#   go test ./deploy/ -run Rules                     (metric names and labels against what casus
#                                                     exports, runbook anchors, test coverage)
# promtool comes from PATH, else from Debian's prometheus package, installed with apt-get when
# running as root (as in CI). Prints each check and its result; exits 1 if any failed.
# usage: bash deploy/prometheus/check.sh
set -uo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)

log() { printf 'prometheus check: %s\n' "$*"; }

install_promtool() {
	if [[ $(id -u) -ne 0 ]]; then
		log "promtool not found and not running as root: install Debian's prometheus package (apt-get install prometheus) or put promtool on PATH"
		return 1
	fi
	if ! command -v apt-get >/dev/null; then
		log "promtool not found and apt-get is not available: put promtool on PATH"
		return 1
	fi
	log "installing Debian's prometheus package for promtool"
	# The package's maintainer scripts try to start the prometheus service. Forbid it
	# (invoke-rc.d honours policy-rc.d) unless a policy is already in place, and carry on if
	# the configuration step still fails: only the promtool binary is needed.
	local policy=/usr/sbin/policy-rc.d created=""
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || log "apt-get update failed; trying the install anyway"
	apt-get install -y -qq --no-install-recommends prometheus ||
		log "apt-get install prometheus reported an error (often the service start in a container); checking for promtool"
	if [[ -n $created ]]; then
		rm -f "$policy"
	fi
	if ! command -v promtool >/dev/null; then
		log "promtool still not found after installing prometheus"
		return 1
	fi
}

if ! command -v promtool >/dev/null; then
	install_promtool || exit 1
fi
log "using $(command -v promtool): $(promtool --version 2>&1 | head -1)"

failed=()
run() {
	local what=$1
	shift
	log "$what: $*"
	if "$@"; then
		log "$what: ok"
	else
		log "$what: FAILED"
		failed+=("$what")
	fi
}

cd "$HERE" || exit 1
run "check rules" promtool check rules casus-rules.yml
run "test rules" promtool test rules casus-rules.test.yml
run "check config" promtool check config prometheus.example.yml

cd "$ROOT" || exit 1
if command -v go >/dev/null; then
	run "go test rules" go test -count=1 ./deploy/ -run Rules
else
	log "go test rules: go not found on PATH"
	failed+=("go test rules")
fi

if ((${#failed[@]})); then
	log "FAILED: ${failed[*]}"
	exit 1
fi
log "all passed: rules, rule unit tests, example config, Go rule checks"
