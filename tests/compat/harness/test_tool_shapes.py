"""The same command lines give output of the same shape from Apache Kafka's tools and fjord's.

Each step runs one command line twice against the suite's broker: with Apache Kafka 4.3.1's
tool (its main class from the jars that `tests/compat/kafka/fetch.sh tools` puts in
.lib/tools-<version>/, one JVM per command) and with fjord's tool (`fjord <subcommand>`, the
binary under test). Steps with an effect get a name per side (topic `shape-k-…` for Kafka's
tool, `shape-f-…` for fjord's, the same length) and the two runs of a step follow each other,
so both tools see the same broker state.

"Shape" is what a script parsing the output depends on: the exit status, the number of lines,
per line the words (split on white space) with every number, address, id, timestamp and date
replaced by a placeholder, so that header lines, column names, `key: value` / `key=value`
structure and the number of fields per line must match. Lines are compared as sorted lists
where the order legitimately differs (records from several partitions, reset plans). On stderr,
every line Kafka's tool prints (minus its deprecation notices and the KIP-848 advert) must be
printed by fjord's too: "Processed a total of N messages", "Consumer group 'g' has no active
members." and the like are part of what scripts see.
"""
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from brokers import REPO

KAFKA_DIR = REPO / "tests" / "compat" / "kafka"
TIMEOUT_S = 120

# fjord subcommand -> Kafka 4.3.1 main class (what bin/kafka-*.sh runs).
KAFKA_MAIN = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "configs": "kafka.admin.ConfigCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
}

# Kafka's notices about its own future (not part of any format), left out of the stderr check.
KAFKA_NOTICES = re.compile(
    r"^(Warning: .* deprecated|Option .* deprecated|The consumer rebalance protocol \(KIP-848\))"
)

PLACEHOLDERS = [
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[:.,]\d{3}"), "DATE"),
    (re.compile(r"/?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?"), "HOST"),
    (re.compile(r"TopicId: \S+"), "TopicId: ID"),
    # Member ids: client id, a dash, a UUID.
    (re.compile(r"\S*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "MEMBER"),
    (re.compile(r"-?\d+(\.\d+)?"), "N"),
]


def shape_line(line: str, names: dict[str, str]) -> tuple[str, ...]:
    for name, placeholder in names.items():
        line = line.replace(name, placeholder)
    for pattern, placeholder in PLACEHOLDERS:
        line = pattern.sub(placeholder, line)
    return tuple(line.split())


def shape(text: str, names: dict[str, str], ordered: bool) -> list[tuple[str, ...]]:
    # Kafka's tools print some of their notices on stdout; they are no part of the format.
    kept = [l for l in text.rstrip("\n").split("\n") if not KAFKA_NOTICES.match(l)]
    lines = [shape_line(l, names) for l in kept] if text.strip() else []
    return lines if ordered else sorted(lines)


class Tools:
    """Runs one command line with Kafka's tool or fjord's."""

    def __init__(self, fjord_bin: Path, kafka_lib: str, bootstrap: str) -> None:
        self.fjord_bin = fjord_bin
        self.classpath = f"{kafka_lib}/*"
        self.bootstrap = bootstrap

    def run(self, side: str, tool: str, args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
        if side == "kafka":
            # C1 only: these JVMs live a second, and the full JIT costs more than it saves.
            cmd = ["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", self.classpath,
                   KAFKA_MAIN[tool]] + args
        else:
            cmd = [str(self.fjord_bin), tool] + args
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def tools(broker):
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.fail("java and mvn are needed for Kafka's tools (the compat suite installs both)")
    fetched = subprocess.run([str(KAFKA_DIR / "fetch.sh"), "tools"], capture_output=True, text=True,
                             timeout=600)
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    kafka_lib = fetched.stdout.strip().splitlines()[-1]
    fjord_bin = Path(os.environ.get("FJORD_BIN", REPO / "target" / "release" / "fjord"))
    return Tools(fjord_bin, kafka_lib, broker.bootstrap)


class Steps:
    """Runs each step with both tools and collects the shape differences."""

    def __init__(self, tools: Tools, run_id: str) -> None:
        self.tools = tools
        self.names = {
            "kafka": {"topic": f"shape-k-{run_id}", "group": f"group-k-{run_id}"},
            "fjord": {"topic": f"shape-f-{run_id}", "group": f"group-f-{run_id}"},
        }
        self.placeholders = {}
        for side in self.names.values():
            self.placeholders[side["topic"]] = "TOPIC"
            self.placeholders[side["group"]] = "GROUP"
        self.differences: list[str] = []

    def step(self, label: str, tool: str, args: list[str], stdin: str = "", ordered: bool = True,
             files: dict[str, str] | None = None) -> None:
        results = {}
        for side in ("kafka", "fjord"):
            subst = dict(self.names[side], bootstrap=self.tools.bootstrap, **(files or {}))
            words = [a.format(**subst) for a in args]
            results[side] = self.tools.run(side, tool, words, stdin.format(**subst))
        kafka, fjord = results["kafka"], results["fjord"]
        report = (f"--- {label}: {tool} {' '.join(args)}\n"
                  f"kafka (exit {kafka.returncode}):\n{kafka.stdout}{kafka.stderr}\n"
                  f"fjord (exit {fjord.returncode}):\n{fjord.stdout}{fjord.stderr}")
        if kafka.returncode != fjord.returncode:
            self.differences.append(f"exit status differs\n{report}")
            return
        want = shape(kafka.stdout, self.placeholders, ordered)
        got = shape(fjord.stdout, self.placeholders, ordered)
        if want != got:
            self.differences.append(f"stdout shape differs\n  kafka {want}\n  fjord {got}\n{report}")
            return
        fjord_err = set(shape(fjord.stderr, self.placeholders, ordered=True))
        for line in kafka.stderr.splitlines():
            if not line.strip() or KAFKA_NOTICES.match(line) or line.startswith("\t"):
                continue
            if shape_line(line, self.placeholders) not in fjord_err:
                self.differences.append(f"stderr line missing from fjord: {line!r}\n{report}")
                return


def wait_for_stable(tools: Tools, group: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = tools.run("fjord", "consumer-groups",
                        ["--bootstrap-server", tools.bootstrap, "--describe", "--group", group, "--state"])
        if " Stable " in out.stdout:
            return
        time.sleep(0.2)
    raise AssertionError(f"group {group} did not become Stable within 30 s: {out.stdout}{out.stderr}")


def test_same_command_lines_give_output_of_the_same_shape(tools, tmp_path):
    run_id = uuid.uuid4().hex[:8]
    s = Steps(tools, run_id)
    b = ["--bootstrap-server", "{bootstrap}"]

    # The seed guide's lines, then the common list/describe forms.
    s.step("create", "topics", b + ["--create", "--topic", "{topic}", "--partitions", "3",
                                    "--replication-factor", "1"])
    s.step("list", "topics", b + ["--list"], ordered=False)
    s.step("describe", "topics", b + ["--describe", "--topic", "{topic}"])
    s.step("produce with headers", "console-producer",
           b + ["--topic", "{topic}", "--property", "parse.key=true", "--property", "parse.headers=true"],
           stdin="h1:a,h1:b\tk1\tv1\nh2:c\tk2\tv2\nh3:d\tk3\tv3\n")
    s.step("produce", "console-producer", b + ["--topic", "{topic}"], stdin="a\nb\nc\n")
    s.step("consume (seed)", "console-consumer",
           b + ["--topic", "{topic}", "--from-beginning", "--property", "print.key=true",
                "--property", "print.partition=true", "--property", "print.offset=true",
                "--max-messages", "6", "--timeout-ms", "20000"], ordered=False)
    s.step("consume in a group", "console-consumer",
           b + ["--topic", "{topic}", "--from-beginning", "--group", "{group}",
                "--property", "print.timestamp=true", "--property", "print.headers=true",
                "--property", "print.key=true", "--max-messages", "6", "--timeout-ms", "20000"],
           ordered=False)
    s.step("describe group", "consumer-groups", b + ["--describe", "--group", "{group}"], ordered=False)
    s.step("describe members", "consumer-groups", b + ["--describe", "--group", "{group}", "--members"])
    s.step("describe state", "consumer-groups", b + ["--describe", "--group", "{group}", "--state"])
    s.step("reset (seed)", "consumer-groups",
           b + ["--group", "{group}", "--topic", "{topic}", "--reset-offsets", "--to-earliest",
                "--execute"], ordered=False)

    # A group with a live member: both tools describe the same group.
    live = f"live-{run_id}"
    member = subprocess.Popen(
        [str(tools.fjord_bin), "console-consumer", "--bootstrap-server", tools.bootstrap,
         "--topic", s.names["fjord"]["topic"], "--group", live],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_stable(tools, live)
        s.step("live group", "consumer-groups", b + ["--describe", "--group", live], ordered=False)
        s.step("live members", "consumer-groups", b + ["--describe", "--group", live, "--members"])
        s.step("live state", "consumer-groups", b + ["--describe", "--group", live, "--state"])
        s.step("list groups", "consumer-groups", b + ["--list"], ordered=False)
    finally:
        member.terminate()
        member.wait(timeout=30)

    s.step("alter config", "configs",
           b + ["--alter", "--entity-type", "topics", "--entity-name", "{topic}",
                "--add-config", "retention.ms=86400000"])
    s.step("describe config", "configs",
           b + ["--describe", "--entity-type", "topics", "--entity-name", "{topic}"])
    s.step("get offsets", "get-offsets", b + ["--topic", "{topic}"])
    files = {}
    for side, names in s.names.items():
        path = tmp_path / f"delete-{side}.json"
        path.write_text('{"partitions":[{"topic":"%s","partition":0,"offset":1}],"version":1}'
                        % names["topic"])
        files[f"offsets_{side}"] = str(path)
    s.names["kafka"]["offsets"] = files["offsets_kafka"]
    s.names["fjord"]["offsets"] = files["offsets_fjord"]
    s.step("delete records", "delete-records", b + ["--offset-json-file", "{offsets}"])
    s.step("producer perf", "producer-perf-test",
           ["--topic", "{topic}", "--num-records", "2000", "--record-size", "100", "--throughput", "-1",
            "--producer-props", "bootstrap.servers={bootstrap}", "acks=1"])
    s.step("consumer perf", "consumer-perf-test", b + ["--topic", "{topic}", "--messages", "1000"])
    s.step("delete topic", "topics", b + ["--delete", "--topic", "{topic}"])

    assert not s.differences, "\n\n".join(s.differences)
