#!/usr/bin/env bash
# fjord-only A/B: the same bench/run workload with two fjord binaries, alternating X Y X Y ...,
# one broker run each, results under /tmp/ab/TAG/<binary>-<round>/ and a progress line (time,
# load average) per run in /tmp/ab/TAG.progress. Used for docs/BENCHMARKS.md's "hot-path
# optimisations" history; the machine's noise is why it alternates and why medians are quoted.
#
#   bench/ab.sh TAG BIN_X BIN_Y ROUNDS [bench/run options...]
#   bench/ab.sh read /tmp/fjord-A /tmp/fjord-B 3 --records 500000 --sizes 1024 --acks 1 \
#       --producers rdkafka --consumers rdkafka --latency-clients ''
set -euo pipefail
tag=$1 x=$2 y=$3 rounds=$4
shift 4
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p "/tmp/ab/$tag"
for r in $(seq 1 "$rounds"); do
  for b in "$x" "$y"; do
    n=$(basename "$b")
    FJORD_BIN=$b bench/run --brokers fjord --rounds 1 "$@" --out "/tmp/ab/$tag/$n-$r" \
      >"/tmp/ab/$tag-$n-$r.log" 2>&1
    echo "$n round $r done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"/tmp/ab/$tag.progress"
  done
done
echo ALLDONE >>"/tmp/ab/$tag.progress"
