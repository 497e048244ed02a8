"""The fleet's app and tasks, importable by every worker process.

The app is built from the environment (``PYNENC_KAFKA_DEMO_APP``, ``PYNENC_KAFKA_DEMO_SQLITE``,
``PYNENC_KAFKA_DEMO_STATE`` and the usual ``PYNENC__*`` variables), so each process builds the same one: pynenc's
SQLite broker and orchestrator on this host, and the Kafka state backend.
"""

from __future__ import annotations

import hashlib
import os

from pynenc import PynencBuilder

_builder = (
    PynencBuilder()
    .app_id(os.environ.get("PYNENC_KAFKA_DEMO_APP", "pynenc-kafka-demo"))
    .sqlite(sqlite_db_path=os.environ.get("PYNENC_KAFKA_DEMO_SQLITE", "/tmp/pynenc-kafka-demo.db"))
)
# The benchmarks (``benchmarks/``) compare state backends on the same fleet:
# ``PYNENC_KAFKA_DEMO_STATE=sqlite`` keeps pynenc's SQLite state backend, ``redis`` takes pynenc-redis's
# (at ``PYNENC__REDIS_URL``); anything else, ours.
_STATE = os.environ.get("PYNENC_KAFKA_DEMO_STATE", "kafka")
if _STATE == "redis":
    _builder = _builder.custom_config(
        state_backend_cls="RedisStateBackend", redis_url=os.environ.get("PYNENC__REDIS_URL", "")
    )
elif _STATE != "sqlite":
    _builder = _builder.kafka()
app = _builder.build()


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
