"""Exporting an app's events as an Avro object container file, for analytics.

The file's schema is the event envelope itself (``org.pynenc.kafka.events.Event``), so any
Avro reader (Spark, DuckDB, pandas through fastavro, ...) reads it with no pynenc-kafka code.
Records are written each partition in log order; the file header's metadata names the app,
the topic and the offsets exported. The file appears only once complete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastavro import writer

from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.schemas.codec import UndecodableEventError


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    :param Path path: The file.
    :param int events: Events written.
    :param int skipped: Records skipped (undecodable, or of another app).
    :param int size: The file's size in bytes.
    :param float seconds: Duration.
    """

    path: Path
    events: int
    skipped: int
    size: int
    seconds: float


class AvroExport:
    """Writes a stretch of an app's log to an Avro object container file.

    :param LogReader reader: Reads the app's log.
    :param str app_id: The app; records of other apps are skipped.
    :param str compression: Avro block codec: ``"deflate"`` or ``"null"``.
    """

    def __init__(self, reader: LogReader, app_id: str, compression: str = "deflate") -> None:
        self._reader = reader
        self._app_id = app_id
        self._compression = compression
        self._codec = BatchEventCodec()
        self._events = 0
        self._skipped = 0

    def write(
        self,
        path: Path,
        offsets: OffsetRange,
        until: datetime | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ExportResult:
        """Export the records of ``offsets`` to ``path`` (replaced only once complete).

        :param Path path: The ``.avro`` file.
        :param OffsetRange offsets: What to export.
        :param until: The moment ``offsets`` stop at, recorded in the metadata.
        :param on_progress: Called after each batch with (records read, records to read).
        """
        started = time.monotonic()
        self._events = self._skipped = 0
        metadata = {
            "pynenc_kafka.app_id": self._app_id,
            "pynenc_kafka.topic": self._reader.topic,
            "pynenc_kafka.start_offsets": json.dumps({str(p): o for p, o in offsets.start.items()}),
            "pynenc_kafka.stop_offsets": json.dumps({str(p): o for p, o in offsets.stop.items()}),
            "pynenc_kafka.until": "" if until is None else until.isoformat(),
        }
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out, cyclic_gc_paused():
                writer(
                    out,
                    self._codec.schema,
                    self._records(offsets, on_progress),
                    codec=self._compression,
                    metadata=metadata,
                )
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return ExportResult(
            path, self._events, self._skipped, path.stat().st_size, time.monotonic() - started
        )

    def _records(
        self, offsets: OffsetRange, on_progress: Callable[[int, int], None] | None
    ) -> Iterator[dict[str, Any]]:
        total, done = offsets.total, 0
        for batch in self._reader.read(offsets):
            self._codec.prime(msg.value() for msg in batch)
            for msg in batch:
                try:
                    event = self._codec.decode(msg.value())
                except UndecodableEventError:
                    self._skipped += 1
                    continue
                if event.app_id != self._app_id:
                    self._skipped += 1
                    continue
                self._events += 1
                yield {
                    "event_id": event.event_id,
                    "app_id": event.app_id,
                    "occurred_at": event.occurred_at,
                    "payload": (event.kind.schema_name, event.payload),
                }
            done += len(batch)
            if on_progress is not None:
                on_progress(done, total)
