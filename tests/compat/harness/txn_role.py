"""The transaction roles of the Python clients, as a process: `python txn_role.py CLIENT ROLE`.

The same contract as the drivers' `txn-*` roles (../SCENARIOS.md, "Transaction roles"): BOOTSTRAP,
TOPIC, RUN_ID (and for txn-consume-transform-produce INPUT_TOPIC, OUTPUT_TOPIC, GROUP,
TRANSACTIONAL_ID) from the environment; one JSON line per event on stdout; stdin closed or SIGTERM
ends a long-running role cleanly. A process per role, so that the harness can kill it with SIGKILL
in the middle of a transaction; the client code is each client module's functions.
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

from clients import aiokafka_txn, confluent_txn  # noqa: E402

CLIENTS = {"confluent-kafka": confluent_txn, "aiokafka": aiokafka_txn}
ROLES = ["txn-visibility", "txn-consume-transform-produce", "txn-zombie"]


class TxnRole:
    """What a client's role function is told, and how it reports."""

    def __init__(self, env: dict[str, str]) -> None:
        self.bootstrap = env["BOOTSTRAP"]
        self.topic = env["TOPIC"]
        self.run_id = env.get("RUN_ID", "txn")
        self.input_topic = env.get("INPUT_TOPIC", "")
        self.output_topic = env.get("OUTPUT_TOPIC", "")
        self.group = env.get("GROUP", "")
        self.transactional_id = env.get("TRANSACTIONAL_ID", f"compat-{self.run_id}")
        self.max_poll_records = int(env.get("MAX_POLL_RECORDS", "20"))
        self.record_delay_s = int(env.get("RECORD_DELAY_MS", "10")) / 1000
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
        if time.monotonic() - self.started > self.max_s:
            self._stop.set()
        return self._stop.is_set()

    def request_stop(self, *_args) -> None:
        self._stop.set()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in CLIENTS or argv[1] not in ROLES:
        known = f"CLIENT: {', '.join(CLIENTS)}; ROLE: {', '.join(ROLES)}"
        print(f"usage: txn_role.py CLIENT ROLE ({known})", file=sys.stderr)
        return 2
    if os.environ.get("DRIVER_DEBUG") == "1":
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    role = TxnRole(dict(os.environ))
    signal.signal(signal.SIGTERM, role.request_stop)

    def watch_stdin():
        sys.stdin.read()
        role.request_stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        getattr(CLIENTS[argv[0]], argv[1].replace("txn-", "").replace("-", "_"))(role)
    except Exception as e:
        traceback.print_exc()
        role.emit("error", message=f"{type(e).__name__}: {e}")
        return 1
    role.emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
