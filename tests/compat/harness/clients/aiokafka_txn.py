"""The transaction roles with aiokafka (asyncio): txn_role.py runs them as processes."""
import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

import txn_checks as txn


async def _txn_producer(role, transactional_id: str) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=role.bootstrap, transactional_id=transactional_id, linger_ms=5, enable_idempotence=True
    )
    # start() runs InitProducerId for the transactional id.
    await producer.start()
    return producer


async def _send(producer: AIOKafkaProducer, topic: str, values) -> None:
    futures = [await producer.send(topic, value=v.encode(), partition=0) for v in values]
    await asyncio.gather(*futures)


async def _read(role, isolation: str, count: int) -> list[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=role.bootstrap, enable_auto_commit=False, isolation_level=isolation)
    await consumer.start()
    tp = TopicPartition(role.topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    out: list[str] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                out.extend(r.value.decode() for r in records)
        # end_offsets asks ListOffsets at the consumer's isolation level.
        end = (await consumer.end_offsets([tp]))[tp]
        role.emit("end_offset", isolation=isolation, offset=end)
    finally:
        await consumer.stop()
    return out


async def _visibility(role) -> None:
    producer = await _txn_producer(role, f"vis-{role.run_id}")
    plain = AIOKafkaProducer(bootstrap_servers=role.bootstrap, enable_idempotence=True, linger_ms=5)
    await plain.start()
    try:
        for step, values in txn.VIS_SCRIPT:
            if step == "plain-sent":
                await _send(plain, role.topic, values)
            else:
                await producer.begin_transaction()
                # Acknowledged before an abort too: the aborted records must be in the log.
                await _send(producer, role.topic, values)
                if step == "txn-committed":
                    await producer.commit_transaction()
                else:
                    await producer.abort_transaction()
            role.emit(step, values=values)
    finally:
        await producer.stop()
        await plain.stop()
    reads = (("read_committed", txn.VIS_READ_COMMITTED), ("read_uncommitted", txn.VIS_READ_UNCOMMITTED))
    for isolation, expected in reads:
        role.emit("read", isolation=isolation, values=await _read(role, isolation, len(expected)))


def visibility(role) -> None:
    asyncio.run(asyncio.wait_for(_visibility(role), 60))


async def _zombie(role) -> None:
    tid = f"zombie-{role.run_id}"
    first = await _txn_producer(role, tid)
    await first.begin_transaction()
    await _send(first, role.topic, txn.ZOMBIE_VALUES[:1])
    second = await _txn_producer(role, tid)
    role.emit("initialized", producer=2)
    try:
        await _send(first, role.topic, txn.ZOMBIE_VALUES[1:])
        await first.commit_transaction()
        role.emit("not-fenced")
    except KafkaError as e:
        role.emit("fenced", error=f"{type(e).__name__}: {e}")
    try:
        await first.stop()
    except KafkaError:
        pass  # a fenced producer may fail to close cleanly; it is done anyway
    await second.begin_transaction()
    await _send(second, role.topic, txn.SURVIVOR_VALUES)
    await second.commit_transaction()
    role.emit("txn-committed", values=txn.SURVIVOR_VALUES)
    await second.stop()


def zombie(role) -> None:
    asyncio.run(asyncio.wait_for(_zombie(role), 60))


async def _consume_transform_produce(role) -> None:
    producer = await _txn_producer(role, role.transactional_id)
    consumer = AIOKafkaConsumer(
        role.input_topic,
        bootstrap_servers=role.bootstrap,
        group_id=role.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_records=role.max_poll_records,
    )
    await consumer.start()
    try:
        while not role.stopping():
            batches = await consumer.getmany(timeout_ms=200, max_records=role.max_poll_records)
            if not any(batches.values()):
                continue
            values = []
            offsets = {}
            async with producer.transaction():
                for tp, records in batches.items():
                    for r in records:
                        value = r.value.decode()
                        await producer.send(
                            role.output_topic, value=txn.ctp_output(value).encode(), key=r.key, partition=tp.partition
                        )
                        values.append(value)
                        offsets[tp] = r.offset + 1
                        role.emit("sent", value=value)
                        await asyncio.sleep(role.record_delay_s)
                await producer.send_offsets_to_transaction(offsets, role.group)
            role.emit("txn-committed", values=values)
    finally:
        await consumer.stop()
        await producer.stop()


def consume_transform_produce(role) -> None:
    asyncio.run(_consume_transform_produce(role))
