"""Replaying partitions in parallel: worker processes decode and build rows, this process writes.

Each worker (:func:`~pynenc_kafka.audit.replay_worker.run_worker`) reads its share of the
partitions, decodes the events and builds their rows with the live row writers; RocksDB has one
writer, this process, which writes each batch's row chunks with the checkpoint in one WriteBatch
(:class:`~pynenc_kafka.projections.chunk_writer.ChunkWriter`), so a replay killed at any moment
resumes from its checkpoint exactly as a serial one does.
"""

from __future__ import annotations

from collections.abc import Callable

from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.audit.replay_worker import run_worker
from pynenc_kafka.audit.worker_processes import run_workers
from pynenc_kafka.projections.chunk_writer import ChunkWriter


def replay_in_workers(
    reader: LogReader,
    app_id: str,
    writer: ChunkWriter,
    todo: OffsetRange,
    workers: int,
    batch_size: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Apply ``todo`` to ``writer``'s store with ``workers`` processes decoding; return the records read.

    :param LogReader reader: The reader of the app's log (its consumer options are the workers').
    :param str app_id: The app.
    :param ChunkWriter writer: Writes the store.
    :param OffsetRange todo: What to read.
    :param int workers: Worker processes.
    :param int batch_size: Records per read batch of a worker.
    :param on_progress: Called after each write with (records read, records to read).
    :raises LogReadError: If a worker failed (its error, when it could be sent).
    """
    return run_workers(run_worker, reader, app_id, todo, workers, batch_size, writer.apply, on_progress)
