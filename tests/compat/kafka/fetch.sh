#!/usr/bin/env bash
# Puts Apache Kafka's broker jars (the version pinned in pom.xml) with their runtime dependencies
# into $KAFKA_CACHE/<version>/ (default: tests/compat/kafka/.lib, git-ignored) and prints that
# directory. Idempotent: a second run with the same pom.xml prints the directory and does nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KAFKA_CACHE:-$here/.lib}"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
lib="$cache/$version"
stamp="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"

if [ -f "$lib/.complete" ] && [ "$(cat "$lib/.complete")" = "$stamp" ]; then
  echo "$lib"
  exit 0
fi

# Resolve into a scratch directory and rename at the end, so that an interrupted download never
# leaves a half-filled directory that looks complete.
rm -rf "$lib.partial"
mkdir -p "$cache"
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$lib.partial" >&2
echo "$stamp" >"$lib.partial/.complete"
rm -rf "$lib"
mv "$lib.partial" "$lib"
echo "$lib"
