#!/usr/bin/env bash
# Runs a throwaway single-node Apache Kafka broker (KRaft, combined broker and controller) on
# 127.0.0.1 for the integration tests. The broker is built from jars fetched from Maven Central
# with Maven, so the machine needs only Java 17+, Maven, bash and coreutils.
#
# usage: scripts/kafka.sh start|stop|status|env
#   start   fetch the jars if not cached, format fresh storage, start the broker on free ports,
#           wait until it answers; the last line on stdout is CASUS_TEST_BROKERS=127.0.0.1:<port>.
#           A broker already running from the same state dir is stopped first.
#   stop    stop the broker (TERM, then KILL after a bound) and remove the state dir.
#   status  say whether the broker runs; exit 0 if it does, 1 if not.
#   env     print CASUS_TEST_BROKERS=... for the running broker; exit 1 if none runs.
#
# environment:
#   CASUS_CACHE_DIR            jar cache root (default $HOME/.cache/casus)
#   CASUS_KAFKA_DIR            broker state dir (default ${TMPDIR:-/tmp}/casus-kafka)
#   CASUS_KAFKA_START_TIMEOUT  seconds to wait for the broker to answer (default 90)
#   CASUS_KAFKA_STOP_TIMEOUT   seconds to wait after TERM before KILL (default 30)
#   CASUS_KAFKA_JAVA_OPTS      extra JVM options for the broker, split on spaces
#   JAVA_HOME                  Java to use (default: java on PATH)
set -euo pipefail

# Pinned: the newest 4.x whose jars all resolve from Maven Central (4.4.0 lacks the
# kafka-tools-api jar there), and the log4j-core version it resolves to.
readonly KAFKA_VERSION=4.3.1
readonly LOG4J_VERSION=2.25.4
# Maven 3.8.7 defaults to 2.8; 3.8.1 is the newest 3.x built against Maven 3.6.3 APIs.
readonly DEPENDENCY_PLUGIN_VERSION=3.8.1
readonly MAVEN_CENTRAL=https://repo.maven.apache.org/maven2

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly SUPPORT_DIR=$SCRIPT_DIR/kafka

CACHE_ROOT=${CASUS_CACHE_DIR:-${HOME:?HOME is not set}/.cache/casus}
readonly CACHE_ROOT
readonly CACHE_DIR=$CACHE_ROOT/kafka-$KAFKA_VERSION
readonly LIBS=$CACHE_DIR/libs

STATE=${CASUS_KAFKA_DIR:-${TMPDIR:-/tmp}/casus-kafka}
# log.dirs must be absolute.
[[ $STATE == /* ]] || STATE=$PWD/$STATE
STATE=${STATE%/}
readonly STATE
readonly MARKER=$STATE/.casus-kafka
readonly PID_FILE=$STATE/kafka.pid
readonly BOOTSTRAP_FILE=$STATE/bootstrap
readonly LOG_FILE=$STATE/kafka.log
readonly PROPS_FILE=$STATE/server.properties

readonly START_TIMEOUT=${CASUS_KAFKA_START_TIMEOUT:-90}
readonly STOP_TIMEOUT=${CASUS_KAFKA_STOP_TIMEOUT:-30}
# The line Kafka logs once the broker serves requests (KafkaRaftServer, at INFO).
readonly STARTED_LINE='Kafka Server started'

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
	printf 'kafka.sh: error: %s\n' "$*" >&2
	exit 1
}

now() { printf '%(%s)T' -1; }

# find_java sets JAVA to the java to use, after checking that it is Java 17 or newer.
find_java() {
	local out version major
	if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
		JAVA=$JAVA_HOME/bin/java
	else
		JAVA=$(command -v java) || die "java not found on PATH (Kafka $KAFKA_VERSION needs Java 17 or newer)"
	fi
	out=$("$JAVA" -version 2>&1) || die "'$JAVA -version' failed: ${out%%$'\n'*}"
	# First line looks like: openjdk version "17.0.15" 2025-04-15 (or "1.8.0_392" for Java 8).
	version=${out#*version \"}
	version=${version%%\"*}
	major=${version%%.*}
	[[ $major == 1 ]] && { major=${version#1.}; major=${major%%.*}; }
	[[ $major =~ ^[0-9]+$ ]] || die "cannot read the Java version from '$JAVA -version'"
	((major >= 17)) || die "Kafka $KAFKA_VERSION needs Java 17 or newer, found Java $version at $JAVA"
}

# fetch_libs makes sure the broker's jars are in $LIBS, fetching them once with Maven.
fetch_libs() {
	if [[ -f $LIBS/kafka_2.13-$KAFKA_VERSION.jar ]]; then
		return 0
	fi
	command -v mvn >/dev/null || die "mvn not found on PATH; it is needed once to fetch Kafka $KAFKA_VERSION into $LIBS"
	mkdir -p -- "$CACHE_DIR"
	# Work on a copy of the POM so Maven writes nothing into the repository.
	cp -- "$SUPPORT_DIR/pom.xml" "$CACHE_DIR/pom.xml"
	local partial=$CACHE_DIR/libs.partial.$$ mvn_log=$CACHE_DIR/mvn.log t0 rc=0
	rm -rf -- "$partial"
	t0=$(now)
	log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime jars from Maven Central into $LIBS"
	# Fully qualified goal: resolving the "dependency:" prefix would need one more download.
	mvn -B -q -Dstyle.color=never -f "$CACHE_DIR/pom.xml" \
		-Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" \
		"org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
		-DincludeScope=runtime -DoutputDirectory="$partial" \
		>"$mvn_log" 2>&1 </dev/null || rc=$?
	if ((rc != 0)) || [[ ! -f $partial/kafka_2.13-$KAFKA_VERSION.jar ]]; then
		rm -rf -- "$partial"
		log "error: cannot fetch Kafka $KAFKA_VERSION from Maven Central ($MAVEN_CENTRAL): mvn dependency:copy-dependencies exited $rc; full output in $mvn_log"
		# The first error names the artifact or repository that failed.
		sed "s/\x1b\[[0-9;]*m//g" "$mvn_log" | grep -m 1 "^\[ERROR\] [^ ]" | sed "s/^/    /" >&2 || true
		exit 1
	fi
	# Publish the folder only when complete, so an interrupted fetch is never mistaken for a cache.
	if ! mv -T -- "$partial" "$LIBS" 2>/dev/null; then
		rm -rf -- "$partial" # another run published it first
	fi
	local jars=("$LIBS"/*.jar)
	log "fetched ${#jars[@]} jars in $(($(now) - t0))s"
}

# alive reports whether pid $1 is a live (not zombie) process.
alive() {
	local pid=$1 stat
	kill -0 "$pid" 2>/dev/null || return 1
	if [[ -r /proc/$pid/stat ]]; then
		stat=$(</proc/"$pid"/stat) || return 1
		stat=${stat##*) }
		[[ ${stat%% *} != Z ]] || return 1
	fi
	return 0
}

# broker_pid prints the pid of the broker running from $STATE, if any.
broker_pid() {
	local pid cmdline
	[[ -f $PID_FILE ]] || return 1
	pid=$(<"$PID_FILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	# Guard against a recycled pid: the process must be our broker.
	if [[ -r /proc/$pid/cmdline ]]; then
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
		[[ $cmdline == *kafka.Kafka* && $cmdline == *"$PROPS_FILE"* ]] || return 1
	fi
	printf '%s\n' "$pid"
}

# port_in_use reports whether anything on this host uses local TCP port $1.
port_in_use() {
	local port=$1 hex f local_addr
	printf -v hex '%04X' "$port"
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		while read -r _ local_addr _; do
			[[ ${local_addr##*:} == "$hex" ]] && return 0
		done <"$f"
	done
	port_accepts "$port"
}

# port_accepts reports whether 127.0.0.1:$1 accepts a TCP connection.
port_accepts() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a port that is unused now, below the usual ephemeral range so outgoing
# connections do not take it meanwhile; ports listed in $@ are skipped.
free_port() {
	local port i
	for ((i = 0; i < 500; i++)); do
		port=$((20000 + RANDOM % 12000))
		[[ " $* " == *" $port "* ]] && continue
		port_in_use "$port" || {
			printf '%s\n' "$port"
			return 0
		}
	done
	die "no free TCP port found in 20000-31999"
}

# remove_state removes $STATE, but only if it is ours (or empty).
remove_state() {
	[[ -e $STATE ]] || return 0
	[[ -d $STATE ]] || die "$STATE exists and is not a directory"
	if [[ -e $MARKER || -z $(ls -A -- "$STATE") ]]; then
		rm -rf -- "$STATE"
	else
		die "refusing to remove $STATE: it has no $(basename -- "$MARKER") marker, so it is not a broker state dir of this script"
	fi
}

# kill_broker stops pid $1: TERM first so Kafka shuts down cleanly, KILL after $STOP_TIMEOUT s.
kill_broker() {
	local pid=$1 deadline
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now) + STOP_TIMEOUT))
	while alive "$pid" && (($(now) < deadline)); do
		sleep 0.2
	done
	if alive "$pid"; then
		log "broker (pid $pid) still running ${STOP_TIMEOUT}s after TERM; sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		deadline=$(($(now) + 10))
		while alive "$pid" && (($(now) < deadline)); do
			sleep 0.2
		done
		alive "$pid" && die "broker (pid $pid) survived KILL"
	fi
	return 0
}

tail_log() {
	[[ -f $LOG_FILE ]] || return 0
	printf 'kafka.sh: last lines of %s:\n' "$LOG_FILE" >&2
	tail -n 40 -- "$LOG_FILE" | sed 's/^/    /' >&2
}

# stop_broker stops the broker running from $STATE, if any, and removes the state dir.
stop_broker() {
	local pid
	if pid=$(broker_pid); then
		kill_broker "$pid"
		log "stopped broker (pid $pid)"
	else
		log "no broker running from $STATE"
	fi
	remove_state
}

cmd_stop() {
	stop_broker
}

# render writes server.properties for the given broker and controller ports.
render() {
	local broker_port=$1 controller_port=$2 text
	text=$(<"$SUPPORT_DIR/server.properties.in")
	text=${text//@BROKER_PORT@/$broker_port}
	text=${text//@CONTROLLER_PORT@/$controller_port}
	text=${text//@DATA_DIR@/$STATE/data}
	printf '%s\n' "$text" >"$PROPS_FILE"
}

# cluster_id prints a random Kafka cluster id: 16 random bytes in unpadded base64url, which is
# what `kafka-storage random-uuid` prints, without paying for a JVM start. An id starting with
# "-" (one in 64) would be read as an option by kafka-storage's argument parser, so draw again.
cluster_id() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		[[ $id == -* ]] || break
	done
	printf '%s' "$id"
}

starting_pid=
abort_start() {
	if [[ -n $starting_pid ]] && alive "$starting_pid"; then
		kill -KILL "$starting_pid" 2>/dev/null || true
		wait "$starting_pid" 2>/dev/null || true
	fi
	rm -f -- "$PID_FILE" "$BOOTSTRAP_FILE"
}

cmd_start() {
	local t0 attempt broker_port controller_port deadline extra_opts=()
	find_java
	read -r -a extra_opts <<<"${CASUS_KAFKA_JAVA_OPTS:-}"
	fetch_libs

	if broker_pid >/dev/null; then
		log "stopping the broker already running from $STATE"
		stop_broker
	else
		remove_state
	fi
	mkdir -p -- "$STATE"
	: >"$MARKER"

	# Do not leave a half-started broker behind when this script fails or is interrupted.
	trap 'abort_start' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	t0=$(now)
	# Ports are free when chosen but another process may take one before Kafka binds it; retry then.
	for attempt in 1 2 3; do
		broker_port=$(free_port)
		controller_port=$(free_port "$broker_port")
		rm -rf -- "$STATE/data"
		render "$broker_port" "$controller_port"

		if ! "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:ErrorFile="$STATE/hs_err_pid%p.log" -cp "$LIBS/*" \
			-Dlog4j2.configurationFile="$SUPPORT_DIR/log4j2.properties" \
			kafka.tools.StorageTool format -t "$(cluster_id)" -c "$PROPS_FILE" \
			>"$STATE/format.log" 2>&1 </dev/null; then
			log "error: formatting KRaft storage in $STATE/data failed:"
			sed 's/^/    /' "$STATE/format.log" >&2
			exit 1
		fi

		# Created here, not by the redirection below, which the background child may do only later.
		: >"$LOG_FILE"
		# C1 only (TieredStopAtLevel=1): a test broker gains little from C2 but pays for it at
		# startup, on machines that also run the tests. CASUS_KAFKA_JAVA_OPTS can override it.
		nohup "$JAVA" -Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
			-XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
			-XX:ErrorFile="$STATE/hs_err_pid%p.log" \
			"${extra_opts[@]}" \
			-Dlog4j2.configurationFile="$SUPPORT_DIR/log4j2.properties" \
			-cp "$LIBS/*" kafka.Kafka "$PROPS_FILE" \
			>>"$LOG_FILE" 2>&1 </dev/null &
		starting_pid=$!
		printf '%s\n' "$starting_pid" >"$PID_FILE"

		deadline=$(($(now) + START_TIMEOUT))
		while :; do
			if ! alive "$starting_pid"; then
				if ((attempt < 3)) && grep -q -e 'BindException' -e 'Address already in use' "$LOG_FILE"; then
					log "port $broker_port or $controller_port was taken meanwhile; retrying with other ports"
					wait "$starting_pid" 2>/dev/null || true
					continue 2
				fi
				log "error: the broker exited during startup (see $LOG_FILE)"
				tail_log
				exit 1
			fi
			if grep -q -F "$STARTED_LINE" "$LOG_FILE" && port_accepts "$broker_port"; then
				break 2
			fi
			if (($(now) >= deadline)); then
				log "error: the broker did not answer on 127.0.0.1:$broker_port within ${START_TIMEOUT}s"
				tail_log
				exit 1
			fi
			sleep 0.2
		done
	done

	printf '127.0.0.1:%s\n' "$broker_port" >"$BOOTSTRAP_FILE"
	trap - EXIT INT TERM
	log "broker $KAFKA_VERSION (pid $starting_pid) ready in $(($(now) - t0))s on 127.0.0.1:$broker_port (controller 127.0.0.1:$controller_port); log: $LOG_FILE"
	printf 'CASUS_TEST_BROKERS=127.0.0.1:%s\n' "$broker_port"
}

cmd_status() {
	local pid
	if pid=$(broker_pid) && [[ -f $BOOTSTRAP_FILE ]]; then
		printf 'running: pid %s, CASUS_TEST_BROKERS=%s, state %s\n' "$pid" "$(<"$BOOTSTRAP_FILE")" "$STATE"
		return 0
	fi
	printf 'not running (state dir %s)\n' "$STATE"
	return 1
}

cmd_env() {
	if broker_pid >/dev/null && [[ -f $BOOTSTRAP_FILE ]]; then
		printf 'CASUS_TEST_BROKERS=%s\n' "$(<"$BOOTSTRAP_FILE")"
		return 0
	fi
	die "no broker running from $STATE; run: scripts/kafka.sh start"
}

usage() {
	printf 'usage: %s start|stop|status|env\n' "$0" >&2
	exit 2
}

[[ $# -eq 1 ]] || usage
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) usage ;;
esac
