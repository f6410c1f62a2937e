#!/usr/bin/env bash
# Checks everything under deploy/ with the real tools, offline apart from package registries:
#   deploy/docker/check.sh      the container build script, a static non-root binary, the
#                               Dockerfile and .dockerignore
#   deploy/systemd/check.sh     systemd-analyze verify and the unit's exposure score
#   deploy/prometheus/check.sh  promtool check and test rules, the example config
#   deploy/helm/check.sh        helm lint and template, every rendered object schema-checked
# Each installs what it lacks (Debian packages when root, Go tools and a Python venv under
# ${CASUS_CACHE_DIR:-$HOME/.cache/casus}). Runs them all, prints a summary, exits 1 if any failed.
#
# usage: scripts/deploy-check.sh [docker|systemd|prometheus|helm]...
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT

checks=("$@")
((${#checks[@]})) || checks=(docker systemd prometheus helm)

failed=()
summary=()
for c in "${checks[@]}"; do
	script=$ROOT/deploy/$c/check.sh
	[[ -f $script ]] || {
		echo "deploy-check: no such check: $c (deploy/$c/check.sh)" >&2
		exit 2
	}
	printf '\n--> deploy/%s/check.sh\n' "$c"
	t0=$(printf '%(%s)T' -1)
	if bash "$script"; then
		summary+=("ok    $c ($(($(printf '%(%s)T' -1) - t0))s)")
	else
		summary+=("FAIL  $c ($(($(printf '%(%s)T' -1) - t0))s)")
		failed+=("$c")
	fi
done
printf '\ndeploy checks:\n'
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
	echo "deploy-check: failed: ${failed[*]}" >&2
	exit 1
fi
