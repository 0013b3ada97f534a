"""The scenarios with aiokafka (asyncio)."""
import asyncio
import json
import threading
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import MessageSizeTooLargeError

import scenario_data as data


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _producer(ctx, **extra):
    producer = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, **extra)
    await producer.start()
    return producer


async def _read(ctx, partition: int, count: int, **extra):
    consumer = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, enable_auto_commit=False, **extra)
    await consumer.start()
    tp = TopicPartition(ctx.topic, partition)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    out = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


async def _end_offset(ctx, partition: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, enable_auto_commit=False)
    await consumer.start()
    tp = TopicPartition(ctx.topic, partition)
    try:
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def _admin(ctx):
    client = AIOKafkaAdminClient(bootstrap_servers=ctx.bootstrap)
    await client.start()
    return client


def seed(ctx):
    async def go():
        producer = await _producer(ctx, value_serializer=lambda v: json.dumps(v).encode())
        for reading in data.SEED_READINGS:
            await producer.send_and_wait(ctx.topic, reading)
        await producer.stop()
        records = await _read(ctx, 0, len(data.SEED_READINGS))
        assert [json.loads(r.value) for r in records] == data.SEED_READINGS

    _run(go())


def keyed(ctx):
    async def go():
        client = await _admin(ctx)
        await client.create_topics([NewTopic(ctx.topic, num_partitions=3, replication_factor=1)])
        await client.close()
        producer = await _producer(ctx)
        batch = [await producer.send(ctx.topic, key=k.encode(), value=v.encode()) for k, v in data.KEYED_MESSAGES]
        await asyncio.gather(*batch)
        await producer.stop()
        records = []
        for p in range(3):
            # Read each partition up to its end: asking for all 30 would wait out the deadline.
            for r in await _read(ctx, p, await _end_offset(ctx, p)):
                records.append((p, r.offset, r.key.decode(), r.value.decode()))
        data.check_keyed(records)

    _run(go())


def headers(ctx):
    async def go():
        ts = data.timestamps_base()
        hdrs = [("h1", b"v1"), ("h2", b"")]
        producer = await _producer(ctx)
        await producer.send_and_wait(ctx.topic, key=b"the-key", value=b"the-value", headers=hdrs, timestamp_ms=ts)
        await producer.stop()
        [r] = await _read(ctx, 0, 1)
        assert (r.key, r.value, r.timestamp) == (b"the-key", b"the-value", ts)
        assert list(r.headers) == hdrs

    _run(go())


def compression(ctx):
    async def go():
        for codec in data.CODECS:
            producer = await _producer(ctx, compression_type=codec, linger_ms=5)
            futures = [await producer.send(ctx.topic, value=f"{codec}-{i}".encode(), partition=0) for i in range(100)]
            await asyncio.gather(*futures)
            await producer.stop()
        records = await _read(ctx, 0, 400)
        assert [r.value for r in records] == [f"{c}-{i}".encode() for c in data.CODECS for i in range(100)]

    _run(go())


def large(ctx):
    async def go():
        producer = await _producer(ctx, max_request_size=4_000_000)
        await producer.send_and_wait(ctx.topic, value=b"x" * data.LARGE_OK, partition=0)
        try:
            await producer.send_and_wait(ctx.topic, value=b"y" * data.LARGE_REFUSED, partition=0)
        except MessageSizeTooLargeError:
            pass
        else:
            raise AssertionError("a 2 MB message was accepted")
        finally:
            await producer.stop()
        [r] = await _read(ctx, 0, 1, max_partition_fetch_bytes=2_000_000, fetch_max_bytes=4_000_000)
        assert len(r.value) == data.LARGE_OK

    _run(go())


def idempotent_restart(ctx):
    async def go():
        # aiokafka fails a batch whose partition has had no leader for request_timeout_ms: give it
        # longer than the broker's restart takes.
        producer = await _producer(ctx, acks="all", enable_idempotence=True, request_timeout_ms=30_000, linger_ms=2)
        futures = []
        restarter = None
        for i in range(data.IDEMPOTENT_COUNT):
            futures.append(await producer.send(ctx.topic, value=str(i).encode(), partition=0))
            if i == 50:
                await futures[0]
                restarter = threading.Thread(target=ctx.restart)
                restarter.start()
            await asyncio.sleep(0.01)
        await asyncio.gather(*futures)
        await producer.stop()
        await asyncio.get_running_loop().run_in_executor(None, restarter.join)
        records = await _read(ctx, 0, data.IDEMPOTENT_COUNT)
        data.check_sequence([r.value for r in records], data.IDEMPOTENT_COUNT)

    _run(go())


def admin(ctx):
    async def go():
        client = await _admin(ctx)
        await client.create_topics([NewTopic(ctx.topic, num_partitions=3, replication_factor=1)])

        async def partitions():
            [described] = await client.describe_topics([ctx.topic])
            return len(described["partitions"])

        async def has_partitions(n):
            return await partitions() == n

        await data.eventually_async(lambda: has_partitions(3), "3 partitions after create")
        await client.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, ctx.topic, configs={"retention.ms": "3600000"})]
        )

        async def retention_altered():
            [resp] = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ctx.topic)])
            configs = {entry[0]: entry[1] for entry in resp.resources[0][4]}
            return configs.get("retention.ms") == "3600000"

        await data.eventually_async(retention_altered, "retention.ms altered")
        await client.create_partitions({ctx.topic: NewPartitions(total_count=5)})
        await data.eventually_async(lambda: has_partitions(5), "5 partitions after create_partitions")
        await client.delete_topics([ctx.topic])
        deadline = time.monotonic() + 10
        while ctx.topic in await client.list_topics():
            assert time.monotonic() < deadline, "topic still listed after delete"
            await asyncio.sleep(0.1)
        await client.close()

    _run(go())


def timestamps(ctx):
    async def go():
        t0 = data.timestamps_base()
        producer = await _producer(ctx)
        for i in range(10):
            await producer.send_and_wait(ctx.topic, value=f"t{i}".encode(), partition=0, timestamp_ms=t0 + i * 1000)
        await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, enable_auto_commit=False)
        await consumer.start()
        tp = TopicPartition(ctx.topic, 0)
        try:
            found = (await consumer.offsets_for_times({tp: t0 + 4500}))[tp]
            assert found is not None and found.offset == 5, found
            assert (await consumer.offsets_for_times({tp: t0 + 60_000}))[tp] is None
        finally:
            await consumer.stop()

    _run(go())


def long_poll(ctx):
    async def go():
        producer = await _producer(ctx)
        await producer.send_and_wait(ctx.topic, value=b"warm-up", partition=0)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=ctx.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=data.LONG_POLL_WAIT_MS,
            fetch_min_bytes=1,
        )
        await consumer.start()
        tp = TopicPartition(ctx.topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.getmany(tp, timeout_ms=200)

        async def send_later():
            await asyncio.sleep(1.0)
            sent = time.monotonic()
            await producer.send_and_wait(ctx.topic, value=b"wake-up", partition=0)
            return sent

        sender = asyncio.create_task(send_later())
        got = None
        deadline = time.monotonic() + 15
        while got is None and time.monotonic() < deadline:
            for records in (await consumer.getmany(tp, timeout_ms=10_000)).values():
                if any(r.value == b"wake-up" for r in records):
                    got = time.monotonic()
        sent = await sender
        await consumer.stop()
        await producer.stop()
        assert got is not None, "the message never arrived"
        assert got - sent < data.LONG_POLL_BOUND_S, f"message took {got - sent:.3f}s to reach a waiting consumer"

    _run(go())


ASSIGNORS = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}


def group_member(role):
    """The group-member role (../group_member.py). aiokafka has no cooperative rebalancing. Its
    rebalances run in a background task that awaits the listener before it rejoins; the listener
    commits what has been reported, and each batch is committed as soon as it is reported."""
    if role.assignor not in ASSIGNORS:
        raise ValueError(f"aiokafka has no assignor {role.assignor!r} (known: {', '.join(ASSIGNORS)})")

    async def go():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=role.bootstrap,
            group_id=role.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=role.session_timeout_ms,
            heartbeat_interval_ms=role.heartbeat_interval_ms,
            partition_assignment_strategy=(ASSIGNORS[role.assignor],),
        )
        reported: dict[TopicPartition, int] = {}

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                pending = {tp: o for tp, o in reported.items() if tp in revoked}
                if pending:
                    await consumer.commit(pending)
                    role.emit("committed", offsets={str(tp.partition): o for tp, o in pending.items()})
                for tp in revoked:
                    reported.pop(tp, None)
                role.emit("revoked", partitions=sorted(tp.partition for tp in revoked))

            async def on_partitions_assigned(self, assigned):
                role.emit("assigned", partitions=sorted(tp.partition for tp in assigned))

        consumer.subscribe([role.topic], listener=Listener())
        await consumer.start()
        try:
            while not role.stopping():
                batch = await consumer.getmany(timeout_ms=200)
                offsets = {}
                for tp, records in batch.items():
                    for r in records:
                        role.emit("record", partition=tp.partition, offset=r.offset, value=r.value.decode())
                    offsets[tp] = records[-1].offset + 1
                    reported[tp] = offsets[tp]
                if offsets:
                    await consumer.commit(offsets)
                    role.emit("committed", offsets={str(tp.partition): o for tp, o in offsets.items()})
        finally:
            # stop() revokes (listener) and sends LeaveGroup.
            await consumer.stop()

    asyncio.run(go())
