"""The main job's fleet, on Kafka alone: its run as a newcomer sees it, and a worker SIGKILLed mid-run."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.demo.fleet import start_workers, stop_workers, worker_groups
from tests.conftest import unique_app_id

KAFKA_COMPONENTS = "KafkaStateBackend, KafkaBroker, KafkaOrchestrator, KafkaClientDataStore, KafkaTrigger"


def test_the_demo_runs_on_kafka_alone_in_two_groups_and_prints_only_its_report(tmp_path: Path) -> None:
    """``python -m pynenc_kafka.demo`` (what ``deploy/fleet`` runs) with its defaults but the sizes."""
    projections, scratch = tmp_path / "projections", tmp_path / "tmp"
    scratch.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYNENC_KAFKA_DEMO_", "PYNENC__RUNNER", "PYNENC__LOGGING"))
    }
    env.update(PYNENC__KAFKA_PROJECTION_DIR=str(projections), TMPDIR=str(scratch), HOME=str(tmp_path))
    command = [
        sys.executable,
        "-m",
        "pynenc_kafka.demo",
        "--workers",
        "3",
        "--tasks",
        "60",
        "--workflows",
        "1",
    ]
    done = subprocess.run(
        [*command, "--app", unique_app_id("fleet-demo"), "--log-dir", str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Clean for a newcomer: the report on stdout, nothing on stderr, no library line or traceback.
    assert done.stderr == ""
    assert not any(word in done.stdout for word in ("Traceback", "WARNING", "Warning", "%4|", "%3|", "%5|"))
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("==> Kafka alone: "))
    assert f"Kafka alone: {KAFKA_COMPONENTS} (no SQLite)" in header
    assert header.endswith("2 groups, a projection folder each: host-1: workers 1-2, host-2: worker 3")
    assert (
        "=== pynenc fleet:" in done.stdout
        and "3 worker processes in 2 groups, on Kafka alone ===" in done.stdout
    )
    statuses = next(line for line in lines if line.startswith("final statuses"))
    # 40 scores, 9 checks (item 0 fails), a workflow and its 10 sub-invocations.
    assert statuses.endswith("{'failed': 1, 'success': 59}")
    assert "workflow data status='done'" in done.stdout
    # No SQLite anywhere: no database file, in the working folder, the temporary one or $HOME.
    assert [p for p in tmp_path.rglob("*") if p.suffix in (".db", ".sqlite", ".sqlite3")] == []
    # Two hosts and the reader: a projection folder each, every one with the app's views.
    folders = {p.name for p in projections.iterdir() if not p.name.startswith(".")}
    assert folders == {"host-1", "host-2", "client"}
    assert all(
        any(p for p in (projections / name).iterdir() if not p.name.startswith(".")) for name in folders
    )


def test_a_sigkilled_worker_loses_no_acknowledged_write(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYNENC_KAFKA_DEMO_APP", unique_app_id("fleet-kill"))
    monkeypatch.delenv("PYNENC_KAFKA_DEMO_STACK", raising=False)
    monkeypatch.setenv("PYNENC__KAFKA_PROJECTION_DIR", str(tmp_path / "client"))
    monkeypatch.setenv("PYNENC__RUNNER_CLS", "ThreadRunner")
    monkeypatch.setenv("PYNENC__LOGGING_LEVEL", "error")
    monkeypatch.delitem(sys.modules, "pynenc_kafka.demo.tasks", raising=False)
    tasks = importlib.import_module("pynenc_kafka.demo.tasks")
    app = tasks.app
    assert type(app.orchestrator).__name__ == "KafkaOrchestrator"
    assert type(app.broker).__name__ == "KafkaBroker"

    workers = start_workers(worker_groups(2, tmp_path))
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
    # pynenc persists a result, acknowledged by Kafka, before it requests the SUCCESS transition:
    # every SUCCESS the orchestrator decided must have its result in this process's views.
    missing = [i for i in succeeded if _result_or_none(backend, i) is None]
    assert missing == []
    histories = [backend.get_history(i) for i in succeeded[:20]]
    assert all(h and h[0].status_record.status == InvocationStatus.REGISTERED for h in histories)


def _result_or_none(backend: object, invocation_id: str) -> object:
    try:
        return backend._get_result(invocation_id)  # type: ignore[attr-defined]
    except KeyError:
        return None
