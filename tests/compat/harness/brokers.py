"""Brokers the compatibility suite runs scenarios against.

`FjordBroker` runs the real `fjord` binary on free loopback ports with a temporary data dir.
`KafkaBroker` runs Apache Kafka (the reference, from tests/compat/kafka/) the same way, so that
every scenario can be checked against the real thing. The suite restarts either one (gracefully
or with SIGKILL) in the scenarios that need a restart.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"broker exited with {proc.returncode} during start-up:\n{log_path.read_text()[-4000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"broker did not listen on {port} within {timeout_s}s:\n{log_path.read_text()[-4000:]}")


class FjordBroker:
    name = "fjord"

    def __init__(self) -> None:
        self.binary = Path(os.environ.get("FJORD_BIN", REPO / "target" / "release" / "fjord"))
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} not found: run `cargo build --release -p fjord` first")
        self.tmp = tempfile.TemporaryDirectory(prefix="fjord-compat-")
        self.data_dir = Path(self.tmp.name) / "data"
        self.log_path = Path(self.tmp.name) / "broker.log"
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        overrides = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.data_dir),
            "console.enabled": "false",
            # As tests/compat/kafka/kafka-server.sh sets for Kafka: a new group's first join is
            # not held back for more members (the group scenarios would wait 3 s each).
            "group.initial.rebalance.delay.ms": "0",
        }
        args = [str(self.binary), "server"]
        for key, value in overrides.items():
            args += ["--override", f"{key}={value}"]
        log = open(self.log_path, "a")
        log.write(f"\n===== start #{self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp.name)
        self.starts += 1
        wait_for_port(self.port, 30, self.proc, self.log_path)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("broker did not stop within 20 s of SIGTERM")
        self.proc = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def close(self) -> None:
        self.stop()
        self.tmp.cleanup()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""


class KafkaBroker:
    """Apache Kafka in KRaft combined mode (node.id=1) through tests/compat/kafka/kafka-server.sh,
    which fetches the jars on first use, formats the data dir once and runs the broker in the
    foreground. Same interface as FjordBroker."""

    name = "kafka"
    script = REPO / "tests" / "compat" / "kafka" / "kafka-server.sh"
    # Printed by kafka.server.KafkaRaftServer once the broker and the controller both serve.
    started_line = "Kafka Server started"

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="kafka-compat-")
        self.data_dir = Path(self.tmp.name) / "data"
        self.log_path = Path(self.tmp.name) / "broker.log"
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "a")
        log.write(f"\n===== start #{self.starts} =====\n")
        log.flush()
        log_offset = self.log_path.stat().st_size
        args = [str(self.script), str(self.data_dir), str(self.port), str(self.controller_port)]
        # Its own session, so that stop() signals the whole tree (the script and, while it
        # formats the data dir, the JVM it runs for that) and not only the shell.
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp.name, start_new_session=True
        )
        self.starts += 1
        wait_for_port(self.port, 120, self.proc, self.log_path)
        # The port opens before the broker has caught up with the metadata log; clients that
        # connect in between see a broker without topics. Wait for the line that says it serves.
        deadline = time.monotonic() + 60
        while self.started_line not in self._log_since(log_offset):
            if self.proc.poll() is not None:
                raise RuntimeError(f"kafka exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"kafka did not report start-up within 60 s:\n{self.log_tail()}")
            time.sleep(0.05)

    def _log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise RuntimeError("kafka did not stop within 30 s of SIGTERM")
        self.proc = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def close(self) -> None:
        self.stop()
        self.tmp.cleanup()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""
