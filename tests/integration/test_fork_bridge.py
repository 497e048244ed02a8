"""The fork bridge on a real broker: a forked task process's calls served by its parent.

A child forked from a process that uses the app sends its writes and point reads to the
parent; it builds no Kafka client and opens no views. What it writes is in Kafka (another
process reads it), its reads see the parent's views, errors cross as they are, and a child
whose parent died goes on with Kafka itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import pytest
from pynenc import Pynenc, PynencBuilder
from pynenc.exceptions import InvocationStatusTransitionError
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.runner.runner_context import RunnerContext
from pynenc.state_backend.base_state_backend import InvocationHistory

from pynenc_kafka.core.runtime import RUNTIME
from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend, run_python
from tests.orchestration.race_app import make

FORK = multiprocessing.get_context("fork")
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def _task_process(app: Pynenc, report: Queue[dict[str, Any]]) -> None:
    """In the child: write, read, and say what it built of its own."""
    be = backend(app)
    context = RunnerContext(
        runner_cls="BridgeTest", runner_id="child-runner", pid=os.getpid(), hostname="host", thread_id=0
    )
    be._store_runner_context(context)
    history = InvocationHistory(
        InvocationId("child-inv"),
        InvocationStatusRecord(InvocationStatus.RUNNING, "child-runner"),
        "child-runner",
    )
    be._add_histories([InvocationId("child-inv")], history)
    be._set_result(InvocationId("child-inv"), "from the child")
    try:
        be._get_result(InvocationId("never-written"))
        missing = "answered"
    except KeyError as exc:
        missing = f"KeyError: {exc}"
    report.put(
        {
            "known": be._get_result(InvocationId("known")),
            "own history": len(be._get_history(InvocationId("child-inv"))),
            "missing": missing,
            "clusters": len(RUNTIME._clusters),
            "projections": len(RUNTIME.open_projections()),
        }
    )


def _run_child(app: Pynenc) -> dict[str, Any]:
    report: Queue[dict[str, Any]] = FORK.Queue()
    child = FORK.Process(target=_task_process, args=(app, report))
    child.start()
    seen = report.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    return seen


@pytest.fixture
def bridged_app(kafka_builder: PynencBuilder, monkeypatch: pytest.MonkeyPatch) -> Pynenc:
    """An app whose forked children use the bridge for 30 s (10 s by default: a loaded machine
    may take longer than that to fork and run a child)."""
    monkeypatch.setenv("PYNENC__KAFKA_FORK_BRIDGE_SECONDS", "30")
    return kafka_builder.build()


def test_a_forked_child_writes_and_reads_through_its_parent(bridged_app: Pynenc) -> None:
    app_instance = bridged_app
    be = backend(app_instance)
    be._set_result(InvocationId("known"), "from the parent")

    seen = _run_child(app_instance)

    assert seen == {
        "known": "from the parent",
        "own history": 1,
        "missing": "KeyError: 'Result for invocation never-written not found'",
        "clusters": 0,
        "projections": 0,
    }
    assert be._get_result(InvocationId("child-inv")) == "from the child"
    out = run_python(
        """
        from pynenc.identifiers.invocation_id import InvocationId
        print(be._get_result(InvocationId("child-inv")), len(be._get_history(InvocationId("child-inv"))))
        print(be._get_runner_context("child-runner").runner_cls)
        """,
        app_instance.app_id,
    )
    assert out.split() == ["from", "the", "child", "1", "BridgeTest"]


def test_with_the_bridge_off_a_forked_child_uses_kafka_itself(
    kafka_builder: PynencBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_FORK_BRIDGE_SECONDS", "0")
    app = kafka_builder.build()
    be = backend(app)
    assert be.bridge_seconds == 0
    be._set_result(InvocationId("known"), "from the parent")

    seen = _run_child(app)

    assert seen["known"] == "from the parent" and seen["own history"] == 1
    assert seen["clusters"] == 1 and seen["projections"] == 1
    assert be._get_result(InvocationId("child-inv")) == "from the child"


def test_the_bridge_is_on_by_default(kafka_builder: PynencBuilder) -> None:
    app = kafka_builder.kafka().build()
    components = [app.state_backend, app.orchestrator, app.client_data_store, app.trigger]
    assert [getattr(c, "bridge_seconds", None) for c in components] == [10.0] * 4


def _orchestrating_task_process(
    app: Pynenc, invocation_id: str, task_id: TaskId, report: Queue[dict[str, Any]]
) -> None:
    """In the child: the calls a ProcessRunner task process makes of the orchestrator and trigger."""
    orchestrator = app.orchestrator
    seen: dict[str, Any] = {}
    try:  # pynenc's own error, raised in the parent, crosses as itself
        orchestrator._atomic_status_transition(InvocationId(invocation_id), InvocationStatus.SUCCESS, "child")
    except InvocationStatusTransitionError as exc:
        seen["refused"] = type(exc).__name__
    running = orchestrator._atomic_status_transition(
        InvocationId(invocation_id), InvocationStatus.RUNNING, "parent"
    )
    seen["running"] = (running.status.value, running.runner_id)
    seen["read"] = orchestrator.get_invocation_status_record(InvocationId(invocation_id)).status.value
    seen["conditions"] = app.trigger.get_conditions_sourced_from_task(task_id)
    seen["clusters"] = len(RUNTIME._clusters)
    seen["projections"] = len(RUNTIME.open_projections())
    report.put(seen)


def test_a_forked_child_orchestrates_through_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transitions, status reads and trigger reads of a task process: the parent decides and reads
    them, the child builds nothing, pynenc's refusal reaches it as pynenc's own error."""
    monkeypatch.setenv("PYNENC__KAFKA_FORK_BRIDGE_SECONDS", "30")
    app, free, _ = make(unique_app_id("bridged-orchestration"), str(tmp_path))
    invocation = free(1)
    app.orchestrator._atomic_status_transition(invocation.invocation_id, InvocationStatus.PENDING, "parent")
    report: Queue[dict[str, Any]] = FORK.Queue()
    child = FORK.Process(
        target=_orchestrating_task_process, args=(app, invocation.invocation_id, free.task_id, report)
    )
    child.start()
    seen = report.get(timeout=60)
    child.join(60)

    assert child.exitcode == 0
    assert seen == {
        "refused": "InvocationStatusTransitionError",
        "running": ("running", "parent"),
        "read": "running",
        "conditions": [],
        "clusters": 0,
        "projections": 0,
    }
    record = app.orchestrator.get_invocation_status_record(invocation.invocation_id)
    assert (record.status, record.runner_id) == (InvocationStatus.RUNNING, "parent")


_ORPHAN = """
import os, sys, time
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId
app = PynencBuilder().app_id(sys.argv[1]).kafka().build()
be = app.state_backend
be._set_result(InvocationId("parent-wrote"), "parent")
parent = os.getpid()
if os.fork() == 0:  # the child: wait for the parent to be killed, then write and read alone
    while os.getppid() == parent:
        time.sleep(0.05)
    be._set_result(InvocationId("orphan-wrote"), "orphan")
    answer = be._get_result(InvocationId("orphan-wrote")), be._get_result(InvocationId("parent-wrote"))
    open(sys.argv[2], "w").write(repr(answer))
    os._exit(0)
print("forked", flush=True)
time.sleep(600)
"""


def test_a_child_whose_parent_was_killed_goes_on_with_kafka_itself(
    app_instance: Pynenc, tmp_path: Path
) -> None:
    """This process projects the app; the killed parent and its child only read its views."""
    backend(app_instance)._set_result(InvocationId("projected-here"), "x")
    outcome = tmp_path / "outcome"
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_ORPHAN), app_instance.app_id, str(outcome)],
        env={**os.environ, "PYNENC__KAFKA_FORK_BRIDGE_SECONDS": "30"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert parent.stdout is not None and parent.stdout.readline().strip() == "forked", parent.stderr
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(30)
    deadline = time.monotonic() + 60
    while not outcome.exists() or not outcome.read_text():
        assert time.monotonic() < deadline, "the orphaned child did not write"
        time.sleep(0.1)
    assert outcome.read_text() == "('orphan', 'parent')"
    assert backend(app_instance)._get_result(InvocationId("orphan-wrote")) == "orphan"
