"""The `group-admin` scenario (../SCENARIOS.md): Java's AdminClient lists, alters and deletes a
group's committed offsets (`listConsumerGroupOffsets`, `alterConsumerGroupOffsets`,
`deleteConsumerGroupOffsets`), a new member starts where they say, and an active group refuses
both changes with Kafka's codes. The checks are in the Java driver (java/.../GroupAdmin.java);
this runs it like any driver scenario and fails with its last stderr line.
"""
import os
import subprocess

import pytest

from test_external_clients import DRIVERS, broker_supports_groups


def test_group_admin(ctx, record_property):
    record_property("client", "java")
    record_property("scenario", "group-admin")
    if ctx.broker.name == "fjord" and not broker_supports_groups(ctx.bootstrap):
        pytest.xfail("needs-groups: the broker does not advertise the group APIs")
    try:
        command = DRIVERS["java"]() + ["java", "group-admin"]
    except FileNotFoundError as e:
        pytest.fail(f"java driver missing: {e}; build it with tests/compat/run")
    env = dict(os.environ, BOOTSTRAP=ctx.bootstrap, TOPIC=ctx.topic, RUN_ID=ctx.run_id)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 0, lines[-1] if lines else f"exit {done.returncode}"
