#!/usr/bin/env bash
# Runs a throwaway Apache Kafka cluster (KRaft; every node a combined broker and controller) on
# 127.0.0.1 for the integration tests: one node by default, up to five, optionally with SASL_SSL.
# The brokers are built from jars fetched from Maven Central with Maven, so the machine needs only
# Java 17+, Maven, bash and coreutils (and openssl for CASUS_KAFKA_SECURITY=sasl_ssl).
#
# usage: scripts/kafka.sh start|stop|status|env|nodes
#        scripts/kafka.sh stop-node|kill-node|start-node I
#   start         fetch the jars if not cached, format fresh storage, start CASUS_KAFKA_NODES nodes
#                 on free ports, wait until every node answers. The last line on stdout is
#                 CASUS_TEST_BROKERS=127.0.0.1:<port>[,127.0.0.1:<port>...], one address per node.
#                 With CASUS_KAFKA_SECURITY=sasl_ssl the last lines are instead
#                   CASUS_TEST_SASL_BROKERS=127.0.0.1:<port>[,...]       SASL_SSL, for clients
#                   CASUS_TEST_PLAINTEXT_BROKERS=127.0.0.1:<port>[,...]  PLAINTEXT: inter-broker,
#                                                                        open to any client too
#                   CASUS_TEST_TLS_DIR=<state dir>/tls
#                   CASUS_TEST_BROKERS=<the same as CASUS_TEST_SASL_BROKERS>
#                 A cluster already running from the same state dir is stopped first.
#   stop          stop every node (TERM, then KILL after a bound) and remove the state dir.
#   status        one line about the cluster; exit 0 if every node runs, 1 if not.
#   env           print the lines start printed last; exit 1 if no node runs.
#   nodes         one line per node: <id> <pid or -> 127.0.0.1:<client port> running|stopped
#   stop-node I   stop node I (1..nodes) gracefully (TERM, KILL after CASUS_KAFKA_STOP_TIMEOUT);
#                 its data stays. Nothing to do if it is not running.
#   kill-node I   KILL node I; its data stays. Nothing to do if it is not running.
#   start-node I  start node I again from its data and config, on the same ports, and wait until
#                 it answers (CASUS_KAFKA_START_TIMEOUT). Prints nothing on stdout.
# The commands other than start read the node count and security mode back from the state dir.
#
# Cluster layout: node ids 1..N, all voters of one controller quorum (controller.quorum.voters),
# each with its own ports and dir <state dir>/node<i> (server.properties, kafka.log, which
# start-node appends to, kafka.pid, data/), and a heap of 512 MB alone or 384 MB in a cluster.
# Topics default to min(3,N) replicas and min(2,N) in-sync replicas, and so do the offsets and
# transaction state topics. A killed node of a cluster is fenced, and can register again, 6s
# after its last heartbeat (broker.session.timeout.ms; a single node keeps Kafka's 9s).
#
# sasl_ssl: <state dir>/tls holds ca.pem and ca-key.pem (the CA), broker.pem (key and chain of
# the brokers' certificate for IP:127.0.0.1 and DNS:localhost), client.pem and client-key.pem (a
# client certificate of the same CA; unencrypted PKCS#8 key), other-ca.pem (an unrelated CA, to
# see server verification fail), other-client.pem and other-client-key.pem (a client certificate
# of that other CA, which brokers reject), and casus.password: the password of user casus, 24
# letters and digits without a newline, valid for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. The
# SASL_SSL listener asks for a client certificate and verifies it when one is presented.
#
# environment:
#   CASUS_CACHE_DIR            jar cache root (default $HOME/.cache/casus)
#   CASUS_KAFKA_DIR            cluster state dir (default ${TMPDIR:-/tmp}/casus-kafka)
#   CASUS_KAFKA_NODES          nodes to start, 1 to 5 (default 1)
#   CASUS_KAFKA_SECURITY       empty or plaintext (default), or sasl_ssl
#   CASUS_KAFKA_START_TIMEOUT  seconds to wait for the nodes to answer (default 90, plus 60 for
#                              each node beyond the first: JVMs starting together share the CPUs)
#   CASUS_KAFKA_STOP_TIMEOUT   seconds to wait after TERM before KILL (default 30)
#   CASUS_KAFKA_JAVA_OPTS      extra JVM options for the brokers, split on spaces (kept for
#                              start-node)
#   JAVA_HOME                  Java to use (default: java on PATH)
set -euo pipefail

# Pinned: the newest 4.x whose jars all resolve from Maven Central (4.4.0 lacks the
# kafka-tools-api jar there), and the log4j-core version it resolves to.
readonly KAFKA_VERSION=4.3.1
readonly LOG4J_VERSION=2.25.4
# Maven 3.8.7 defaults to 2.8; 3.8.1 is the newest 3.x built against Maven 3.6.3 APIs.
readonly DEPENDENCY_PLUGIN_VERSION=3.8.1
readonly MAVEN_CENTRAL=https://repo.maven.apache.org/maven2
readonly MAX_NODES=5
readonly SASL_USER=casus

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
# Written by start for the other commands: node count, security mode, the lines start printed,
# and the extra JVM options.
readonly NODES_FILE=$STATE/nodes
readonly SECURITY_FILE=$STATE/security
readonly ENV_FILE=$STATE/env
readonly JAVA_OPTS_FILE=$STATE/java-opts
readonly TLS_DIR=$STATE/tls
# The single broker of earlier versions of this script, so stop still finds it.
readonly LEGACY_PID_FILE=$STATE/kafka.pid
readonly LEGACY_PROPS_FILE=$STATE/server.properties

# Empty: 90s plus 60s per node beyond the first, set once the node count is known.
START_TIMEOUT=${CASUS_KAFKA_START_TIMEOUT:-}
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

# running_pid prints the pid in pid file $1 if it is a live broker started with properties
# file $2.
running_pid() {
	local pid_file=$1 props_file=$2 pid cmdline
	[[ -f $pid_file ]] || return 1
	pid=$(<"$pid_file")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	# Guard against a recycled pid: the process must be our broker.
	if [[ -r /proc/$pid/cmdline ]]; then
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
		[[ $cmdline == *kafka.Kafka* && $cmdline == *"$props_file"* ]] || return 1
	fi
	printf '%s\n' "$pid"
}

# node_pid prints the pid of node $1 if it runs.
node_pid() {
	running_pid "$STATE/node$1/kafka.pid" "$STATE/node$1/server.properties"
}

# port_in_use reports whether anything on this host uses local TCP port $1.
port_in_use() {
	local port=$1 hex f table
	# Matches the port of a local or remote address ("0100007F:5C6C "): either way, not free.
	printf -v hex ':%04X ' "$port"
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		# Read whole: a line-by-line read of /proc/net/tcp takes a second on a busy host.
		table=$(<"$f")
		[[ $table == *"$hex"* ]] && return 0
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

# kill_brokers stops the pids $@ together: TERM first so Kafka shuts down cleanly, KILL after
# $STOP_TIMEOUT s.
kill_brokers() {
	local pid deadline left
	(($# > 0)) || return 0
	kill -TERM "$@" 2>/dev/null || true
	deadline=$(($(now) + STOP_TIMEOUT))
	while :; do
		left=()
		for pid in "$@"; do
			alive "$pid" && left+=("$pid")
		done
		((${#left[@]} > 0 && $(now) < deadline)) || break
		sleep 0.2
	done
	((${#left[@]} > 0)) || return 0
	log "broker pid ${left[*]} still running ${STOP_TIMEOUT}s after TERM; sending KILL"
	kill_now "${left[@]}"
}

# kill_now KILLs the pids $@ and waits (bounded) until they are gone.
kill_now() {
	local pid deadline
	kill -KILL "$@" 2>/dev/null || true
	deadline=$(($(now) + 10))
	for pid in "$@"; do
		while alive "$pid" && (($(now) < deadline)); do
			sleep 0.1
		done
		alive "$pid" && die "broker (pid $pid) survived KILL"
	done
	return 0
}

# reap KILLs the children $@ of this shell and waits for them at once, which keeps bash from
# reporting each as a killed job.
reap() {
	local pid
	kill -KILL "$@" 2>/dev/null || true
	for pid in "$@"; do
		wait "$pid" 2>/dev/null || true
	done
}

# tail_log shows the end of node $1's log on stderr.
tail_log() {
	local f=$STATE/node$1/kafka.log
	[[ -f $f ]] || return 0
	printf 'kafka.sh: last lines of %s:\n' "$f" >&2
	tail -n 40 -- "$f" | sed 's/^/    /' >&2
}

# find_brokers sets PIDS and IDS to the pids and node ids of the brokers running from $STATE.
find_brokers() {
	local d i pid
	PIDS=()
	IDS=()
	for d in "$STATE"/node*/; do
		[[ -d $d ]] || continue
		i=${d%/}
		i=${i##*/node}
		[[ $i =~ ^[0-9]+$ ]] || continue
		if pid=$(node_pid "$i"); then
			PIDS+=("$pid")
			IDS+=("$i")
		fi
	done
	if pid=$(running_pid "$LEGACY_PID_FILE" "$LEGACY_PROPS_FILE"); then
		PIDS+=("$pid")
		IDS+=(legacy)
	fi
	return 0
}

# stop_cluster stops every broker running from $STATE, if any, and removes the state dir.
stop_cluster() {
	local t0
	find_brokers
	if ((${#PIDS[@]} > 0)); then
		t0=$(now)
		kill_brokers "${PIDS[@]}"
		log "stopped node ${IDS[*]} (pid ${PIDS[*]}) in $(($(now) - t0))s"
	else
		log "no broker running from $STATE"
	fi
	remove_state
}

cmd_stop() {
	stop_cluster
}

# Cluster settings, set by cmd_start or read back by load_cluster.
NODES=
SECURITY=
# Per node i: client port (PLAINTEXT, or SASL_SSL with sasl_ssl), PLAINTEXT port (the same as
# the client port without sasl_ssl) and controller port.
CLIENT_PORT=()
PLAIN_PORT=()
CONTROLLER_PORT=()

# load_cluster reads the node count, security mode and ports of the cluster in $STATE.
load_cluster() {
	local i
	[[ -f $NODES_FILE && -f $SECURITY_FILE ]] || die "no cluster in $STATE; run: scripts/kafka.sh start"
	NODES=$(<"$NODES_FILE")
	SECURITY=$(<"$SECURITY_FILE")
	[[ $NODES =~ ^[1-9]$ ]] || die "$NODES_FILE is damaged"
	for ((i = 1; i <= NODES; i++)); do
		[[ -f $STATE/node$i/ports ]] || die "$STATE/node$i/ports is missing"
		read -r "CLIENT_PORT[i]" "PLAIN_PORT[i]" "CONTROLLER_PORT[i]" <"$STATE/node$i/ports"
	done
}

# node_arg checks that $1 names a node of the loaded cluster.
node_arg() {
	if [[ ! $1 =~ ^[1-9]$ ]] || (($1 > NODES)); then
		die "no node '$1': the cluster in $STATE has nodes 1 to $NODES"
	fi
}

# addresses prints 127.0.0.1:<port> of every node, comma-separated, for ports array $1.
addresses() {
	local -n ports=$1
	local i out=
	for ((i = 1; i <= NODES; i++)); do
		out+=${out:+,}127.0.0.1:${ports[i]}
	done
	printf '%s' "$out"
}

# render writes node $1's server.properties and ports file; $2 is the SASL password.
render() {
	local i=$1 password=$2 dir=$STATE/node$1 text voters='' j listeners advertised map
	local replicas=$((NODES < 3 ? NODES : 3)) min_isr=$((NODES < 2 ? NODES : 2)) heartbeat=2000 session=9000
	((NODES > 1)) && heartbeat=1000 session=6000
	for ((j = 1; j <= NODES; j++)); do
		voters+=${voters:+,}$j@127.0.0.1:${CONTROLLER_PORT[j]}
	done
	if [[ $SECURITY == sasl_ssl ]]; then
		advertised=SASL_SSL://127.0.0.1:${CLIENT_PORT[i]},PLAINTEXT://127.0.0.1:${PLAIN_PORT[i]}
		map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
	else
		advertised=PLAINTEXT://127.0.0.1:${CLIENT_PORT[i]}
		map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
	fi
	listeners=$advertised,CONTROLLER://127.0.0.1:${CONTROLLER_PORT[i]}
	text=$(<"$SUPPORT_DIR/server.properties.in")
	[[ $SECURITY == sasl_ssl ]] && text+=$'\n'$(<"$SUPPORT_DIR/sasl_ssl.properties.in")
	text=${text//@NODE_ID@/$i}
	text=${text//@VOTERS@/$voters}
	text=${text//@LISTENERS@/$listeners}
	text=${text//@ADVERTISED_LISTENERS@/$advertised}
	text=${text//@PROTOCOL_MAP@/$map}
	text=${text//@DATA_DIR@/$dir/data}
	text=${text//@REPLICAS@/$replicas}
	text=${text//@MIN_ISR@/$min_isr}
	text=${text//@HEARTBEAT_MS@/$heartbeat}
	text=${text//@SESSION_MS@/$session}
	text=${text//@TLS_DIR@/$TLS_DIR}
	text=${text//@PASSWORD@/$password}
	mkdir -p -- "$dir"
	printf '%s\n' "$text" >"$dir/server.properties"
	printf '%s %s %s\n' "${CLIENT_PORT[i]}" "${PLAIN_PORT[i]}" "${CONTROLLER_PORT[i]}" >"$dir/ports"
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

# random_password prints 24 random letters and digits.
random_password() {
	local pw=''
	while ((${#pw} < 24)); do
		pw+=$(head -c 256 /dev/urandom | tr -dc 'A-Za-z0-9')
	done
	printf '%s' "${pw:0:24}"
}

# ossl runs openssl with its output in $TLS_DIR/openssl.log, which it shows when openssl fails.
ossl() {
	if ! openssl "$@" >"$TLS_DIR/openssl.log" 2>&1; then
		log "error: 'openssl $1' failed while making the test certificates in $TLS_DIR:"
		sed 's/^/    /' "$TLS_DIR/openssl.log" >&2
		exit 1
	fi
}

# new_ca makes a self-signed CA certificate $1.pem with key $1-key.pem and common name $2.
new_ca() {
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS_DIR/$1-key.pem"
	ossl req -new -x509 -config "$SUPPORT_DIR/openssl.cnf" -extensions ca -days 30 \
		-key "$TLS_DIR/$1-key.pem" -subj "/CN=$2" -out "$TLS_DIR/$1.pem"
}

# new_cert makes certificate $1.pem with key $1-key.pem (unencrypted PKCS#8), common name $2 and
# the profile $3 of openssl.cnf, signed by CA $4.
new_cert() {
	local name=$1 cn=$2 profile=$3 ca=$4
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS_DIR/$name-key.pem"
	ossl req -new -config "$SUPPORT_DIR/openssl.cnf" -key "$TLS_DIR/$name-key.pem" -subj "/CN=$cn" \
		-out "$TLS_DIR/$name.csr"
	ossl x509 -req -in "$TLS_DIR/$name.csr" -days 30 -CA "$TLS_DIR/$ca.pem" -CAkey "$TLS_DIR/$ca-key.pem" \
		-CAcreateserial -CAserial "$TLS_DIR/$ca.srl" \
		-extfile "$SUPPORT_DIR/openssl.cnf" -extensions "$profile" -out "$TLS_DIR/$name.pem"
	rm -f -- "$TLS_DIR/$name.csr"
}

# make_tls writes the CAs, certificates and password of the sasl_ssl mode into $TLS_DIR.
make_tls() {
	if ! command -v openssl >/dev/null; then
		# Debian's openssl package, when this script may install packages (CI runs as root).
		if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
			log "installing Debian's openssl package for the test certificates"
			{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl; } >"$STATE/apt.log" 2>&1 ||
				die "apt-get install openssl failed; see $STATE/apt.log"
		else
			die "openssl not found on PATH; CASUS_KAFKA_SECURITY=sasl_ssl needs it for the test certificates (apt-get install openssl)"
		fi
	fi
	mkdir -p -- "$TLS_DIR"
	chmod 700 -- "$TLS_DIR"
	# ECDSA P-256: quick to make, and both the JVM and Go accept it.
	new_ca ca casus-test-ca
	new_cert broker localhost server ca
	new_cert client "$SASL_USER" client ca
	new_ca other-ca casus-test-other-ca
	new_cert other-client "$SASL_USER" client other-ca
	# Kafka's PEM key store: the key, then the certificate chain, in one file.
	cat -- "$TLS_DIR/broker-key.pem" "$TLS_DIR/broker.pem" "$TLS_DIR/ca.pem" >"$TLS_DIR/broker.pem.tmp"
	mv -- "$TLS_DIR/broker.pem.tmp" "$TLS_DIR/broker.pem"
	rm -f -- "$TLS_DIR/broker-key.pem" "$TLS_DIR"/*.srl "$TLS_DIR/openssl.log"
	random_password >"$TLS_DIR/$SASL_USER.password"
}

# format_nodes formats every node's storage with cluster id $1, in parallel; with sasl_ssl, $2 is
# the password of the SCRAM credentials to add.
format_nodes() {
	local id=$1 password=$2 i pids=() scram=() failed=
	if [[ $SECURITY == sasl_ssl ]]; then
		scram=(--add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$password]"
			--add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$password]")
	fi
	for ((i = 1; i <= NODES; i++)); do
		rm -rf -- "$STATE/node$i/data"
		"$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:ErrorFile="$STATE/node$i/hs_err_pid%p.log" -cp "$LIBS/*" \
			-Dlog4j2.configurationFile="$SUPPORT_DIR/log4j2.properties" \
			kafka.tools.StorageTool format -t "$id" -c "$STATE/node$i/server.properties" "${scram[@]}" \
			>"$STATE/node$i/format.log" 2>&1 </dev/null &
		pids[i]=$!
	done
	FORMAT_PIDS=("${pids[@]}")
	for ((i = 1; i <= NODES; i++)); do
		if ! wait "${pids[i]}"; then
			log "error: formatting KRaft storage in $STATE/node$i/data failed:"
			sed 's/^/    /' "$STATE/node$i/format.log" >&2
			failed=1
		fi
	done
	FORMAT_PIDS=()
	[[ -z $failed ]] || exit 1
}

# Per node i, while the script waits for it: its pid and the size of its log before it started.
# FORMAT_PIDS: the storage formatters running meanwhile.
STARTED_PID=()
FORMAT_PIDS=()
LOG_OFFSET=()

# launch_node starts node $1 in the background and records its pid.
launch_node() {
	local i=$1 dir=$STATE/node$1 heap=512m extra_opts=()
	mapfile -t extra_opts <"$JAVA_OPTS_FILE"
	# A cluster shares the machine, so each node gets less.
	((NODES == 1)) || heap=384m
	# Created here, not by the redirection below, which the background child may do only later.
	[[ -f $dir/kafka.log ]] || : >"$dir/kafka.log"
	LOG_OFFSET[i]=$(stat -c %s -- "$dir/kafka.log")
	# C1 only (TieredStopAtLevel=1): a test broker gains little from C2 but pays for it at
	# startup, on machines that also run the tests. CASUS_KAFKA_JAVA_OPTS can override it.
	nohup "$JAVA" -Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-XX:ErrorFile="$dir/hs_err_pid%p.log" \
		"${extra_opts[@]}" \
		-Dlog4j2.configurationFile="$SUPPORT_DIR/log4j2.properties" \
		-cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
		>>"$dir/kafka.log" 2>&1 </dev/null &
	STARTED_PID[i]=$!
	printf '%s\n' "${STARTED_PID[i]}" >"$dir/kafka.pid"
}

# new_log_has reports whether node $1's log, since it was launched, has a line with any of the
# fixed strings $2...
new_log_has() {
	local i=$1 pattern args=()
	shift
	for pattern in "$@"; do
		args+=(-e "$pattern")
	done
	# No grep -q: it could stop reading early and fail the pipeline with tail's SIGPIPE.
	tail -c +"$((LOG_OFFSET[i] + 1))" -- "$STATE/node$i/kafka.log" | grep -F "${args[@]}" >/dev/null
}

# await_nodes waits until each launched node $@ logs that it started and accepts connections on
# its ports, for at most START_TIMEOUT s. It returns 0 when all are ready, and 2 when a node
# exited because one of its ports was taken; for anything else it shows the log and exits.
await_nodes() {
	local pending=("$@") waiting i deadline ports
	[[ -n $START_TIMEOUT ]] || START_TIMEOUT=$((90 + 60 * (NODES - 1)))
	[[ $START_TIMEOUT =~ ^[0-9]+$ ]] || die "CASUS_KAFKA_START_TIMEOUT must be a number of seconds, not '$START_TIMEOUT'"
	deadline=$(($(now) + START_TIMEOUT))
	while ((${#pending[@]} > 0)); do
		waiting=()
		for i in "${pending[@]}"; do
			if ! alive "${STARTED_PID[i]}"; then
				wait "${STARTED_PID[i]}" 2>/dev/null || true
				if new_log_has "$i" 'BindException' 'Address already in use'; then
					ports=${CLIENT_PORT[i]}
					[[ ${PLAIN_PORT[i]} == "${CLIENT_PORT[i]}" ]] || ports+=", ${PLAIN_PORT[i]}"
					log "node $i: one of its ports ($ports, ${CONTROLLER_PORT[i]}) is taken"
					return 2
				fi
				log "error: node $i exited during startup (see $STATE/node$i/kafka.log)"
				tail_log "$i"
				exit 1
			fi
			if new_log_has "$i" "$STARTED_LINE" && port_accepts "${CLIENT_PORT[i]}" && port_accepts "${PLAIN_PORT[i]}"; then
				continue
			fi
			waiting+=("$i")
		done
		pending=("${waiting[@]}")
		((${#pending[@]} > 0)) || break
		if (($(now) >= deadline)); then
			for i in "${pending[@]}"; do
				log "error: node $i did not answer on 127.0.0.1:${CLIENT_PORT[i]} within ${START_TIMEOUT}s"
				tail_log "$i"
			done
			exit 1
		fi
		sleep 0.2
	done
	return 0
}

# abort_start KILLs the formatters and nodes this script launched and has not handed over yet, so
# a failed or interrupted start leaves no broker behind; the state dir stays for a look.
abort_start() {
	local i pid pids=()
	for pid in "${FORMAT_PIDS[@]}"; do
		alive "$pid" && pids+=("$pid")
	done
	for i in "${!STARTED_PID[@]}"; do
		alive "${STARTED_PID[i]}" && pids+=("${STARTED_PID[i]}")
		rm -f -- "$STATE/node$i/kafka.pid"
	done
	((${#pids[@]} == 0)) || reap "${pids[@]}"
	rm -f -- "$ENV_FILE"
}

# write_env writes the lines start prints last into $ENV_FILE.
write_env() {
	local brokers
	brokers=$(addresses CLIENT_PORT)
	{
		if [[ $SECURITY == sasl_ssl ]]; then
			printf 'CASUS_TEST_SASL_BROKERS=%s\n' "$brokers"
			printf 'CASUS_TEST_PLAINTEXT_BROKERS=%s\n' "$(addresses PLAIN_PORT)"
			printf 'CASUS_TEST_TLS_DIR=%s\n' "$TLS_DIR"
		fi
		printf 'CASUS_TEST_BROKERS=%s\n' "$brokers"
	} >"$ENV_FILE"
}

cmd_start() {
	local t0 attempt i rc used extra_opts=() password='' ids=()
	NODES=${CASUS_KAFKA_NODES:-1}
	if [[ ! $NODES =~ ^[1-9]$ ]] || ((NODES > MAX_NODES)); then
		die "CASUS_KAFKA_NODES must be a number from 1 to $MAX_NODES, not '$NODES'"
	fi
	SECURITY=${CASUS_KAFKA_SECURITY:-plaintext}
	[[ $SECURITY == plaintext || $SECURITY == sasl_ssl ]] ||
		die "CASUS_KAFKA_SECURITY must be empty, plaintext or sasl_ssl, not '$SECURITY'"
	find_java
	read -r -a extra_opts <<<"${CASUS_KAFKA_JAVA_OPTS:-}"
	fetch_libs

	find_brokers
	if ((${#PIDS[@]} > 0)); then
		log "stopping the cluster already running from $STATE"
		stop_cluster
	else
		remove_state
	fi
	mkdir -p -- "$STATE"
	: >"$MARKER"
	printf '%s\n' "$NODES" >"$NODES_FILE"
	printf '%s\n' "$SECURITY" >"$SECURITY_FILE"
	: >"$JAVA_OPTS_FILE"
	((${#extra_opts[@]} == 0)) || printf '%s\n' "${extra_opts[@]}" >"$JAVA_OPTS_FILE"

	# Do not leave a half-started cluster behind when this script fails or is interrupted.
	trap 'abort_start' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	t0=$(now)
	if [[ $SECURITY == sasl_ssl ]]; then
		make_tls
		password=$(<"$TLS_DIR/$SASL_USER.password")
	fi
	for ((i = 1; i <= NODES; i++)); do
		ids+=("$i")
	done
	# Ports are free when chosen but another process may take one before Kafka binds it; retry then.
	for attempt in 1 2 3; do
		used=()
		for ((i = 1; i <= NODES; i++)); do
			CLIENT_PORT[i]=$(free_port "${used[@]}")
			used+=("${CLIENT_PORT[i]}")
			if [[ $SECURITY == sasl_ssl ]]; then
				PLAIN_PORT[i]=$(free_port "${used[@]}")
				used+=("${PLAIN_PORT[i]}")
			else
				PLAIN_PORT[i]=${CLIENT_PORT[i]}
			fi
			CONTROLLER_PORT[i]=$(free_port "${used[@]}")
			used+=("${CONTROLLER_PORT[i]}")
		done
		for i in "${ids[@]}"; do
			render "$i" "$password"
			rm -f -- "$STATE/node$i/kafka.log"
		done
		format_nodes "$(cluster_id)" "$password"
		for i in "${ids[@]}"; do
			launch_node "$i"
		done
		rc=0
		await_nodes "${ids[@]}" || rc=$?
		((rc == 0)) && break
		((attempt < 3)) || die "ports were taken three times in a row; is something grabbing ports in 20000-31999?"
		log "retrying with other ports"
		abort_start
		STARTED_PID=()
	done

	write_env
	trap - EXIT INT TERM
	log "$NODES-node Kafka $KAFKA_VERSION cluster ($SECURITY; pid ${STARTED_PID[*]}) ready in $(($(now) - t0))s; logs: $STATE/node*/kafka.log"
	cat -- "$ENV_FILE"
}

# abort_start_node KILLs node $1 if start-node launched it and has not handed it over yet.
abort_start_node() {
	local i=$1
	if [[ -n ${STARTED_PID[i]:-} ]] && alive "${STARTED_PID[i]}"; then
		reap "${STARTED_PID[i]}"
	fi
	rm -f -- "$STATE/node$i/kafka.pid"
}

cmd_start_node() {
	local i=$1 pid t0 rc=0
	load_cluster
	node_arg "$i"
	if pid=$(node_pid "$i"); then
		log "node $i already runs (pid $pid)"
		return 0
	fi
	find_java
	# $i is a checked number, expanded now.
	# shellcheck disable=SC2064
	trap "abort_start_node $i" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	t0=$(now)
	printf '[%(%F %T)T] kafka.sh start-node %s\n' -1 "$i" >>"$STATE/node$i/kafka.log"
	launch_node "$i"
	await_nodes "$i" || rc=$?
	((rc == 0)) || die "node $i cannot start again: another process has taken one of its ports"
	trap - EXIT INT TERM
	log "node $i (pid ${STARTED_PID[i]}) ready in $(($(now) - t0))s on 127.0.0.1:${CLIENT_PORT[i]}"
}

cmd_stop_node() {
	local i=$1 pid t0
	load_cluster
	node_arg "$i"
	if ! pid=$(node_pid "$i"); then
		log "node $i is not running"
		return 0
	fi
	t0=$(now)
	kill_brokers "$pid"
	rm -f -- "$STATE/node$i/kafka.pid"
	log "stopped node $i (pid $pid) in $(($(now) - t0))s"
}

cmd_kill_node() {
	local i=$1 pid
	load_cluster
	node_arg "$i"
	if ! pid=$(node_pid "$i"); then
		log "node $i is not running"
		return 0
	fi
	kill_now "$pid"
	rm -f -- "$STATE/node$i/kafka.pid"
	log "killed node $i (pid $pid)"
}

cmd_nodes() {
	local i pid
	load_cluster
	for ((i = 1; i <= NODES; i++)); do
		if pid=$(node_pid "$i"); then
			printf '%s %s 127.0.0.1:%s running\n' "$i" "$pid" "${CLIENT_PORT[i]}"
		else
			printf '%s - 127.0.0.1:%s stopped\n' "$i" "${CLIENT_PORT[i]}"
		fi
	done
}

# running_nodes sets RUNNING to the pids of the loaded cluster's running nodes.
running_nodes() {
	local i pid
	RUNNING=()
	for ((i = 1; i <= NODES; i++)); do
		pid=$(node_pid "$i") && RUNNING+=("$pid")
	done
	return 0
}

cmd_status() {
	local brokers
	if [[ ! -f $NODES_FILE || ! -f $ENV_FILE ]]; then
		printf 'not running (state dir %s)\n' "$STATE"
		return 1
	fi
	load_cluster
	running_nodes
	brokers=$(addresses CLIENT_PORT)
	if ((${#RUNNING[@]} == NODES)); then
		printf 'running: %s node(s), %s, pid %s, CASUS_TEST_BROKERS=%s, state %s\n' \
			"$NODES" "$SECURITY" "${RUNNING[*]}" "$brokers" "$STATE"
		return 0
	fi
	if ((${#RUNNING[@]} > 0)); then
		printf 'degraded: %s of %s nodes running, %s, pid %s, CASUS_TEST_BROKERS=%s, state %s\n' \
			"${#RUNNING[@]}" "$NODES" "$SECURITY" "${RUNNING[*]}" "$brokers" "$STATE"
		return 1
	fi
	printf 'not running: all %s node(s) stopped (state dir %s)\n' "$NODES" "$STATE"
	return 1
}

cmd_env() {
	if [[ -f $NODES_FILE && -f $ENV_FILE ]]; then
		load_cluster
		running_nodes
		if ((${#RUNNING[@]} > 0)); then
			cat -- "$ENV_FILE"
			return 0
		fi
	fi
	die "no broker running from $STATE; run: scripts/kafka.sh start"
}

usage() {
	printf 'usage: %s start|stop|status|env|nodes\n       %s stop-node|kill-node|start-node I\n' "$0" "$0" >&2
	exit 2
}

RUNNING=()
PIDS=()
IDS=()
case $#:${1:-} in
1:start) cmd_start ;;
1:stop) cmd_stop ;;
1:status) cmd_status ;;
1:env) cmd_env ;;
1:nodes) cmd_nodes ;;
2:stop-node) cmd_stop_node "$2" ;;
2:kill-node) cmd_kill_node "$2" ;;
2:start-node) cmd_start_node "$2" ;;
*) usage ;;
esac
