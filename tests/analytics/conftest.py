"""A real pynenc run on the Kafka backend, shared by the analytics tests of a module.

Tasks that succeed, fail, are retried and then fail, and a workflow with sub-invocations, run
by pynenc's ThreadRunner (in a thread of the test process) with pynenc's SQLite broker and
orchestrator: the log then holds what a real app writes.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
from pynenc.invocation.dist_invocation import DistributedInvocation

from pynenc_kafka.components.state_backend import KafkaStateBackend
from tests.conftest import unique_app_id


def query(sql: str) -> list[tuple[Any, ...]]:
    """The rows of a DuckDB query, in a fresh in-memory database (reads files by their paths)."""
    with duckdb.connect() as db:
        return db.execute(sql).fetchall()


@dataclass(frozen=True)
class RealRun:
    """The app of a finished run and the invocations it submitted."""

    tasks: ModuleType
    backend: KafkaStateBackend
    submitted: list[DistributedInvocation]
    workflow: DistributedInvocation

    @property
    def app_id(self) -> str:
        return str(self.tasks.app.app_id)


def run_tasks(tmp: Path) -> Iterator[RealRun]:
    """Run the analytics tasks of ``tests.analytics.tasks`` on a new app until every one finished."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYNENC_KAFKA_ANALYTICS_APP", unique_app_id("analytics"))
        patch.setenv("PYNENC_KAFKA_ANALYTICS_SQLITE", str(tmp / "pynenc.db"))
        patch.setenv("PYNENC__RUNNER_CLS", "ThreadRunner")
        patch.setenv("PYNENC__LOGGING_LEVEL", "critical")
        patch.delitem(sys.modules, "tests.analytics.tasks", raising=False)
        tasks = importlib.import_module("tests.analytics.tasks")
        runner = threading.Thread(target=tasks.app.runner.run, daemon=True)
        runner.start()
        try:
            workflow = tasks.report(3)
            submitted = [
                *(tasks.add(i, 1) for i in range(4)),
                *(tasks.check(i) for i in range(4)),
                *(tasks.flaky(i) for i in range(2)),
                workflow,
            ]
            for invocation in submitted:
                try:
                    _ = invocation.result
                except Exception:  # noqa: S110 - check and flaky fail on purpose
                    pass
        finally:
            tasks.app.runner.stop_runner_loop()
            runner.join(30)
        backend = tasks.app.state_backend
        assert isinstance(backend, KafkaStateBackend)
        yield RealRun(tasks, backend, submitted, workflow)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRun]:
    """One real run per test module."""
    yield from run_tasks(tmp_path_factory.mktemp("real-run"))
