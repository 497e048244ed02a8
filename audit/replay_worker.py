"""A worker process of a parallel replay: reads some partitions, decodes them, builds their rows.

Each worker has its own consumer and reads only its partitions, stages their rows with a
:class:`~pynenc_kafka.projections.chunk_stager.ChunkStager` and puts them on the queue to the
process that writes the store through a pipe of its own, one message per read batch. Sending
blocks until the writer takes the message, so a worker is at most one read batch ahead of the
writer: memory stays bounded whatever the log's length. When the writer dies (a replay killed
with SIGKILL) the pipe breaks and the worker stops.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from confluent_kafka import Consumer, Message

from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, LogReadError, OffsetRange
from pynenc_kafka.projections.chunk_stager import ChunkStager
from pynenc_kafka.projections.staged_rows import RowChunk

#: librdkafka's prefetch and fetch sizes per worker, at most: the bulk reader's (256 MiB queued,
#: 64 MiB fetches) are one reader's, and a replay starts several.
WORKER_READ_LIMITS: dict[str, int] = {
    "queued.max.messages.kbytes": 8 << 10,
    "queued.min.messages": 20_000,
    "fetch.max.bytes": 4 << 20,
    "max.partition.fetch.bytes": 4 << 20,
}


@dataclass(frozen=True)
class WorkerTask:
    """What one worker reads.

    :param dict consumer_config: Its consumer's options (plain values: they cross processes).
    :param str topic: The app's log.
    :param int partitions: The log's partition count.
    :param float timeout: Seconds a read may make no progress.
    :param str describe: Safe description of the connection, for errors.
    :param str app_id: The app.
    :param OffsetRange offsets: Its partitions' ranges.
    :param int batch_size: Records per read batch (and per message to the writer, at most).
    """

    consumer_config: dict[str, Any]
    topic: str
    partitions: int
    timeout: float
    describe: str
    app_id: str
    offsets: OffsetRange
    batch_size: int


class ParentGone(Exception):
    """The writer process died: nobody reads the pipe any more."""


def send_chunks(out: Connection, message: tuple[str, Any]) -> None:
    """Send ``message``; it blocks while the writer has not taken the previous one (the bound)."""
    try:
        out.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
        raise ParentGone() from exc


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it crosses processes intact, else a :class:`LogReadError` with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return LogReadError(f"replay worker failed: {exc!r}")


class BatchConverter(Protocol):
    """Turns one read batch into what a worker sends its writer (it may keep state between batches)."""

    def __call__(self, batch: list[Message]) -> Any:
        """What to send for ``batch``."""


def serve(task: WorkerTask, out: Connection, convert: BatchConverter) -> None:
    """Read ``task``'s partitions, send ``("data", (records, convert(batch)))`` for each read batch, then
    ``("done", None)``; a failure is sent as ``("error", exception)``.

    :param WorkerTask task: What to read.
    :param Connection out: This worker's pipe to the writer process (its sending end).
    :param convert: What a batch becomes.
    """
    try:
        config = dict(task.consumer_config)
        for option, limit in WORKER_READ_LIMITS.items():
            config[option] = min(int(config.get(option, limit)), limit)
        with (
            LogReader(Consumer(config), task.topic, task.partitions, task.timeout, task.describe) as reader,
            cyclic_gc_paused(),
        ):
            for batch in reader.read(task.offsets, task.batch_size):
                send_chunks(out, ("data", (len(batch), convert(batch))))
        send_chunks(out, ("done", None))
    except ParentGone:
        return
    except BaseException as exc:  # noqa: BLE001 - reported to the writer, which raises it
        try:
            send_chunks(out, ("error", _portable(exc)))
        except ParentGone:
            return


class _StagedBatches:
    """A replay's conversion: the batch's row chunks."""

    def __init__(self, app_id: str) -> None:
        self._stager = ChunkStager(app_id)

    def __call__(self, batch: list[Message]) -> list[RowChunk]:
        return self._stager.stage(batch) + self._stager.flush()


def run_worker(task: WorkerTask, out: Connection) -> None:
    """A replay's worker: sends each read batch's :class:`RowChunk` s (see :func:`serve`)."""
    serve(task, out, _StagedBatches(task.app_id))
