#!/usr/bin/env bash
# Puts Apache Kafka's broker jars (the version pinned in pom.xml) with their runtime dependencies
# into $KAFKA_CACHE/<version>/ (default: tests/compat/kafka/.lib, git-ignored) and prints that
# directory. Idempotent: a second run with the same pom.xml prints the directory and does nothing.
# `fetch.sh tools` does the same for Kafka's command-line tools (tools/pom.xml) into
# $KAFKA_CACHE/tools-<version>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KAFKA_CACHE:-$here/.lib}"
pom="$here/pom.xml"
prefix=""
if [ "${1:-}" = tools ]; then
  pom="$here/tools/pom.xml"
  prefix="tools-"
fi
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
lib="$cache/$prefix$version"
stamp="$(sha256sum "$pom" | cut -d' ' -f1)"

if [ -f "$lib/.complete" ] && [ "$(cat "$lib/.complete")" = "$stamp" ]; then
  echo "$lib"
  exit 0
fi

# Resolve into a scratch directory and rename at the end, so that an interrupted download never
# leaves a half-filled directory that looks complete.
rm -rf "$lib.partial"
mkdir -p "$cache"
mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$lib.partial" >&2
echo "$stamp" >"$lib.partial/.complete"
rm -rf "$lib"
mv "$lib.partial" "$lib"
echo "$lib"
