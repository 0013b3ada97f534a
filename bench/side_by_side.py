#!/usr/bin/env python3
"""Side-by-side benchmark driver: fjord and Apache Kafka, one at a time, same clients.

Owns the broker processes (start, probe, measure, stop) and the client runs. bench/run prepares
the binaries and jars and calls this; report.py turns the collected runs into medians, ratios,
JSON and Markdown.

Per broker run, on a fresh temporary data dir with free loopback ports:
  1. spawn the broker; start-up = spawn -> first Metadata v4 response naming a broker (Kafka's
     log dir is formatted before the timed start; the format time is reported beside it);
  2. idle RSS = VmRSS of the broker process IDLE_SETTLE_S seconds after that;
  3. for each producer client (--producers), record size and acks setting: create a
     6-partition topic, then produce --records records as fast as the client goes;
  4. RSS after the produce runs, and the peak RSS seen while they ran (VmRSS sampled every
     0.2 s, and VmHWM);
  5. for each consumer client (--consumers) and record size: read the acks=1 topic written by
     the first producer client back from the start;
  6. for each latency client (--latency-clients): a fresh topic, --latency-rate records/s of
     --latency-size bytes for --latency-seconds (+5 s warm-up), end-to-end p50/p99/p99.9/max;
  Around every produce, consume and latency step, the broker's user + system CPU time
  (/proc/PID/stat) gives its CPU seconds per GiB of payload;
  7. SIGTERM, then SIGKILL after STOP_GRACE_S; count WARN/ERROR lines in the broker log.
The client steps themselves live in clients.py.
Brokers alternate A B A B for --rounds rounds. Stdlib only.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import report
from clients import BenchError, run_checked
import clients

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SERVER_SH = ROOT / "tests" / "compat" / "kafka" / "kafka-server.sh"

PARTITIONS = 6
IDLE_SETTLE_S = 5.0
STARTUP_TIMEOUT_S = 120.0
STOP_GRACE_S = 30.0
RSS_SAMPLE_S = 0.2

# Broker settings given to both brokers, as Kafka keys. Flushing is left to the OS (Kafka's
# default, and fjord's); retention is long enough that nothing is deleted during a run.
COMMON_SETTINGS = [
    f"num.partitions={PARTITIONS}",
    "auto.create.topics.enable=true",
    "log.retention.hours=1",
    "log.segment.bytes=1073741824",
    "log.flush.interval.messages=9223372036854775807",
    # As in the server.properties Kafka ships (and tests/compat/kafka/kafka-server.sh): a
    # lone consumer group member is not held for the default 3 s before its first assignment,
    # which ConsumerPerformance would count in its rate.
    "group.initial.rebalance.delay.ms=0",
    "offsets.topic.replication.factor=1",
]

# Kafka's heap as shipped by kafka-server-start.sh, unless KAFKA_HEAP_OPTS says otherwise.
KAFKA_DEFAULT_HEAP = "-Xmx1G -Xms1G"

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metadata_ok(port):
    """One Metadata v4 request (all topics) on a fresh connection; True when the response has
    our correlation id and at least one broker. v4 is non-flexible and supported by Kafka 4."""
    correlation_id = 7
    client_id = b"bench-probe"
    body = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body += struct.pack(">i?", -1, False)  # topics = null (all), allow_auto_topic_creation
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        head = recv_exact(s, 4)
        (size,) = struct.unpack(">i", head)
        payload = recv_exact(s, size)
    # correlation_id, throttle_time_ms, brokers array length
    got_id, _throttle, broker_count = struct.unpack(">iii", payload[:12])
    return got_id == correlation_id and broker_count >= 1


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def vm_status_kb(pid, field):
    """A kB figure of /proc/PID/status: VmRSS (resident now) or VmHWM (peak resident)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {field} for pid {pid}")


def vm_rss_kb(pid):
    return vm_status_kb(pid, "VmRSS")


class RssSampler:
    """Samples the broker's VmRSS every RSS_SAMPLE_S seconds in a thread while a phase runs and
    keeps the largest value: resident memory under load, independent of what is left after."""

    def __init__(self, broker):
        self.broker = broker
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.broker.rss_kb())
            except (OSError, BenchError):
                return
            self._stop.wait(RSS_SAMPLE_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid):
    """User + system CPU time of the process (all its threads) so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def with_broker_cpu(broker, payload_bytes, step):
    """Runs step() and adds the broker's CPU seconds per GiB of payload moved to its result."""
    before = broker.cpu_seconds()
    got = step()
    got["broker_cpu_s_per_gib"] = (broker.cpu_seconds() - before) / (payload_bytes / 2**30)
    return got


class Broker:
    """One broker process in its own process group, with its data dir and log file."""

    def __init__(self, kind, args):
        self.kind = kind
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        self.port = free_port()
        self.controller_port = free_port()
        self.log_path = self.work / "broker.log"
        self.proc = None
        self.kafka_format_ms = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def _command(self):
        if self.kind == "fjord":
            cmd = [self.args.fjord_bin, "server"]
            overrides = [
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"log.dirs={self.work / 'logs'}",
                "console.enabled=false",
            ] + COMMON_SETTINGS
            for kv in overrides:
                cmd += ["--override", kv]
            return cmd
        return [str(KAFKA_SERVER_SH), str(self.work), str(self.port), str(self.controller_port)] + (
            COMMON_SETTINGS
        )

    def _env(self):
        # KAFKA_* variables would configure fjord (Confluent-image convention): drop them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        if self.kind == "kafka":
            env["KAFKA_HEAP_OPTS"] = os.environ.get("KAFKA_HEAP_OPTS", KAFKA_DEFAULT_HEAP)
            if "KAFKA_CACHE" in os.environ:
                env["KAFKA_CACHE"] = os.environ["KAFKA_CACHE"]
        return env

    def preformat_kafka(self):
        """Formats Kafka's log dir before the timed start, so that start-up measures the broker
        and not the one-off StorageTool JVM (fjord formats itself inside its timed start)."""
        log_dir = self.work / "logs"
        props = self.work / "format.properties"
        props.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}\n"
            "controller.listener.names=CONTROLLER\n"
            f"log.dirs={log_dir}\n"
        )
        cluster_id = "ZmpvcmQtYmVuY2gtMDAwMQ"  # any 16 bytes, URL-safe base64, no padding
        t0 = time.perf_counter()
        run_checked(
            ["java", "-cp", f"{self.args.kafka_lib}/*", "kafka.tools.StorageTool", "format",
             "--ignore-formatted", "-t", cluster_id, "-c", str(props)],
            timeout=120, what="kafka storage format", pids=self.args.pids)
        self.kafka_format_ms = (time.perf_counter() - t0) * 1000

    def start(self):
        """Spawns the broker and returns milliseconds from spawn to the first good Metadata."""
        if self.kind == "kafka":
            self.preformat_kafka()
        log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self._command(), cwd=self.work, env=self._env(), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.args.pids.add(self.proc.pid)
        while True:
            try:
                if metadata_ok(self.port):
                    return (time.perf_counter() - t0) * 1000
            except (OSError, struct.error):
                pass
            if self.proc.poll() is not None:
                raise BenchError(f"{self.kind} exited with {self.proc.returncode} during start-up; "
                                 f"log tail:\n{self.log_tail()}")
            if time.perf_counter() - t0 > STARTUP_TIMEOUT_S:
                raise BenchError(f"{self.kind} answered no Metadata within {STARTUP_TIMEOUT_S} s")
            time.sleep(0.001)

    def rss_kb(self):
        # kafka-server.sh execs the JVM, so the spawned pid is the broker in both cases.
        return vm_rss_kb(self.proc.pid)

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self):
        """WARN/ERROR lines of the broker's log (first few kept verbatim for the report)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {"warn": 0, "error": 0, "samples": []}
        warn = [l for l in text.splitlines() if re.search(r"\bWARN\b", l)]
        error = [l for l in text.splitlines() if re.search(r"\bERROR\b", l)]
        return {"warn": len(warn), "error": len(error), "samples": (error + warn)[:8]}

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_GRACE_S)
            except ProcessLookupError:
                pass
        # Reaped: its id may be reused, so bench/run's exit trap must no longer signal it.
        self.args.pids.remove(self.proc.pid)

    def close(self, keep):
        self.stop()
        if keep:
            # The data dir lives in bench/run's scratch dir, which its exit trap removes.
            kept = Path(self.args.out) / f"failed-{self.work.name}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(self.work), kept)
            print(f"  kept {kept}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


class PidFile:
    """The process groups this driver has running, one id a line, for bench/run's exit trap
    (the last resort when the driver itself is SIGKILLed). An id leaves the file as soon as its
    process is reaped, because the id may then be reused by someone else's process."""

    def __init__(self, path):
        self.path = Path(path)

    def add(self, pid):
        with open(self.path, "a") as f:
            f.write(f"{pid}\n")

    def remove(self, pid):
        try:
            pids = self.path.read_text().split()
        except OSError:
            return
        self.path.write_text("".join(f"{p}\n" for p in pids if p != str(pid)))


def run_broker(args, kind, round_no):
    broker = Broker(kind, args)
    failed = True

    def say(text):
        print(f"[round {round_no}] {kind}: {text}", file=sys.stderr)

    try:
        say("starting")
        result = {"broker": kind, "round": round_no}
        result["startup_ms"] = broker.start()
        if broker.kafka_format_ms is not None:
            result["kafka_format_ms"] = broker.kafka_format_ms
        time.sleep(IDLE_SETTLE_S)
        result["idle_rss_kb"] = broker.rss_kb()
        say(f"up in {result['startup_ms']:.0f} ms, idle RSS {result['idle_rss_kb'] // 1024} MiB")
        result["produce"] = {}
        with RssSampler(broker) as sampler:
            for client in args.producers:
                for size in args.sizes:
                    for acks in args.acks:
                        topic = f"bench-{client}-{size}b-acks{acks}"
                        clients.create_topic(args, broker, topic, PARTITIONS)
                        got = with_broker_cpu(
                            broker, args.records * size,
                            lambda: clients.produce(args, broker, client, topic, size, acks))
                        result["produce"][f"{client}.{size}b_acks{acks}"] = got
                        say(f"{client} produce {size} B acks={acks}: "
                            f"{got['records_per_s']:.0f} msg/s {got['mb_per_s']:.1f} MB/s, "
                            f"broker {got['broker_cpu_s_per_gib']:.1f} CPU s/GiB")
        result["rss_after_produce_kb"] = broker.rss_kb()
        result["rss_under_load_kb"] = sampler.peak_kb
        result["rss_peak_kb"] = vm_status_kb(broker.proc.pid, "VmHWM")
        result["consume"] = {}
        for client in args.consumers:
            for size in args.sizes:
                topic = f"bench-{args.producers[0]}-{size}b-acks{args.acks[0]}"
                got = with_broker_cpu(broker, args.records * size,
                                      lambda: clients.consume(args, broker, client, topic))
                result["consume"][f"{client}.{size}b"] = got
                say(f"{client} consume {size} B: {got['records_per_s']:.0f} msg/s "
                    f"{got['mb_per_s']:.1f} MB/s, broker {got['broker_cpu_s_per_gib']:.1f} "
                    "CPU s/GiB")
        result["latency"] = {}
        for client in args.latency_clients:
            topic = f"bench-latency-{client}"
            clients.create_topic(args, broker, topic, PARTITIONS)
            got = clients.latency(args, broker, client, topic)
            result["latency"][f"{client}.{args.latency_size}b"] = got
            say(f"{client} latency at {args.latency_rate} msg/s: p50 {got['p50_ms']:.2f} ms, "
                f"p99 {got['p99_ms']:.2f} ms, p99.9 {got['p999_ms']:.2f} ms, "
                f"max {got['max_ms']:.2f} ms")
        broker.stop()
        result["log"] = broker.log_problems()
        failed = False
        return result
    except BenchError:
        print(f"{kind} log tail:\n{broker.log_tail()}", file=sys.stderr)
        raise
    finally:
        broker.close(keep=failed and args.keep_on_failure)


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
    p.add_argument("--pid-file", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--sizes", default="100,1024",
                   type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--acks", default="1,all", type=lambda s: s.split(","))
    p.add_argument("--brokers", default="fjord,kafka", type=lambda s: s.split(","),
                   help="order within a round (A B A B ...)")
    p.add_argument("--rdkafka-bin", required=True)
    p.add_argument("--producers", default="perf,rdkafka", type=csv_of({"perf", "rdkafka"}),
                   help="perf: Kafka's ProducerPerformance; rdkafka: bench/rdkafka")
    p.add_argument("--consumers", default="perf,rdkafka",
                   type=csv_of({"perf", "rdkafka", "assign"}),
                   help="perf: Kafka's ConsumerPerformance (consumer group); rdkafka: "
                        "bench/rdkafka (assign); assign: BenchClient (assign, no group)")
    p.add_argument("--latency-clients", default="java,rdkafka",
                   type=csv_of({"java", "rdkafka"}),
                   help="clients for the fixed-rate end-to-end latency run ('' skips it)")
    p.add_argument("--latency-rate", type=int, default=20_000, help="records/s")
    p.add_argument("--latency-seconds", type=int, default=60,
                   help="measured seconds, after a 5 s warm-up")
    p.add_argument("--latency-size", type=int, default=100, help="record value bytes")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--keep-on-failure", action="store_true",
                   help="keep the failed broker's data dir and log")
    return p.parse_args()


def main():
    args = parse_args()
    args.pids = PidFile(args.pid_file)
    # SIGTERM/SIGINT become exceptions so the finally blocks stop the brokers.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    started = time.time()
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
    paths = report.write(args, runs, started, ROOT)
    print(paths["table"])
    print(f"wrote {paths['json']} and {paths['markdown']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
