#!/usr/bin/env bash
# Checks deploy/systemd/casus.service without a running systemd:
#   1. the directives casus relies on are there: ExecStart of `casus run`, the environment file,
#      SIGHUP for reload, SIGTERM with TimeoutStopSec above the default CASUS_GRACE_PERIOD,
#      Restart=on-failure without restarting configuration errors (exit 2), a non-root user,
#      and every *_FILE variable in Environment= pointing at a LoadCredential= id under %d;
#   2. `systemd-analyze verify` reports nothing, on a copy whose ExecStart names a casus binary
#      built here (verify checks that it exists), alone and with the drop-in of README.md that
#      turns the credentials off;
#   3. `systemd-analyze security --offline=true` rates the unit's exposure at most
#      MAX_EXPOSURE (0 is fully sandboxed, 10 is not at all) and prints the score;
#   4. the environment the unit gives casus, with %d as a directory of credential files (mode
#      0400, as systemd makes them) and the example environment file, is one `casus run` starts
#      with: it reads the password and the signing key and stops only at the broker check.
# Runs from any directory, reads no input, exits non-zero on the first failure. Needs go, and
# systemd-analyze (installed with Debian's systemd package when missing and run as root).
set -euo pipefail

readonly MAX_EXPOSURE=1.5

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
unit=$here/casus.service

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
ok() { printf 'ok   %s\n' "$*"; }

command -v go >/dev/null || fail "go not found on PATH"
if ! command -v systemd-analyze >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "installing Debian's systemd package for systemd-analyze"
		if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; }; then
			fail "cannot install the systemd package (systemd-analyze)"
		fi
		command -v systemd-analyze >/dev/null || fail "the systemd package brought no systemd-analyze"
	else
		fail "systemd-analyze not found: install systemd 252 or later (Debian: apt-get install systemd)"
	fi
fi
echo "systemd-analyze: $(systemd-analyze --version | head -n 1)"

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# value KEY prints the values of KEY= in the [Service] section, one per line.
value() {
	awk -v key="$1" '
		/^\[/ { section = $0 }
		section == "[Service]" && index($0, key "=") == 1 { print substr($0, length(key) + 2) }
	' "$unit"
}
want() {
	local key=$1 expect=$2 got
	got=$(value "$key" | tail -n 1)
	[[ $got == "$expect" ]] || fail "casus.service: $key=$got, want $key=$expect"
}

echo "==> directives"
want ExecStart "/usr/local/bin/casus run"
want ExecReload "/bin/kill -HUP \$MAINPID"
want EnvironmentFile "/etc/casus/casus.env"
want KillSignal SIGTERM
want Restart on-failure
want RestartPreventExitStatus 2
want DynamicUser yes
want CapabilityBoundingSet ""
want AmbientCapabilities ""
want NoNewPrivileges yes
want ProtectSystem strict
type=$(value Type | tail -n 1)
[[ $type == simple || $type == exec ]] ||
	fail "casus.service: Type=$type: casus does not send sd_notify readiness, want simple or exec"
[[ -n $(value RestartSec) ]] || fail "casus.service: no RestartSec"
[[ -n $(value LimitNOFILE) ]] || fail "casus.service: no LimitNOFILE"
[[ -z $(value StateDirectory) ]] || fail "casus.service: StateDirectory: casus keeps its state in Kafka"

seconds() { # a systemd time span or Go duration of the forms 60s, 2min, 1m30s, 90
	local v=$1 total=0 n unit
	[[ $v =~ ^[0-9]+$ ]] && {
		echo "$v"
		return
	}
	while [[ $v =~ ^([0-9]+)(min|m|s|h)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} v=${BASH_REMATCH[3]}
		case $unit in
		h) total=$((total + n * 3600)) ;;
		min | m) total=$((total + n * 60)) ;;
		s) total=$((total + n)) ;;
		esac
	done
	[[ -z $v ]] || fail "cannot read the time span $1"
	echo "$total"
}
grace=$(sed -n 's/^#\{0,1\}CASUS_GRACE_PERIOD=//p' "$root/deploy/casus.env.example")
[[ -n $grace ]] || fail "no CASUS_GRACE_PERIOD in deploy/casus.env.example"
stop=$(value TimeoutStopSec | tail -n 1)
(($(seconds "$stop") > $(seconds "$grace"))) ||
	fail "casus.service: TimeoutStopSec=$stop is not above CASUS_GRACE_PERIOD's default $grace: systemd would kill casus while it drains"
ok "TimeoutStopSec=$stop above CASUS_GRACE_PERIOD=$grace"

declare -A creds=()
while IFS= read -r lc; do
	creds[${lc%%:*}]=${lc#*:}
done < <(value LoadCredential)
((${#creds[@]} > 0)) || fail "casus.service: no LoadCredential="
file_vars=0
while IFS= read -r assignment; do
	for kv in $assignment; do
		name=${kv%%=*} val=${kv#*=}
		[[ $name == *_FILE ]] || continue
		file_vars=$((file_vars + 1))
		[[ $val == %d/* ]] || fail "casus.service: $name=$val: want %d/<credential id>"
		[[ -n ${creds[${val#%d/}]:-} ]] || fail "casus.service: $name names credential ${val#%d/}, which no LoadCredential= loads"
		grep -q "^#\{0,1\}$name=" "$root/deploy/casus.env.example" || fail "casus.service: $name is not a casus variable"
	done
done < <(value Environment)
((file_vars == ${#creds[@]})) || fail "casus.service: ${#creds[@]} credentials loaded but $file_vars *_FILE variables point at them"
ok "directives; credentials: ${!creds[*]}"

echo "==> systemd-analyze verify"
(cd -- "$root" && CGO_ENABLED=0 go build -trimpath -o "$tmp/bin/casus" ./cmd/casus)
mkdir -p "$tmp/units"
sed "s#^ExecStart=/usr/local/bin/casus #ExecStart=$tmp/bin/casus #" "$unit" >"$tmp/units/casus.service"
grep -q "^ExecStart=$tmp/bin/casus run$" "$tmp/units/casus.service" || fail "could not point ExecStart at $tmp/bin/casus"
verify() {
	local out
	out=$(cd -- "$tmp/units" && systemd-analyze verify --man=no --generators=no ./casus.service 2>&1) ||
		fail "systemd-analyze verify $1: ${out:-exit non-zero}"
	# Unknown keys and bad values are only warned about; any message is a failure.
	[[ -z $out ]] || fail "systemd-analyze verify $1: $out"
	ok "systemd-analyze verify $1: no messages"
}
verify "casus.service"
# The drop-in of README.md's "Without SASL or signing", taken from the README itself.
mkdir -p "$tmp/units/casus.service.d"
awk '/^# without-credentials.conf$/ { on = 1 } on && /^```$/ { exit } on' "$here/README.md" >"$tmp/units/casus.service.d/without-credentials.conf"
grep -q '^LoadCredential=$' "$tmp/units/casus.service.d/without-credentials.conf" ||
	fail "README.md has no drop-in block starting '# without-credentials.conf' with LoadCredential="
verify "casus.service with README.md's without-credentials.conf"
rm -r -- "$tmp/units/casus.service.d"

echo "==> systemd-analyze security --offline=true (at most $MAX_EXPOSURE)"
threshold=$(awk -v m="$MAX_EXPOSURE" 'BEGIN { printf "%d", m * 10 }')
if ! report=$(cd -- "$tmp/units" && systemd-analyze security --offline=true --threshold="$threshold" ./casus.service 2>&1); then
	printf '%s\n' "$report" | grep -E '✗|Overall' >&2 || printf '%s\n' "$report" >&2
	fail "exposure above $MAX_EXPOSURE"
fi
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for casus\.service: \([0-9.]*\).*/\1/p')
[[ -n $score ]] || fail "no overall exposure level in systemd-analyze security's output"
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || fail "exposure $score above $MAX_EXPOSURE"
printf '%s\n' "$report" | grep '✗' | sed 's/^/     /' || true
ok "exposure $score (threshold $MAX_EXPOSURE)"

echo "==> casus starts with the unit's environment"
creddir=$tmp/credentials
mkdir -p "$creddir"
printf 'a-password\n' >"$creddir/kafka-password"
"$tmp/bin/casus" keygen -out "$tmp/signing" >/dev/null 2>&1 || fail "casus keygen"
cp -- "$tmp/signing.key" "$creddir/signing-key"
chmod 0400 "$creddir"/* # as systemd makes credential files
unit_env=()
while IFS= read -r assignment; do
	for kv in $assignment; do
		unit_env+=("${kv//%d/$creddir}")
	done
done < <(value Environment)
# The example environment file with SASL turned on, as a deployment that uses the password has
# it, and a broker address where nothing listens: casus reads and accepts the credential files,
# then stops at its broker check (exit 1) rather than at the configuration (exit 2).
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
with_env_file='set -a; . "$1"; set +a; exec "$2" run'
rc=0
out=$(env -i PATH=/usr/bin:/bin "${unit_env[@]}" \
	CASUS_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 CASUS_KAFKA_SASL_USERNAME=casus CASUS_KAFKA_BROKERS=127.0.0.1:1 \
	timeout 60 bash -c "$with_env_file" _ "$root/deploy/casus.env.example" "$tmp/bin/casus" 2>&1) || rc=$?
if [[ $rc -ne 1 ]] || ! grep -q 'no Kafka broker reachable' <<<"$out"; then
	printf '%s\n' "$out" | tail -n 5 >&2
	fail "casus run with the unit's environment (${unit_env[*]}) exited $rc before its broker check"
fi
ok "casus run reads the credentials the unit points at (${unit_env[*]#*=}) and gets as far as the broker check"

echo "deploy/systemd/check.sh: all checks passed (exposure $score)"
