#!/usr/bin/env bash
# Runs every fuzz target of the repository, one after the other, and prints a table of what each
# run did. The long run that docs/reliability.md reports is
#
#     CASUS_FUZZTIME=10m scripts/fuzz.sh
#
# usage: scripts/fuzz.sh [regexp]   only targets whose "package/FuzzName" matches the regexp
#
# environment:
#   CASUS_FUZZTIME      -fuzztime per target: a duration (10m) or a count of executions (10000x);
#                       default 10m
#   CASUS_FUZZ_PARALLEL -parallel of each run (default: GOMAXPROCS)
#   CASUS_FUZZ_LOG      directory for each target's full output (default: a temporary directory)
#
# A failing input is saved by Go under <package>/testdata/fuzz/<FuzzName>/ and fails the run; every
# target still runs, and the exit status is non-zero if any failed.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
cd -- "$ROOT"

readonly FUZZTIME=${CASUS_FUZZTIME:-10m}
readonly FILTER=${1:-}
LOG_DIR=${CASUS_FUZZ_LOG:-$(mktemp -d "${TMPDIR:-/tmp}/casus-fuzz.XXXXXX")}
readonly LOG_DIR
mkdir -p -- "$LOG_DIR"
parallel=()
[[ -n ${CASUS_FUZZ_PARALLEL:-} ]] && parallel=(-parallel="$CASUS_FUZZ_PARALLEL")

# timeout_for prints a -timeout that bounds one run: the duration plus slack for building and for
# the final minimisation, or a generous bound for a count of executions.
timeout_for() {
	local t=$1
	case $t in
	*x) printf '30m' ;;
	*h) printf '%dm' $((${t%h} * 60 + 15)) ;;
	*m) printf '%dm' $((${t%m} + 15)) ;;
	*s) printf '%ds' $((${t%s} + 900)) ;;
	*) printf '2h' ;;
	esac
}

# targets: "dir<TAB>FuzzName" for every fuzz target in a tracked or new test file.
mapfile -t targets < <(
	{ git ls-files --cached --others --exclude-standard -- '*_test.go' 2>/dev/null || find . -name '*_test.go'; } |
		grep -v -e '/testdata/' -e '^testdata/' |
		while IFS= read -r f; do
			f=${f#./}
			{ grep -E -o '^func Fuzz([A-Z0-9_][A-Za-z0-9_]*)?\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' -- "$f" || true; } |
				sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' | sed "s|^|$(dirname -- "$f")\t|"
		done | sort -u
)
((${#targets[@]} > 0)) || {
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
}

printf '%-42s %-26s %9s %14s %10s %s\n' PACKAGE TARGET SECONDS EXECS NEW RESULT
failed=0
ran=0
for t in "${targets[@]}"; do
	dir=${t%%$'\t'*}
	name=${t#*$'\t'}
	[[ -z $FILTER || "$dir/$name" =~ $FILTER ]] || continue
	ran=$((ran + 1))
	log=$LOG_DIR/${dir//\//_}_$name.log
	t0=$(printf '%(%s)T' -1)
	rc=0
	(cd -- "$dir" && go test -run='^$' -fuzz="^$name\$" -fuzztime="$FUZZTIME" "${parallel[@]}" \
		-timeout="$(timeout_for "$FUZZTIME")" .) >"$log" 2>&1 || rc=$?
	secs=$(($(printf '%(%s)T' -1) - t0))
	# The coordinator's last progress line: "fuzz: elapsed: 10m0s, execs: 123 (..), new interesting: 4 (total: 9)".
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
	execs=$(sed -E -n 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	new=$(sed -E -n 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	# A short count run ends before the first progress line; it ran its count.
	[[ -z $execs && $rc == 0 && $FUZZTIME == *x ]] && execs=${FUZZTIME%x}
	result=ok
	if ((rc != 0)); then
		if grep -q 'Failing input written to' "$log"; then
			result="FAIL: $(grep -m1 -o 'testdata/fuzz/[^ ]*' "$log")"
			failed=$((failed + 1))
		elif grep -q 'context deadline exceeded' "$log" && ! grep -q -e '--- FAIL' -e 'panic:' "$log"; then
			# Go 1.26 can end a duration run at its deadline with a bare "context deadline exceeded"
			# and no failing input (golang/go#75804): the target ran its full time.
			result="ok (deadline reached)"
		else
			result="FAIL: exit $rc, see $log"
			failed=$((failed + 1))
		fi
	fi
	printf '%-42s %-26s %9s %14s %10s %s\n' "./$dir" "$name" "$secs" "${execs:-?}" "${new:-?}" "$result"
done
((ran > 0)) || {
	echo "fuzz.sh: no target matches '$FILTER'" >&2
	exit 1
}
echo "logs: $LOG_DIR"
((failed == 0)) || {
	echo "fuzz.sh: $failed of $ran targets failed" >&2
	exit 1
}
