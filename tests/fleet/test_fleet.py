"""A real pynenc worker fleet on the Kafka backend, with a worker SIGKILLed mid-run."""

from __future__ import annotations

import importlib
import signal
import sys
import time
from pathlib import Path

import pytest
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.demo.fleet import start_workers, stop_workers
from tests.conftest import unique_app_id


def test_a_sigkilled_worker_loses_no_acknowledged_write(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYNENC_KAFKA_DEMO_APP", unique_app_id("fleet-kill"))
    monkeypatch.setenv("PYNENC_KAFKA_DEMO_SQLITE", str(tmp_path / "pynenc.db"))
    monkeypatch.setenv("PYNENC__RUNNER_CLS", "ThreadRunner")
    monkeypatch.setenv("PYNENC__LOGGING_LEVEL", "error")
    monkeypatch.delitem(sys.modules, "pynenc_kafka.demo.tasks", raising=False)
    tasks = importlib.import_module("pynenc_kafka.demo.tasks")
    app = tasks.app

    workers = start_workers(2)
    try:
        group = tasks.score.parallelize([(i,) for i in range(400)])
        ids = [inv.invocation_id for inv in group.invocations]
        deadline = time.monotonic() + 240
        while len(list(app.orchestrator.filter_by_status(ids, frozenset({InvocationStatus.SUCCESS})))) < 60:
            assert time.monotonic() < deadline, "the fleet made no progress"
            time.sleep(0.2)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        time.sleep(1.0)
    finally:
        stop_workers(workers)
    assert workers[0].returncode == -signal.SIGKILL

    succeeded = list(app.orchestrator.filter_by_status(ids, frozenset({InvocationStatus.SUCCESS})))
    assert len(succeeded) >= 60
    backend = app.state_backend
    # pynenc persists a result in the state backend, acknowledged by Kafka, before the
    # orchestrator (SQLite here, a separate store) marks the invocation SUCCESS: so every
    # SUCCESS the orchestrator knows must have its result in our views.
    missing = [i for i in succeeded if _result_or_none(backend, i) is None]
    assert missing == []
    histories = [backend.get_history(i) for i in succeeded[:20]]
    assert all(h and h[0].status_record.status == InvocationStatus.REGISTERED for h in histories)


def _result_or_none(backend: object, invocation_id: str) -> object:
    try:
        return backend._get_result(invocation_id)  # type: ignore[attr-defined]
    except KeyError:
        return None
