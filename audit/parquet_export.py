"""Writing an app's events, or a table of rows, as Parquet (through pyarrow, an optional extra).

pyarrow is heavy, so it is not part of the core install: it comes with
``pip install 'pynenc-kafka[analytics]'``, and asking for Parquet without it is a one-line error
(:func:`require_pyarrow`), never an import error of the package.

Events go one Parquet file per event type (``<folder>/<EventType>/part-NNNNN.parquet``), with the
flat columns of :mod:`pynenc_kafka.audit.export_rows`: DuckDB, Polars and Spark read a type's
folder as one table with no extension or schema of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from pynenc_kafka.audit.export_rows import (
    BOOLEAN,
    COLUMNS,
    DOUBLE,
    INT,
    LIST,
    LONG,
    MAP,
    STRING,
    TIMESTAMP,
    Column,
    ReadCounts,
    app_events,
    flat_row,
)
from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.audit.worker_processes import run_workers, workers_for
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.kinds import EventKind

#: Rows of one event type buffered before they are written as a row group.
ROW_GROUP = 50_000

#: Records per read batch of a Parquet export's worker.
PARQUET_BATCH = 10_000


class MissingExtraError(KafkaBackendError):
    """An optional dependency a command needs is not installed."""


def require_pyarrow() -> tuple[ModuleType, ModuleType]:
    """``(pyarrow, pyarrow.parquet)``, or a clear error naming the extra that installs them.

    :raises MissingExtraError: If pyarrow is not installed.
    """
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingExtraError(
            "Parquet needs pyarrow, which the core install leaves out: "
            "pip install 'pynenc-kafka[analytics]' (or use --format avro)"
        ) from None
    return pyarrow, pyarrow.parquet


def arrow_schema(columns: Iterable[Column], metadata: dict[str, str] | None = None) -> Any:
    """The pyarrow schema of flat columns (timestamps as UTC microseconds)."""
    pa, _ = require_pyarrow()
    types = {
        STRING: pa.string(),
        INT: pa.int32(),
        LONG: pa.int64(),
        DOUBLE: pa.float64(),
        BOOLEAN: pa.bool_(),
        TIMESTAMP: pa.timestamp("us", tz="UTC"),
        MAP: pa.map_(pa.string(), pa.string()),
        LIST: pa.list_(pa.string()),
    }
    fields = [pa.field(c.name, types[c.type], nullable=c.nullable) for c in columns]
    return pa.schema(fields, metadata=metadata)


def arrow_table(schema: Any, columns: list[list[Any]], types: list[str]) -> Any:
    """An Arrow table of ``schema`` from column lists of flat values (maps as dicts)."""
    pa, _ = require_pyarrow()
    arrays = []
    for values, field, kind in zip(columns, schema, types, strict=True):
        if kind == MAP:
            values = [None if v is None else list(v.items()) for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class _TypeFile:
    """One event type's Parquet file of a part, written a row group at a time."""

    def __init__(self, path: Path, kind: EventKind, metadata: dict[str, str], compression: str) -> None:
        _, pq = require_pyarrow()
        self.columns = COLUMNS[kind]
        self.types = [c.type for c in self.columns]
        self.schema = arrow_schema(self.columns, metadata)
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(str(path), self.schema, compression=compression)
        self._buffer: list[list[Any]] = [[] for _ in self.columns]
        self._tables: list[Any] = []
        self._table_rows = 0
        self.rows = 0

    def add(self, row: list[Any]) -> None:
        for values, value in zip(self._buffer, row, strict=True):
            values.append(value)
        self.rows += 1
        if len(self._buffer[0]) >= ROW_GROUP:
            self.flush()

    def add_table(self, table: Any) -> None:
        """Add a table of rows a worker built; written once a row group's worth is here."""
        self._tables.append(table.replace_schema_metadata(self.schema.metadata))
        self._table_rows += table.num_rows
        self.rows += table.num_rows
        if self._table_rows >= ROW_GROUP:
            self._flush_tables()

    def _flush_tables(self) -> None:
        if self._tables:
            pa, _ = require_pyarrow()
            self._writer.write_table(pa.concat_tables(self._tables))
            self._tables, self._table_rows = [], 0

    def flush(self) -> None:
        self._flush_tables()
        if self._buffer[0]:
            self._writer.write_table(arrow_table(self.schema, self._buffer, self.types))
            self._buffer = [[] for _ in self.columns]

    def close(self) -> None:
        self.flush()
        self._writer.close()


def write_parquet_events(
    part_path: Callable[[EventKind], Path],
    reader: LogReader,
    app_id: str,
    offsets: OffsetRange,
    metadata: dict[str, str],
    compression: str = "zstd",
    on_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> tuple[ReadCounts, dict[EventKind, Path]]:
    """Write the app's events of ``offsets``, one Parquet file per event type met.

    With several partitions to read, worker processes decode them into Arrow tables
    (:mod:`pynenc_kafka.audit.parquet_worker`) and this process writes the files.

    :param part_path: Where the file of an event type goes.
    :param LogReader reader: Reads the app's log.
    :param str app_id: The app; records of other apps are skipped.
    :param OffsetRange offsets: What to export.
    :param dict metadata: Key-value metadata of every file (:func:`~pynenc_kafka.audit.export.export_metadata`).
    :param str compression: Parquet codec.
    :param on_progress: Called after each batch with (records read, records to read).
    :param workers: Worker processes (``None``: one per core plus one, at most one per partition; ``1``: none).
    :return: What was read, and the file written for each event type.
    """
    require_pyarrow()
    counts = ReadCounts()
    files: dict[EventKind, _TypeFile] = {}

    def type_file(kind: EventKind) -> _TypeFile:
        out = files.get(kind)
        if out is None:
            out = files[kind] = _TypeFile(part_path(kind), kind, metadata, compression)
        return out

    def take(converted: tuple[int, int, dict[str, Any]]) -> None:
        events, skipped, tables = converted
        counts.events += events
        counts.skipped += skipped
        for kind, table in tables.items():
            type_file(EventKind.of(kind)).add_table(table)

    try:
        count = workers_for(reader, offsets, workers)
        if count > 1:
            from pynenc_kafka.audit.parquet_worker import run_parquet_worker

            run_workers(run_parquet_worker, reader, app_id, offsets, count, PARQUET_BATCH, take, on_progress)
        else:
            with cyclic_gc_paused():
                for event, partition, offset in app_events(reader, app_id, offsets, counts, on_progress):
                    type_file(event.kind).add(flat_row(event, partition, offset))
    finally:
        for out in files.values():
            out.close()
    return counts, {kind: out.path for kind, out in files.items()}


def write_parquet_rows(
    out: IO[bytes] | Path,
    columns: tuple[Column, ...],
    rows: Iterable[dict[str, Any]],
    metadata: dict[str, str],
    compression: str = "zstd",
) -> int:
    """Write a table of flat rows as one Parquet file, :data:`ROW_GROUP` rows at a time.

    :param out: A path, or a binary stream (standard output).
    :param columns: The table's columns.
    :param rows: Its rows, column name -> value (timestamps as microseconds since the epoch).
    :param dict metadata: The file's key-value metadata.
    :param str compression: Parquet codec.
    :return: The rows written.
    """
    _, pq = require_pyarrow()
    schema = arrow_schema(columns, metadata)
    types = [c.type for c in columns]
    names = [c.name for c in columns]
    count = 0
    with pq.ParquetWriter(
        out if not isinstance(out, Path) else str(out), schema, compression=compression
    ) as file:
        values: list[list[Any]] = [[] for _ in columns]
        for row in rows:
            for target, name in zip(values, names, strict=True):
                target.append(row[name])
            count += 1
            if len(values[0]) >= ROW_GROUP:
                file.write_table(arrow_table(schema, values, types))
                values = [[] for _ in columns]
        if values[0] or count == 0:
            file.write_table(arrow_table(schema, values, types))
    return count
