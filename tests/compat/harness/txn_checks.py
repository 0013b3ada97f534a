"""What the transaction scenarios send, and the checks on what the clients report (the `txn-*`
rows of ../SCENARIOS.md). Every client's role prints JSON events (txn_roles in SCENARIOS.md); the
checks here are the only place that decides whether a client saw the right thing, so that the
scenarios are the same for every client.
"""
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

# txn-visibility, all on partition 0 of TOPIC, in this order: a committed transaction, idempotent
# records outside any transaction, an aborted transaction (flushed before the abort, so that its
# records are in the log), a second committed transaction (so that aborted records leaking to a
# read_committed reader would show up before its last expected record).
VIS_COMMITTED_1 = [f"c{i}" for i in range(5)]
VIS_PLAIN = [f"n{i}" for i in range(3)]
VIS_ABORTED = [f"a{i}" for i in range(5)]
VIS_COMMITTED_2 = [f"d{i}" for i in range(3)]
VIS_READ_COMMITTED = VIS_COMMITTED_1 + VIS_PLAIN + VIS_COMMITTED_2
VIS_READ_UNCOMMITTED = VIS_COMMITTED_1 + VIS_PLAIN + VIS_ABORTED + VIS_COMMITTED_2
# Records plus one control batch (one offset) per transaction marker: 5+1 + 3 + 5+1 + 3+1.
VIS_END_OFFSET = len(VIS_READ_UNCOMMITTED) + 3
VIS_SCRIPT = [
    ("txn-committed", VIS_COMMITTED_1),
    ("plain-sent", VIS_PLAIN),
    ("txn-aborted", VIS_ABORTED),
    ("txn-committed", VIS_COMMITTED_2),
]

# txn-zombie: what the fenced producer tried to write, and what the producer that fenced it wrote.
ZOMBIE_VALUES = ["zombie-1", "zombie-2"]
SURVIVOR_VALUES = ["survivor"]

# txn-consume-transform-produce: the input (values "0".."N-1" over two partitions), the
# transformation (the output value is "out-" + the input value), the batch size per transaction.
CTP_INPUT_COUNT = 200
CTP_PARTITIONS = 2
CTP_MAX_POLL_RECORDS = 20
# Each record takes this long to "transform": a transaction stays open ~0.2 s, long enough for the
# harness to kill the process inside one.
CTP_RECORD_DELAY_MS = 10


def ctp_output(value: str) -> str:
    return f"out-{value}"


def events_of(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e["event"] == name]


def check_visibility_script(events: list[dict]) -> None:
    """The role did what the scenario asks, in order."""
    done = [(e["event"], e["values"]) for e in events if e["event"] in ("txn-committed", "plain-sent", "txn-aborted")]
    assert done == VIS_SCRIPT, f"the producer's steps: {done}, expected {VIS_SCRIPT}"


def check_visibility_reads(events: list[dict]) -> None:
    """What the client's own consumers read: each isolation level exactly its records, in order."""
    reads = {e["isolation"]: e["values"] for e in events_of(events, "read")}
    expected = {"read_committed": VIS_READ_COMMITTED, "read_uncommitted": VIS_READ_UNCOMMITTED}
    assert set(reads) == set(expected), f"the client reported reads for {sorted(reads)}"
    for isolation, want in expected.items():
        assert reads[isolation] == want, f"{isolation} read {reads[isolation]}, expected {want}"
    for e in events_of(events, "end_offset"):
        assert e["offset"] == VIS_END_OFFSET, (
            f"{e['isolation']} end offset {e['offset']}, expected {VIS_END_OFFSET} "
            f"({len(VIS_READ_UNCOMMITTED)} records and 3 transaction markers)"
        )


def check_fenced(events: list[dict]) -> None:
    """The first producer was told it is fenced once the second one initialised."""
    fenced = events_of(events, "fenced")
    assert fenced, "the first producer was never fenced"
    error = fenced[0]["error"]
    # The names clients give it: ProducerFencedException, PRODUCER_FENCED, _FENCED,
    # INVALID_PRODUCER_EPOCH (what Kafka answers a produce with the old epoch; sarama's text for
    # it is "Producer attempted an operation with an old epoch").
    words = error.lower().replace("_", "")
    assert any(w in words for w in ("fenced", "producerepoch", "old epoch")), (
        f"the first producer failed with {error!r}, not fencing"
    )
    committed = [v for e in events_of(events, "txn-committed") for v in e["values"]]
    assert committed == SURVIVOR_VALUES, f"the second producer committed {committed}, expected {SURVIVOR_VALUES}"


def check_exactly_once(output_values: list[str]) -> None:
    """The committed output holds every input's transformation once."""
    expected = sorted(ctp_output(str(i)) for i in range(CTP_INPUT_COUNT))
    got = sorted(output_values)
    seen: dict[str, int] = {}
    for v in got:
        seen[v] = seen.get(v, 0) + 1
    dupes = sorted(v for v, n in seen.items() if n > 1)
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    assert not (dupes or missing or unexpected), (
        f"output read_committed: {len(got)} records for {CTP_INPUT_COUNT} inputs; "
        f"{len(dupes)} duplicated (e.g. {dupes[:5]}), {len(missing)} missing (e.g. {missing[:5]}), "
        f"unexpected {unexpected[:5]}"
    )


def read_all(bootstrap: str, topic: str, partitions: int, isolation: str, timeout_s: float = 20.0, decode=None) -> list:
    """Every record of the topic, partition by partition up to its end offset for this isolation
    level (the last stable offset for read_committed), read by confluent-kafka: the harness's own
    view, independent of the client under test. Each record as decode(message), by default its
    value as text."""
    decode = decode or (lambda msg: msg.value().decode())
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "compat-txn-reader",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    out: list = []
    try:
        for p in range(partitions):
            _, end = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            consumer.assign([TopicPartition(topic, p, 0)])
            deadline = time.monotonic() + timeout_s
            while True:
                assert time.monotonic() < deadline, f"{topic}/{p} not read to its end {end} within {timeout_s} s"
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        if msg.offset() >= end:
                            break
                        continue
                    raise KafkaException(msg.error())
                out.append(decode(msg))
    finally:
        consumer.close()
    return out


def end_offsets(bootstrap: str, topic: str, partitions: int, isolation: str) -> list[int]:
    """ListOffsets(latest) per partition at the isolation level (the high watermark or the last
    stable offset)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-txn-reader", "isolation.level": isolation})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
    finally:
        consumer.close()
