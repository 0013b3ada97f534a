"""The transaction roles with confluent-kafka (librdkafka): txn_role.py runs them as processes."""
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

import txn_checks as txn


def _txn_producer(role, transactional_id: str) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": role.bootstrap,
            "transactional.id": transactional_id,
            "linger.ms": 5,
            "transaction.timeout.ms": 60_000,
        }
    )
    producer.init_transactions(30)
    return producer


def _send(producer: Producer, topic: str, values, partition: int = 0) -> None:
    for v in values:
        producer.produce(topic, value=v.encode(), partition=partition)
        producer.poll(0)


def _read(role, isolation: str, count: int) -> list[str]:
    consumer = Consumer(
        {
            "bootstrap.servers": role.bootstrap,
            "group.id": f"compat-{role.run_id}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.assign([TopicPartition(role.topic, 0, 0)])
    out: list[str] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            out.append(msg.value().decode())
        _, end = consumer.get_watermark_offsets(TopicPartition(role.topic, 0), timeout=10)
        role.emit("end_offset", isolation=isolation, offset=end)
    finally:
        consumer.close()
    return out


def visibility(role) -> None:
    producer = _txn_producer(role, f"vis-{role.run_id}")
    plain = Producer({"bootstrap.servers": role.bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for step, values in txn.VIS_SCRIPT:
        if step == "plain-sent":
            _send(plain, role.topic, values)
            assert plain.flush(30) == 0, "idempotent records not acknowledged"
        else:
            producer.begin_transaction()
            _send(producer, role.topic, values)
            # Flushed before an abort too: the aborted records must be in the log.
            assert producer.flush(30) == 0, "transactional records not acknowledged"
            if step == "txn-committed":
                producer.commit_transaction(30)
            else:
                producer.abort_transaction(30)
        role.emit(step, values=values)
    reads = (("read_committed", txn.VIS_READ_COMMITTED), ("read_uncommitted", txn.VIS_READ_UNCOMMITTED))
    for isolation, expected in reads:
        role.emit("read", isolation=isolation, values=_read(role, isolation, len(expected)))


def zombie(role) -> None:
    tid = f"zombie-{role.run_id}"
    first = _txn_producer(role, tid)
    first.begin_transaction()
    _send(first, role.topic, txn.ZOMBIE_VALUES[:1])
    assert first.flush(30) == 0
    second = _txn_producer(role, tid)
    role.emit("initialized", producer=2)
    try:
        first.produce(role.topic, value=txn.ZOMBIE_VALUES[1].encode(), partition=0)
        first.flush(10)
        first.commit_transaction(30)
        role.emit("not-fenced")
    except KafkaException as e:
        err = e.args[0]
        role.emit("fenced", error=f"{err.name()}: {err.str()}", fatal=err.fatal())
    second.begin_transaction()
    _send(second, role.topic, txn.SURVIVOR_VALUES)
    second.commit_transaction(30)
    role.emit("txn-committed", values=txn.SURVIVOR_VALUES)


def consume_transform_produce(role) -> None:
    producer = _txn_producer(role, role.transactional_id)
    consumer = Consumer(
        {
            "bootstrap.servers": role.bootstrap,
            "group.id": role.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    consumer.subscribe([role.input_topic])
    try:
        while not role.stopping():
            msgs = consumer.consume(role.max_poll_records, 0.2)
            if not msgs:
                continue
            producer.begin_transaction()
            values = []
            offsets: dict[int, int] = {}
            for msg in msgs:
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(msg.error())
                value = msg.value().decode()
                producer.produce(
                    role.output_topic, value=txn.ctp_output(value).encode(), key=msg.key(), partition=msg.partition()
                )
                producer.poll(0)
                values.append(value)
                offsets[msg.partition()] = msg.offset() + 1
                role.emit("sent", value=value)
                time.sleep(role.record_delay_s)
            producer.send_offsets_to_transaction(
                [TopicPartition(role.input_topic, p, o) for p, o in offsets.items()],
                consumer.consumer_group_metadata(),
                30,
            )
            producer.commit_transaction(30)
            role.emit("txn-committed", values=values)
    finally:
        consumer.close()
