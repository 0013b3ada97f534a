#!/usr/bin/env python3
"""Profiles fjord's produce and fetch paths with perf: one broker, a produce-heavy phase and a
fetch-heavy phase, each recorded separately. bench/profile prepares the binaries and calls this.

Per phase, while the client runs, against the broker's pid only:
  perf record -F FREQ --call-graph dwarf  -> <phase>.perf.data (kept only with --keep-data)
  perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_* ,context-switches,cpu-clock
                                          -> syscall counts by name
Then, under --out (default bench/results/profile-<stamp>/):
  <phase>.folded     stacks collapsed by inferno-collapse-perf (kept only with --keep-data)
  <phase>.svg        flame graph by inferno-flamegraph (when installed)
  <phase>.report.txt perf report --no-children (self time by symbol), top frames
  <phase>.callers.txt perf report --children (inclusive time)
  summary.json / summary.md   records, bytes, broker CPU s, syscalls per 1000 records and per
                              MiB, the top syscalls, and the top self-time symbols
Phases: produce = ProducerPerformance (or rdkafka) writing --records records of --size bytes,
acks=1, to a 6-partition topic; fetch = the consumer client reading that topic back
--fetch-passes times. Debug line tables come from [profile.release] debug = 1; stacks are
unwound with DWARF because the release build keeps no frame pointers.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import clients
from clients import BenchError
from side_by_side import PARTITIONS, Broker, PidFile, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def start_perf(cmd, pids):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    pids.add(proc.pid)
    return proc


def stop_perf(proc, pids, what):
    """perf writes its data on SIGINT; give it time to finish the file."""
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pids.remove(proc.pid)
    if proc.returncode not in (0, -signal.SIGINT, 130):
        raise BenchError(f"{what}: perf exit {proc.returncode}\n{err[-2000:]}")
    return err


def syscall_counts(stat_path):
    """{event: count} from a perf stat -x, output file, non-zero counts only."""
    counts = {}
    for line in Path(stat_path).read_text().splitlines():
        parts = line.split(",")
        if len(parts) < 3 or line.startswith("#"):
            continue
        try:
            value = float(parts[0])
        except ValueError:
            continue
        if value:
            counts[parts[2]] = value
    return counts


def top_symbols(report_path, limit):
    """The first `limit` (percent, symbol) rows of a perf report --stdio --no-children."""
    rows = []
    for line in Path(report_path).read_text(errors="replace").splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if m:
            # The symbol is followed by the IPC columns after a run of spaces.
            symbol = re.split(r"\s{2,}", m[3].strip())[0]
            rows.append({"percent": float(m[1]), "object": m[2], "symbol": symbol})
        if len(rows) >= limit:
            break
    return rows


def profile_phase(args, broker, phase, work, records, payload_bytes):
    out = Path(args.out)
    data = out / f"{phase}.perf.data"
    stat = out / f"{phase}.stat.csv"
    pid = str(broker.proc.pid)
    recorder = start_perf(["perf", "record", "-F", str(args.freq), "--call-graph",
                           "dwarf,16384", "-p", pid, "-o", str(data)], args.pids)
    counter = start_perf(["perf", "stat", "-x", ",", "-o", str(stat), "-e",
                          "raw_syscalls:sys_enter,syscalls:sys_enter_*,context-switches,"
                          "cpu-clock", "-p", pid], args.pids)
    time.sleep(1.0)  # perf attaches to every thread before the load starts
    cpu_before = cpu_seconds(broker.proc.pid)
    t0 = time.perf_counter()
    results = work()
    wall_s = time.perf_counter() - t0
    broker_cpu_s = cpu_seconds(broker.proc.pid) - cpu_before
    stop_perf(counter, args.pids, f"{phase} perf stat")
    stop_perf(recorder, args.pids, f"{phase} perf record")

    report = out / f"{phase}.report.txt"
    with open(report, "w") as f:
        subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                        "--sort", "dso,symbol", "--percent-limit", "0.5", "-g", "none"],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    callers = out / f"{phase}.callers.txt"
    with open(callers, "w") as f:
        subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--children",
                        "--sort", "symbol", "--percent-limit", "5", "-g",
                        "caller,2,callee,function,percent", "--max-stack", "40"],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    collapse = shutil.which("inferno-collapse-perf")
    flamegraph = shutil.which("inferno-flamegraph")
    if collapse and flamegraph:
        folded = out / f"{phase}.folded"
        script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True,
                                check=True)
        with open(folded, "wb") as f:
            subprocess.run([collapse], input=script.stdout, stdout=f, check=True)
        with open(out / f"{phase}.svg", "wb") as f, open(folded, "rb") as inp:
            subprocess.run([flamegraph, "--title", f"fjord {phase} ({args.client_label})"],
                           stdin=inp, stdout=f, check=True)
    else:
        print("inferno not installed (cargo install inferno): no flame graph", file=sys.stderr)
    if not args.keep_data:
        # perf.data (tens of MB) and the folded stacks (the SVG holds the same) stay out of git.
        data.unlink()
        (out / f"{phase}.folded").unlink(missing_ok=True)

    counts = syscall_counts(stat)
    total_syscalls = counts.get("raw_syscalls:sys_enter", 0)
    by_name = sorted(((k.split("sys_enter_", 1)[1], v) for k, v in counts.items()
                      if k.startswith("syscalls:sys_enter_")), key=lambda kv: -kv[1])
    mib = payload_bytes / 2**20
    return {
        "records": records, "payload_bytes": payload_bytes, "wall_s": wall_s,
        "broker_cpu_s": broker_cpu_s, "broker_cpu_s_per_gib": broker_cpu_s / (mib / 1024),
        "client": results,
        "syscalls": total_syscalls,
        "syscalls_per_1000_records": total_syscalls / records * 1000,
        "syscalls_per_mib": total_syscalls / mib,
        "context_switches": counts.get("context-switches"),
        "top_syscalls": [{"name": k, "count": v, "per_mib": v / mib} for k, v in by_name[:12]],
        "top_self_symbols": top_symbols(report, 25),
    }


def markdown(summary):
    lines = [f"# fjord profile, {summary['stamp']}", "",
             f"Binary {summary['fjord']} at {summary['git_commit']}; command `{summary['command']}`;"
             f" perf {summary['perf']}, {summary['freq']} Hz, DWARF unwinding.", ""]
    for phase, p in summary["phases"].items():
        lines += [f"## {phase}", "",
                  f"{p['records']:,} records, {p['payload_bytes'] / 2**20:.0f} MiB in "
                  f"{p['wall_s']:.1f} s; broker CPU {p['broker_cpu_s']:.2f} s "
                  f"({p['broker_cpu_s_per_gib']:.2f} s/GiB); {p['syscalls']:,.0f} syscalls "
                  f"({p['syscalls_per_1000_records']:.1f} per 1000 records, "
                  f"{p['syscalls_per_mib']:.0f} per MiB); "
                  f"{(p['context_switches'] or 0):,.0f} context switches.", "",
                  "| syscall | count | per MiB |", "|---|---:|---:|"]
        lines += [f"| {s['name']} | {s['count']:,.0f} | {s['per_mib']:.1f} |"
                  for s in p["top_syscalls"]]
        lines += ["", "| self % | object | symbol |", "|---:|---|---|"]
        lines += [f"| {s['percent']:.2f} | {s['object']} | `{s['symbol'][:110]}` |"
                  for s in p["top_self_symbols"]]
        lines.append("")
    return "\n".join(lines)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fjord-bin", required=True)
    p.add_argument("--kafka-lib", required=True)
    p.add_argument("--client-classpath", required=True)
    p.add_argument("--rdkafka-bin", required=True)
    p.add_argument("--pid-file", required=True)
    p.add_argument("--records", type=int, default=2_000_000)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--client", choices=["perf", "rdkafka"], default="rdkafka",
                   help="producer and consumer client (rdkafka leaves more CPU to the broker)")
    p.add_argument("--fetch-passes", type=int, default=3)
    p.add_argument("--freq", type=int, default=499, help="perf record sampling frequency")
    p.add_argument("--keep-data", action="store_true", help="keep the perf.data files")
    p.add_argument("--out", default=None)
    return p.parse_args()


def main():
    args = parse_args()
    args.pids = PidFile(args.pid_file)
    args.keep_on_failure = False
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out = args.out or str(ROOT / "bench" / "results" / f"profile-{stamp}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    args.client_label = {"perf": "Kafka perf tools", "rdkafka": "librdkafka"}[args.client]

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)

    broker = Broker("fjord", args)
    summary = {"stamp": stamp, "freq": args.freq, "phases": {},
               "command": f"bench/profile --records {args.records} --size {args.size} "
                          f"--client {args.client} --fetch-passes {args.fetch_passes} "
                          f"--freq {args.freq}",
               "fjord": subprocess.run([args.fjord_bin, "--version"], capture_output=True,
                                       text=True).stdout.strip(),
               "perf": subprocess.run(["perf", "--version"], capture_output=True,
                                      text=True).stdout.strip(),
               "git_commit": os.environ.get("FJORD_COMMIT") or subprocess.run(
                   ["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                   cwd=ROOT).stdout.strip()}
    try:
        broker.start()
        topic = f"profile-{args.size}b"
        clients.create_topic(args, broker, topic, PARTITIONS)
        payload = args.records * args.size
        print(f"profile: produce {args.records} x {args.size} B ({args.client})", file=sys.stderr)
        summary["phases"]["produce"] = profile_phase(
            args, broker, "produce",
            lambda: clients.produce(args, broker, args.client, topic, args.size, "1"),
            args.records, payload)
        print(f"profile: fetch {args.fetch_passes} passes ({args.client})", file=sys.stderr)
        consumer = "perf" if args.client == "perf" else "rdkafka"
        summary["phases"]["fetch"] = profile_phase(
            args, broker, "fetch",
            lambda: [clients.consume(args, broker, consumer, topic)
                     for _ in range(args.fetch_passes)],
            args.records * args.fetch_passes, payload * args.fetch_passes)
    except BenchError as e:
        print(f"profile failed: {e}\n{broker.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"profile interrupted ({e}); broker stopped", file=sys.stderr)
        return 130
    finally:
        broker.close(keep=False)
    out = Path(args.out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    for phase in summary["phases"]:
        (out / f"{phase}.stat.csv").unlink(missing_ok=True)
    print(markdown(summary))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
