"""Export rate of ``pynenc-kafka export`` in each format (a benchmark, not a test).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python -m benchmarks.export_rate --invocations 20000

Writes an app whose log holds, per invocation, a registration, two history entries and a
result (``4 x --invocations`` events, published in batches), then times each export of the whole
log from the broker: Avro events to one file, Parquet events to a folder, and the invocations
table (a replay of the log, then one Parquet file). Prints events per second of each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from itertools import batched
from pathlib import Path
from typing import Any

from pynenc import PynencBuilder

from pynenc_kafka.cli.main import main as cli
from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import to_micros

BATCH = 2_000


def write_log(backend: KafkaStateBackend, invocations: int) -> None:
    """Publish the events of ``invocations`` finished invocations, ``BATCH`` invocations per publish."""
    for chunk in batched(range(invocations), BATCH):
        records: list[tuple[EventKind, dict[str, Any]]] = []
        for i in chunk:
            inv = f"inv-{i:08d}"
            now = to_micros(datetime.now(UTC))
            records.append(
                (
                    EventKind.INVOCATION_REGISTERED,
                    {
                        "invocation_id": inv,
                        "call_id_key": f"bench.tasks.task_{i % 5}:args-{i}",
                        "serialized_arguments": {"x": str(i)},
                        "parent_invocation_id": None,
                        "parent_event_id": None,
                        "workflow": None,
                    },
                )
            )
            for status, at in (("running", now), ("success", now + 1500)):
                records.append(
                    (
                        EventKind.STATUS_RECORDED,
                        {
                            "invocation_id": inv,
                            "status": status,
                            "owner_runner_id": "runner-1",
                            "status_at": at,
                            "history_at": at,
                            "runner_context_id": "runner-1",
                            "registered_by_inv_id": None,
                        },
                    )
                )
            records.append((EventKind.RESULT_SET, {"invocation_id": inv, "serialized_result": str(i * 2)}))
        backend._publish(records)


def timed(label: str, events: int, *argv: str) -> None:
    """Run one export and print its rate."""
    started = time.perf_counter()
    code = cli(list(argv))
    seconds = time.perf_counter() - started
    assert code == 0, f"{label} failed"
    print(f"== {label:<44} {events:>9,} events in {seconds:6.2f}s: {events / seconds:>9,.0f} events/s")


def main() -> None:
    """Write the log, export it in each format, print the rates."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=15_000)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    os.environ["PYNENC__KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    app_id = f"bench-export-{uuid.uuid4().hex[:6]}"
    app = PynencBuilder().app_id(app_id).kafka(bootstrap_servers=bootstrap).build()
    backend = app.state_backend
    assert isinstance(backend, KafkaStateBackend)
    started = time.perf_counter()
    write_log(backend, args.invocations)
    projection = backend.projection
    events = sum(projection.barrier.end_offsets(range(projection.log.partitions)).values())
    print(f"wrote {events:,} events in {time.perf_counter() - started:.1f}s (app {app_id})")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        out = Path(tmp)
        timed(
            "avro events, one file (deflate)", events, "export", "--app", app_id, "--out", str(out / "e.avro")
        )
        timed("parquet events, a folder (zstd)", events,
              "export", "--app", app_id, "--format", "parquet", "--out", str(out / "events"))  # fmt: skip
        timed("parquet invocations table (replay + write)", events,
              "export", "--app", app_id, "--table", "invocations", "--format", "parquet",
              "--out", str(out / "invocations.parquet"))  # fmt: skip


if __name__ == "__main__":
    main()
