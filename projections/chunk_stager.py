"""Turning records into :class:`RowChunk` s: the decode-and-build half of a parallel replay.

It decides what the :class:`~pynenc_kafka.projections.writer.ViewWriter` decides for each record
(decode it, skip it if it is not an event of the app, stage its rows with the views' row
writers), but keeps the rows instead of writing them; a ``Purged`` marker ends its partition's
chunk, so the writer process can hold what follows it exactly as the ``ViewWriter`` does, and so
does an event that is a decision (the orchestrator's requests): the writer decides it, in order,
on the state the rows before it left.

Events of the current schema are decoded by the compiled decoder
(:mod:`pynenc_kafka.projections.avro_decoder`); anything else, or anything it cannot read, by
the :class:`~pynenc_kafka.schemas.codec.EventCodec`, which resolves earlier schemas and reports
undecodable bytes as it always did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastavro.schema import to_parsing_canonical_form

from pynenc_kafka.projections.avro_decoder import RecordDecoder, compile_decoder
from pynenc_kafka.projections.purge_hold import LogRecord
from pynenc_kafka.projections.staged_rows import RowChunk, StagedRows
from pynenc_kafka.projections.views import DECIDERS, ROW_WRITERS
from pynenc_kafka.schemas.codec import SINGLE_OBJECT_MAGIC, EventCodec, UndecodableEventError
from pynenc_kafka.schemas.kinds import EventKind

_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8
_KINDS = {kind.schema_name: kind for kind in EventKind}


class ChunkStager:
    """Builds the rows of one app's records, per partition.

    :param str app_id: The app; records of other apps are skipped.
    """

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._codec = EventCodec()
        self._own_header = SINGLE_OBJECT_MAGIC + self._codec.fingerprint
        self._decode: RecordDecoder = compile_decoder(
            json.loads(to_parsing_canonical_form(self._codec.schema))
        )
        self._open: dict[int, tuple[RowChunk, StagedRows]] = {}

    def _chunk(self, partition: int) -> tuple[RowChunk, StagedRows]:
        found = self._open.get(partition)
        if found is None:
            rows = StagedRows()
            found = self._open[partition] = (RowChunk(partition, rows=rows.rows), rows)
        return found

    def _event(self, value: bytes | None) -> tuple[str, EventKind, dict[str, Any]]:
        """``(app id, kind, payload)`` of a record's value.

        :raises UndecodableEventError: If it is not one of our events.
        """
        if value is not None and value[:_HEADER_LEN] == self._own_header:
            try:
                record, _ = self._decode(value, _HEADER_LEN)
                name, payload = record["payload"]
                return record["app_id"], _KINDS[name], payload
            except Exception:  # noqa: S110 - malformed or unexpected: the codec decides and reports
                pass
        event = self._codec.decode(value)
        return event.app_id, event.kind, event.payload

    def stage(self, records: Iterable[LogRecord]) -> list[RowChunk]:
        """Stage ``records`` (each partition in log order); return the chunks they completed.

        A chunk is complete when its partition met a ``Purged`` marker; :meth:`flush` returns the rest.
        """
        done: list[RowChunk] = []
        app_id, writers, deciders, event_of, chunks = (
            self.app_id,
            ROW_WRITERS,
            DECIDERS,
            self._event,
            self._open,
        )
        purged = EventKind.PURGED
        for record in records:  # the hot loop of a parallel replay's workers
            partition: Any = record.partition()
            offset: Any = record.offset()
            found = chunks.get(partition)
            chunk, rows = found if found is not None else self._chunk(partition)
            chunk.next_offset = offset + 1
            chunk.records += 1
            try:
                event_app, kind, payload = event_of(record.value())
            except UndecodableEventError as exc:
                chunk.skipped.append((offset, str(exc)))
                continue
            if event_app != app_id:
                chunk.skipped.append((offset, f"event of app {event_app!r}, not {app_id!r}"))
                continue
            chunk.applied += 1
            chunk.kinds[kind.value] = chunk.kinds.get(kind.value, 0) + 1
            if kind is purged:
                chunk.purge = payload
                done.append(chunk)
                del chunks[partition]
            elif kind in deciders:
                chunk.decision = (kind.value, payload, offset)
                done.append(chunk)
                del chunks[partition]
            elif (write := writers.get(kind)) is not None:
                write(rows, event_app, payload, partition, offset)
            else:
                chunk.applied -= 1
                chunk.skipped.append((offset, f"a {kind} event does not belong in an app's log"))
        return done

    def flush(self) -> list[RowChunk]:
        """The chunks still open (each partition's records since its last complete chunk)."""
        chunks = [chunk for chunk, _ in self._open.values()]
        self._open.clear()
        return chunks
