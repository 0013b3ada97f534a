"""Every scenario with the clients of other languages (Java kafka-clients, kafkajs, franz-go,
sarama), each through its driver program (the driver contract in ../SCENARIOS.md).

A driver is built once by tests/compat/run; here it is only run. Exit 0 passes, 3 skips (the
client cannot do what the scenario asks; stderr's last line says why), anything else fails with
the driver's output. A driver prints `NEEDS-GROUPS` before it first relies on a consumer group
(kafkajs can only read through one): if it then fails against a broker that does not advertise
the group APIs, the test is an expected failure rather than a failure.
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import pytest

from conftest import SCENARIOS

COMPAT = Path(__file__).resolve().parents[1]
# Every driver run's full output lands here (the failure report shows only its tail).
LOG_DIR = Path(os.environ.get("COMPAT_LOGS", COMPAT.parents[1] / "target" / "compat-logs"))
DRIVER_TIMEOUT_S = 90
EXIT_UNSUPPORTED = 3
# FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, OffsetCommit, OffsetFetch: what a
# classic group consumer (kafkajs's) needs.
GROUP_API_KEYS = {10, 11, 12, 13, 14, 8, 9}


def _java_command() -> list[str]:
    target = COMPAT / "java" / "target"
    classpath_file = target / "classpath.txt"
    if not classpath_file.exists():
        raise FileNotFoundError(f"{classpath_file} (the Java driver is not built)")
    classpath = f"{target / 'classes'}{os.pathsep}{classpath_file.read_text().strip()}"
    # C1 only: the driver runs for seconds, where start-up time matters more than peak speed.
    return ["java", "-XX:TieredStopAtLevel=1", "-cp", classpath, "dev.fjord.compat.Main"]


def _node_command() -> list[str]:
    node_dir = COMPAT / "node"
    if not (node_dir / "node_modules" / "kafkajs").exists():
        raise FileNotFoundError(f"{node_dir / 'node_modules'} (run npm ci there)")
    return ["node", str(node_dir / "driver.js")]


def _go_command() -> list[str]:
    binary = COMPAT / "go" / "bin" / "compat-driver"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} (the Go driver is not built)")
    return [str(binary)]


DRIVERS = {"java": _java_command, "kafkajs": _node_command, "franz-go": _go_command, "sarama": _go_command}


def broker_supports_groups(bootstrap: str) -> bool:
    """Tells whether the broker advertises every API a group consumer needs."""
    return GROUP_API_KEYS <= broker_api_keys(bootstrap)


@cache
def broker_api_keys(bootstrap: str) -> frozenset[int]:
    """Asks the broker for its API versions (ApiVersions v0, the version every broker answers)
    and returns the API keys it advertises (none if it answers with an error)."""
    host, port = bootstrap.rsplit(":", 1)
    client_id = b"compat-harness"
    # Request header v1: api_key, api_version, correlation_id, client_id (int16 length + bytes).
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv_exactly(s, 4))[0]
        payload = _recv_exactly(s, size)
    # Response: correlation_id int32, error_code int16, [api_key int16, min int16, max int16].
    error_code, count = struct.unpack_from(">hi", payload, 4)
    if error_code != 0:
        return frozenset()
    return frozenset(struct.unpack_from(">h", payload, 10 + 6 * i)[0] for i in range(count))


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection during ApiVersions")
        buf += chunk
    return buf


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("client", list(DRIVERS))
def test_scenario(client, scenario, ctx, record_property):
    record_property("client", client)
    record_property("scenario", scenario)
    try:
        command = DRIVERS[client]() + [client, scenario]
    except FileNotFoundError as e:
        pytest.fail(f"{client} driver missing: {e}; build it with tests/compat/run")
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        pytest.fail(f"{command[0]} is not installed")

    env = dict(os.environ, BOOTSTRAP=ctx.bootstrap, TOPIC=ctx.topic, RUN_ID=ctx.run_id)
    stdout_lines: list[str] = []
    restart_errors: list[BaseException] = []
    restarter: threading.Thread | None = None

    def restart():
        try:
            ctx.restart()
        except BaseException as e:  # reported by the test thread
            restart_errors.append(e)

    with tempfile.TemporaryFile(mode="w+") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True, cwd=COMPAT
        )

        def read_stdout():
            nonlocal restarter
            assert proc.stdout is not None
            for line in proc.stdout:
                stdout_lines.append(line.rstrip("\n"))
                if line.strip() == "READY" and scenario == "idempotent-restart" and restarter is None:
                    # In its own thread, so that the driver's output keeps being drained.
                    restarter = threading.Thread(target=restart)
                    restarter.start()

        reader = threading.Thread(target=read_stdout)
        reader.start()
        try:
            rc = proc.wait(timeout=DRIVER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
            proc.wait()
        reader.join()
        if restarter is not None:
            restarter.join()
        elapsed = time.monotonic() - started
        stderr.seek(0)
        err = stderr.read()

    out = "\n".join(stdout_lines)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_file = LOG_DIR / f"{client}-{scenario}.log"
    log_file.write_text(f"$ {' '.join(command)}\nexit {rc}\n--- stdout\n{out}\n--- stderr\n{err}")
    report = (
        f"driver: {' '.join(command[-2:])}, {elapsed:.1f} s, full output in {log_file}\n"
        f"--- stdout\n{_tail(out)}\n--- stderr\n{_tail(err)}"
    )
    if restart_errors:
        pytest.fail(f"the broker did not restart: {restart_errors[0]}\n{report}")
    if rc is None:
        pytest.fail(f"driver did not finish within {DRIVER_TIMEOUT_S} s\n{report}")
    if rc == 0:
        if scenario == "idempotent-restart" and restarter is None:
            pytest.fail(f"the driver passed without printing READY, so the broker never restarted\n{report}")
        return
    last_line = err.strip().splitlines()[-1] if err.strip() else f"exit code {rc}"
    if rc == EXIT_UNSUPPORTED:
        pytest.skip(f"{client} cannot: {last_line}")
    if "NEEDS-GROUPS" in stdout_lines and not broker_supports_groups(ctx.bootstrap):
        pytest.xfail(f"needs-groups: {client} reads only through a consumer group ({last_line})")
    pytest.fail(f"{last_line}\n{report}")
