"""Worker processes that read an app's partitions, and the one process that takes what they send.

Partitions are independent, so a bulk read (a replay, a Parquet export) splits them among worker
processes, each with a consumer of its own (:mod:`pynenc_kafka.audit.replay_worker`), and this
process takes what they send, one read batch at a time, from a pipe per worker. A worker's send
returns only when it was taken, so memory stays bounded whatever the log's length; a worker that
dies ends its pipe, and the read fails with a message saying to run it again. Workers are started
with ``spawn``: this process's Kafka clients and RocksDB handles never cross a fork.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from pynenc_kafka.audit.log_reader import LogReader, LogReadError, OffsetRange
from pynenc_kafka.audit.replay_worker import WorkerTask

#: The ``--workers`` option's help, for every command that reads in workers.
WORKERS_HELP = (
    "worker processes decoding partitions in parallel (default: one per core plus one, at most one "
    "per partition; 1: none)"
)


def default_workers(partitions: int) -> int:
    """Worker processes for ``partitions`` partitions with something to read.

    One per partition up to the cores plus one, so an uneven split of partitions among the
    workers still keeps every core busy (the writer takes a share of one).
    """
    return max(1, min(partitions, (os.cpu_count() or 1) + 1))


def workers_for(reader: LogReader, todo: OffsetRange, wanted: int | None) -> int:
    """Worker processes for ``todo``: 1 (this process) for one partition or a reader without options."""
    partitions = len(todo.pending())
    if partitions < 2 or reader.consumer_config is None:
        return 1
    return max(1, min(default_workers(partitions) if wanted is None else wanted, partitions))


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


def run_workers(
    target: Callable[[WorkerTask, Connection], None],
    reader: LogReader,
    app_id: str,
    todo: OffsetRange,
    workers: int,
    batch_size: int,
    take: Callable[[Any], object],
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Read ``todo`` in ``workers`` processes running ``target``; pass what they send to ``take``.

    :param target: The worker's function (module level: it is imported by the spawned process).
    :param LogReader reader: The reader of the app's log (its consumer options are the workers').
    :param str app_id: The app.
    :param OffsetRange todo: What to read.
    :param int workers: Worker processes.
    :param int batch_size: Records per read batch of a worker.
    :param take: Called in this process with each batch's conversion, in each worker's order.
    :param on_progress: Called after each batch with (records read, records to read).
    :return: The records read.
    :raises LogReadError: If a worker failed (its error, when it could be sent).
    """
    assert reader.consumer_config is not None, "reading in workers needs the reader's consumer options"
    # Callbacks (librdkafka's logger of this process) stay here: a worker's consumer logs as librdkafka does.
    options = {k: v for k, v in reader.consumer_config.items() if isinstance(v, str | int | float | bool)}
    context = multiprocessing.get_context("spawn")
    processes, pipes = [], []
    try:
        for share in split_partitions(todo, workers):
            task = WorkerTask(
                options,
                reader.topic,
                reader.partitions,
                reader.timeout,
                reader.describe,
                app_id,
                share,
                batch_size,
            )
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(target=target, args=(task, sending), daemon=True)
            process.start()
            sending.close()  # the worker holds it now: its death reads here as the pipe's end
            processes.append(process)
            pipes.append(receiving)
        return _take_all(pipes, take, todo.total, on_progress)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        for pipe in pipes:
            pipe.close()


def _take_all(
    pipes: list[Connection],
    take: Callable[[Any], object],
    total: int,
    on_progress: Callable[[int, int], None] | None,
) -> int:
    """Take what the workers send until each said it is done; return the records read."""
    done, running = 0, list(pipes)
    while running:
        for pipe in wait(running):
            assert isinstance(pipe, Connection)
            try:
                kind, body = pipe.recv()
            except EOFError:
                raise LogReadError(
                    "a worker process died before it finished reading; run the command again (a replay "
                    "resumes from its checkpoint)"
                ) from None
            if kind == "data":
                records, converted = body
                take(converted)
                done += records
                if on_progress is not None:
                    on_progress(done, total)
            elif kind == "done":
                running.remove(pipe)
            else:
                raise body
    return done
