"""Transaction scenarios for every client that has transactions (the `txn-*` rows of
../SCENARIOS.md).

Each client runs a scenario's role as a process (the drivers' `txn-*` roles, or txn_role.py for
the Python clients) that prints JSON events; the harness creates the topics, feeds the input,
kills and restarts the role where the scenario asks, and checks with txn_checks: what the client
reported, and what the harness itself reads back with confluent-kafka at both isolation levels.

Against a broker that does not advertise the transaction APIs every scenario fails at once,
naming the missing APIs. Nothing here is an xfail: fjord and Apache Kafka pass the same checks.
"""
import os
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import group_members as gm
import scenario_data as data
import txn_checks as txn
from test_external_clients import DRIVERS, broker_api_keys

CLIENTS = ["java", "confluent-kafka", "aiokafka", "kafkajs", "franz-go", "sarama"]
TXN_SCENARIOS = ["txn-visibility", "txn-consume-transform-produce", "txn-zombie"]
# InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit.
TXN_API_KEYS = {22, 24, 25, 26, 28}
ROLE_TIMEOUT_S = 60
# How long a restarted consume-transform-produce role may take to commit its first transaction:
# the killed member's session timeout (6 s), a rebalance, start-up (a JVM's too).
RESTART_WAIT_S = 20


def role_command(client: str, scenario: str) -> list[str]:
    if client in DRIVERS:
        try:
            return DRIVERS[client]() + [client, scenario]
        except FileNotFoundError as e:
            pytest.fail(f"{client} driver missing: {e}; build it with tests/compat/run")
    return [sys.executable, str(Path(__file__).parent / "txn_role.py"), client, scenario]


def broker_supports_transactions(bootstrap: str) -> bool:
    return TXN_API_KEYS <= broker_api_keys(bootstrap)


@pytest.fixture
def roles(ctx, request):
    """Starts role processes (remembered) and, whatever happens, ends them and writes their logs."""
    if not broker_supports_transactions(ctx.bootstrap):
        pytest.fail(f"{ctx.broker.name} does not advertise the transaction APIs {sorted(TXN_API_KEYS)}")
    made: list[gm.Member] = []
    test_name = request.node.callspec.id if hasattr(request.node, "callspec") else request.node.name

    def start(client: str, scenario: str, name: str = "a", **extra_env: str) -> gm.Member:
        env = dict(os.environ, BOOTSTRAP=ctx.bootstrap, TOPIC=ctx.topic, RUN_ID=ctx.run_id, **extra_env)
        m = gm.Member(name=f"{client}.{name}", command=role_command(client, scenario), env=env)
        made.append(m)
        return m.start()

    yield start
    for m in made:
        m.ensure_gone()
        m.write_log(test_name)


def finish(m: gm.Member) -> None:
    """Waits for a role that runs to its end; a role the client cannot play (exit 3) is a skip."""
    try:
        m.wait_for(lambda m: any(e["event"] == "stopped" for e in m.events), "the role to finish", ROLE_TIMEOUT_S)
    except gm.MemberError:
        if m.proc is not None and m.proc.wait(timeout=10) == 3:
            pytest.skip(f"{m.name} cannot: {m.stderr_lines[-1] if m.stderr_lines else 'exit 3'}")
        raise
    assert m.proc is not None and m.proc.wait(timeout=30) == 0, f"{m.name} exited {m.proc.poll()}\n{m.tail()}"


def create_topics(ctx, partitions_by_topic: dict[str, int]) -> None:
    admin = AdminClient({"bootstrap.servers": ctx.bootstrap})
    new = [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in partitions_by_topic.items()]
    for f in admin.create_topics(new).values():
        f.result(timeout=30)
    for topic, n in partitions_by_topic.items():
        data.eventually(
            lambda: len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == n,
            f"{topic}: {n} partitions after create",
        )


# ---- the scenarios, one function per row of SCENARIOS.md


def txn_visibility(ctx, start, client):
    """Committed, idempotent and aborted records: each isolation level sees exactly its records,
    through the client's consumer and through the harness's."""
    create_topics(ctx, {ctx.topic: 1})
    m = start(client, "txn-visibility")
    finish(m)
    txn.check_visibility_script(m.events)
    txn.check_visibility_reads(m.events)
    for isolation, expected in (
        ("read_committed", txn.VIS_READ_COMMITTED),
        ("read_uncommitted", txn.VIS_READ_UNCOMMITTED),
    ):
        got = txn.read_all(ctx.bootstrap, ctx.topic, 1, isolation)
        assert got == expected, f"the harness read {isolation}: {got}, expected {expected}"
        ends = txn.end_offsets(ctx.bootstrap, ctx.topic, 1, isolation)
        assert ends == [txn.VIS_END_OFFSET], f"ListOffsets latest {isolation}: {ends}, expected {[txn.VIS_END_OFFSET]}"


def txn_zombie(ctx, start, client):
    """A second producer with the same transactional.id fences the first; only the second one's
    transaction is committed."""
    create_topics(ctx, {ctx.topic: 1})
    m = start(client, "txn-zombie")
    finish(m)
    txn.check_fenced(m.events)
    got = txn.read_all(ctx.bootstrap, ctx.topic, 1, "read_committed")
    assert got == txn.SURVIVOR_VALUES, f"read_committed after the fencing: {got}, expected {txn.SURVIVOR_VALUES}"


def txn_consume_transform_produce(ctx, start, client):
    """Input -> transformed output with the input offsets committed in the transaction; the
    process is killed (SIGKILL) inside a transaction and started again with the same
    transactional.id and group; the committed output holds every input exactly once."""
    input_topic, output_topic = f"{ctx.topic}-in", f"{ctx.topic}-out"
    create_topics(ctx, {input_topic: txn.CTP_PARTITIONS, output_topic: txn.CTP_PARTITIONS})
    producer = Producer({"bootstrap.servers": ctx.bootstrap, "linger.ms": 5, "acks": "all"})
    for i in range(txn.CTP_INPUT_COUNT):
        producer.produce(input_topic, key=str(i).encode(), value=str(i).encode(), partition=i % txn.CTP_PARTITIONS)
    assert producer.flush(30) == 0, "input not acknowledged"
    env = dict(
        INPUT_TOPIC=input_topic,
        OUTPUT_TOPIC=output_topic,
        GROUP=f"ctp-{ctx.run_id}",
        TRANSACTIONAL_ID=f"ctp-{ctx.run_id}",
        MAX_POLL_RECORDS=str(txn.CTP_MAX_POLL_RECORDS),
        RECORD_DELAY_MS=str(txn.CTP_RECORD_DELAY_MS),
        SESSION_TIMEOUT_MS=str(gm.SESSION_TIMEOUT_MS),
    )

    def committed(*members):
        return [v for m in members for e in txn.events_of(m.events, "txn-committed") for v in e["values"]]

    def inside_transaction(m):
        """Two transactions committed, and five records sent in a third that is not committed yet
        (with 10 ms per record, the first of them have left the client by then)."""
        names = [e["event"] for e in list(m.events) if e["event"] in ("sent", "txn-committed")]
        return names.count("txn-committed") >= 2 and names[-5:] == ["sent"] * 5

    first = start(client, "txn-consume-transform-produce", "a", **env)
    first.wait_for(inside_transaction, "two transactions committed and a third one under way", ROLE_TIMEOUT_S)
    first.kill()
    sent = [e["value"] for e in txn.events_of(first.events, "sent")]
    in_flight = len(sent) - len(committed(first))
    print(f"{client}: killed with {len(committed(first))} inputs committed, {in_flight} in an open transaction")
    second = start(client, "txn-consume-transform-produce", "b", **env)
    # Its first commit comes once the killed member's session (6 s) expired and it joined: soon.
    second.wait_for(
        lambda m: txn.events_of(m.events, "txn-committed"), "a first transaction after the restart", RESTART_WAIT_S
    )
    expected = {str(i) for i in range(txn.CTP_INPUT_COUNT)}
    second.wait_for(
        lambda m: expected <= set(committed(first, m)), "every input processed after the restart", ROLE_TIMEOUT_S
    )
    second.stop()
    txn.check_exactly_once(txn.read_all(ctx.bootstrap, output_topic, txn.CTP_PARTITIONS, "read_committed"))
    uncommitted = txn.read_all(ctx.bootstrap, output_topic, txn.CTP_PARTITIONS, "read_uncommitted")
    print(f"{client}: output has {len(uncommitted)} records read_uncommitted (aborted ones included)")


SCENARIO_FUNCS = {
    "txn-visibility": txn_visibility,
    "txn-consume-transform-produce": txn_consume_transform_produce,
    "txn-zombie": txn_zombie,
}


@pytest.mark.parametrize("scenario", TXN_SCENARIOS)
@pytest.mark.parametrize("client", CLIENTS)
def test_txn(client, scenario, ctx, roles, record_property):
    record_property("client", client)
    record_property("scenario", scenario)
    started = time.monotonic()
    SCENARIO_FUNCS[scenario](ctx, roles, client)
    print(f"{client} {scenario}: {time.monotonic() - started:.1f} s")
