#!/usr/bin/env python3
"""Producer perf tools side by side: fjord's `producer-perf-test` against Apache Kafka's own
kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance 4.3.1), both producing to
the same fjord broker with the same flags. What is compared is the client tool, not the broker.

bench/perf-tools prepares the binaries and jars (bench/prepare.sh) and calls this. The broker
is side_by_side.Broker (same settings, start-up probe and stop as bench/run).

One fjord broker for the whole run (fresh temporary data dir, free loopback ports); then for
--rounds rounds, the two tools alternate (Kafka's, fjord's, Kafka's, ...; the first tool of a
round alternates too, so neither always runs on a warmer broker), each on a fresh topic of
--partitions partitions, with

    --num-records N --record-size S --throughput -1 --producer-props bootstrap.servers=B acks=A

(plus the perf tool's defaults on both sides: batch.size 16384, linger.ms 5 in Kafka 4, no
compression). Each run's summary line is parsed (records/sec, MB/sec, latencies); medians per
tool and the fjord / Kafka ratio go to bench/results/perf-tools-<stamp>.{json,md}. Stdlib only.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import side_by_side
from clients import PRODUCER_LINE, BenchError, run_checked

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 900.0
# kafka-producer-perf-test.sh's heap (it sets KAFKA_HEAP_OPTS=-Xmx512M).
KAFKA_TOOL_HEAP = "-Xmx512M"
FIELDS = ("rps", "mbps", "avg", "max", "p50", "p95", "p99")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fjord-bin", required=True)
    p.add_argument("--kafka-lib", required=True, help="Kafka's broker jars (not used for tools)")
    p.add_argument("--client-classpath", required=True, help="classpath with kafka-tools")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--num-records", type=int, default=1_000_000)
    p.add_argument("--record-size", type=int, default=100)
    p.add_argument("--partitions", type=int, default=side_by_side.PARTITIONS)
    p.add_argument("--acks", default="1")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    return p.parse_args()


def create_topic(args, broker, topic):
    run_checked([args.fjord_bin, "topics", "--bootstrap-server", broker.bootstrap, "--create",
                 "--topic", topic, "--partitions", str(args.partitions),
                 "--replication-factor", "1"],
                STEP_TIMEOUT_S, f"create {topic}", args.pids)


def perf_run(args, broker, tool, topic):
    flags = ["--topic", topic, "--num-records", str(args.num_records),
             "--record-size", str(args.record_size), "--throughput", "-1",
             "--producer-props", f"bootstrap.servers={broker.bootstrap}", f"acks={args.acks}"]
    if tool == "kafka":
        cmd = ["java", KAFKA_TOOL_HEAP, "-cp", args.client_classpath,
               "org.apache.kafka.tools.ProducerPerformance"] + flags
    else:
        cmd = [args.fjord_bin, "producer-perf-test"] + flags
    t0 = time.perf_counter()
    out = run_checked(cmd, STEP_TIMEOUT_S, f"{tool} producer-perf-test", args.pids)
    wall_s = time.perf_counter() - t0
    lines = [m for m in (PRODUCER_LINE.search(l) for l in out.splitlines()) if m]
    if not lines:
        raise BenchError(f"no summary line from {tool}'s tool:\n{out[-2000:]}")
    # The summary is the last line (window lines come before it, every 5 s).
    m = lines[-1]
    got = {k: float(m.group(k)) for k in FIELDS}
    got["records"] = int(m.group("records"))
    got["wall_s"] = wall_s
    if got["records"] != args.num_records:
        raise BenchError(f"{tool}'s tool sent {got['records']} of {args.num_records} records")
    return got


def medians(runs):
    return {k: statistics.median(r[k] for r in runs) for k in FIELDS + ("wall_s",)}


def markdown(result):
    f, k = result["median"]["fjord"], result["median"]["kafka"]
    rows = [
        ("records/s", "rps", "{:,.0f}"),
        ("MB/s", "mbps", "{:.2f}"),
        ("avg latency ms", "avg", "{:.2f}"),
        ("p50 latency ms", "p50", "{:.0f}"),
        ("p99 latency ms", "p99", "{:.0f}"),
        ("max latency ms", "max", "{:.0f}"),
        ("wall time s (incl. start-up)", "wall_s", "{:.2f}"),
    ]
    s = result["setup"]
    out = [
        f"# Producer perf tools, {result['stamp']}",
        "",
        f"Both tools against one fjord broker ({s['fjord_commit']}), {s['rounds']} rounds "
        f"alternating, medians: `--num-records {s['num_records']} --record-size "
        f"{s['record_size']} --throughput -1 --producer-props acks={s['acks']}`, "
        f"{s['partitions']} partitions, fresh topic per run. Machine: {s['machine']}.",
        "",
        "| | fjord producer-perf-test | Kafka kafka-producer-perf-test | fjord / Kafka |",
        "|---|---:|---:|---:|",
    ]
    for label, key, fmt in rows:
        ratio = f[key] / k[key] if k[key] else float("nan")
        out.append(f"| {label} | {fmt.format(f[key])} | {fmt.format(k[key])} | {ratio:.2f} |")
    out.append("")
    out.append("Per run (records/s): fjord " + ", ".join(f"{r['rps']:,.0f}" for r in result["runs"]["fjord"])
               + "; Kafka " + ", ".join(f"{r['rps']:,.0f}" for r in result["runs"]["kafka"]) + ".")
    return "\n".join(out) + "\n"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main():
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="perf-tools-"))
    args.pids = side_by_side.PidFile(scratch / "pids")
    broker_args = SimpleNamespace(fjord_bin=args.fjord_bin, kafka_lib=args.kafka_lib,
                                  pids=args.pids, out=args.out)
    broker = side_by_side.Broker("fjord", broker_args)
    runs = {"fjord": [], "kafka": []}
    try:
        broker.start()
        for round_no in range(args.rounds):
            order = ("kafka", "fjord") if round_no % 2 == 0 else ("fjord", "kafka")
            for tool in order:
                topic = f"perf-{tool}-{round_no}"
                create_topic(args, broker, topic)
                got = perf_run(args, broker, tool, topic)
                runs[tool].append(got)
                print(f"round {round_no + 1} {tool:5}: {got['rps']:,.0f} records/s, "
                      f"{got['mbps']:.2f} MB/s, p99 {got['p99']:.0f} ms", file=sys.stderr)
    finally:
        broker.stop()
        shutil.rmtree(broker.work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {
        "stamp": stamp,
        "setup": {
            "rounds": args.rounds, "num_records": args.num_records, "record_size": args.record_size,
            "partitions": args.partitions, "acks": args.acks, "fjord_commit": commit(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        },
        "runs": runs,
        "median": {tool: medians(r) for tool, r in runs.items()},
    }
    result["ratio_records_per_s"] = result["median"]["fjord"]["rps"] / result["median"]["kafka"]["rps"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"perf-tools-{stamp}.json").write_text(json.dumps(result, indent=1))
    md = markdown(result)
    (out / f"perf-tools-{stamp}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"perf-tools: {e}", file=sys.stderr)
        sys.exit(1)
