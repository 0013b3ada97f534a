"""A real Kafka Streams application with processing.guarantee=exactly_once_v2 (the `streams-eos`
row of ../SCENARIOS.md): the word count of ../streams (groupBy: a repartition topic; count: a
state store and its changelog topic), fed known lines while it runs, killed with SIGKILL midway
and started again on the same state dir; its output, read read_committed, must count every word
exactly: for each word the updates 1, 2, ..., n, no duplicate and no gap.

Streams runs on kafka-clients 4.3.1 (tests/compat/streams/pom.xml says why) and uses more of the
broker than the drivers: the admin API to create its internal topics, DescribeConfigs, the
transactional producer with the group's metadata (EOS v2) and read_committed consumers of its
own repartition topic.
"""
import os
import struct
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Producer

import group_members as gm
import txn_checks as txn
from test_transactions import broker_supports_transactions, create_topics

COMPAT = Path(__file__).resolve().parents[1]
WORDS = ["fjord", "kafka", "streams", "exactly", "once", "count", "word", "log"]
LINE_COUNT = 120
PARTITIONS = 2
# The lines go in while the application runs: 4 lines every 100 ms, 3 s in all.
LINES_PER_TICK = 4
TICK_S = 0.1
WAIT_S = 60
# After the restart, Kafka has every update within ~10 s.
RESTART_WAIT_S = 30


def lines() -> list[str]:
    # Mixed case and punctuation: the application lower-cases and splits on non-word characters.
    return [
        f"{WORDS[i % 8]} {WORDS[(i * 3) % 8].upper()} {WORDS[(i * 5 + 1) % 8]}, {WORDS[(i // 3) % 8]}"
        for i in range(LINE_COUNT)
    ]


def expected_counts() -> Counter:
    return Counter(w.strip(",").lower() for line in lines() for w in line.split())


def streams_command() -> list[str]:
    target = COMPAT / "streams" / "target"
    classpath_file = target / "classpath.txt"
    if not classpath_file.exists():
        pytest.fail(f"{classpath_file} missing (the Streams application is not built): run tests/compat/run")
    classpath = f"{target / 'classes'}{os.pathsep}{classpath_file.read_text().strip()}"
    return ["java", "-XX:TieredStopAtLevel=1", "-cp", classpath, "dev.fjord.compat.streams.WordCount"]


def read_counts(bootstrap: str, topic: str) -> list[tuple[str, int]]:
    """The output read_committed: (word, count) in log order per partition."""
    return txn.read_all(
        bootstrap,
        topic,
        PARTITIONS,
        "read_committed",
        decode=lambda m: (m.key().decode(), struct.unpack(">q", m.value())[0]),
    )


def check_counts(updates: list[tuple[str, int]]) -> None:
    expected = expected_counts()
    by_word: dict[str, list[int]] = {}
    for word, count in updates:
        by_word.setdefault(word, []).append(count)
    assert set(by_word) == set(expected), f"words in the output {sorted(by_word)}, expected {sorted(expected)}"
    for word, n in sorted(expected.items()):
        got = by_word[word]
        assert got == list(range(1, n + 1)), f"the updates of {word!r}: {got}, expected 1..{n}"


def test_streams_eos(ctx, record_property):
    record_property("client", "kafka-streams")
    record_property("scenario", "streams-eos")
    if not broker_supports_transactions(ctx.bootstrap):
        pytest.fail(f"{ctx.broker.name} does not advertise the transaction APIs")
    started = time.monotonic()
    input_topic, output_topic = f"{ctx.topic}-lines", f"{ctx.topic}-counts"
    create_topics(ctx, {input_topic: PARTITIONS, output_topic: PARTITIONS})
    state_dir = tempfile.TemporaryDirectory(prefix="compat-streams-")
    env = dict(
        os.environ,
        BOOTSTRAP=ctx.bootstrap,
        INPUT_TOPIC=input_topic,
        OUTPUT_TOPIC=output_topic,
        APP_ID=f"wordcount-{ctx.run_id}",
        # The same state dir after the kill: the same process id, so the same transactional ids,
        # whose InitProducerId aborts what the killed instance left open.
        STATE_DIR=state_dir.name,
    )
    apps: list[gm.Member] = []

    def start(name: str) -> gm.Member:
        app = gm.Member(name=f"wordcount.{name}", command=streams_command(), env=env)
        apps.append(app)
        return app.start()

    def running(m: gm.Member) -> bool:
        return any(e["event"] == "state" and e["state"] == "RUNNING" for e in m.events)

    producer = Producer({"bootstrap.servers": ctx.bootstrap, "linger.ms": 5, "acks": "all"})
    sent = threading.Event()

    def feed():
        for i, line in enumerate(lines()):
            producer.produce(input_topic, key=str(i).encode(), value=line.encode(), partition=i % PARTITIONS)
            if i % LINES_PER_TICK == LINES_PER_TICK - 1:
                producer.flush(10)
                time.sleep(TICK_S)
        producer.flush(30)
        sent.set()

    try:
        first = start("a")
        first.wait_for(running, "the application RUNNING", WAIT_S)
        feeder = threading.Thread(target=feed)
        feeder.start()
        # Killed once some counts are committed and the lines are still coming.
        deadline = time.monotonic() + WAIT_S
        while not sum(txn.end_offsets(ctx.bootstrap, output_topic, PARTITIONS, "read_committed")):
            assert time.monotonic() < deadline, f"no committed output within {WAIT_S} s\n{first.tail()}"
            assert first.alive(), f"the application exited\n{first.tail()}"
            time.sleep(0.1)
        first.kill()
        committed_at_kill = len(read_counts(ctx.bootstrap, output_topic))
        print(f"killed after {committed_at_kill} committed updates; all lines sent: {sent.is_set()}")
        second = start("b")
        feeder.join()
        total = sum(expected_counts().values())
        deadline = time.monotonic() + RESTART_WAIT_S
        while len(updates := read_counts(ctx.bootstrap, output_topic)) < total:
            assert time.monotonic() < deadline, (
                f"{len(updates)} of {total} updates within {RESTART_WAIT_S} s of the restart\n{second.tail()}"
            )
            assert second.alive(), f"the application exited\n{second.tail()}"
            time.sleep(0.3)
        second.stop()
        check_counts(read_counts(ctx.bootstrap, output_topic))
    finally:
        for app in apps:
            app.ensure_gone()
            app.write_log("streams-eos")
        state_dir.cleanup()
    print(f"streams-eos: {time.monotonic() - started:.1f} s")
