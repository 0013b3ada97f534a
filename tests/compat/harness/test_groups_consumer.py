"""The group scenarios of test_groups.py again, with the new consumer protocol of KIP-848
(`group.protocol=consumer`: ConsumerGroupHeartbeat, server-side assignor) for the clients that
have it: Java kafka-clients and librdkafka (confluent-kafka). The scenario functions are the
same; only the members differ (GROUP_PROTOCOL=consumer in the group-member role, which then
leaves session timeout, heartbeat interval and assignor to the broker). The same exclusive and
delivery checks run on their events. Results are recorded as `<scenario>-consumer`.
"""
import time

import pytest

import test_groups as tg
from test_groups import group_env  # noqa: F401  (the fixture, shared)

CLIENTS = ["java", "confluent-kafka"]
SCENARIOS = ["group-seed", "group-share-leave", "group-resume"]


# ids `<scenario>-consumer`: topic names and member log files apart from the classic runs.
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s}-consumer" for s in SCENARIOS])
@pytest.mark.parametrize("client", CLIENTS)
def test_group_consumer_protocol(client, scenario, ctx, group_env, record_property):  # noqa: F811
    record_property("client", client)
    record_property("scenario", f"{scenario}-consumer")

    def member(client: str, name: str, group: str, assignor: str | None = None):
        # The broker assigns (its first group.consumer.assignors entry): the classic assignor
        # a scenario names for its classic members does not apply.
        return group_env(client, name, group, protocol="consumer")

    started = time.monotonic()
    tg.SCENARIO_FUNCS[scenario](ctx, member, client)
    print(f"{client} {scenario} (group.protocol=consumer): {time.monotonic() - started:.1f} s")
