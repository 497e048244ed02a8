"""Helpers of the integration tests: raw access to an app's log, other OS processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from confluent_kafka import Producer
from pynenc import Pynenc

from pynenc_kafka.backend import KafkaStateBackend
from pynenc_kafka.runtime import AppProjection

REPO = Path(__file__).resolve().parents[2]


def backend(app: Pynenc) -> KafkaStateBackend:
    """The app's state backend, typed."""
    state_backend = app.state_backend
    assert isinstance(state_backend, KafkaStateBackend)
    return state_backend


def projection(app: Pynenc) -> AppProjection:
    """The app's projection in this process."""
    return backend(app).projection


def end_offsets(app: Pynenc) -> dict[int, int]:
    """Kafka's end offset of every partition of the app's log."""
    proj = projection(app)
    return proj.barrier._end_offsets(range(proj.log.partitions))


def produce_raw(app: Pynenc, partition: int, value: bytes, bootstrap: str) -> None:
    """Write bytes that did not come from our producer into the app's log."""
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(projection(app).log.name, value, b"raw", partition=partition)
    assert producer.flush(15) == 0


def run_python(code: str, app_id: str, timeout: float = 120) -> str:
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
        env={**os.environ},
    )
    assert done.returncode == 0, f"child process failed:\n{done.stderr[-4000:]}"
    return done.stdout
