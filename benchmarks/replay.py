"""Replay rate: a long app log replayed into a fresh projection folder.

Writes ``--events`` events into a new app's log with a raw producer (events are encoded once
per kind as templates, then only their ids are spliced in, so writing a million takes seconds),
then times ``LogReplay`` (what ``pynenc-kafka replay`` runs) into a fresh folder.

    python -m benchmarks.replay --events 1000000 [--breakdown] [--profile]

:func:`replay_rate` is the figure ``python -m benchmarks`` reports.

The broker is ``--bootstrap-servers``, else ``KAFKA_BOOTSTRAP_SERVERS`` or
``PYNENC__KAFKA_BOOTSTRAP_SERVERS``. The mix per invocation: ``InvocationRegistered``, four
``StatusRecorded`` (REGISTERED, PENDING, RUNNING, SUCCESS or FAILED) and a ``ResultSet`` (one
in twenty fails with an ``ExceptionSet`` instead): two thirds of the events are status records.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from pynenc_kafka.audit.log_reader import LogReader
from pynenc_kafka.audit.replay import REPLAY_BATCH, LogReplay
from pynenc_kafka.cli.session import AppLog, AuditSession
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.topology import AppTopics, partition_for

_INV = "inv-000000000000"  # placeholders of the ids spliced into the templates (fixed width)
_EVENT = "00000000-0000-4000-8000-000000000000"
_EXC = '{"error_name": "ValueError", "error_message": "boom", "traceback": "..."}'


def _templates(codec: EventCodec, app_id: str, failing: bool) -> list[bytes]:
    """The encoded events of one invocation's life, with placeholder ids."""
    base = datetime.now(UTC)
    events: list[tuple[EventKind, dict]] = [
        (
            EventKind.INVOCATION_REGISTERED,
            {
                "invocation_id": _INV,
                "call_id_key": "bench.tasks.add:0f3a9c2b7d4e",
                "serialized_arguments": {"x": "1", "y": "2"},
                "parent_invocation_id": None,
                "parent_event_id": None,
                "workflow": {
                    "workflow_id": _INV,
                    "workflow_type_key": "bench.tasks.add",
                    "parent_workflow_id": None,
                },
            },
        )
    ]
    statuses = ["REGISTERED", "PENDING", "RUNNING", "FAILED" if failing else "SUCCESS"]
    for i, status in enumerate(statuses):
        at = base + timedelta(microseconds=37 * (i + 1))
        events.append(
            (
                EventKind.STATUS_RECORDED,
                {
                    "invocation_id": _INV,
                    "status": status.lower(),
                    "owner_runner_id": None if i < 2 else "ThreadRunner@host-1-4242",
                    "status_at": at,
                    "history_at": at,
                    "runner_context_id": "ThreadRunner@host-1-4242",
                    "registered_by_inv_id": None,
                },
            )
        )
    if failing:
        events.append(
            (
                EventKind.EXCEPTION_SET,
                {"invocation_id": _INV, "error_name": "ValueError", "serialized_exception": _EXC},
            )
        )
    else:
        events.append((EventKind.RESULT_SET, {"invocation_id": _INV, "serialized_result": "3"}))
    return [codec.encode(app_id, kind, payload, _EVENT, base) for kind, payload in events]


def _events(app_id: str, count: int, first: int = 0) -> Iterator[tuple[bytes, bytes]]:
    """``count`` (key, value) pairs: whole invocation lives from invocation ``first`` on, ids spliced in."""
    codec = EventCodec()
    ok, failing = _templates(codec, app_id, False), _templates(codec, app_id, True)
    inv_marker, event_marker = _INV.encode(), _EVENT.encode()
    made, n = 0, first
    while made < count:
        inv = f"inv-{n:012d}".encode()
        for template in failing if n % 20 == 19 else ok:
            event_id = f"{made:08x}-0000-4000-8000-{n:012x}".encode()
            yield inv, template.replace(inv_marker, inv).replace(event_marker, event_id)
            made += 1
            if made >= count:
                return
        n += 1


def write_log(session: AuditSession, log: AppLog, count: int, first: int = 0) -> float:
    """Produce ``count`` events into the app's log (invocations from ``first`` on); return the seconds."""
    producer = Producer(
        {
            "bootstrap.servers": session.settings.bootstrap_servers,
            **session.settings.common,
            "linger.ms": 50,
            "batch.size": 1 << 20,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1 << 20,
            "enable.idempotence": True,
        }
    )
    started = time.perf_counter()
    partitions = log.partitions
    for key, value in _events(log.app_id, count, first):
        while True:
            try:
                producer.produce(log.topic, value, key, partition=partition_for(key.decode(), partitions))
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(300) != 0:
        raise SystemExit("the broker did not acknowledge every benchmark event")
    return time.perf_counter() - started


def read_only(reader: LogReader, decode: bool) -> tuple[int, float]:
    """Read the whole log (and decode it if asked) without applying it: the cost below the views."""
    codec = BatchEventCodec()
    started, count = time.perf_counter(), 0
    for batch in reader.read(reader.whole_log(), 20_000):
        if decode:
            codec.prime(m.value() for m in batch)
            for m in batch:
                codec.decode(m.value())
        count += len(batch)
    return count, time.perf_counter() - started


class StageTimer:
    """Seconds spent in a few per-batch methods during a replay (wrapped for the run only)."""

    STAGES = (
        ("decode (BatchEventCodec.prime)", BatchEventCodec, "prime"),
        ("RocksDB write (ViewStore.write)", ViewStore, "write"),
        ("apply (ViewWriter.apply)", ViewWriter, "apply"),
    )

    def __init__(self) -> None:
        self.seconds = {label: 0.0 for label, _, _ in self.STAGES}
        self._saved: list[tuple[type, str, Callable[..., Any]]] = []

    def __enter__(self) -> StageTimer:
        for label, owner, name in self.STAGES:
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(label, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)

    def _timed(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        return timed

    def report(self, total: float, records: int) -> None:
        """Print each stage's share; ``apply`` excludes the decode and write it calls; the rest is reading."""
        own = dict(self.seconds)
        apply_total = own["apply (ViewWriter.apply)"]
        own["apply (ViewWriter.apply)"] -= (
            own["RocksDB write (ViewStore.write)"] + own["decode (BatchEventCodec.prime)"]
        )
        own["read (consume, bounds)"] = total - apply_total
        for label, seconds in own.items():
            print(
                f"    {label:<34} {seconds:6.1f}s {seconds / total:4.0%} {seconds / records * 1e6:5.1f} us/event"
            )


def new_log(session: AuditSession, partitions: int) -> AppLog:
    """A new app's log, created with ``partitions`` partitions."""
    app_id = f"bench-replay-{uuid.uuid4().hex[:8]}"
    session.clients.topics.ensure(AppTopics(session.prefix, app_id).events, partitions)
    return session.app_log(app_id)


def bench_session(bootstrap: str | None) -> AuditSession:
    """The audit session of a replay benchmark on ``bootstrap`` (else the environment's cluster)."""
    conf = ConfigStateBackendKafka()
    if bootstrap:
        conf.kafka_bootstrap_servers = bootstrap
    conf.kafka_topic_prefix = "bench"
    return AuditSession(conf)


def replay_rate(bootstrap: str, events: int, partitions: int = 3) -> float:
    """Events per second of ``pynenc-kafka replay`` over a new log of ``events`` events.

    :param str bootstrap: The cluster.
    :param int events: Events to write, then replay.
    :param int partitions: Partitions of the log.
    :raises AssertionError: If the replay did not apply every event.
    """
    session = bench_session(bootstrap)
    log = new_log(session, partitions)
    write_log(session, log, events)
    folder = Path(tempfile.mkdtemp(prefix="bench-replay-")) / "replay"
    try:
        with session.reader(log) as reader:
            result = LogReplay(reader, log.source, REPLAY_BATCH).run(folder, reader.whole_log())
        if result.records != events or result.skipped:
            raise AssertionError(f"replay read {result.records} of {events} events, skipped {result.skipped}")
        return result.records / result.seconds
    finally:
        session.clients.admin.delete_topics([log.topic])
        shutil.rmtree(folder.parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--batch-size", type=int, default=REPLAY_BATCH, help="records per RocksDB WriteBatch")
    parser.add_argument("--workers", type=int, help="worker processes (default: LogReplay's; 1: one process)")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="time each stage of the replay; also read, and read + decode, alone",
    )
    parser.add_argument("--profile", action="store_true", help="profile the replay, print the top functions")
    parser.add_argument("--keep", action="store_true", help="keep the topic and the folder")
    args = parser.parse_args()

    session = bench_session(args.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    log = new_log(session, args.partitions)
    topic = log.topic

    seconds = write_log(session, log, args.events)
    print(
        f"wrote {args.events:,} events to {topic} in {seconds:.1f}s ({args.events / seconds:,.0f} events/s)"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-replay-")) / "replay"
    try:
        if args.breakdown:
            for label, decode in (("read only", False), ("read + decode", True)):
                with session.reader(log) as reader:
                    count, took = read_only(reader, decode)
                print(f"{label:>14}: {count:,} records in {took:.1f}s ({count / took:,.0f} events/s)")
        with session.reader(log) as reader:
            replay = LogReplay(reader, log.source, args.batch_size, args.workers)
            profiler = cProfile.Profile() if args.profile else None
            timer = StageTimer()
            with timer if args.breakdown else contextlib.nullcontext():
                if profiler is not None:
                    profiler.enable()
                cpu_started = time.process_time()
                result = replay.run(folder, reader.whole_log())
                cpu = time.process_time() - cpu_started
                if profiler is not None:
                    profiler.disable()
        print(
            f"{'replay':>14}: {result.records:,} records in {result.seconds:.1f}s "
            f"({result.records / result.seconds:,.0f} events/s), {result.applied:,} applied, "
            f"{result.skipped:,} skipped, folder {sum(f.stat().st_size for f in folder.iterdir()) / 1e6:.0f} MB"
        )
        print(
            f"{'':>14}  {cpu:.1f} CPU seconds over all threads ({result.records / cpu:,.0f} events per CPU "
            "second; wall time well above it means other processes held the cores)"
        )
        if args.breakdown:
            timer.report(result.seconds, result.records)
        if profiler is not None:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(18)
    finally:
        if not args.keep:
            session.clients.admin.delete_topics([topic])
            shutil.rmtree(folder.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
