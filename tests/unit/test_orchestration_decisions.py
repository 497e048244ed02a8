"""The orchestrator's decisions, made by the view writer on records built in memory.

A decision is a pure function of the events before it in the partition: applied one record per
batch or all in one batch, the outcomes and rows are the same; pynenc's own rules decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.projections.store import PROJECTED_VIEWS, View, ViewStore
from pynenc_kafka.projections.views import atomic_service, blocking, orchestration
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.kinds import EventKind
from tests.unit.log_records import MemoryLog

APP = "orch-app"
TOPIC = "test.orch-app.events"
AT = 1_700_000_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ViewStore]:
    opened = ViewStore(tmp_path / "views")
    yield opened
    opened.close()


def track(log: MemoryLog, inv: str, key: str | None = None, task: str = "mod.task") -> None:
    payload = {
        "invocation_id": inv,
        "decision_key": key or inv,
        "task_id": task,
        "call_id": f"{task}:{inv}",
        "owner_runner_id": None,
        "registered_at": AT,
    }
    log.append(0, EventKind.INVOCATION_TRACKED, payload)


def request(
    log: MemoryLog, request_id: str, inv: str, status: InvocationStatus, runner: str | None, **extra: Any
) -> None:
    payload = {
        "request_id": request_id,
        "invocation_id": inv,
        "decision_key": extra.get("key", inv),
        "status": status.value,
        "runner_id": runner,
        "requested_at": extra.get("at", AT + 1),
        "concurrency_group": extra.get("group"),
    }
    log.append(0, EventKind.STATUS_TRANSITION_REQUESTED, payload)


def outcome(store: ViewStore, request_id: str) -> orchestration.Outcome:
    found = orchestration.outcome(store, request_id)
    assert found is not None
    return found


def test_two_runners_asking_for_one_invocation_get_one_grant(store: ViewStore) -> None:
    log = MemoryLog(APP)
    track(log, "i1")
    request(log, "a", "i1", InvocationStatus.PENDING, "runner-a")
    request(log, "b", "i1", InvocationStatus.PENDING, "runner-b")
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert outcome(store, "a")["verdict"] == "granted"
    assert outcome(store, "b")["verdict"] == "refused"
    row = orchestration.row(store, "i1")
    assert row is not None and (row["status"], row["runner_id"]) == ("pending", "runner-a")


def test_a_granted_record_carries_the_requests_time_not_the_appliers(store: ViewStore) -> None:
    log = MemoryLog(APP)
    track(log, "i1")
    request(log, "a", "i1", InvocationStatus.PENDING, "r", at=AT + 42)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    record = outcome(store, "a")["record"]
    assert record is not None and record["status_at"] == AT + 42


def test_a_request_for_an_unknown_invocation_is_missing(store: ViewStore) -> None:
    log = MemoryLog(APP)
    request(log, "a", "nobody", InvocationStatus.PENDING, "r")
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert outcome(store, "a")["verdict"] == "missing"


def test_only_one_invocation_of_a_concurrency_group_runs(store: ViewStore) -> None:
    log = MemoryLog(APP)
    for inv in ("i1", "i2"):
        track(log, inv, key="task:t")
        request(log, f"p-{inv}", inv, InvocationStatus.PENDING, "r", key="task:t")
    request(log, "run-1", "i1", InvocationStatus.RUNNING, "r", key="task:t", group="task:t")
    request(log, "run-2", "i2", InvocationStatus.RUNNING, "r", key="task:t", group="task:t")
    request(log, "done-1", "i1", InvocationStatus.SUCCESS, "r", key="task:t")
    request(log, "run-2b", "i2", InvocationStatus.RUNNING, "r", key="task:t", group="task:t")
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert outcome(store, "run-1")["verdict"] == "granted"
    refused = outcome(store, "run-2")
    assert (refused["verdict"], refused["holder"]) == ("concurrency", "i1")
    assert outcome(store, "run-2b")["verdict"] == "granted"
    assert orchestration.members(store, "running", "task:t") == {"i2"}


def test_registering_again_keeps_the_state(store: ViewStore) -> None:
    log = MemoryLog(APP)
    track(log, "i1")
    request(log, "a", "i1", InvocationStatus.PENDING, "r")
    track(log, "i1")
    ViewWriter(store, APP, TOPIC).apply(log.records)
    row = orchestration.row(store, "i1")
    assert row is not None and row["status"] == "pending"


def test_a_forgotten_invocation_leaves_no_row_behind(store: ViewStore) -> None:
    log = MemoryLog(APP)
    track(log, "i1")
    args = {"invocation_id": "i1", "decision_key": "i1", "arguments": {"x": "1", "y": '"big"'}}
    log.append(0, EventKind.ARGUMENTS_INDEXED, args)
    log.append(
        0, EventKind.AUTO_PURGE_SCHEDULED, {"invocation_id": "i1", "decision_key": "i1", "final_at": AT}
    )
    writer = ViewWriter(store, APP, TOPIC)
    writer.apply(log.records)
    assert orchestration.with_arguments(store, {"x": "1"}) == {"i1"}
    assert orchestration.purge_due(store, AT) == ["i1"]
    forgotten = log.append(0, EventKind.INVOCATION_FORGOTTEN, {"invocation_id": "i1", "decision_key": "i1"})
    writer.apply([forgotten])
    assert list(store.scan(View.ORCH_INVOCATIONS)) == []
    assert list(store.scan(View.ORCH_INDEX)) == []


def test_blocking_graph_follows_waits_and_releases(store: ViewStore) -> None:
    log = MemoryLog(APP)
    log.append(0, EventKind.WAITING_FOR_RESULTS, {"caller_id": "parent", "waited_ids": ["c1", "c2"]})
    log.append(0, EventKind.WAITING_FOR_RESULTS, {"caller_id": "grand", "waited_ids": ["parent"]})
    writer = ViewWriter(store, APP, TOPIC)
    writer.apply(log.records)
    assert list(blocking.ready(store)) == ["c1", "c2"]
    released = [log.append(0, EventKind.WAITERS_RELEASED, {"waited_id": c}) for c in ("c1", "c2")]
    writer.apply(released)
    assert list(blocking.ready(store)) == ["parent"]


def test_one_atomic_service_execution_runs_at_a_time(store: ViewStore) -> None:
    log = MemoryLog(APP)
    for n, runner in enumerate(("r1", "r2")):
        payload = {
            "request_id": f"q{n}",
            "runner_id": runner,
            "run_id": f"run-{n}",
            "started_at": AT + n,
            "status": "running",
            "reason": "",
        }
        log.append(0, EventKind.ATOMIC_SERVICE_EXECUTION_RECORDED, payload)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert atomic_service.start_allowed(store, "q0") is True
    assert atomic_service.start_allowed(store, "q1") is False
    rows = {row["run_id"]: row for row in atomic_service.executions(store)}
    assert rows["run-1"]["status"] == "blocked" and rows["run-1"]["reason"].startswith("prior_running:run-0")


_STATUSES = [
    InvocationStatus.PENDING,
    InvocationStatus.RUNNING,
    InvocationStatus.SUCCESS,
    InvocationStatus.REROUTED,
    InvocationStatus.RETRY,
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["i1", "i2", "i3"]), st.sampled_from(_STATUSES), st.sampled_from(["a", "b"])
        ),
        max_size=25,
    )
)
def test_batches_decide_as_one_record_at_a_time_would(
    tmp_path_factory: pytest.TempPathFactory, requests: list[tuple[str, InvocationStatus, str]]
) -> None:
    """Decisions see the rows staged earlier in their batch: one batch equals one record per batch."""
    log = MemoryLog(APP, partitions=1)
    for inv in ("i1", "i2", "i3"):
        track(log, inv, key="task:t")
    for n, (inv, wanted, runner) in enumerate(requests):
        group = "task:t" if wanted is InvocationStatus.RUNNING else None
        request(log, f"q{n}", inv, wanted, runner, key="task:t", group=group, at=AT + n)
    views = []
    for one_by_one in (False, True):
        store = ViewStore(tmp_path_factory.mktemp("views"))
        writer = ViewWriter(store, APP, TOPIC)
        if one_by_one:
            for record in log.records:
                writer.apply([record])
        else:
            writer.apply(log.records)
        views.append({view: list(store.scan(view)) for view in PROJECTED_VIEWS})
        store.close()
    assert views[0] == views[1]
    running = [k for k, _ in views[0][View.ORCH_INDEX] if k.startswith(b"running\x00")]
    assert len(running) <= 1
