"""Results of the side-by-side benchmark: medians per broker, fjord / Kafka ratios, and the
files under bench/results/.

Files written, named by UTC start time, <stamp> = YYYYMMDDTHHMMSSZ:
  side-by-side-<stamp>.json  {"machine", "versions", "git_commit", "git_dirty", "settings",
                              "runs": [one object per broker run, as side_by_side.run_broker
                              returns], "medians": {broker: {metric: value}},
                              "ratios": {metric: fjord / kafka}}
  side-by-side-<stamp>.md    the same as a Markdown table, with the machine and the command
Every ratio is fjord's median divided by Kafka's: above 1 means fjord is higher (better for
throughput, worse for memory and start-up time). Targets are reported, never asserted.
"""

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

# phase or metric -> target on the fjord / Kafka ratio, as text (from the issue; not asserted)
TARGETS = {
    "produce": ">= 1.5",
    "consume": ">= 1.5",
    "p99_ms": "<= 0.5",
    "startup_ms": "<= 0.05 (20x faster)",
    "idle_rss_kb": "<= 0.10",
}
LOWER_IS_BETTER = "(none; lower is better)"

SCALARS = {
    "startup_ms": "start-up to first Metadata (ms)",
    "startup_with_format_ms": "start-up incl. Kafka's kafka-storage format (ms)",
    "idle_rss_kb": "RSS idle (MiB)",
    "rss_under_load_kb": "RSS under load, max sampled during produce (MiB)",
    "rss_peak_kb": "RSS peak, VmHWM after produce (MiB)",
    "rss_after_produce_kb": "RSS after produce runs (MiB)",
}
CLIENT_NAMES = {"perf": "Kafka perf tool", "rdkafka": "librdkafka", "assign": "BenchClient",
                "java": "kafka-clients"}
UNITS = {"records_per_s": "msg/s", "mb_per_s": "MB/s", "broker_cpu_s_per_gib": "broker CPU s/GiB",
         "fetch_records_per_s": "msg/s after group join", "rebalance_ms": "group join ms",
         "p50_ms": "p50 ms", "p99_ms": "p99 ms", "p999_ms": "p99.9 ms", "max_ms": "max ms"}


def flatten(run):
    """One run as {metric: number}, e.g. produce.perf.100b_acks1.mb_per_s."""
    flat = {}
    for key in SCALARS:
        if key == "startup_with_format_ms":
            # fjord formats its data dir inside its timed start; Kafka needs the separate
            # kafka-storage format step first, which an operator also waits for.
            flat[key] = run["startup_ms"] + run.get("kafka_format_ms", 0.0)
        elif key in run:
            flat[key] = run[key]
    for phase in ("produce", "consume", "latency"):
        for workload, numbers in run.get(phase, {}).items():
            for name, value in numbers.items():
                flat[f"{phase}.{workload}.{name}"] = value
    return flat


def medians(runs):
    by_broker = {}
    for run in runs:
        by_broker.setdefault(run["broker"], []).append(flatten(run))
    out = {}
    for broker, flats in by_broker.items():
        out[broker] = {k: statistics.median(f[k] for f in flats if k in f) for k in flats[0]}
    return out


def ratios(med):
    if "fjord" not in med or "kafka" not in med:
        return {}
    return {k: med["fjord"][k] / med["kafka"][k]
            for k in med["fjord"] if med["kafka"].get(k)}


def machine():
    mem_kb = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "mem_total_kb": mem_kb, "kernel": platform.release(),
            "cpu": cpu}


def command_output(cmd, cwd=None):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout + done.stderr).strip() or None


def versions(args, root):
    kafka_version = Path(args.kafka_lib).name
    java = command_output(["java", "-version"])
    return {
        "fjord": command_output([args.fjord_bin, "--version"]),
        "kafka": kafka_version,
        "clients": kafka_version,
        "java": java.splitlines()[0] if java else None,
        "rdkafka": command_output([args.rdkafka_bin, "version"]),
    }


def describe(metric):
    """Readable label and target for a flattened metric name."""
    if metric in SCALARS:
        return SCALARS[metric], TARGETS.get(metric, LOWER_IS_BETTER)
    phase, client, workload, name = metric.split(".")
    size, _, acks = workload.partition("_")
    label = f"{phase} {size[:-1]} B" + (f" {acks.replace('acks', 'acks=')}" if acks else "")
    label += f", {CLIENT_NAMES.get(client, client)} ({UNITS.get(name, name)})"
    if name in ("records_per_s", "mb_per_s"):
        return label, TARGETS[phase]
    return label, TARGETS.get(name, LOWER_IS_BETTER if name != "fetch_records_per_s" else "")


def fmt(metric, value):
    if metric.endswith("_kb"):
        return f"{value / 1024:.0f}"
    if metric.endswith("records_per_s") or metric.endswith("rebalance_ms"):
        return f"{value:,.0f}"
    if metric.endswith("_ms") and metric.startswith("latency."):
        return f"{value:.2f}"
    return f"{value:.1f}"


def fmt_ratio(r):
    if r is None:
        return "-"
    # Start-up and memory ratios are far below 1; keep two significant digits there.
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def table(med, rat):
    lines = ["| metric | fjord | Kafka | fjord / Kafka | target |", "|---|---:|---:|---:|---|"]
    for metric in med.get("fjord", med.get("kafka", {})):
        label, target = describe(metric)
        f = med.get("fjord", {}).get(metric)
        k = med.get("kafka", {}).get(metric)
        r = rat.get(metric)
        lines.append(f"| {label} | {fmt(metric, f) if f is not None else '-'} | "
                     f"{fmt(metric, k) if k is not None else '-'} | "
                     f"{fmt_ratio(r)} | {target} |")
    return "\n".join(lines)


def fjord_commit(root):
    """The commit the fjord binary was built from: FJORD_COMMIT when the binary comes from
    another checkout (FJORD_BIN), else this checkout's HEAD and whether its tree is dirty."""
    if os.environ.get("FJORD_COMMIT"):
        return os.environ["FJORD_COMMIT"], False
    commit = command_output(["git", "rev-parse", "HEAD"], cwd=root)
    dirty = bool(command_output(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root))
    return commit, dirty


def command_line(args):
    """The bench/run command that reproduces these settings (defaults left out)."""
    parts = ["bench/run", "--rounds", str(args.rounds), "--records", str(args.records)]
    if args.latency_seconds != 60:
        parts += ["--latency-seconds", str(args.latency_seconds)]
    if args.latency_rate != 20_000:
        parts += ["--latency-rate", str(args.latency_rate)]
    for flag, value, default in (("--producers", args.producers, ["perf", "rdkafka"]),
                                 ("--consumers", args.consumers, ["perf", "rdkafka"]),
                                 ("--latency-clients", args.latency_clients, ["java", "rdkafka"]),
                                 ("--sizes", args.sizes, [100, 1024]),
                                 ("--acks", args.acks, ["1", "all"])):
        if value != default:
            parts += [flag, ",".join(str(x) for x in value) or "''"]
    return " ".join(parts)


def write(args, runs, started, root):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    med = medians(runs)
    rat = ratios(med)
    commit, dirty = fjord_commit(root)
    settings = {"rounds": args.rounds, "records": args.records, "sizes": args.sizes,
                "acks": args.acks, "order": args.brokers, "producers": args.producers,
                "consumers": args.consumers, "latency_clients": args.latency_clients,
                "latency_rate": args.latency_rate, "latency_seconds": args.latency_seconds,
                "latency_size": args.latency_size,
                "kafka_heap": os.environ.get("KAFKA_HEAP_OPTS", "-Xmx1G -Xms1G")}
    doc = {"machine": machine(), "versions": versions(args, root), "git_commit": commit,
           "git_dirty": dirty, "settings": settings, "started_utc": stamp, "runs": runs,
           "medians": med, "ratios": rat}
    json_path = out / f"side-by-side-{stamp}.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    m = doc["machine"]
    v = doc["versions"]
    tab = table(med, rat)
    problems = "\n".join(
        f"- {r['broker']} round {r['round']}: {r['log']['error']} ERROR, {r['log']['warn']} WARN "
        "lines in its log" for r in runs)
    md = (
        f"# fjord vs Apache Kafka, {stamp}\n\n"
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_total_kb'] // 1024} MiB, "
        f"Linux {m['kernel']}. {v['fjord']} at {commit}{' (dirty)' if dirty else ''}; "
        f"Apache Kafka {v['kafka']} (KRaft combined, heap {settings['kafka_heap']}); "
        f"clients: Kafka {v['clients']} ProducerPerformance / ConsumerPerformance (\"Kafka perf "
        f"tool\"), kafka-clients {v['clients']} (bench/java), {v['rdkafka']} (bench/rdkafka); "
        f"{v['java']}.\n\n"
        f"Command: `{command_line(args)}`; medians of "
        f"{args.rounds} runs per broker, alternating {' '.join(args.brokers)}. Latency: "
        f"{args.latency_rate} msg/s of {args.latency_size} B for {args.latency_seconds} s "
        "after a 5 s warm-up, acks=1, linger.ms=0, producer and consumer in one process.\n\n"
        f"{tab}\n\nBroker logs:\n{problems}\n")
    md_path = out / f"side-by-side-{stamp}.md"
    md_path.write_text(md)
    return {"json": json_path, "markdown": md_path, "table": tab}
