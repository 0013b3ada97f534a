"""Consumer-group scenarios for every client (the `group-*` rows of ../SCENARIOS.md).

Each scenario runs client members as processes (group_members.Member: the drivers' `group-member`
role, or group_member.py for the Python clients), produces with confluent-kafka from here, stops,
kills and restarts, and checks the invariants of group_members on the members' events.

Against a broker that does not advertise the group APIs (fjord until its group coordinator is
served) every group scenario is an expected failure, decided before anything runs: the members
would only retry until their timeouts. Against Apache Kafka nothing here is ever an xfail.
"""
import json
import os
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import group_members as gm
import scenario_data as data
from test_external_clients import DRIVERS, broker_supports_groups

CLIENTS = ["java", "kafkajs", "franz-go", "sarama", "kafka-python", "confluent-kafka", "aiokafka"]
GROUP_SCENARIOS = ["group-seed", "group-share-leave", "group-kill", "group-resume", "group-restart", "group-two-groups"]
# The scenarios that rebalance with cooperative-sticky (incremental) instead of range (eager), for
# the clients that have it; everything else uses range.
COOPERATIVE = {
    ("java", "group-share-leave"),
    ("confluent-kafka", "group-share-leave"),
    ("franz-go", "group-share-leave"),
    ("kafka-python", "group-kill"),
    ("java", "group-kill"),
    ("confluent-kafka", "group-kill"),
}
# The assignor of the scenarios that do not ask for cooperative-sticky: range, which every client
# has, except for kafkajs, whose own assigner is its round robin (node/group.js).
EAGER = {"kafkajs": "roundrobin"}
PARTITIONS = [0, 1, 2]


def member_command(client: str) -> list[str]:
    if client in DRIVERS:
        try:
            return DRIVERS[client]() + [client, "group-member"]
        except FileNotFoundError as e:
            pytest.fail(f"{client} driver missing: {e}; build it with tests/compat/run")
    return gm.python_member_command(client)


@pytest.fixture
def group_env(ctx, request):
    """Makes members (started, remembered) and, whatever happens, ends them and writes their logs."""
    if ctx.broker.name == "fjord" and not broker_supports_groups(ctx.bootstrap):
        pytest.xfail("needs-groups: the broker does not advertise the group APIs")
    made: list[gm.Member] = []
    test_name = request.node.callspec.id if hasattr(request.node, "callspec") else request.node.name

    def member(client: str, name: str, group: str, assignor: str | None = None, protocol: str = "classic") -> gm.Member:
        assignor = assignor or EAGER.get(client, "range")
        env = dict(
            os.environ,
            BOOTSTRAP=ctx.bootstrap,
            TOPIC=ctx.topic,
            RUN_ID=ctx.run_id,
            GROUP=group,
            ASSIGNOR=assignor,
            SESSION_TIMEOUT_MS=str(gm.SESSION_TIMEOUT_MS),
            HEARTBEAT_INTERVAL_MS=str(gm.HEARTBEAT_INTERVAL_MS),
            MEMBER_MAX_S=str(gm.MEMBER_MAX_S),
            GROUP_PROTOCOL=protocol,
        )
        m = gm.Member(name=f"{client}.{name}", command=member_command(client), env=env)
        made.append(m)
        return m.start()

    yield member
    for m in made:
        m.ensure_gone()
        m.write_log(test_name)


def create_topic(ctx, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": ctx.bootstrap})
    for f in admin.create_topics([NewTopic(ctx.topic, num_partitions=partitions, replication_factor=1)]).values():
        f.result(timeout=30)
    data.eventually(
        lambda: len(admin.list_topics(ctx.topic, timeout=10).topics[ctx.topic].partitions) == partitions,
        f"{partitions} partitions after create",
    )


def produce(ctx, values_by_partition: dict[int, list[str]]) -> dict[tuple[int, int], str]:
    """Sends the values to their partitions; returns (partition, offset) -> value as acknowledged."""
    producer = Producer({"bootstrap.servers": ctx.bootstrap, "linger.ms": 5, "acks": "all"})
    acked: dict[tuple[int, int], str] = {}
    errors = []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = msg.value().decode()

    for p, values in values_by_partition.items():
        for v in values:
            producer.produce(ctx.topic, value=v.encode(), partition=p, on_delivery=on_delivery)
            producer.poll(0)
    assert producer.flush(30) == 0, "records not acknowledged within 30 s"
    assert not errors, errors[:3]
    return acked


def batch(tag: str, per_partition: int = 20, partitions=PARTITIONS) -> dict[int, list[str]]:
    return {p: [f"{tag}-p{p}-{i}" for i in range(per_partition)] for p in partitions}


def committed_offsets(ctx, group: str, partitions) -> dict[int, int]:
    """The group's committed offsets as the broker tells a client that is not a member."""
    consumer = Consumer({"bootstrap.servers": ctx.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = consumer.committed([TopicPartition(ctx.topic, p) for p in partitions], timeout=15)
        return {tp.partition: tp.offset for tp in got}
    finally:
        consumer.close()


def expect_committed(ctx, group: str, expected: dict[int, int], what: str) -> None:
    """Waits (up to 20 s: after a restart the coordinator answers NOT_COORDINATOR until it has
    loaded its offsets partition) for the group's committed offsets to be `expected`."""
    deadline = time.monotonic() + 20
    while True:
        try:
            last = committed_offsets(ctx, group, list(expected))
        except Exception as e:  # NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while loading
            last = e
        if last == expected:
            return
        assert time.monotonic() < deadline, f"committed offsets of the group {what}: {last!r}, expected {expected}"
        time.sleep(0.2)


def seen(*members: gm.Member):
    """Condition: the members together have reported every one of `keys`."""

    def with_keys(keys):
        return lambda _m: set(keys) <= {(r["partition"], r["offset"]) for m in members for r in m.records()}

    return with_keys


def owns(partitions):
    return lambda m: m.owned() == set(partitions)


def shares(*members: gm.Member):
    """Condition: the members own every partition between them, disjointly, each at least one."""

    def check(_m):
        sets = [m.owned() for m in members]
        union = set().union(*sets)
        return union == set(PARTITIONS) and sum(map(len, sets)) == len(PARTITIONS) and all(sets)

    return check


def wait_committed(member: gm.Member, produced: dict[tuple[int, int], str], what: str) -> None:
    """Waits until the member reports commits past every record of `produced` it received."""

    def done(m):
        committed = m.last_committed()
        mine = [(p, o) for p, o in produced if any(r["partition"] == p and r["offset"] == o for r in m.records())]
        return all(committed.get(p, 0) > o for p, o in mine)

    member.wait_for(done, what)


# ---- the scenarios, one function per row of SCENARIOS.md


def group_seed(ctx, member, client):
    """The seed consumer: a group id, auto.offset.reset=earliest, the topic auto-created by the
    seed producer; the readings arrive from the beginning, in order, and are committed."""
    readings = [json.dumps(r) for r in data.SEED_READINGS]
    produced = produce(ctx, {0: readings})
    group = f"seed-{ctx.run_id}"
    m = member(client, "a", group)
    m.wait_for(lambda m: len(m.records()) >= len(readings), f"{len(readings)} readings")
    assert [r["value"] for r in m.records()] == readings
    wait_committed(m, produced, "the readings committed")
    m.stop()
    check_all([m], produced)
    expect_committed(ctx, group, {0: len(readings)}, "after the member left")


def group_share_leave(ctx, member, client):
    """Two members share three partitions, never both owning one; one leaves cleanly and the other
    takes over everything without loss or redelivery."""
    create_topic(ctx, 3)
    group = f"share-{ctx.run_id}"
    assignor = "cooperative-sticky" if (client, "group-share-leave") in COOPERATIVE else None
    a = member(client, "a", group, assignor)
    a.wait_for(owns(PARTITIONS), "a owns the three partitions")
    b = member(client, "b", group, assignor)
    b.wait_for(shares(a, b), "a and b share the three partitions")
    produced = produce(ctx, batch("one"))
    b.wait_for(seen(a, b)(produced), "the first batch read by the group")
    wait_committed(a, produced, "a committed what it read")
    a.stop()
    b.wait_for(owns(PARTITIONS), "b took over the three partitions after a left")
    second = produce(ctx, batch("two"))
    b.wait_for(seen(b)(second), "the second batch read by b")
    b.stop()
    check_all([a, b], {**produced, **second})
    assert {r["partition"] for r in a.records()} and {r["partition"] for r in b.records()}, "both members read"


def group_kill(ctx, member, client):
    """A member killed without leaving: after the session timeout its partitions move to the other
    member, which reads everything (at-least-once: only what the dead member had not committed
    may come twice)."""
    create_topic(ctx, 3)
    group = f"kill-{ctx.run_id}"
    assignor = "cooperative-sticky" if (client, "group-kill") in COOPERATIVE else None
    a = member(client, "a", group, assignor)
    a.wait_for(owns(PARTITIONS), "a owns the three partitions")
    b = member(client, "b", group, assignor)
    b.wait_for(shares(a, b), "a and b share the three partitions")
    produced = produce(ctx, batch("one"))
    b.wait_for(seen(a, b)(produced), "the first batch read by the group")
    b.kill()
    second = produce(ctx, batch("two"))
    a.wait_for(owns(PARTITIONS), "a took over b's partitions", timeout_s=gm.SESSION_TIMEOUT_MS / 1000 + 25)
    takeover_s = (latest_assignment_us(a) - b.killed_at_us) / 1e6
    print(f"takeover {takeover_s:.1f} s after the kill (session.timeout.ms={gm.SESSION_TIMEOUT_MS})")
    # b's last heartbeat was at most one interval before the kill, and nothing but the expiry of
    # its session may move its partitions: not sooner than that.
    earliest_s = (gm.SESSION_TIMEOUT_MS - gm.HEARTBEAT_INTERVAL_MS) / 1000 - 0.5
    assert takeover_s >= earliest_s, f"b's partitions moved {takeover_s:.1f} s after the kill, before its session expired"
    a.wait_for(seen(a, b)({**produced, **second}), "everything read by the group")
    a.stop()
    check_all([a, b], {**produced, **second}, allowed_duplicates=gm.redeliverable_after_kill(b))


def group_resume(ctx, member, client):
    """Committed offsets are honoured by a new member: it reads only what came after them."""
    create_topic(ctx, 3)
    group = f"resume-{ctx.run_id}"
    a = member(client, "a", group)
    first = produce(ctx, batch("one", 10))
    a.wait_for(seen(a)(first), "the first batch read by a")
    wait_committed(a, first, "a committed the first batch")
    a.stop()
    expect_committed(ctx, group, {p: 10 for p in PARTITIONS}, "after a left")
    second = produce(ctx, batch("two", 10))
    b = member(client, "b", group)
    # Per partition the records come in order: a redelivered one would arrive before the new ones.
    b.wait_for(seen(b)(second), "the second batch read by b")
    b.stop()
    redelivered = sorted({(r["partition"], r["offset"]) for r in b.records()} & set(first))
    assert not redelivered, f"b was given committed records again: {redelivered[:5]}"
    check_all([a, b], {**first, **second})


def group_restart(ctx, member, client):
    """Committed offsets survive a broker restart: a member after the restart reads only what
    came after them."""
    create_topic(ctx, 3)
    group = f"restart-{ctx.run_id}"
    a = member(client, "a", group)
    first = produce(ctx, batch("one", 10))
    a.wait_for(seen(a)(first), "the first batch read by a")
    wait_committed(a, first, "a committed the first batch")
    a.stop()
    ctx.restart()
    expect_committed(ctx, group, {p: 10 for p in PARTITIONS}, "after the broker restart")
    second = produce(ctx, batch("two", 10))
    b = member(client, "b", group)
    b.wait_for(seen(b)(second), "the second batch read by b after the restart")
    b.stop()
    redelivered = sorted({(r["partition"], r["offset"]) for r in b.records()} & set(first))
    assert not redelivered, f"b was given records committed before the restart: {redelivered[:5]}"
    check_all([a, b], {**first, **second})


def group_two_groups(ctx, member, client):
    """Two groups on one topic each receive everything, once."""
    create_topic(ctx, 3)
    produced = produce(ctx, batch("one"))
    g1 = member(client, "g1", f"g1-{ctx.run_id}")
    g2 = member(client, "g2", f"g2-{ctx.run_id}")
    for m in (g1, g2):
        m.wait_for(seen(m)(produced), f"{m.name} read everything")
    for m in (g1, g2):
        m.stop()
        check_all([m], produced)


def latest_assignment_us(m: gm.Member) -> int:
    return max(int(e["ts"]) for e in m.events if e["event"] == "assigned")


def check_all(members, produced, allowed_duplicates=frozenset()) -> None:
    gm.check_exclusive(members)
    gm.check_delivery(members, produced, allowed_duplicates)


SCENARIO_FUNCS = {
    "group-seed": group_seed,
    "group-share-leave": group_share_leave,
    "group-kill": group_kill,
    "group-resume": group_resume,
    "group-restart": group_restart,
    "group-two-groups": group_two_groups,
}


@pytest.mark.parametrize("scenario", GROUP_SCENARIOS)
@pytest.mark.parametrize("client", CLIENTS)
def test_group(client, scenario, ctx, group_env, record_property):
    record_property("client", client)
    record_property("scenario", scenario)
    started = time.monotonic()
    SCENARIO_FUNCS[scenario](ctx, group_env, client)
    print(f"{client} {scenario}: {time.monotonic() - started:.1f} s")


# The mixed group: one member of each of three client families in one group, with an assignor
# they all speak. Java and librdkafka both have "range"; kafkajs has only its own
# "RoundRobinAssigner", so its driver defines a range assigner under the protocol name "range"
# (node/group.js). Kafka picks the protocol every member lists, so the group agrees on "range".
# kafkajs joins first, so that it is the leader and its assigner computes the three-member
# assignment; when it leaves, Java or librdkafka becomes the leader.
MIXED = ["kafkajs", "java", "confluent-kafka"]


def test_group_mixed(ctx, group_env, record_property):
    record_property("client", "+".join(MIXED))
    record_property("scenario", "group-mixed")
    started = time.monotonic()
    create_topic(ctx, 3)
    group = f"mixed-{ctx.run_id}"
    first_member = group_env(MIXED[0], "m", group, "range")
    first_member.wait_for(owns(PARTITIONS), f"{first_member.name} owns the three partitions")
    members = [first_member] + [group_env(client, "m", group, "range") for client in MIXED[1:]]

    def one_each(_m):
        sets = [m.owned() for m in members]
        return all(len(s) == 1 for s in sets) and set().union(*sets) == set(PARTITIONS)

    members[0].wait_for(one_each, "each of the three members owns one partition")
    last_join = [e for e in first_member.events if e["event"] == "assigned"][-1]
    assert last_join.get("leader") is True, f"{first_member.name} was not the leader: {last_join}"
    first = produce(ctx, batch("one"))
    members[0].wait_for(seen(*members)(first), "the first batch read by the group")
    for m in members:
        assert m.records(), f"{m.name} read nothing"
    # kafkajs leaves; Java and librdkafka share its partition between them.
    leaving, stay = members[0], members[1:]
    wait_committed(leaving, first, f"{leaving.name} committed what it read")
    leaving.stop()
    stay[0].wait_for(shares(*stay), "java and librdkafka share the three partitions")
    second = produce(ctx, batch("two"))
    stay[0].wait_for(seen(*stay)(second), "the second batch read by java and librdkafka")
    for m in stay:
        m.stop()
    check_all(members, {**first, **second})
    print(f"group-mixed: {time.monotonic() - started:.1f} s")
