"""The app of the analytics tests: tasks that succeed, fail, are retried, and a workflow.

The app is built from the environment (``PYNENC_KAFKA_ANALYTICS_APP``, ``PYNENC_KAFKA_ANALYTICS_SQLITE``
and the ``PYNENC__*`` variables): pynenc's SQLite broker and orchestrator, the Kafka state backend.
"""

from __future__ import annotations

import os

from pynenc import PynencBuilder

app = (
    PynencBuilder()
    .app_id(os.environ.get("PYNENC_KAFKA_ANALYTICS_APP", "pynenc-kafka-analytics"))
    .sqlite(sqlite_db_path=os.environ.get("PYNENC_KAFKA_ANALYTICS_SQLITE", "/tmp/pynenc-kafka-analytics.db"))
    .kafka()
    .build()
)


class RejectedInput(ValueError):
    """Raised by :func:`check` for odd inputs."""


class FlakyService(RuntimeError):
    """Raised by :func:`flaky`: retried, then the invocation fails."""


@app.task
def add(x: int, y: int) -> int:
    """Succeeds."""
    return x + y


@app.task
def check(x: int) -> int:
    """Fails for odd inputs."""
    if x % 2:
        raise RejectedInput(f"{x} is odd")
    return x


@app.task(max_retries=2, retry_for=(FlakyService,))
def flaky(x: int) -> int:
    """Always raises a retriable error: retried twice, then failed."""
    raise FlakyService(f"service unavailable for {x}")


@app.workflow
def report(n: int) -> int:
    """A workflow running ``n`` sub-invocations of :func:`add`."""
    report.wf.set_data("status", "running")
    total = sum(inv.result for inv in [add(i, i) for i in range(n)])
    report.wf.set_data("status", "done")
    return total
