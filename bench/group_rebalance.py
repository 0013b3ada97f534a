#!/usr/bin/env python3
"""Consumer-group rebalance benchmark driver: fjord and Apache Kafka, one at a time, the same
kafka-clients group (bench/java GroupRebalance) against each.

bench/group-rebalance prepares the binaries and jars (bench/prepare.sh) and calls this. The
broker processes are side_by_side.Broker's (same start-up probe, stop and log checks); this
file adds only the group settings and the group workload.

Per broker run, on a fresh temporary data dir with free loopback ports:
  1. start the broker with side_by_side.COMMON_SETTINGS plus GROUP_SETTINGS;
  2. create one topic of --partitions partitions;
  3. for each --protocols entry: GroupRebalance runs --repeats groups of --members consumers,
     each measuring join (all members start at once -> stable), leave (one member closes ->
     stable) and rejoin (one new member -> stable); "stable" and the overlap check are defined
     in GroupRebalance.java: every partition owned by exactly one live member, none empty,
     sizes within one. A run with an overlap fails.
  4. stop the broker and count WARN/ERROR lines in its log.
Brokers alternate A B A B for --rounds rounds. Results: medians per broker over every repeat of
every round, fjord / Kafka ratios (below 1: fjord is faster), JSON and Markdown files
bench/results/group-rebalance-<stamp>.{json,md}. Stdlib only.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import report
import side_by_side
from clients import BenchError, create_topic, java_client

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("join_ms", "leave_ms", "rejoin_ms")
PROTOCOL_NAMES = {
    "range": "classic, eager range",
    "cooperative-sticky": "classic, cooperative-sticky",
    "consumer": "consumer (KIP-848), server assignor",
}


def group_settings(args):
    """Broker settings added after COMMON_SETTINGS (so they win) for both brokers."""
    return [
        # The same first-join hold on both brokers; COMMON_SETTINGS has 0 already, and this
        # makes --initial-delay-ms the one place it is chosen.
        f"group.initial.rebalance.delay.ms={args.initial_delay_ms}",
        # KIP-848 members learn of a rebalance from their next heartbeat; the broker sets the
        # interval. Kafka refuses an interval below group.consumer.min.heartbeat.interval.ms
        # (default 5000), so both are set; fjord has no minimum and ignores the second key.
        f"group.consumer.heartbeat.interval.ms={args.consumer_heartbeat_ms}",
        f"group.consumer.min.heartbeat.interval.ms={args.consumer_heartbeat_ms}",
    ]


class GroupBroker(side_by_side.Broker):
    """side_by_side's broker with extra settings appended to its command line."""

    def __init__(self, kind, args, settings):
        super().__init__(kind, args)
        self.settings = settings

    def _command(self):
        cmd = super()._command()
        for kv in self.settings:
            cmd += ["--override", kv] if self.kind == "fjord" else [kv]
        return cmd


def run_broker(args, kind, round_no):
    broker = GroupBroker(kind, args, group_settings(args))
    failed = True

    def say(text):
        print(f"[round {round_no}] {kind}: {text}", file=sys.stderr)

    try:
        say("starting")
        result = {"broker": kind, "round": round_no, "startup_ms": broker.start(),
                  "groups": {}}
        topic = f"rebalance-{args.partitions}"
        create_topic(args, broker, topic, args.partitions)
        for protocol in args.protocols:
            what = f"{kind} GroupRebalance {protocol}"
            out = java_client(args, "fjord.bench.GroupRebalance",
                              [broker.bootstrap, topic, str(args.partitions), str(args.members),
                               protocol, str(args.repeats)], what)
            repeats = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
            if len(repeats) != args.repeats:
                raise BenchError(f"{what}: {len(repeats)} of {args.repeats} results:\n{out}")
            result["groups"][protocol] = repeats
            for r in repeats:
                say(f"{protocol} #{r['repeat']}: join {r['join_ms']} ms, leave {r['leave_ms']} "
                    f"ms, rejoin {r['rejoin_ms']} ms, overlaps {r['overlaps']}")
        broker.stop()
        result["log"] = broker.log_problems()
        failed = False
        return result
    except BenchError:
        print(f"{kind} log tail:\n{broker.log_tail()}", file=sys.stderr)
        raise
    finally:
        broker.close(keep=failed and args.keep_on_failure)


def medians(runs):
    """{broker: {protocol: {phase: median ms over every repeat of every round}}}"""
    samples = {}
    for run in runs:
        for protocol, repeats in run["groups"].items():
            for r in repeats:
                for phase in PHASES:
                    samples.setdefault(run["broker"], {}).setdefault(protocol, {}) \
                        .setdefault(phase, []).append(r[phase])
    return {b: {p: {ph: statistics.median(v) for ph, v in phases.items()}
                for p, phases in protos.items()} for b, protos in samples.items()}


def table(args, med):
    lines = ["| protocol | phase | fjord ms | Kafka ms | fjord / Kafka |",
             "|---|---|---:|---:|---:|"]
    labels = {"join_ms": f"{args.members} members join", "leave_ms": "1 member leaves",
              "rejoin_ms": "1 member joins"}
    for protocol in args.protocols:
        for phase in PHASES:
            f = med.get("fjord", {}).get(protocol, {}).get(phase)
            k = med.get("kafka", {}).get(protocol, {}).get(phase)
            ratio = f"{f / k:.2f}" if f is not None and k else "-"
            lines.append(f"| {PROTOCOL_NAMES[protocol]} | {labels[phase]} | "
                         f"{'-' if f is None else f'{f:,.0f}'} | "
                         f"{'-' if k is None else f'{k:,.0f}'} | {ratio} |")
    return "\n".join(lines)


def write(args, runs, started, load_before):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    med = medians(runs)
    commit, dirty = report.fjord_commit(ROOT)
    fjord_version = report.command_output([args.fjord_bin, "--version"])
    settings = {"rounds": args.rounds, "repeats": args.repeats, "members": args.members,
                "partitions": args.partitions, "protocols": args.protocols,
                "order": args.brokers, "broker_settings": group_settings(args),
                "classic_client": "heartbeat.interval.ms=1000, session.timeout.ms=10000",
                "kafka_heap": os.environ.get("KAFKA_HEAP_OPTS", "-Xmx1G -Xms1G")}
    load_after = os.getloadavg()
    doc = {"machine": report.machine(), "fjord": fjord_version, "kafka": Path(args.kafka_lib).name,
           "git_commit": commit, "git_dirty": dirty, "settings": settings, "started_utc": stamp,
           "loadavg_before": load_before, "loadavg_after": load_after, "runs": runs,
           "medians": med}
    json_path = out / f"group-rebalance-{stamp}.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    m = doc["machine"]
    tab = table(args, med)
    problems = "\n".join(
        f"- {r['broker']} round {r['round']}: {r['log']['error']} ERROR, {r['log']['warn']} WARN "
        "lines in its log" for r in runs)
    md = (
        f"# Group rebalance, fjord vs Apache Kafka, {stamp} (busy machine)\n\n"
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), shared with other builds: load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after. {fjord_version} at {commit}"
        f"{' (dirty)' if dirty else ''}; Apache Kafka {doc['kafka']}; kafka-clients "
        f"{doc['kafka']} (bench/java GroupRebalance).\n\n"
        f"Workload: {args.members} consumers in one group over a {args.partitions}-partition "
        f"topic, {args.repeats} groups per broker run, {args.rounds} runs per broker "
        f"alternating {' '.join(args.brokers)}; medians in ms. Broker settings: "
        f"{', '.join(group_settings(args))}. Classic members: heartbeat.interval.ms=1000.\n\n"
        f"{tab}\n\nBroker logs:\n{problems}\n")
    md_path = out / f"group-rebalance-{stamp}.md"
    md_path.write_text(md)
    return json_path, md_path, tab


def csv_of(allowed):
    def parse(text):
        items = [x for x in text.split(",") if x]
        bad = [x for x in items if x not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {sorted(allowed)}")
        return items
    return parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fjord-bin", required=True)
    p.add_argument("--kafka-lib", required=True)
    p.add_argument("--client-classpath", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="groups measured per broker run")
    p.add_argument("--members", type=int, default=20)
    p.add_argument("--partitions", type=int, default=100)
    p.add_argument("--protocols", default="range,cooperative-sticky,consumer",
                   type=csv_of(set(PROTOCOL_NAMES)))
    p.add_argument("--brokers", default="fjord,kafka", type=csv_of({"fjord", "kafka"}),
                   help="order within a round (A B A B ...)")
    p.add_argument("--initial-delay-ms", type=int, default=0,
                   help="group.initial.rebalance.delay.ms for both brokers (Kafka's code "
                        "default is 3000; its shipped server.properties says 0)")
    p.add_argument("--consumer-heartbeat-ms", type=int, default=1000,
                   help="group.consumer.heartbeat.interval.ms (and Kafka's minimum) for both")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--keep-on-failure", action="store_true")
    return p.parse_args()


def main():
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fjord-group-bench."))
    # Broker data dirs go to the scratch dir (side_by_side.Broker uses tempfile).
    tempfile.tempdir = str(scratch)
    args.pids = side_by_side.PidFile(scratch / "pids")

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    started = time.time()
    load_before = os.getloadavg()
    runs = []
    try:
        for round_no in range(1, args.rounds + 1):
            for kind in args.brokers:
                runs.append(run_broker(args, kind, round_no))
    except BenchError as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"benchmark interrupted ({e or 'SIGINT'}); brokers stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    json_path, md_path, tab = write(args, runs, started, load_before)
    print(tab)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
