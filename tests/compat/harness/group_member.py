"""The group-member role of the Python clients, as a process: `python group_member.py CLIENT`.

The same contract as the other drivers' `group-member` role (../SCENARIOS.md): BOOTSTRAP, TOPIC,
GROUP, ASSIGNOR, SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS and MEMBER_MAX_S from the environment;
one JSON line per event on stdout; stdin closed or SIGTERM makes the member leave its group and
exit 0. A process per member, so that the harness can kill one with SIGKILL; the client code
itself is each client module's `group_member(role)`.
"""
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from clients import aiokafka_client, confluent_client, kafka_python_client  # noqa: E402

CLIENTS = {
    "kafka-python": kafka_python_client,
    "confluent-kafka": confluent_client,
    "aiokafka": aiokafka_client,
}

# The group protocols each client speaks (GROUP_PROTOCOL); the others have only `classic`.
PROTOCOLS = {"confluent-kafka": ("classic", "consumer")}


class GroupRole:
    """What a client's group_member() is told, and how it reports."""

    def __init__(self, env: dict[str, str]) -> None:
        self.bootstrap = env["BOOTSTRAP"]
        self.topic = env["TOPIC"]
        self.group = env["GROUP"]
        # range (eager) unless the scenario asks for another: every client knows it.
        self.assignor = env.get("ASSIGNOR") or "range"
        self.session_timeout_ms = int(env.get("SESSION_TIMEOUT_MS", "6000"))
        self.heartbeat_interval_ms = int(env.get("HEARTBEAT_INTERVAL_MS", "1000"))
        # `classic` (JoinGroup/SyncGroup) or `consumer` (KIP-848, confluent-kafka only).
        self.group_protocol = env.get("GROUP_PROTOCOL") or "classic"
        self.max_s = float(env.get("MEMBER_MAX_S", "120"))
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._out = threading.Lock()

    def emit(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, "ts": time.time_ns() // 1000, **fields})
        with self._out:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def stopping(self) -> bool:
        """True once the harness asked the member to leave (or its lifetime ran out)."""
        if time.monotonic() - self.started > self.max_s:
            self._stop.set()
        return self._stop.is_set()

    def request_stop(self, *_args) -> None:
        self._stop.set()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CLIENTS:
        print(f"usage: group_member.py CLIENT ({', '.join(CLIENTS)})", file=sys.stderr)
        return 2
    if os.environ.get("DRIVER_DEBUG") == "1":
        # The library's own log on stderr, as DRIVER_DEBUG does for the other drivers.
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    role = GroupRole(dict(os.environ))
    if role.group_protocol not in PROTOCOLS.get(argv[0], ("classic",)):
        print(f"{argv[0]} has no group.protocol={role.group_protocol}", file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, role.request_stop)

    def watch_stdin():
        sys.stdin.read()
        role.request_stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        CLIENTS[argv[0]].group_member(role)
    except Exception as e:
        traceback.print_exc()
        role.emit("error", message=f"{type(e).__name__}: {e}")
        return 1
    role.emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
