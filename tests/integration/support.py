"""Helpers of the integration tests: raw access to an app's log, other OS processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer
from pynenc import Pynenc

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.app_projection import AppProjection
from pynenc_kafka.projections.projector import Projector
from pynenc_kafka.projections.store import PROJECTED_VIEWS, ViewStore
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.topology import partition_for

REPO = Path(__file__).resolve().parents[2]


def backend(app: Pynenc) -> KafkaStateBackend:
    """The app's state backend, typed."""
    state_backend = app.state_backend
    assert isinstance(state_backend, KafkaStateBackend)
    return state_backend


def projection(app: Pynenc) -> AppProjection:
    """The app's projection in this process."""
    return backend(app).projection


def projector_of(opened: AppProjection) -> Projector:
    """The projector of a projection this process projects (holds the lease of)."""
    assert opened.projector is not None, "this process does not project the app"
    return opened.projector


def end_offsets(app: Pynenc) -> dict[int, int]:
    """Kafka's end offset of every partition of the app's log."""
    proj = projection(app)
    return proj.barrier.end_offsets(range(proj.log.partitions))


def produce_raw(app: Pynenc, partition: int, value: bytes, bootstrap: str) -> None:
    """Write bytes that did not come from our producer into the app's log."""
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(projection(app).log.name, value, b"raw", partition=partition)
    assert producer.flush(15) == 0


def run_python(code: str, app_id: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh OS process on the same app; return its stdout.

    The code gets ``app`` (built with the Kafka backend on the session's broker) and ``be``.
    """
    prelude = textwrap.dedent(
        f"""
        from pynenc import PynencBuilder
        app = PynencBuilder().app_id({app_id!r}).kafka().build()
        be = app.state_backend
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"child process failed:\n{done.stderr[-4000:]}"
    return done.stdout


def produce_results(app: Pynenc, count: int, bootstrap: str, prefix: str = "bulk") -> None:
    """Write ``count`` ResultSet events of this app fast, through a raw batching producer."""
    proj = projection(app)
    codec, partitions = proj.clients.codec, proj.log.partitions
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    now = datetime.now(UTC)
    for i in range(count):
        inv_id = f"{prefix}-{i}"
        value = codec.encode(
            app.app_id,
            EventKind.RESULT_SET,
            {"invocation_id": inv_id, "serialized_result": str(i)},
            str(uuid.uuid4()),
            now,
        )
        while True:
            try:
                producer.produce(
                    proj.log.name, value, inv_id.encode(), partition=partition_for(inv_id, partitions)
                )
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0


def fresh_replay(app: Pynenc, folder: Path) -> ViewStore:
    """Replay the app's whole log into a new folder with a projector of its own."""
    proj = projection(app)
    store = ViewStore(folder)
    replayer = Projector(
        ViewWriter(store, app.app_id, proj.log.name),
        lambda: proj.clients.new_consumer("test-replay"),
        proj.log.partitions,
    )
    ends = end_offsets(app)
    deadline = time.monotonic() + 120
    while not replayer.progress.reached(ends):
        assert time.monotonic() < deadline, "replay did not reach the end of the log"
        replayer.step(0.2)
    replayer.stop()
    return store


def view_rows(store: ViewStore) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every row of every projected view (not the checkpoint), for comparing projections."""
    return {view.value: list(store.scan(view)) for view in PROJECTED_VIEWS}
