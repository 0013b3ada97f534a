"""The scenarios with kafka-python (the seed guides' Python client)."""
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.errors import MessageSizeTooLargeError
from kafka.structs import OffsetAndMetadata

import scenario_data as data


def _consumer(ctx, **extra):
    return KafkaConsumer(
        bootstrap_servers=ctx.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
        **extra,
    )


def _read(ctx, partition: int, count: int, **extra):
    consumer = _consumer(ctx, **extra)
    tp = TopicPartition(ctx.topic, partition)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    out = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            out.extend(records)
    consumer.close()
    return out


def _end_offset(ctx, partition: int) -> int:
    consumer = _consumer(ctx)
    tp = TopicPartition(ctx.topic, partition)
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    return end


def _create_topic(ctx, partitions: int):
    admin = KafkaAdminClient(bootstrap_servers=ctx.bootstrap)
    admin.create_topics([NewTopic(ctx.topic, num_partitions=partitions, replication_factor=1)])
    admin.close()


def seed(ctx):
    # The guide's producer, verbatim apart from the address.
    import json

    producer = KafkaProducer(
        bootstrap_servers=ctx.bootstrap, value_serializer=lambda v: json.dumps(v).encode("utf-8")
    )
    for reading in data.SEED_READINGS:
        producer.send(ctx.topic, reading)
    producer.flush()
    producer.close()
    records = _read(ctx, 0, len(data.SEED_READINGS))
    assert [json.loads(r.value) for r in records] == data.SEED_READINGS


def keyed(ctx):
    _create_topic(ctx, 3)
    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap)
    for key, value in data.KEYED_MESSAGES:
        producer.send(ctx.topic, key=key.encode(), value=value.encode())
    producer.flush()
    producer.close()
    records = []
    for p in range(3):
        # Read each partition up to its end: asking for all 30 would wait out the deadline.
        for r in _read(ctx, p, _end_offset(ctx, p)):
            records.append((p, r.offset, r.key.decode(), r.value.decode()))
    data.check_keyed(records)


def headers(ctx):
    ts = data.timestamps_base()
    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap)
    hdrs = [("h1", b"v1"), ("h2", b"")]
    producer.send(ctx.topic, key=b"the-key", value=b"the-value", headers=hdrs, timestamp_ms=ts).get(timeout=20)
    producer.close()
    [r] = _read(ctx, 0, 1)
    assert (r.key, r.value, r.timestamp) == (b"the-key", b"the-value", ts)
    assert [(k, v) for k, v in r.headers] == hdrs


def compression(ctx):
    for codec in data.CODECS:
        producer = KafkaProducer(bootstrap_servers=ctx.bootstrap, compression_type=codec, linger_ms=5)
        for i in range(100):
            producer.send(ctx.topic, value=f"{codec}-{i}".encode())
        producer.flush()
        producer.close()
    records = _read(ctx, 0, 100 * len(data.CODECS))
    expected = [f"{c}-{i}".encode() for c in data.CODECS for i in range(100)]
    assert [r.value for r in records] == expected


def large(ctx):
    producer = KafkaProducer(
        bootstrap_servers=ctx.bootstrap, max_request_size=4_000_000, retries=0, acks=1
    )
    producer.send(ctx.topic, value=b"x" * data.LARGE_OK).get(timeout=30)
    try:
        producer.send(ctx.topic, value=b"y" * data.LARGE_REFUSED).get(timeout=30)
    except MessageSizeTooLargeError:
        pass
    else:
        raise AssertionError("a 2 MB message was accepted")
    producer.close()
    [r] = _read(ctx, 0, 1, max_partition_fetch_bytes=2_000_000, fetch_max_bytes=4_000_000)
    assert len(r.value) == data.LARGE_OK


def idempotent_restart(ctx):
    producer = KafkaProducer(
        bootstrap_servers=ctx.bootstrap,
        acks="all",
        enable_idempotence=True,
        retries=100,
        retry_backoff_ms=200,
        request_timeout_ms=5_000,
        delivery_timeout_ms=60_000,
        linger_ms=2,
    )
    futures = []
    restarter = None
    for i in range(data.IDEMPOTENT_COUNT):
        futures.append(producer.send(ctx.topic, value=str(i).encode(), partition=0))
        if i == 50:
            futures[0].get(timeout=20)
            restarter = threading.Thread(target=ctx.restart)
            restarter.start()
        time.sleep(0.01)
    for f in futures:
        f.get(timeout=60)
    producer.close()
    restarter.join()
    records = _read(ctx, 0, data.IDEMPOTENT_COUNT)
    data.check_sequence([r.value for r in records], data.IDEMPOTENT_COUNT)


def admin(ctx):
    client = KafkaAdminClient(bootstrap_servers=ctx.bootstrap)
    client.create_topics([NewTopic(ctx.topic, num_partitions=3, replication_factor=1)])

    def partitions():
        [described] = client.describe_topics([ctx.topic])
        return len(described["partitions"])

    data.eventually(lambda: partitions() == 3, "3 partitions after create")
    client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, ctx.topic, configs={"retention.ms": "3600000"})])

    def retention():
        # kafka-python 3 answers {resource type: {name: {key: {"value": ...}}}}, modified keys only.
        described = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ctx.topic)])
        return described["topic"][ctx.topic].get("retention.ms", {}).get("value")

    data.eventually(lambda: retention() == "3600000", "retention.ms altered")
    client.create_partitions({ctx.topic: NewPartitions(total_count=5)})
    data.eventually(lambda: partitions() == 5, "5 partitions after create_partitions")
    client.delete_topics([ctx.topic])
    deadline = time.monotonic() + 10
    while ctx.topic in client.list_topics():
        assert time.monotonic() < deadline, "topic still listed after delete"
        time.sleep(0.1)
    client.close()


def timestamps(ctx):
    t0 = data.timestamps_base()
    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap)
    for i in range(10):
        producer.send(ctx.topic, value=f"t{i}".encode(), partition=0, timestamp_ms=t0 + i * 1000)
    producer.flush()
    producer.close()
    consumer = _consumer(ctx)
    tp = TopicPartition(ctx.topic, 0)
    found = consumer.offsets_for_times({tp: t0 + 4500})[tp]
    assert found is not None and found.offset == 5, found
    assert consumer.offsets_for_times({tp: t0 + 60_000})[tp] is None
    consumer.close()


def long_poll(ctx):
    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap)
    producer.send(ctx.topic, value=b"warm-up", partition=0).get(timeout=20)
    consumer = _consumer(ctx, fetch_max_wait_ms=data.LONG_POLL_WAIT_MS, fetch_min_bytes=1)
    tp = TopicPartition(ctx.topic, 0)
    consumer.assign([tp])
    consumer.seek_to_end(tp)
    consumer.poll(timeout_ms=200)
    sent_at = {}

    def send_later():
        time.sleep(1.0)
        sent_at["t"] = time.monotonic()
        producer.send(ctx.topic, value=b"wake-up", partition=0)
        producer.flush()

    sender = threading.Thread(target=send_later)
    sender.start()
    got = None
    deadline = time.monotonic() + 15
    while got is None and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=10_000).values():
            for r in records:
                if r.value == b"wake-up":
                    got = time.monotonic()
    sender.join()
    producer.close()
    consumer.close()
    assert got is not None, "the message never arrived"
    latency = got - sent_at["t"]
    assert latency < data.LONG_POLL_BOUND_S, f"message took {latency:.3f}s to reach a waiting consumer"


ASSIGNORS = {
    "range": RangePartitionAssignor,
    "roundrobin": RoundRobinPartitionAssignor,
    "cooperative-sticky": CooperativeStickyAssignor,
}


def group_member(role):
    """The group-member role (../group_member.py): subscribe with a rebalance listener, and
    commit each polled batch synchronously once its records are reported (rebalances run inside
    poll(), so nothing reported is left uncommitted when partitions are revoked)."""
    consumer = KafkaConsumer(
        bootstrap_servers=role.bootstrap,
        group_id=role.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=role.session_timeout_ms,
        heartbeat_interval_ms=role.heartbeat_interval_ms,
        partition_assignment_strategy=[ASSIGNORS[role.assignor]],
    )

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            role.emit("revoked", partitions=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            role.emit("assigned", partitions=sorted(tp.partition for tp in assigned))

        def on_partitions_lost(self, lost):
            role.emit("lost", partitions=sorted(tp.partition for tp in lost))

    # Learn the topic's partitions before joining. Otherwise a member that becomes the leader
    # before its first metadata response assigns nothing, and the rejoin that kafka-python starts
    # when the metadata arrives once stayed stuck for 30 s (seen against Kafka 4.3.1 right after a
    # broker restart, 1 run in ~20).
    if not consumer.partitions_for_topic(role.topic):
        raise RuntimeError(f"no partitions known for {role.topic}")
    consumer.subscribe([role.topic], listener=Listener())
    try:
        while not role.stopping():
            batch = consumer.poll(timeout_ms=200)
            offsets = {}
            for tp, records in batch.items():
                for r in records:
                    role.emit("record", partition=tp.partition, offset=r.offset, value=r.value.decode())
                offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            if offsets:
                consumer.commit(offsets)
                role.emit("committed", offsets={str(tp.partition): om.offset for tp, om in offsets.items()})
    finally:
        # close() revokes (listener) and sends LeaveGroup.
        consumer.close(autocommit=False)
