# Sourced by bench/run and bench/profile from the repository root: builds or fetches what the
# benchmark drives and sets fjord_bin, kafka_lib, tools_lib, classes and rdkafka_bin.
#   - target/release/fjord (built when missing; FJORD_BIN picks another binary, and then
#     FJORD_COMMIT names the commit it was built from, for the report),
#   - Apache Kafka's broker jars (tests/compat/kafka/fetch.sh),
#   - the client jars (kafka-tools for ProducerPerformance, kafka-clients) into bench/java/.lib/,
#     and bench/java/*.java compiled against them into bench/java/.classes/,
#   - bench/rdkafka (Go, confluent-kafka-go with its bundled static librdkafka) built into
#     bench/rdkafka/.bin/rdkafka-bench; the modules come through the Go module proxy once.
# shellcheck shell=bash
fjord_bin="${FJORD_BIN:-$root/target/release/fjord}"
if [ ! -x "$fjord_bin" ]; then
  cargo build --release -p fjord
fi

kafka_lib="$(tests/compat/kafka/fetch.sh)"

# Client jars: resolved once per bench/java/pom.xml, like fetch.sh does for the broker.
tools_lib="$root/bench/java/.lib"
stamp="$(sha256sum bench/java/pom.xml | cut -d' ' -f1)"
if [ ! -f "$tools_lib/.complete" ] || [ "$(cat "$tools_lib/.complete")" != "$stamp" ]; then
  rm -rf "$tools_lib.partial"
  mvn -q -B -Dstyle.color=never -f bench/java/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tools_lib.partial" >&2
  echo "$stamp" >"$tools_lib.partial/.complete"
  rm -rf "$tools_lib"
  mv "$tools_lib.partial" "$tools_lib"
fi
classes="$root/bench/java/.classes"
srcs=(bench/java/src/main/java/fjord/bench/*.java)
stale=0
for src in "${srcs[@]}"; do
  class="$classes/fjord/bench/$(basename "$src" .java).class"
  if [ ! -f "$class" ] || [ "$src" -nt "$class" ]; then stale=1; fi
done
if [ "$stale" = 1 ]; then
  rm -rf "$classes"
  mkdir -p "$classes"
  javac -d "$classes" -cp "$tools_lib/*" "${srcs[@]}"
fi

# The librdkafka driver: go build is incremental, so running it every time costs ~1 s.
rdkafka_bin="$root/bench/rdkafka/.bin/rdkafka-bench"
(cd bench/rdkafka && go build -o "$rdkafka_bin" .)

