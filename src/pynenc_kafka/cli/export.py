"""``pynenc-kafka export``: an app's events, or its invocations table, as Avro or Parquet.

Three shapes of output:

- a **single file** (``--format avro --out FILE.avro``, ``--table invocations --out FILE``, or
  ``--out -`` for standard output): written whole, and an existing file is replaced only with
  ``--force``;
- an **export folder** (``--format parquet --out DIR``, or ``--format avro --out DIR/``): parts
  that grow incrementally, each run writing only the events the folder does not hold yet
  (:mod:`pynenc_kafka.audit.export_dataset`); ``--force`` starts it over.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from pynenc_kafka.audit.export import export_metadata, write_avro_events, write_avro_rows
from pynenc_kafka.audit.export_dataset import ExportedLog, ExportFolder
from pynenc_kafka.audit.export_rows import ReadCounts
from pynenc_kafka.audit.invocation_table import INVOCATION_COLUMNS, INVOCATION_RECORD, invocation_rows
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.audit.parquet_export import require_pyarrow, write_parquet_events, write_parquet_rows
from pynenc_kafka.audit.replay import LogReplay
from pynenc_kafka.audit.worker_processes import WORKERS_HELP
from pynenc_kafka.cli.commands import EXIT_OK, InputError, _progress, _session, _up_to, parse_moment
from pynenc_kafka.cli.session import AppLog
from pynenc_kafka.projections.store import ViewStore


def add_export_arguments(export: argparse.ArgumentParser) -> None:
    """The options of ``export``."""
    export.add_argument("--app", required=True, help="the pynenc app id")
    export.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a file (Avro events, a table), '-' for standard output, or a folder (Parquet events; "
        "Avro events with a trailing '/') that later runs add only new events to",
    )
    export.add_argument(
        "--format", choices=("avro", "parquet"), default="avro", help="file format (default avro)"
    )
    export.add_argument(
        "--table",
        choices=("events", "invocations"),
        default="events",
        help="events (every event, flat columns per type) or invocations (one row per invocation)",
    )
    export.add_argument("--since", metavar="TIMESTAMP", help="ISO-8601 moment to start at (events only)")
    export.add_argument("--until", metavar="TIMESTAMP", help="ISO-8601 moment to stop at")
    export.add_argument(
        "--compression", choices=("deflate", "null"), default="deflate", help="Avro block codec"
    )
    export.add_argument(
        "--force", action="store_true", help="replace an existing file, or start a folder over"
    )
    export.add_argument("--workers", type=int, metavar="N", help=WORKERS_HELP)


def cmd_export(args: argparse.Namespace) -> int:
    """The events of an app, or its invocations table, as Avro or Parquet."""
    until = parse_moment(args.until) if args.until else None
    since = parse_moment(args.since) if args.since else None
    if args.format == "parquet":
        require_pyarrow()  # before any work: a clear message when the extra is missing
    if args.table == "invocations":
        if since is not None:
            raise InputError("--since does not apply to --table invocations (a table of whole invocations)")
        return _export_invocations(args, until)
    if args.format == "parquet" or (args.out != "-" and (args.out.endswith("/") or Path(args.out).is_dir())):
        if args.out == "-":
            raise InputError(
                "Parquet events are a folder (one table per event type) and cannot go to standard "
                "output: give a folder, or use --format avro or --table invocations for '-'"
            )
        return _export_to_folder(args, since, until)
    return _export_to_file(args, since, until)


def _check_file_target(args: argparse.Namespace) -> Path | None:
    """The output file (``None`` for standard output), refused if it exists and ``--force`` is not given."""
    if args.out == "-":
        return None
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise InputError(f"{out} is a folder: give a file name for this export")
    if out.exists() and not args.force:
        raise InputError(f"{out} exists: it is not overwritten without --force")
    return out


def _write_file(out: Path | None, write: Callable[[IO[bytes]], None]) -> int:
    """Write through ``write`` to ``out`` (replaced once complete) or to standard output; return the size."""
    if out is None:
        stream = _CountingStream(sys.stdout.buffer)
        write(cast(IO[bytes], stream))
        stream.flush()
        return stream.written
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as f:
            write(f)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out.stat().st_size


class _CountingStream(io.RawIOBase):
    """Standard output as a write-only binary stream that counts the bytes written through it."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self._target = target
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._target.write(data)
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        self._target.flush()


def _range(reader: LogReader, log: AppLog, since: datetime | None, until: datetime | None) -> OffsetRange:
    offsets = _up_to(reader, log, until)
    if since is None:
        return offsets
    at_or_after = reader.offsets_after(since - timedelta(microseconds=1))
    return OffsetRange({p: max(o, at_or_after.get(p, o)) for p, o in offsets.start.items()}, offsets.stop)


def _report(args: argparse.Namespace, text: str) -> None:
    print(text, file=sys.stderr if args.out == "-" else sys.stdout)


def _summary(args: argparse.Namespace, log: AppLog, counts: ReadCounts, where: str, seconds: float) -> str:
    rate = counts.events / seconds if seconds > 0 else 0.0
    return (
        f"exported {counts.events:,} events of app {log.app_id!r} to {where} in {seconds:.1f}s "
        f"({rate:,.0f} events/s), {counts.skipped:,} records skipped"
    )


def _export_to_file(args: argparse.Namespace, since: datetime | None, until: datetime | None) -> int:
    out = _check_file_target(args)
    session = _session(args)
    log = session.app_log(args.app)
    started = time.monotonic()
    with session.reader(log) as reader:
        offsets = _range(reader, log, since, until)
        metadata = export_metadata(log.app_id, log.topic, offsets, until, "events")
        counts = ReadCounts()

        def write(stream: IO[bytes]) -> None:
            found = write_avro_events(
                stream, reader, log.app_id, offsets, metadata, args.compression, progress
            )
            counts.events, counts.skipped = found.events, found.skipped

        with _progress("export") as progress:
            size = _write_file(out, write)
    where = "standard output" if out is None else str(out)
    scope = f"as of {until.isoformat()}" if until else "whole log"
    _report(
        args, _summary(args, log, counts, where, time.monotonic() - started) + f" ({size:,} bytes), {scope}"
    )
    return EXIT_OK


def _export_to_folder(args: argparse.Namespace, since: datetime | None, until: datetime | None) -> int:
    session = _session(args)
    log = session.app_log(args.app)
    exported = ExportedLog(log.cluster_id, log.topic, log.topic_id, log.app_id, args.format)
    folder = ExportFolder(Path(args.out.rstrip("/") or "/"), exported)
    manifest = folder.open(args.force)
    started = time.monotonic()
    with session.reader(log) as reader:
        wanted = _range(reader, log, since, until)
        start = {p: max(o, manifest.next_offsets.get(p, 0)) for p, o in wanted.start.items()}
        stop = {p: max(o, start.get(p, 0)) for p, o in wanted.stop.items()}
        offsets = OffsetRange(start, stop)
        if offsets.total == 0:
            _report(
                args,
                f"nothing new to export: {folder.path} holds every event of app {log.app_id!r} asked for",
            )
            return EXIT_OK
        part = folder.part_name(manifest)
        metadata = export_metadata(log.app_id, log.topic, offsets, until, "events")
        with _progress("export") as progress:
            if args.format == "parquet":
                counts, paths = write_parquet_events(
                    lambda kind: folder.path / kind.value / f"{part}.parquet",
                    reader,
                    log.app_id,
                    offsets,
                    metadata,
                    on_progress=progress,
                    workers=args.workers,
                )
                files = list(paths.values())
            else:
                path = folder.path / f"{part}.avro"
                with path.open("wb") as f:
                    counts = write_avro_events(
                        f, reader, log.app_id, offsets, metadata, args.compression, progress
                    )
                files = [path]
    folder.commit(manifest, files, start, stop, counts.events)
    where = f"{folder.path} ({part}, {len(files)} files)"
    _report(args, _summary(args, log, counts, where, time.monotonic() - started))
    return EXIT_OK


def _export_invocations(args: argparse.Namespace, until: datetime | None) -> int:
    out = _check_file_target(args)
    session = _session(args)
    log = session.app_log(args.app)
    started = time.monotonic()
    with session.reader(log) as reader, tempfile.TemporaryDirectory(prefix="pynenc-kafka-export-") as tmp:
        offsets = _up_to(reader, log, until)
        with _progress("replay") as progress:
            replay = LogReplay(reader, log.source, workers=args.workers).run(
                Path(tmp) / "replay", offsets, until, on_progress=progress
            )
        metadata = export_metadata(log.app_id, log.topic, offsets, until, "invocations")
        store = ViewStore(Path(tmp) / "replay", read_only=True)
        try:  # streamed from the replayed views: one row group in memory at a time
            rows = invocation_rows(store, log.app_id)
            written = 0

            def write(f: IO[bytes]) -> None:
                nonlocal written
                if args.format == "parquet":
                    written = write_parquet_rows(f, INVOCATION_COLUMNS, rows, metadata)
                else:
                    written = write_avro_rows(
                        f, INVOCATION_RECORD, INVOCATION_COLUMNS, rows, metadata, args.compression
                    )

            size = _write_file(out, write)
        finally:
            store.close()
    where = "standard output" if out is None else str(out)
    _report(
        args,
        f"exported {written:,} invocations of app {log.app_id!r} ({replay.applied:,} events replayed) to "
        f"{where} ({size:,} bytes) in {time.monotonic() - started:.1f}s, "
        f"{'as of ' + until.isoformat() if until else 'whole log'}",
    )
    return EXIT_OK
