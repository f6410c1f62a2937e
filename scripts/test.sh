#!/usr/bin/env bash
# The whole casus test suite: formatting, go vet, staticcheck, the deployment checks
# (scripts/deploy-check.sh: container build, systemd unit, Prometheus rules with promtool, the Helm
# chart rendered and schema-checked), unit and integration tests against real Apache Kafka brokers
# started with scripts/kafka.sh (one plaintext, one SASL_SSL) and a real Prometheus server, the spray
# of spoofed sources, a short reliability soak on a 3-broker cluster (scripts/soak.sh short), then
# a short run of every fuzz target (scripts/fuzz.sh).
# Stops at the first failing step with a non-zero exit.
#
# usage: scripts/test.sh
#
# environment:
#   CASUS_FUZZTIME    -fuzztime for each fuzz target (default 10000x: a count of executions, because
#                     Go 1.26's coordinator can fail a duration run at its deadline with a bare
#                     "context deadline exceeded" and no failing input, golang/go#75804)
#   CASUS_CACHE_DIR   cache root for the broker jars, staticcheck, helm and the Python venv of the
#                     chart checks (default $HOME/.cache/casus)
#   CASUS_KAFKA_DIR   broker state dir (default: a fresh dir per run under ${TMPDIR:-/tmp}); the
#                     SASL_SSL broker uses the same path with "-sasl" appended
#   CASUS_SKIP_KAFKA  1 runs without a broker, so integration tests skip; ignored when CI=true
#   CASUS_SPRAY_SOURCES  spoofed source addresses of the memory-bound test (default 2000000)
set -euo pipefail

# staticcheck 2026.2.2; its go.mod needs Go 1.26.0, and it is built with the Go running this script.
readonly STATICCHECK_VERSION=v0.8.2
readonly FUZZTIME=${CASUS_FUZZTIME:-10000x}
readonly STEPS=9

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
cd -- "$ROOT"

CACHE_ROOT=${CASUS_CACHE_DIR:-${HOME:?HOME is not set}/.cache/casus}
readonly CACHE_ROOT

step=0
step_t0=0
section() {
	step=$((step + 1))
	step_t0=$(printf '%(%s)T' -1)
	printf '\n==> [%d/%d] %s\n' "$step" "$STEPS" "$*"
}
done_step() {
	printf -- '--- ok (%ss)\n' "$(($(printf '%(%s)T' -1) - step_t0))"
}
skipped=0
skip_step() {
	skipped=$((skipped + 1))
	printf -- '--- skipped: %s\n' "$*"
}
fail() {
	printf '\nFAIL: %s\n' "$*" >&2
	exit 1
}

command -v go >/dev/null || fail "go not found on PATH"

# go_files fills the array named $1 with the Go files of the repository: tracked ones plus new
# files not ignored by git (go vet and go test build those too), or every *.go outside a git
# work tree. Files under testdata/ are fixtures and may be deliberately malformed.
go_files() {
	local -n out=$1
	local f list=()
	if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		mapfile -d '' list < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
	else
		mapfile -d '' list < <(find . \( -name .git -o -name vendor \) -prune -o -type f -name '*.go' -print0)
	fi
	out=()
	for f in "${list[@]}"; do
		f=${f#./}
		[[ $f == testdata/* || $f == */testdata/* ]] && continue
		[[ -f $f ]] || continue # tracked but deleted in the work tree
		out+=("$f")
	done
}

# go list -e tolerates packages that do not build (they fail the later steps with their errors)
# but not a broken go.mod.
have_packages=false
no_packages_reason="no Go packages"
if [[ ! -f go.mod ]]; then
	no_packages_reason="no go.mod"
else
	list_err=$(mktemp)
	packages=$(go list -e ./... 2>"$list_err") || {
		cat -- "$list_err" >&2
		rm -f -- "$list_err"
		fail "go list ./..."
	}
	rm -f -- "$list_err"
	[[ -n $packages ]] && have_packages=true
fi
files=()
go_files files

section "gofmt"
if ((${#files[@]} == 0)); then
	skip_step "no Go files"
else
	unformatted=$(gofmt -l -- "${files[@]}") || fail "gofmt could not read or parse the files above"
	if [[ -n $unformatted ]]; then
		printf '%s\n' "$unformatted"
		fail "gofmt: these files need 'gofmt -w'"
	fi
	printf '%d files formatted\n' "${#files[@]}"
	done_step
fi

section "go vet ./..."
if ! $have_packages; then
	skip_step "$no_packages_reason"
else
	go vet ./... || fail "go vet"
	done_step
fi

section "staticcheck ./... ($STATICCHECK_VERSION)"
if ! $have_packages; then
	skip_step "$no_packages_reason"
else
	# Keyed by Go version too: a staticcheck built by an older Go cannot load newer packages.
	sc_dir=$CACHE_ROOT/staticcheck-$STATICCHECK_VERSION-$(go env GOVERSION)
	staticcheck=$sc_dir/bin/staticcheck
	if [[ ! -x $staticcheck ]]; then
		echo "installing honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION into $sc_dir/bin"
		GOFLAGS= GOBIN=$sc_dir/bin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ||
			fail "cannot install staticcheck $STATICCHECK_VERSION with go install (is the Go module proxy reachable?)"
	fi
	"$staticcheck" -version
	"$staticcheck" ./... || fail "staticcheck"
	done_step
fi

section "deployment checks (scripts/deploy-check.sh: docker, systemd, prometheus, helm)"
# Installs what they need (Debian's prometheus and systemd tools, helm, a Python venv with the
# Kubernetes schemas); the Go tests below use the same tools.
bash "$ROOT/scripts/deploy-check.sh" || fail "deploy checks"
# The Prometheus end-to-end test and the chart tests of go test run with these; in CI a missing
# tool is an error, not a skip.
for tool in prometheus promtool; do
	path=$(command -v "$tool") || { [[ ${CI:-} == true ]] && fail "$tool not found after the deploy checks"; continue; }
	var=CASUS_TEST_${tool^^}
	export "$var=$path"
	echo "$var=$path"
done
helm_version=$(sed -n 's/^HELM_VERSION=//p' "$ROOT/deploy/helm/check.sh")
export CASUS_HELM=$CACHE_ROOT/helm-$helm_version-$(go env GOVERSION)/bin/helm
[[ -x $CASUS_HELM ]] || fail "helm not found at $CASUS_HELM after the deploy checks"
echo "CASUS_HELM=$CASUS_HELM"
done_step

section "Apache Kafka brokers: plaintext and SASL_SSL (scripts/kafka.sh start)"
broker_started=false
sasl_started=false
stop_broker() {
	if $broker_started; then
		broker_started=false
		printf '\n==> stopping the Kafka broker\n'
		bash "$ROOT/scripts/kafka.sh" stop || echo "warning: scripts/kafka.sh stop failed; the broker may still run from $CASUS_KAFKA_DIR" >&2
	fi
	if $sasl_started; then
		sasl_started=false
		printf '\n==> stopping the SASL_SSL Kafka broker\n'
		CASUS_KAFKA_DIR=$SASL_KAFKA_DIR bash "$ROOT/scripts/kafka.sh" stop ||
			echo "warning: scripts/kafka.sh stop failed; the broker may still run from $SASL_KAFKA_DIR" >&2
	fi
}
on_exit() {
	local rc=$?
	stop_broker
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# env_line prints the value of the KEY=VALUE line for $1 in the text $2.
env_line() {
	local line
	while IFS= read -r line; do
		[[ $line == "$1="?* ]] && printf '%s\n' "${line#"$1="}" && return 0
	done <<<"$2"
	return 1
}

if [[ ${CASUS_SKIP_KAFKA:-} == 1 && ${CI:-} != true ]]; then
	skip_step "CASUS_SKIP_KAFKA=1: no broker, so tests that need CASUS_TEST_BROKERS or CASUS_TEST_SASL_BROKERS skip"
	unset CASUS_TEST_BROKERS CASUS_TEST_SASL_BROKERS CASUS_TEST_PLAINTEXT_BROKERS CASUS_TEST_TLS_DIR
else
	[[ ${CASUS_SKIP_KAFKA:-} == 1 ]] && echo "CI=true: ignoring CASUS_SKIP_KAFKA, the broker always runs in CI"
	# State dirs of their own, so a developer's broker from scripts/kafka.sh start is left alone.
	export CASUS_KAFKA_DIR=${CASUS_KAFKA_DIR:-${TMPDIR:-/tmp}/casus-kafka-test.$$}
	SASL_KAFKA_DIR=$CASUS_KAFKA_DIR-sasl
	# On failure kafka.sh has printed the log tail and keeps the state dir for a look.
	out=$(bash "$ROOT/scripts/kafka.sh" start) || fail "scripts/kafka.sh start"
	broker_started=true
	line=${out##*$'\n'}
	[[ $line == CASUS_TEST_BROKERS=?* ]] || fail "scripts/kafka.sh start printed no CASUS_TEST_BROKERS line (got: $line)"
	export CASUS_TEST_BROKERS=${line#CASUS_TEST_BROKERS=}
	echo "CASUS_TEST_BROKERS=$CASUS_TEST_BROKERS"
	# A second broker with a SASL_SSL listener (certificates and a SCRAM user made by kafka.sh)
	# for the TLS and SASL tests.
	out=$(CASUS_KAFKA_DIR=$SASL_KAFKA_DIR CASUS_KAFKA_SECURITY=sasl_ssl bash "$ROOT/scripts/kafka.sh" start) ||
		fail "CASUS_KAFKA_SECURITY=sasl_ssl scripts/kafka.sh start"
	sasl_started=true
	for key in CASUS_TEST_SASL_BROKERS CASUS_TEST_PLAINTEXT_BROKERS CASUS_TEST_TLS_DIR; do
		value=$(env_line "$key" "$out") || fail "CASUS_KAFKA_SECURITY=sasl_ssl scripts/kafka.sh start printed no $key line"
		export "$key=$value"
		echo "$key=$value"
	done
	done_step
fi

section "go test -race -count=1 -timeout 30m ./..."
if ! $have_packages; then
	skip_step "$no_packages_reason"
else
	go test -race -count=1 -timeout 30m ./... || fail "go test"
	done_step
fi

# The brokers are not needed after the tests; the soak step starts a cluster of its own.
stop_broker

section "spray of ${CASUS_SPRAY_SOURCES:-2000000} spoofed sources against the correlation caps (without -race)"
if ! $have_packages; then
	skip_step "$no_packages_reason"
else
	# Under -race the suite sprays 100,000; the full count needs the speed of a normal build.
	CASUS_SPRAY_SOURCES=${CASUS_SPRAY_SOURCES:-2000000} go test -count=1 -run '^TestSprayOfSpoofedSources$' -v -timeout 20m ./classify/campaign/ ||
		fail "spray test"
	done_step
fi

section "reliability soak, short (scripts/soak.sh short: 3 brokers, faults, checker)"
if ! $have_packages; then
	skip_step "$no_packages_reason"
elif [[ ${CASUS_SKIP_KAFKA:-} == 1 && ${CI:-} != true ]]; then
	skip_step "CASUS_SKIP_KAFKA=1: the soak needs a Kafka cluster"
else
	bash "$ROOT/scripts/soak.sh" short || fail "soak (short)"
	done_step
fi

section "fuzz smoke (-fuzztime=$FUZZTIME per target)"
# scripts/fuzz.sh runs every FuzzXxx target in turn and prints a table; CASUS_FUZZTIME=10m
# scripts/fuzz.sh is the long run docs/reliability.md reports.
CASUS_FUZZTIME=$FUZZTIME bash "$ROOT/scripts/fuzz.sh" ||
	fail "fuzz (a failing input found, if any, is saved under the package's testdata/fuzz/<FuzzName>)"
done_step

if ((skipped > 0)); then
	printf '\nPASS: %d of %d steps ran, %d skipped\n' "$((STEPS - skipped))" "$STEPS" "$skipped"
else
	printf '\nPASS: all %d steps\n' "$STEPS"
fi
