"""Replaying an app's log into a fresh projection folder: the views as of any point of the log.

A replay applies the log from its start with the same :class:`ViewWriter` the live projector
uses, so a replay to the live projection's own offsets equals the live views. It may stop at
per-partition offsets (the state as of a moment). The folder is marked as a replay of one app
(``pynenc-kafka-replay.json``); replaying again into it resumes from its checkpoint when the new
stop offsets are not behind it, and starts over otherwise, so replaying twice equals replaying once.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pynenc_kafka.audit.gc_pause import cyclic_gc_paused
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.audit.parallel_replay import replay_in_workers
from pynenc_kafka.audit.worker_processes import workers_for
from pynenc_kafka.projections.batch_codec import BatchEventCodec
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.chunk_writer import ChunkWriter
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.errors import KafkaBackendError

#: The file that marks a folder as a replay, beside RocksDB's own files.
MARKER_NAME = "pynenc-kafka-replay.json"

#: Records applied in one RocksDB WriteBatch during a replay.
REPLAY_BATCH = 20_000


class ReplayFolderError(KafkaBackendError):
    """The target folder is not empty and is not a replay of the same app."""


@dataclass(frozen=True)
class ReplaySource:
    """The log a replay reads.

    :param str cluster_id: The Kafka cluster's id.
    :param str topic: The app's event log.
    :param str app_id: The app.
    :param int partitions: The log's partition count.
    """

    cluster_id: str
    topic: str
    app_id: str
    partitions: int


@dataclass(frozen=True)
class ReplayMarker:
    """What a replay folder holds, as written to :data:`MARKER_NAME`.

    :param ReplaySource source: The log replayed.
    :param until: The moment replayed up to (ISO-8601), or ``None`` for the whole log.
    :param dict stop_offsets: Offsets the replay stopped before, per partition.
    :param bool complete: Whether the replay reached them.
    :param str written_at: When the marker was written (ISO-8601, UTC).
    """

    source: ReplaySource
    until: str | None
    stop_offsets: dict[int, int]
    complete: bool
    written_at: str

    def to_json(self) -> str:
        """The marker file's text."""
        body = asdict(self)
        body["stop_offsets"] = {str(p): o for p, o in self.stop_offsets.items()}
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReplayMarker:
        """Parse a marker file's text.

        :raises ValueError: If it is not a replay marker.
        """
        body = json.loads(text)
        try:
            return cls(
                source=ReplaySource(**body["source"]),
                until=body["until"],
                stop_offsets={int(p): int(o) for p, o in body["stop_offsets"].items()},
                complete=bool(body["complete"]),
                written_at=str(body["written_at"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a replay marker: {exc!r}") from exc


class ReplayFolder:
    """A folder holding one replayed projection.

    :param Path path: The folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.marker_path = path / MARKER_NAME

    def marker(self) -> ReplayMarker | None:
        """The folder's replay marker, or ``None`` if it has none (or it is unreadable)."""
        try:
            return ReplayMarker.from_json(self.marker_path.read_text())
        except (OSError, ValueError):
            return None

    def claim(self, source: ReplaySource) -> bool:
        """Check that the folder may receive a replay of ``source``; create it if missing.

        :return: Whether it already holds a replay of ``source``.
        :raises ReplayFolderError: If it holds anything else.
        """
        if self.path.exists() and not self.path.is_dir():
            raise ReplayFolderError(f"{self.path} is a file, not a folder: choose a new or empty folder")
        if not self.path.exists() or not any(self.path.iterdir()):
            self.path.mkdir(parents=True, exist_ok=True)
            return False
        marker = self.marker()
        if marker is None:
            raise ReplayFolderError(
                f"{self.path} is not empty and is not a pynenc-kafka replay (no {MARKER_NAME}): "
                "choose a new or empty folder"
            )
        if marker.source.app_id != source.app_id or marker.source.topic != source.topic:
            raise ReplayFolderError(
                f"{self.path} holds a replay of app {marker.source.app_id!r} ({marker.source.topic}), "
                f"not of {source.app_id!r}: choose another folder"
            )
        if marker.source.cluster_id != source.cluster_id:
            raise ReplayFolderError(
                f"{self.path} holds a replay of app {source.app_id!r} from cluster "
                f"{marker.source.cluster_id}, not {source.cluster_id}: choose another folder"
            )
        return True

    def wipe(self) -> None:
        """Delete a previous replay (only after :meth:`claim` recognised it)."""
        shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def mark(self, marker: ReplayMarker) -> None:
        """Write the marker atomically."""
        partial = self.marker_path.with_suffix(".tmp")
        partial.write_text(marker.to_json())
        partial.replace(self.marker_path)


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did.

    :param int records: Records read by this run.
    :param int applied: Events the folder's views hold, in all (its checkpoint's count).
    :param int skipped: Records skipped as undecodable or of another app, in all.
    :param float seconds: Duration of this run.
    :param bool resumed: Whether it continued a previous replay in the folder.
    :param dict next_offsets: The folder's checkpoint afterwards.
    """

    records: int
    applied: int
    skipped: int
    seconds: float
    resumed: bool
    next_offsets: dict[int, int]


class LogReplay:
    """Applies a stretch of an app's log to a replay folder.

    :param LogReader reader: Reads the app's log.
    :param ReplaySource source: The log.
    :param int batch_size: Records per RocksDB WriteBatch (per worker's read batch in parallel).
    :param workers: Worker processes decoding partitions in parallel (:mod:`parallel_replay`);
        ``None`` for one per core (at most one per partition), ``1`` for this process alone.
    """

    def __init__(
        self,
        reader: LogReader,
        source: ReplaySource,
        batch_size: int = REPLAY_BATCH,
        workers: int | None = None,
    ) -> None:
        self._reader = reader
        self.source = source
        self._batch_size = batch_size
        self._workers = workers
        self._codec = BatchEventCodec()

    def run(
        self,
        folder: Path,
        log: OffsetRange,
        until: datetime | None = None,
        fresh: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ReplayResult:
        """Replay ``log`` into ``folder``.

        :param Path folder: A new or empty folder, or a previous replay of the same app.
        :param OffsetRange log: From the log's first offsets up to the stop offsets.
        :param until: The moment ``log`` stops at, recorded in the marker.
        :param bool fresh: Start over even if the folder holds a replay it could resume.
        :param on_progress: Called after each batch with (records read, records to read).
        :raises ReplayFolderError: If the folder holds something else.
        """
        started = time.monotonic()
        target = ReplayFolder(folder)
        if target.claim(self.source) and (fresh or self._ahead_of(target, log.stop)):
            target.wipe()
        self._mark(target, log, until, complete=False)
        store = self._open(target)
        try:
            state = ProjectionCheckpoint(store).load()
            resumed = bool(state.next_offsets)
            start = {p: max(state.next_offsets.get(p, 0), low) for p, low in log.start.items()}
            todo = OffsetRange(start, log.stop)
            workers = workers_for(self._reader, todo, self._workers)
            if workers > 1:
                chunk_writer = ChunkWriter(store, self.source.topic, self.source.app_id)
                done = replay_in_workers(
                    self._reader,
                    self.source.app_id,
                    chunk_writer,
                    todo,
                    workers,
                    self._batch_size,
                    on_progress,
                )
                state = chunk_writer.state
            else:
                writer = ViewWriter(store, self.source.app_id, self.source.topic, self._codec)
                done = self._apply_here(writer, todo, on_progress)
                state = writer.state
            self._mark(target, log, until, complete=True)
            return ReplayResult(
                records=done,
                applied=sum(state.applied.values()),
                skipped=sum(state.skipped.values()),
                seconds=time.monotonic() - started,
                resumed=resumed,
                next_offsets=dict(state.next_offsets),
            )
        finally:
            store.close()

    def _apply_here(
        self, writer: ViewWriter, todo: OffsetRange, on_progress: Callable[[int, int], None] | None
    ) -> int:
        """Read and apply ``todo`` in this process; return the records read."""
        total, done = todo.total, 0
        with cyclic_gc_paused():
            for batch in self._reader.read(todo, self._batch_size):
                writer.apply(batch)
                done += len(batch)
                if on_progress is not None:
                    on_progress(done, total)
        return done

    def _open(self, target: ReplayFolder) -> ViewStore:
        store = ViewStore(target.path)
        try:
            src = self.source
            ProjectionCheckpoint(store).bind(src.cluster_id, src.topic, src.app_id)
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def _ahead_of(target: ReplayFolder, stop: dict[int, int]) -> bool:
        """Whether the replay in ``target`` applied records at or past ``stop`` (so it can't resume)."""
        if not (target.path / "CURRENT").exists():
            return False
        store = ViewStore(target.path, read_only=True)
        try:
            applied = ProjectionCheckpoint(store).load().next_offsets
        finally:
            store.close()
        return any(offset > stop.get(p, 0) for p, offset in applied.items())

    def _mark(self, target: ReplayFolder, log: OffsetRange, until: datetime | None, complete: bool) -> None:
        target.mark(
            ReplayMarker(
                source=self.source,
                until=None if until is None else until.isoformat(),
                stop_offsets=dict(log.stop),
                complete=complete,
                written_at=datetime.now(UTC).isoformat(),
            )
        )
