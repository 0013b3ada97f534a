"""The scenarios with confluent-kafka (librdkafka)."""
import json
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

import scenario_data as data


def _producer(ctx, **extra):
    conf = {"bootstrap.servers": ctx.bootstrap, "linger.ms": 5}
    conf.update(extra)
    return Producer(conf)


def _deliver_all(producer, sends):
    """sends: list of kwargs for produce(); returns the delivered messages, raising on errors."""
    errors, delivered = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg)

    for kwargs in sends:
        producer.produce(on_delivery=on_delivery, **kwargs)
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} messages not delivered"
    return errors, delivered


def _consumer(ctx, **extra):
    conf = {
        "bootstrap.servers": ctx.bootstrap,
        "group.id": f"compat-{ctx.run_id}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    conf.update(extra)
    return Consumer(conf)


def _read(ctx, partition: int, count: int, **extra):
    consumer = _consumer(ctx, **extra)
    consumer.assign([TopicPartition(ctx.topic, partition, -2)])
    out = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(msg.error())
        out.append(msg)
    consumer.close()
    return out


def _admin(ctx):
    return AdminClient({"bootstrap.servers": ctx.bootstrap})


def _wait(futures):
    for f in futures.values():
        f.result(timeout=30)


def seed(ctx):
    producer = _producer(ctx)
    errors, _ = _deliver_all(producer, [{"topic": ctx.topic, "value": v} for v in data.seed_values()])
    assert not errors, errors
    records = _read(ctx, 0, len(data.SEED_READINGS))
    assert [json.loads(m.value()) for m in records] == data.SEED_READINGS


def keyed(ctx):
    # Keep the client referenced until its futures resolve: a collected AdminClient destroys its
    # handle and fails them with _DESTROY.
    admin = _admin(ctx)
    _wait(admin.create_topics([NewTopic(ctx.topic, num_partitions=3, replication_factor=1)]))
    producer = _producer(ctx)
    errors, _ = _deliver_all(producer, [{"topic": ctx.topic, "key": k, "value": v} for k, v in data.KEYED_MESSAGES])
    assert not errors, errors
    records = []
    watermarks = _consumer(ctx)
    for p in range(3):
        # Read each partition up to its end: asking for all 30 would wait out the deadline.
        _, end = watermarks.get_watermark_offsets(TopicPartition(ctx.topic, p), timeout=10)
        for m in _read(ctx, p, end):
            records.append((p, m.offset(), m.key().decode(), m.value().decode()))
    watermarks.close()
    data.check_keyed(records)


def headers(ctx):
    ts = data.timestamps_base()
    hdrs = [("h1", b"v1"), ("h2", None)]
    errors, _ = _deliver_all(
        _producer(ctx),
        [{"topic": ctx.topic, "key": b"the-key", "value": b"the-value", "headers": hdrs, "timestamp": ts}],
    )
    assert not errors, errors
    [m] = _read(ctx, 0, 1)
    assert (m.key(), m.value(), m.timestamp()[1]) == (b"the-key", b"the-value", ts)
    assert m.headers() == hdrs


def compression(ctx):
    for codec in data.CODECS:
        errors, _ = _deliver_all(
            _producer(ctx, **{"compression.type": codec}),
            [{"topic": ctx.topic, "value": f"{codec}-{i}".encode()} for i in range(100)],
        )
        assert not errors, (codec, errors)
    records = _read(ctx, 0, 400)
    assert [m.value() for m in records] == [f"{c}-{i}".encode() for c in data.CODECS for i in range(100)]


def large(ctx):
    producer = _producer(ctx, **{"message.max.bytes": 4_000_000, "retries": 0})
    errors, _ = _deliver_all(producer, [{"topic": ctx.topic, "value": b"x" * data.LARGE_OK}])
    assert not errors, errors
    errors, delivered = _deliver_all(producer, [{"topic": ctx.topic, "value": b"y" * data.LARGE_REFUSED}])
    assert not delivered, "a 2 MB message was accepted"
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errors[0]
    [m] = _read(ctx, 0, 1, **{"fetch.max.bytes": 4_000_000, "max.partition.fetch.bytes": 2_000_000})
    assert len(m.value()) == data.LARGE_OK


def idempotent_restart(ctx):
    producer = _producer(
        ctx, **{"enable.idempotence": True, "acks": "all", "message.timeout.ms": 60_000, "linger.ms": 2}
    )
    errors, delivered = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg)

    restarter = None
    for i in range(data.IDEMPOTENT_COUNT):
        producer.produce(ctx.topic, value=str(i).encode(), partition=0, on_delivery=on_delivery)
        producer.poll(0)
        if i == 50:
            producer.flush(20)
            restarter = threading.Thread(target=ctx.restart)
            restarter.start()
        time.sleep(0.01)
    assert producer.flush(60) == 0
    restarter.join()
    assert not errors, errors[:3]
    records = _read(ctx, 0, data.IDEMPOTENT_COUNT)
    data.check_sequence([m.value() for m in records], data.IDEMPOTENT_COUNT)


def admin(ctx):
    client = _admin(ctx)
    _wait(client.create_topics([NewTopic(ctx.topic, num_partitions=3, replication_factor=1)]))

    def partitions():
        return len(client.list_topics(ctx.topic, timeout=10).topics[ctx.topic].partitions)

    data.eventually(lambda: partitions() == 3, "3 partitions after create")
    resource = ConfigResource(
        ResourceType.TOPIC,
        ctx.topic,
        incremental_configs=[ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)],
    )
    _wait(client.incremental_alter_configs([resource]))

    def retention():
        [configs] = [
            f.result(timeout=30)
            for f in client.describe_configs([ConfigResource(ResourceType.TOPIC, ctx.topic)]).values()
        ]
        return configs["retention.ms"].value

    data.eventually(lambda: retention() == "3600000", "retention.ms altered")
    _wait(client.create_partitions([NewPartitions(ctx.topic, 5)]))
    deadline = time.monotonic() + 10
    while len(client.list_topics(ctx.topic, timeout=10).topics[ctx.topic].partitions) != 5:
        assert time.monotonic() < deadline, "partitions not added"
        time.sleep(0.1)
    _wait(client.delete_topics([ctx.topic]))
    deadline = time.monotonic() + 10
    while ctx.topic in client.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, "topic still listed after delete"
        time.sleep(0.1)


def timestamps(ctx):
    t0 = data.timestamps_base()
    errors, _ = _deliver_all(
        _producer(ctx),
        [{"topic": ctx.topic, "value": f"t{i}".encode(), "partition": 0, "timestamp": t0 + i * 1000} for i in range(10)],
    )
    assert not errors, errors
    consumer = _consumer(ctx)
    [found] = consumer.offsets_for_times([TopicPartition(ctx.topic, 0, t0 + 4500)], timeout=10)
    assert found.offset == 5, found
    [after] = consumer.offsets_for_times([TopicPartition(ctx.topic, 0, t0 + 60_000)], timeout=10)
    assert after.offset == -1, after
    consumer.close()


def long_poll(ctx):
    producer = _producer(ctx, **{"linger.ms": 0})
    _deliver_all(producer, [{"topic": ctx.topic, "value": b"warm-up", "partition": 0}])
    consumer = _consumer(ctx, **{"fetch.wait.max.ms": data.LONG_POLL_WAIT_MS, "fetch.min.bytes": 1})
    consumer.assign([TopicPartition(ctx.topic, 0, -1)])
    consumer.poll(0.5)
    sent_at = {}

    def send_later():
        time.sleep(1.0)
        sent_at["t"] = time.monotonic()
        producer.produce(ctx.topic, value=b"wake-up", partition=0)
        producer.flush(10)

    sender = threading.Thread(target=send_later)
    sender.start()
    got = None
    deadline = time.monotonic() + 15
    while got is None and time.monotonic() < deadline:
        msg = consumer.poll(0.05)
        if msg is not None and not msg.error() and msg.value() == b"wake-up":
            got = time.monotonic()
    sender.join()
    consumer.close()
    assert got is not None, "the message never arrived"
    latency = got - sent_at["t"]
    assert latency < data.LONG_POLL_BOUND_S, f"message took {latency:.3f}s to reach a waiting consumer"


def group_member(role):
    """The group-member role (../group_member.py): subscribe, report assignments, and commit each
    record synchronously once it is reported, so that a clean leave never redelivers."""
    config = {
        "bootstrap.servers": role.bootstrap,
        "group.id": role.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if role.group_protocol == "consumer":
        # KIP-848: the broker owns session, heartbeat interval and assignment; librdkafka refuses
        # the classic settings for them.
        config["group.protocol"] = "consumer"
    else:
        config.update(
            {
                "session.timeout.ms": role.session_timeout_ms,
                "heartbeat.interval.ms": role.heartbeat_interval_ms,
                "partition.assignment.strategy": role.assignor,
            }
        )
    consumer = Consumer(config)

    # With cooperative-sticky these lists are the increments, and librdkafka applies them itself
    # when the callback does not call (incremental_)assign.
    def on_assign(_consumer, partitions):
        role.emit("assigned", partitions=sorted(p.partition for p in partitions))

    def on_revoke(_consumer, partitions):
        role.emit("revoked", partitions=sorted(p.partition for p in partitions))

    def on_lost(_consumer, partitions):
        role.emit("lost", partitions=sorted(p.partition for p in partitions))

    consumer.subscribe([role.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    try:
        while not role.stopping():
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(msg.error())
            role.emit("record", partition=msg.partition(), offset=msg.offset(), value=msg.value().decode())
            consumer.commit(message=msg, asynchronous=False)
            role.emit("committed", offsets={str(msg.partition()): msg.offset() + 1})
    finally:
        # close() leaves the group (after the revoke callback).
        consumer.close()
