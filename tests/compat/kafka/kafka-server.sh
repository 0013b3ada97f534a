#!/usr/bin/env bash
# Runs Apache Kafka as one KRaft node (broker + controller, node.id=1) on loopback, in the
# foreground, until it is signalled (SIGTERM: controlled shutdown; SIGKILL: crash).
#
# Usage: kafka-server.sh DATA_DIR PORT CONTROLLER_PORT [key=value ...]
#
# DATA_DIR holds server.properties (rewritten at every start), the log dir (DATA_DIR/logs,
# formatted with a random cluster id the first time) and nothing else. Extra key=value arguments
# are appended to server.properties and so override the defaults below (e.g. log.flush settings
# for a benchmark). Env: KAFKA_HEAP_OPTS (default -Xmx512m -Xms256m), KAFKA_JVM_OPTS (extra JVM
# flags), JAVA (default: java on PATH; Kafka 4 needs Java 17+), KAFKA_CACHE (see fetch.sh).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DATA_DIR PORT CONTROLLER_PORT [key=value ...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
data_dir="$(mkdir -p "$1" && cd "$1" && pwd)"
port="$2"
controller_port="$3"
shift 3

lib="$("$here/fetch.sh")"
java="${JAVA:-java}"
props="$data_dir/server.properties"
log_dir="$data_dir/logs"

{
  echo "process.roles=broker,controller"
  echo "node.id=1"
  echo "controller.quorum.voters=1@127.0.0.1:$controller_port"
  echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
  echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
  echo "controller.listener.names=CONTROLLER"
  echo "inter.broker.listener.name=PLAINTEXT"
  echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  echo "log.dirs=$log_dir"
  echo "num.partitions=1"
  # One node: every internal topic has one replica.
  echo "offsets.topic.replication.factor=1"
  echo "transaction.state.log.replication.factor=1"
  echo "transaction.state.log.min.isr=1"
  echo "share.coordinator.state.topic.replication.factor=1"
  echo "share.coordinator.state.topic.min.isr=1"
  echo "group.initial.rebalance.delay.ms=0"
  for kv in "$@"; do
    echo "$kv"
  done
} >"$props"

# The same JVM flags as Kafka's kafka-run-class.sh, with a smaller heap by default.
jvm=(${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/log4j2.properties"
  ${KAFKA_JVM_OPTS:-}
  -cp "$lib/*")

if [ ! -f "$log_dir/meta.properties" ]; then
  # A Kafka Uuid is 16 random bytes in URL-safe base64 without padding; like Uuid.randomUuid we
  # avoid a leading '-', which a command line would read as a flag.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | sed 's/^-/A/')"
  "$java" "${jvm[@]}" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$props"
fi
exec "$java" "${jvm[@]}" kafka.Kafka "$props"
