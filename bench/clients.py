"""The client steps of the side-by-side benchmark: every workload that the driver runs against
a broker, with the same client binaries for fjord and Kafka.

Clients:
  perf     Kafka 4.3.1's own tools (what kafka-producer-perf-test / kafka-consumer-perf-test run):
           org.apache.kafka.tools.ProducerPerformance and ConsumerPerformance (consumer group,
           subscribe());
  rdkafka  bench/rdkafka (Go, confluent-kafka-go with its bundled static librdkafka);
  assign   bench/java BenchClient consume (assign(), no group; kept for comparison with older
           results);
  java     bench/java BenchClient latency (kafka-clients producer + consumer in one JVM).
Each function returns a dict of numbers; side_by_side.py adds the broker's CPU time to it.
"""

import json
import re
import signal
import os
import subprocess

STEP_TIMEOUT_S = 900.0

PRODUCER_LINE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th"
)


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def run_checked(cmd, timeout, what, pids):
    """Runs a client command in its own process group, bounded by timeout; killed on any
    failure or interruption of the driver."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    pids.add(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BenchError(f"{what}: timed out after {timeout} s") from e
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        pids.remove(proc.pid)
    if proc.returncode != 0:
        raise BenchError(f"{what}: exit {proc.returncode}\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return stdout


def java_client(args, main_class, argv, what):
    cmd = ["java", "-Xmx1G", "-cp", args.client_classpath, main_class] + argv
    return run_checked(cmd, STEP_TIMEOUT_S, what, args.pids)


def rdkafka_client(args, argv, what):
    return run_checked([args.rdkafka_bin] + argv, STEP_TIMEOUT_S, what, args.pids)


def last_json(out, what):
    line = [l for l in out.splitlines() if l.startswith("{")]
    if not line:
        raise BenchError(f"no result line from {what}:\n{out[-2000:]}")
    return json.loads(line[-1])


def create_topic(args, broker, topic, partitions):
    java_client(args, "fjord.bench.BenchClient",
                ["create", broker.bootstrap, topic, str(partitions)],
                f"{broker.kind} create {topic}")


def rates(got):
    return {"records_per_s": got["records"] / got["seconds"],
            "mb_per_s": got["bytes"] / got["seconds"] / (1024 * 1024)}


def produce(args, broker, client, topic, size, acks):
    what = f"{broker.kind} {client} produce {topic}"
    if client == "rdkafka":
        got = last_json(rdkafka_client(
            args, ["produce", broker.bootstrap, topic, str(args.records), str(size), acks],
            what), what)
        if got["records"] != args.records:
            raise BenchError(f"{what}: sent {got['records']} of {args.records}")
        return rates(got)
    out = java_client(
        args, "org.apache.kafka.tools.ProducerPerformance",
        ["--topic", topic, "--num-records", str(args.records), "--record-size", str(size),
         "--throughput", "-1", "--producer-props", f"bootstrap.servers={broker.bootstrap}",
         f"acks={acks}"],
        what)
    matches = list(PRODUCER_LINE.finditer(out))
    if not matches:
        raise BenchError(f"no summary line in ProducerPerformance output:\n{out[-2000:]}")
    m = matches[-1]
    if int(m["records"]) != args.records:
        raise BenchError(f"ProducerPerformance sent {m['records']} of {args.records}")
    # ProducerPerformance's MB is 1024 * 1024 bytes, like ours.
    return {"records_per_s": float(m["rps"]), "mb_per_s": float(m["mbps"])}


def consume(args, broker, client, topic):
    what = f"{broker.kind} {client} consume {topic}"
    if client == "rdkafka":
        return rates(last_json(
            rdkafka_client(args, ["consume", broker.bootstrap, topic, str(args.records)], what),
            what))
    if client == "assign":
        return rates(last_json(java_client(
            args, "fjord.bench.BenchClient", ["consume", broker.bootstrap, topic,
                                              str(args.records)], what), what))
    # ConsumerPerformance: subscribe() in a fresh group, so FindCoordinator, JoinGroup,
    # SyncGroup, Heartbeat and OffsetCommit are part of what is measured (as in Kafka's own
    # numbers). Its rate counts from its start, group join included; the "fetch" rate leaves
    # the join out. Both are kept; the table uses the whole-run rate, as the tool prints it.
    out = java_client(
        args, "org.apache.kafka.tools.ConsumerPerformance",
        ["--bootstrap-server", broker.bootstrap, "--topic", topic,
         "--num-records", str(args.records), "--timeout", "60000",
         "--group", f"bench-perf-{topic}"],
        what)
    lines = [l for l in out.splitlines() if l.count(",") >= 5]
    if len(lines) < 2 or not lines[0].startswith("start.time"):
        raise BenchError(f"no summary from ConsumerPerformance:\n{out[-2000:]}")
    row = dict(zip([h.strip() for h in lines[0].split(",")],
                   [v.strip() for v in lines[-1].split(",")]))
    if int(row["data.consumed.in.nMsg"]) < args.records:
        raise BenchError(f"{what}: read {row['data.consumed.in.nMsg']} of {args.records}")
    return {"records_per_s": float(row["nMsg.sec"]), "mb_per_s": float(row["MB.sec"]),
            "fetch_records_per_s": float(row["fetch.nMsg.sec"]),
            "rebalance_ms": float(row["rebalance.time.ms"])}


def latency(args, broker, client, topic):
    """End-to-end latency at a fixed rate: p50/p99/p99.9/max in ms (see BenchClient/Latency.java
    and bench/rdkafka/main.go for the method; both skip a 5 s warm-up)."""
    what = f"{broker.kind} {client} latency {topic}"
    argv = [broker.bootstrap, topic, str(args.latency_rate), str(args.latency_seconds),
            str(args.latency_size)]
    if client == "rdkafka":
        got = last_json(rdkafka_client(args, ["latency"] + argv, what), what)
    else:
        got = last_json(java_client(args, "fjord.bench.BenchClient", ["latency"] + argv, what),
                        what)
    if got["lost"] != 0:
        raise BenchError(f"{what}: {got['lost']} of {got['sent']} records never arrived")
    return {k: got[k] for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")}
