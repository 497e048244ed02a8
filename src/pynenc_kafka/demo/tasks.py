"""The fleet's app and tasks, importable by every worker process.

The app is built from the environment (``PYNENC_KAFKA_DEMO_APP``, ``PYNENC_KAFKA_DEMO_STACK`` and the
usual ``PYNENC__*`` variables), so each process builds the same one. By default every component
is on Kafka (state backend, broker, orchestrator, client data store, trigger).
"""

from __future__ import annotations

import hashlib
import os

from pynenc_kafka.demo.stacks import Stack

STACK = Stack.from_environment()
app = STACK.builder(os.environ.get("PYNENC_KAFKA_DEMO_APP", "pynenc-kafka-demo")).build()


class FlakyInputError(ValueError):
    """Raised by :func:`check` for inputs the demo declares bad."""


@app.task
def score(item: int) -> str:
    """A small CPU-bound step: a short hash chain of ``item``."""
    digest = str(item).encode()
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:12]


@app.task
def check(item: int) -> int:
    """Fails on every 25th item, so the run records exceptions too."""
    if item % 25 == 0:
        raise FlakyInputError(f"item {item} is not accepted")
    return item * 2


@app.workflow
def batch_report(first: int, size: int) -> dict[str, str]:
    """A workflow: scores ``size`` items as sub-invocations and keeps its progress as workflow data."""
    batch_report.wf.set_data("status", "scoring")
    invocations = {i: score(i) for i in range(first, first + size)}
    scores = {str(i): inv.result for i, inv in invocations.items()}
    batch_report.wf.set_data("status", "done")
    return scores
