"""KafkaTrigger in a fleet of hosts: a user's cron runs once per minute across the fleet, and pynenc's
recovery crons finish a SIGKILLed worker's invocations from another host.

Each "host" is a projection folder of its own (``PYNENC__KAFKA_PROJECTION_DIR``): its workers
read and decide from their own views of the one log, as on separate machines.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from pynenc.invocation.status import InvocationStatus

from tests.conftest import unique_app_id
from tests.integration.support import REPO

#: The atomic-service cycle: each of the fleet's runners gets a slot of it in turn, in which it runs
#: pynenc's trigger loop (crons included) and the recovery tasks.
FLEET_SETTINGS = {
    "PYNENC__RUNNER_CLS": "ThreadRunner",
    "PYNENC__LOGGING_LEVEL": "warning",
    "PYNENC__ATOMIC_SERVICE_INTERVAL_MINUTES": "0.5",
    "PYNENC__ATOMIC_SERVICE_SPREAD_MARGIN_MINUTES": "0.02",
    "PYNENC__ATOMIC_SERVICE_CHECK_INTERVAL_MINUTES": "0.05",
    "PYNENC__RECOVER_PENDING_INVOCATIONS_CRON": "* * * * *",
    "PYNENC__RECOVER_RUNNING_INVOCATIONS_CRON": "* * * * *",
    "PYNENC__RUNNER_CONSIDERED_DEAD_AFTER_MINUTES": "0.5",
    # The shared test broker holds thousands of topics under heavy load: a worker's first metadata
    # request once took over the default 15 s and the worker died before running anything.
    "PYNENC__KAFKA_TIMEOUT": "60",
}


@pytest.fixture
def fleet_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """The fleet's app module, as this process (the client, a host of its own) builds it."""
    monkeypatch.setenv("TRIGGER_FLEET_APP", unique_app_id("trigger-fleet"))
    (tmp_path / "marks").mkdir()
    monkeypatch.setenv("TRIGGER_FLEET_MARKS", str(tmp_path / "marks"))
    for name, value in FLEET_SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "tests.fleet.trigger_fleet_app", raising=False)
    yield importlib.import_module("tests.fleet.trigger_fleet_app")
    monkeypatch.delitem(sys.modules, "tests.fleet.trigger_fleet_app", raising=False)


def _worker(host: str, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(folder / host), "TRIGGER_FLEET_HOST": host}
    return subprocess.Popen([sys.executable, "-m", "tests.fleet.trigger_fleet_worker"], cwd=REPO, env=env)


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_cron_task_runs_once_a_minute_across_a_two_host_fleet(
    fleet_app: ModuleType, tmp_path: Path
) -> None:
    app, tick = fleet_app.app, fleet_app.tick
    workers = [_worker("host-a", tmp_path), _worker("host-b", tmp_path)]
    try:
        time.sleep(180)
    finally:
        _stop(workers)
    ids = list(app.orchestrator.get_existing_invocations(tick))
    registered = sorted(app.state_backend.get_history(i)[0].timestamp for i in ids)
    minutes = [at.replace(second=0, microsecond=0) for at in registered]
    hosts = [
        app.state_backend.get_result(i) for i in ids if app.orchestrator.get_invocation_status(i).is_final()
    ]
    print(f"tick registered at {[at.isoformat() for at in registered]}, run by {hosts}")
    assert len(ids) >= 2, "3 minutes cross at least 2 minute marks"
    assert len(set(minutes)) == len(minutes), "a minute's cron ran more than once (once per host?)"
    assert all(b - a >= 50 for a, b in zip(_seconds(registered), _seconds(registered)[1:], strict=False))


def _seconds(moments: list[datetime]) -> list[float]:
    return [m.timestamp() for m in moments]


#: Run in a third process: every ``ResultSet`` of the app's log, by invocation id, from the log itself.
_COUNT_RESULTS = """
import json
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.schemas.kinds import EventKind
projection = be.projection
ends = projection.barrier.end_offsets(range(projection.log.partitions))
consumer = projection.clients.new_consumer("trigger-fleet-audit")
from confluent_kafka import TopicPartition
consumer.assign([TopicPartition(projection.log.name, p, 0) for p in ends])
left = {p: end for p, end in ends.items() if end > 0}
counts, results = {}, {}
while left:
    for msg in consumer.consume(500, 5.0):
        if msg.error():
            continue
        if msg.offset() + 1 >= left.get(msg.partition(), 0):
            left.pop(msg.partition(), None)
        event = projection.clients.codec.decode(msg.value())
        if event.app_id == app.app_id and event.kind is EventKind.RESULT_SET:
            i = event.payload["invocation_id"]
            counts[i] = counts.get(i, 0) + 1
            results[i] = event.payload["serialized_result"]
consumer.close()
print(json.dumps({"counts": counts, "results": results}))
"""


def test_a_sigkilled_workers_invocations_finish_on_the_other_host_each_result_set_once(
    fleet_app: ModuleType, tmp_path: Path
) -> None:
    app, slow = fleet_app.app, fleet_app.slow
    marks = tmp_path / "marks"
    a1, a2, b1 = _worker("host-a", tmp_path), _worker("host-a", tmp_path), _worker("host-b", tmp_path)
    workers = [a1, a2, b1]
    try:
        invocations = list(slow.parallelize([(i,) for i in range(12)]).invocations)
        ids = [inv.invocation_id for inv in invocations]
        deadline = time.monotonic() + 120
        while not any(m.name.endswith(f"-{a1.pid}") for m in marks.iterdir()):
            assert a1.poll() is None, f"worker a1 exited ({a1.returncode}) before running a task"
            assert time.monotonic() < deadline, "worker a1 never ran a task"
            time.sleep(0.1)
        a1.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        held = sorted(int(m.name.split("-")[0]) for m in marks.iterdir() if m.name.endswith(f"-{a1.pid}"))
        a1.wait(10)
        deadline = killed + 420
        final = frozenset({InvocationStatus.SUCCESS})
        while len(app.orchestrator.filter_by_status(ids, final)) < len(ids):
            assert time.monotonic() < deadline, "the killed worker's invocations were never recovered"
            time.sleep(0.5)
        recovered_after = time.monotonic() - killed
    finally:
        _stop(workers)
    assert a1.returncode == -signal.SIGKILL
    reran = {int(m.name.split("-")[0]) for m in marks.iterdir() if not m.name.endswith(f"-{a1.pid}")}
    assert held and set(held) <= reran, "the killed worker's invocations ran again on a live worker"
    print(
        f"worker a1 (SIGKILLed while running items {held}): all 12 invocations SUCCESS {recovered_after:.1f} s after"
    )
    audit = subprocess.run(
        [sys.executable, "-c", _prelude(app.app_id) + textwrap.dedent(_COUNT_RESULTS)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env={**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "auditor")},
    )
    assert audit.returncode == 0, audit.stderr[-3000:]
    found = json.loads(audit.stdout.strip().splitlines()[-1])
    assert {i: found["counts"].get(i) for i in ids} == dict.fromkeys(ids, 1), (
        "a result was set twice, or never"
    )
    assert sorted(app.serializer.deserialize(found["results"][i]) for i in ids) == [i * 10 for i in range(12)]


def _prelude(app_id: str) -> str:
    return textwrap.dedent(
        f"""
        from pynenc import PynencBuilder
        app = PynencBuilder().app_id({app_id!r}).kafka().build()
        be = app.state_backend
        """
    )
