"""Two hosts on one machine: two groups of pynenc workers, each with its own projection folder,
sharing nothing but the broker, run a batch on the Kafka-only stack; a third process with a
folder of its own reads every result back."""

from __future__ import annotations

import importlib
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from pynenc.invocation.status import InvocationStatus

from tests.conftest import unique_app_id
from tests.fleet.kafka_fleet import (
    APP_VAR,
    TASK_SECONDS_VAR,
    read_back,
    runs_of,
    start_worker,
    stop_all,
    wait_ready,
    worker_env,
)

TASKS = 60
#: Worker processes per group ("host"), and their runner: two ThreadRunners of two threads each.
WORKERS_PER_GROUP = 2
RUNNER = {"RUNNER_CLS": "ThreadRunner", "MAX_THREADS": "2", "LOGGING_LEVEL": "warning"}


def test_two_groups_with_their_own_folders_share_only_the_broker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(APP_VAR, unique_app_id("two-hosts"))
    monkeypatch.setenv(TASK_SECONDS_VAR, "0.2")
    monkeypatch.setenv("PYNENC__LOGGING_LEVEL", "warning")
    monkeypatch.delitem(sys.modules, "tests.fleet.kafka_fleet", raising=False)
    fleet = importlib.import_module("tests.fleet.kafka_fleet")
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    groups = ("host-a", "host-b")
    workers = [
        start_worker(worker_env(runs_dir, group, tmp_path / group, **RUNNER), tmp_path / f"{group}-{n}.log")
        for group in groups
        for n in range(WORKERS_PER_GROUP)
    ]
    try:
        wait_ready(runs_dir, workers, timeout=120)
        ids = [
            inv.invocation_id
            for inv in fleet.record_run.parallelize([(i,) for i in range(TASKS)]).invocations
        ]
        deadline = time.monotonic() + 240
        final = frozenset({InvocationStatus.SUCCESS, InvocationStatus.FAILED})
        while len(list(fleet.app.orchestrator.filter_by_status(ids, final))) < TASKS:
            dead = [w for w in workers if w.poll() is not None]
            assert not dead, f"worker {dead[0].pid} exited with {dead[0].returncode}"
            assert time.monotonic() < deadline, "the fleet did not finish the batch in 240s"
            time.sleep(0.2)
    finally:
        stop_all(workers)

    reader_env = worker_env(runs_dir, "reader", tmp_path / "reader")
    found = read_back(reader_env, ids)
    assert found == {inv_id: [InvocationStatus.SUCCESS.value, found[inv_id][1]] for inv_id in ids}
    runs = runs_of(runs_dir, ids)
    assert {inv_id: len(r) for inv_id, r in runs.items()} == dict.fromkeys(ids, 1), (
        "a task ran twice or never"
    )
    for item, inv_id in enumerate(ids):
        (run,) = runs[inv_id]
        assert found[inv_id][1] == f"{item}@{run.group}", (
            "the result read back is not the one its run returned"
        )
    per_group = Counter(run.group for (run,) in runs.values())
    print(f"\ntasks run per group: {dict(per_group)}")
    assert set(per_group) == set(groups), f"one group ran nothing: {dict(per_group)}"
    for group in (*groups, "reader"):
        assert any((tmp_path / group).iterdir()), f"{group} built no views in its own folder"
