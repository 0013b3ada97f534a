"""pytest fixtures for the compatibility suite: one broker for the whole run, restarted in place by
the scenarios that need it, and a fresh topic name per test. COMPAT_BROKER=kafka runs the suite
against Apache Kafka (the reference) instead of fjord (the default)."""
import json
import os
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from brokers import FjordBroker, KafkaBroker  # noqa: E402

SCENARIOS = ["seed", "keyed", "headers", "compression", "large", "idempotent-restart", "admin", "timestamps", "long-poll"]
RESULTS: dict[tuple[str, str], str] = {}


BROKERS = {"fjord": FjordBroker, "kafka": KafkaBroker}


@pytest.fixture(scope="session")
def broker():
    kind = os.environ.get("COMPAT_BROKER", "fjord")
    if kind not in BROKERS:
        raise pytest.UsageError(f"COMPAT_BROKER={kind}: expected one of {sorted(BROKERS)}")
    b = BROKERS[kind]()
    b.start()
    yield b
    b.close()


# Held while the broker restarts: a scenario may fail while its restart thread is still running,
# and the next test must not find the broker half-restarted (or start a second one beside it).
RESTART_LOCK = threading.Lock()


@pytest.fixture
def ctx(broker, request):
    run_id = uuid.uuid4().hex[:8]
    name = request.node.callspec.id.replace("/", "-") if hasattr(request.node, "callspec") else "t"
    topic = f"compat-{name}-{run_id}".replace("_", "-")[:200]

    def restart(kill: bool = False) -> None:
        with RESTART_LOCK:
            broker.restart(kill=kill)

    yield SimpleNamespace(bootstrap=broker.bootstrap, topic=topic, run_id=run_id, restart=restart, broker=broker)
    with RESTART_LOCK:
        if broker.proc is None or broker.proc.poll() is not None:
            broker.start()


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    params = getattr(report, "user_properties", [])
    props = dict(params)
    if "client" in props:
        RESULTS[(props["client"], props["scenario"])] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("COMPAT_RESULTS")
    if out and RESULTS:
        rows = [{"client": c, "scenario": s, "outcome": o} for (c, s), o in sorted(RESULTS.items())]
        Path(out).write_text(json.dumps(rows, indent=1))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and "broker" in item.funcargs:
        broker = item.funcargs["broker"]
        report.sections.append((f"{broker.name} log (tail)", broker.log_tail()))
