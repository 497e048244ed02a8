"""``trail``: every event of one invocation, in log order, including its workflow link."""

from __future__ import annotations

import json

import pytest
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.schemas.topology import partition_for
from tests.cli.support import record_status, register, run_cli
from tests.integration.support import backend, projection

RETRIED = [
    InvocationStatus.REGISTERED,
    InvocationStatus.PENDING,
    InvocationStatus.RUNNING,
    InvocationStatus.RETRY,
    InvocationStatus.PENDING,
    InvocationStatus.RUNNING,
    InvocationStatus.FAILED,
]


def test_the_trail_of_a_retried_and_failed_invocation_lists_every_status_in_order(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    register(be, "inv-failing")
    for i, status in enumerate(RETRIED):
        record_status(be, "inv-failing", status, runner=f"runner-{i % 2}")
        record_status(be, "bystander", InvocationStatus.REGISTERED)  # other events in between
    be._set_exception(
        InvocationId("inv-failing"), json.dumps({"error_name": "ValueError", "message": "boom"})
    )

    trail = run_cli(capsys, "trail", "inv-failing", "--app", be.app.app_id, "--json")
    assert trail.code == 0, trail.err
    events = trail.json()["events"]
    assert [e["kind"] for e in events] == ["InvocationRegistered", *["StatusRecorded"] * 7, "ExceptionSet"]
    assert [e["payload"]["status"] for e in events if e["kind"] == "StatusRecorded"] == [
        s.value for s in RETRIED
    ]
    assert [e["payload"]["owner_runner_id"] for e in events[1:8]] == [f"runner-{i % 2}" for i in range(7)]
    partition = partition_for("inv-failing", projection(app_instance).log.partitions)
    assert {e["partition"] for e in events} == {partition}
    assert [e["offset"] for e in events] == sorted(e["offset"] for e in events)
    assert events[-1]["summary"].startswith("exception ValueError")
    assert all(e["aggregate"] == "inv-failing" for e in events)

    table = run_cli(capsys, "trail", "inv-failing", "--app", be.app.app_id)
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].endswith(": 9 events")
    assert "retry runner=runner-1" in lines[6] and lines[6].startswith(f"{partition}:")
    assert "exception ValueError" in lines[-1]


def test_the_trail_follows_the_workflow_link_on_the_workflow_partition(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    partitions = projection(app_instance).log.partitions
    sub = "sub-inv"
    workflow = next(
        w
        for w in (f"wf-{i}" for i in range(100))
        if partition_for(w, partitions) != partition_for(sub, partitions)
    )
    register(be, workflow, workflow_id=workflow)
    register(be, sub, workflow_id=workflow)
    be.store_workflow_sub_invocation(InvocationId(workflow), InvocationId(sub))
    record_status(be, sub, InvocationStatus.REGISTERED)
    be._set_result(InvocationId(sub), "7")

    events = run_cli(capsys, "trail", sub, "--app", be.app.app_id, "--json").json()["events"]
    kinds = [(e["kind"], e["partition"]) for e in events]
    assert kinds == [
        ("InvocationRegistered", partition_for(sub, partitions)),
        ("SubInvocationStored", partition_for(workflow, partitions)),
        ("StatusRecorded", partition_for(sub, partitions)),
        ("ResultSet", partition_for(sub, partitions)),
    ]
    assert events[1]["aggregate"] == workflow
    assert events[1]["summary"] == f"runs inside workflow {workflow} (sub-invocation {sub})"

    of_workflow = run_cli(capsys, "trail", workflow, "--app", be.app.app_id, "--json").json()["events"]
    assert [e["summary"] for e in of_workflow if e["kind"] == "SubInvocationStored"] == [
        f"workflow runs sub-invocation {sub}"
    ]

    deep = run_cli(capsys, "trail", workflow, "--app", be.app.app_id, "--deep", "--json").json()["events"]
    assert {e["aggregate"] for e in deep} == {workflow, sub}  # the sub-invocation's registration names it


def test_the_trail_of_an_invocation_the_log_never_saw_is_a_negative_answer(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    missing = run_cli(capsys, "trail", "never-ran", "--app", be.app.app_id)
    assert missing.code == 1
    assert "0 events" in missing.out and "no event of invocation 'never-ran'" in missing.err
