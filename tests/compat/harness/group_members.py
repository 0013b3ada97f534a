"""Group members as separate processes, and the invariants checked on what they report.

Every client has a group-member role (the contract in ../SCENARIOS.md, "Group-member role"): it
joins group GROUP on topic TOPIC, consumes, commits, and prints one JSON line per event on stdout.
`Member` runs one such process, collects its events with the harness's receive time, and stops it
cleanly (stdin closed: the member leaves the group) or kills it (SIGKILL: it leaves nothing).

The checks work on the events only, so that they are the same for every client:
- `check_exclusive`: no partition is owned by two members at the same time. Ownership runs from an
  `assigned` event to the `revoked`/`lost` event for that partition (or to the member's stop or
  kill). Times are the members' own wall-clock stamps (`ts`, microseconds, the same clock for
  every process on this machine): a revocation happens-before the assignment that it allows, so
  its stamp is earlier. Where a client reports its generation, the members' ownership within one
  generation must also be disjoint. And every record a member reports must come from a partition
  it owned at that moment.
- `check_delivery`: every produced record was seen by the group, with the value that was sent,
  and no record more than once except those that at-least-once allows (records a killed member
  had received after its last commit).
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

COMPAT = Path(__file__).resolve().parents[1]
LOG_DIR = Path(os.environ.get("COMPAT_LOGS", COMPAT.parents[1] / "target" / "compat-logs"))
# Kafka's group.min.session.timeout.ms: the smallest session the broker accepts, so that a killed
# member's partitions move as soon as the scenario allows.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 1000
# A member that outlives this stops by itself (a harness that died must not leave it running).
MEMBER_MAX_S = 120
# How long a member may take to join, to see records or to take over.
WAIT_S = 30


def now_us() -> int:
    return time.time_ns() // 1000


class MemberError(AssertionError):
    pass


@dataclass
class Member:
    """One group-member process. `name` tags its events in failure messages and its log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    events: list[dict] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    killed_at_us: int | None = None
    proc: subprocess.Popen | None = None

    def start(self) -> "Member":
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            text=True,
            cwd=COMPAT,
        )
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()
        return self

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "log", "line": line}
            if not isinstance(event, dict) or "event" not in event:
                event = {"event": "log", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    # ---- what the member has reported so far

    def owned(self) -> set[int]:
        owned: set[int] = set()
        for e in list(self.events):
            if e["event"] == "assigned":
                owned |= set(e["partitions"])
            elif e["event"] in ("revoked", "lost"):
                owned -= set(e["partitions"])
            elif e["event"] == "stopped":
                owned = set()
        return owned

    def records(self) -> list[dict]:
        return [e for e in list(self.events) if e["event"] == "record"]

    def last_committed(self) -> dict[int, int]:
        """partition -> the next offset the member last reported as committed."""
        out: dict[int, int] = {}
        for e in list(self.events):
            if e["event"] == "committed":
                for p, o in e["offsets"].items():
                    out[int(p)] = max(out.get(int(p), 0), int(o))
        return out

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, condition, what: str, timeout_s: float = WAIT_S):
        """Waits until condition(self) is truthy; fails with the member's recent output if it is
        not within timeout_s or if the member exits first."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                value = condition(self)
                if value:
                    return value
                errors = [e for e in self.events if e["event"] == "error"]
                if errors:
                    raise MemberError(f"{self.name}: {errors[-1].get('message')} (while waiting: {what})\n{self.tail()}")
                if not self.alive() and self.proc is not None and self.proc.stdout is not None:
                    # The exit may come before the last lines were read: one last look.
                    self._cond.wait(0.2)
                    value = condition(self)
                    if value:
                        return value
                    raise MemberError(f"{self.name} exited ({self.proc.poll()}) while waiting: {what}\n{self.tail()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MemberError(f"{self.name}: not within {timeout_s:.0f} s: {what}\n{self.tail()}")
                self._cond.wait(min(remaining, 0.2))

    # ---- ending it

    def stop(self, timeout_s: float = 30) -> None:
        """Closes stdin: the member leaves the group (its last commits done) and exits 0."""
        if self.proc is None or self.proc.poll() is not None:
            return
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise MemberError(f"{self.name} did not stop within {timeout_s:.0f} s of its stdin closing\n{self.tail()}")
        self._join_readers()
        if rc != 0 or not any(e["event"] == "stopped" for e in self.events):
            raise MemberError(f"{self.name} did not stop cleanly (exit {rc})\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no LeaveGroup, no last commit; the broker notices after the session timeout."""
        if self.proc is None or self.proc.poll() is not None:
            raise MemberError(f"{self.name} was already gone when it was to be killed\n{self.tail()}")
        self.killed_at_us = now_us()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._join_readers()

    def ensure_gone(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self._join_readers()

    def _join_readers(self) -> None:
        for t in self._readers:
            t.join(timeout=5)

    def end_us(self) -> int:
        """When the member stopped owning anything: its kill, its stop event, or now."""
        if self.killed_at_us is not None:
            return self.killed_at_us
        for e in self.events:
            if e["event"] == "stopped":
                return int(e["ts"])
        return now_us()

    def tail(self, lines: int = 25) -> str:
        out = [json.dumps(e) for e in self.events[-lines:]]
        return f"--- {self.name} stdout (tail)\n" + "\n".join(out) + f"\n--- {self.name} stderr (tail)\n" + "\n".join(
            self.stderr_lines[-lines:]
        )

    def write_log(self, test_name: str) -> Path:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        path = LOG_DIR / f"{test_name}-{self.name}.log".replace("/", "-")
        rc = self.proc.poll() if self.proc else None
        body = "\n".join(json.dumps(e) for e in self.events)
        path.write_text(
            f"$ {' '.join(self.command)}\nexit {rc}\n--- stdout\n{body}\n--- stderr\n" + "\n".join(self.stderr_lines)
        )
        return path


# ---- the invariants


def ownership_intervals(member: Member) -> dict[int, list[tuple[int, int]]]:
    """partition -> [(from_us, to_us)] during which the member owned it."""
    out: dict[int, list[tuple[int, int]]] = {}
    since: dict[int, int] = {}
    for e in member.events:
        kind = e["event"]
        if kind == "assigned":
            for p in e["partitions"]:
                since.setdefault(p, int(e["ts"]))
        elif kind in ("revoked", "lost"):
            for p in e["partitions"]:
                if p in since:
                    out.setdefault(p, []).append((since.pop(p), int(e["ts"])))
        elif kind == "stopped":
            for p, start in since.items():
                out.setdefault(p, []).append((start, int(e["ts"])))
            since = {}
    end = member.end_us()
    for p, start in since.items():
        out.setdefault(p, []).append((start, end))
    return out


def check_exclusive(members: list[Member]) -> None:
    owners: dict[int, list[tuple[int, int, str]]] = {}
    for m in members:
        for p, intervals in ownership_intervals(m).items():
            owners.setdefault(p, []).extend((a, b, m.name) for a, b in intervals)
    for p, intervals in owners.items():
        intervals.sort()
        for (a1, b1, m1), (a2, b2, m2) in zip(intervals, intervals[1:]):
            assert m1 == m2 or a2 >= b1, (
                f"partition {p} owned by {m1} until {b1} and by {m2} from {a2}: "
                f"{(b1 - a2) / 1000:.1f} ms of overlap"
            )
    # Per generation, where the client tells it: each member's ownership after its assignment.
    by_generation: dict[int, dict[str, set[int]]] = {}
    for m in members:
        owned: set[int] = set()
        for e in m.events:
            if e["event"] == "assigned":
                owned |= set(e["partitions"])
                if e.get("generation") is not None:
                    by_generation.setdefault(int(e["generation"]), {})[m.name] = set(owned)
            elif e["event"] in ("revoked", "lost"):
                owned -= set(e["partitions"])
    for generation, sets in by_generation.items():
        seen: dict[int, str] = {}
        for name, parts in sets.items():
            for p in parts:
                assert p not in seen, f"generation {generation}: partition {p} assigned to {seen[p]} and {name}"
                seen[p] = name
    # Every record came from a partition its member owned when it reported it.
    for m in members:
        intervals = ownership_intervals(m)
        for r in m.records():
            ts = int(r["ts"])
            assert any(a <= ts <= b for a, b in intervals.get(r["partition"], [])), (
                f"{m.name} reported offset {r['offset']} of partition {r['partition']} at {ts} "
                f"while it did not own that partition (owned: {intervals.get(r['partition'])})"
            )


def check_delivery(members: list[Member], produced: dict[tuple[int, int], str], allowed_duplicates=frozenset()) -> None:
    """produced: (partition, offset) -> value. Every one seen with its value; duplicates only
    among allowed_duplicates."""
    seen: dict[tuple[int, int], list[str]] = {}
    for m in members:
        for r in m.records():
            key = (r["partition"], r["offset"])
            seen.setdefault(key, []).append(m.name)
            if key in produced:
                assert r["value"] == produced[key], f"{m.name}: {key} has value {r['value']!r}, sent {produced[key]!r}"
    missing = sorted(set(produced) - set(seen))
    assert not missing, f"{len(missing)} of {len(produced)} records never delivered to the group, first {missing[:5]}"
    unexpected = sorted(set(seen) - set(produced))
    assert not unexpected, f"records that were not produced in this phase: {unexpected[:5]}"
    dupes = {k: v for k, v in seen.items() if len(v) > 1 and k not in allowed_duplicates}
    assert not dupes, f"{len(dupes)} records delivered more than once, e.g. {sorted(dupes.items())[:5]}"


def redeliverable_after_kill(killed: Member) -> set[tuple[int, int]]:
    """The records a killed member received after its last commit: at-least-once may redeliver
    them to the member that takes over."""
    committed = killed.last_committed()
    return {
        (r["partition"], r["offset"])
        for r in killed.records()
        if r["offset"] >= committed.get(r["partition"], 0)
    }


def python_member_command(client: str) -> list[str]:
    return [sys.executable, str(Path(__file__).parent / "group_member.py"), client]
