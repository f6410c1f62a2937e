#!/usr/bin/env bash
# Runs the casus reliability soak: starts a throwaway three-broker KRaft cluster, runs TestSoak
# (cmd/casus/soak_integration_test.go) against it while faults strike, prints the report table,
# and stops the cluster on every exit path.
#
# usage: scripts/soak.sh [short|full]     (default full)
#   short  3 minutes of traffic, 3 casus kills, 2 broker restarts; about 6 minutes in all
#   full   20 minutes of traffic, 22 casus kills, 4 broker restarts; about 30 minutes in all
#
# environment:
#   CASUS_SOAK_SEED        seed of the run (default: drawn by the test and printed)
#   CASUS_SOAK_REPORT      file for the markdown report (default: in the log dir)
#   CASUS_SOAK_LOG_DIR     dir for the casus processes' logs and the test output
#                          (default ${TMPDIR:-/tmp}/casus-soak-<mode>-<time>)
#   CASUS_SOAK_KAFKA_DIR   cluster state dir (default ${TMPDIR:-/tmp}/casus-soak-kafka); removed at exit
# The exit status is the test's: 0 when the run passed.
set -euo pipefail

mode=${1:-full}
case $mode in
short) timeout=9m ;;
full) timeout=33m ;;
*)
	printf 'usage: %s [short|full]\n' "$0" >&2
	exit 2
	;;
esac

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
KAFKA_DIR=${CASUS_SOAK_KAFKA_DIR:-${TMPDIR:-/tmp}/casus-soak-kafka}
[[ $KAFKA_DIR == /* ]] || KAFKA_DIR=$PWD/$KAFKA_DIR
readonly KAFKA_DIR
LOG_DIR=${CASUS_SOAK_LOG_DIR:-${TMPDIR:-/tmp}/casus-soak-$mode-$(date +%Y%m%d-%H%M%S)}
readonly LOG_DIR
REPORT=${CASUS_SOAK_REPORT:-$LOG_DIR/report.md}
readonly REPORT
mkdir -p -- "$LOG_DIR"
rm -f -- "$REPORT"

log() { printf 'soak.sh: %s\n' "$*" >&2; }

# The cluster is driven by a copy of scripts/kafka.sh and its support files, taken now: the run
# stops and starts nodes for half an hour, all with the script version that started them.
KAFKA_SH=$LOG_DIR/scripts/kafka.sh
readonly KAFKA_SH
mkdir -p -- "$LOG_DIR/scripts"
cp -R -- "$ROOT/scripts/kafka.sh" "$ROOT/scripts/kafka" "$LOG_DIR/scripts/"

# shellcheck disable=SC2317 # called by the EXIT trap
stop_cluster() {
	local attempt
	for attempt in 1 2; do
		CASUS_KAFKA_DIR=$KAFKA_DIR bash "$KAFKA_SH" stop >>"$LOG_DIR/kafka-stop.log" 2>&1 && return 0
		((attempt < 2)) && sleep 2
	done
	log "warning: stopping the cluster in $KAFKA_DIR failed (see $LOG_DIR/kafka-stop.log); run: CASUS_KAFKA_DIR=$KAFKA_DIR bash scripts/kafka.sh stop"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a 3-node cluster in $KAFKA_DIR"
start_out=$(CASUS_KAFKA_NODES=3 CASUS_KAFKA_DIR=$KAFKA_DIR bash "$KAFKA_SH" start)
brokers=$(printf '%s\n' "$start_out" | tail -n 1)
[[ $brokers == CASUS_TEST_BROKERS=* ]] || {
	log "error: scripts/kafka.sh start did not end with CASUS_TEST_BROKERS=...: $brokers"
	exit 1
}
brokers=${brokers#CASUS_TEST_BROKERS=}
log "cluster up: $brokers; logs in $LOG_DIR"

rc=0
(
	cd -- "$ROOT/cmd/casus"
	CASUS_SOAK=$mode CASUS_SOAK_BROKERS=$brokers CASUS_SOAK_KAFKA_DIR=$KAFKA_DIR \
		CASUS_SOAK_REPORT=$REPORT CASUS_SOAK_LOG_DIR=$LOG_DIR CASUS_SOAK_KAFKA_SH=$KAFKA_SH \
		go test -run '^TestSoak$' -count=1 -v -timeout "$timeout" .
) 2>&1 | tee "$LOG_DIR/test.log" || rc=$?

if [[ -s $REPORT ]]; then
	printf '\n'
	cat -- "$REPORT"
else
	log "no report was written (the run stopped before the check); see $LOG_DIR/test.log"
fi
log "test exit status $rc; logs in $LOG_DIR"
exit "$rc"
