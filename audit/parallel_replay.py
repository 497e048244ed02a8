"""Replaying partitions in parallel: worker processes decode and build rows, this process writes.

Partitions are independent, so each worker process reads its share of them with a consumer of
its own, decodes the events and builds their rows (:mod:`pynenc_kafka.audit.replay_worker`).
RocksDB has one writer: this process takes the workers' row chunks from their pipes and writes them, with the checkpoint, one WriteBatch per chunk list
(:class:`~pynenc_kafka.projections.chunk_writer.ChunkWriter`), so a replay killed at any moment
resumes from its checkpoint exactly as a serial one does. Workers are started with ``spawn``:
this process's Kafka clients and RocksDB handles never cross a fork.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from pynenc_kafka.audit.log_reader import LogReader, LogReadError, OffsetRange
from pynenc_kafka.audit.replay_worker import WorkerTask, run_worker
from pynenc_kafka.projections.chunk_writer import ChunkWriter

#: The ``--workers`` option's help, for every command that replays.
WORKERS_HELP = (
    "worker processes decoding partitions in parallel (default: one per core plus one, at most one "
    "per partition; 1: none)"
)


def default_workers(partitions: int) -> int:
    """Worker processes for ``partitions`` partitions with something to read: one per core at most.

    One per partition up to the cores plus one, so an uneven split of partitions among the
    workers still keeps every core busy (the writer takes a share of one).
    """
    return max(1, min(partitions, (os.cpu_count() or 1) + 1))


def split_partitions(todo: OffsetRange, workers: int) -> list[OffsetRange]:
    """``todo`` split among ``workers``: whole partitions, the largest first to the least loaded."""
    pending = todo.pending()
    shares: list[tuple[int, dict[int, int], dict[int, int]]] = [(0, {}, {}) for _ in range(workers)]
    for p, (start, stop) in sorted(pending.items(), key=lambda item: item[1][0] - item[1][1]):
        load, starts, stops = min(shares, key=lambda share: share[0])
        shares.remove((load, starts, stops))
        starts[p], stops[p] = start, stop
        shares.append((load + stop - start, starts, stops))
    return [OffsetRange(starts, stops) for _, starts, stops in shares if stops]


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
    assert reader.consumer_config is not None, "a parallel replay needs the reader's consumer options"
    shares = split_partitions(todo, workers)
    # Callbacks (librdkafka's logger of this process) stay here: a worker's consumer logs as librdkafka does.
    options = {k: v for k, v in reader.consumer_config.items() if isinstance(v, str | int | float | bool)}
    context = multiprocessing.get_context("spawn")
    tasks = [
        WorkerTask(
            options,
            reader.topic,
            reader.partitions,
            reader.timeout,
            reader.describe,
            app_id,
            share,
            batch_size,
        )
        for share in shares
    ]
    processes, pipes = [], []
    try:
        for task in tasks:
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(target=run_worker, args=(task, sending), daemon=True)
            process.start()
            sending.close()  # the worker holds it now: its death reads here as the pipe's end
            processes.append(process)
            pipes.append(receiving)
        return _write_chunks(writer, pipes, todo.total, on_progress)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        for pipe in pipes:
            pipe.close()


def _write_chunks(
    writer: ChunkWriter,
    pipes: list[Connection],
    total: int,
    on_progress: Callable[[int, int], None] | None,
) -> int:
    """Write what the workers send until each said it is done; return the records read."""
    done, running = 0, list(pipes)
    while running:
        for pipe in wait(running):
            assert isinstance(pipe, Connection)
            try:
                kind, body = pipe.recv()
            except EOFError:
                raise LogReadError(
                    "a replay worker process died before it finished; run the replay again: it resumes "
                    "from its checkpoint"
                ) from None
            if kind == "chunks":
                done += writer.apply(body)
                if on_progress is not None:
                    on_progress(done, total)
            elif kind == "done":
                running.remove(pipe)
            else:
                raise body
    return done
