"""The RocksDB that holds an app's views, one column family per view.

One process per host and app opens it as the primary (the projector writes);
every other process opens it as a RocksDB secondary and catches up on demand.
What each view's rows look like is written down once, writer beside reader, in
:mod:`pynenc_kafka.projections.views`; this module only stores bytes.

Every scan checks its iterator's status when it stops: RocksDB ends an iteration
silently at a damaged block, and a scan that stopped there would be a partial answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from rocksdict import AccessType, Options, Rdict, WriteBatch

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.errors import DamagedProjectionError, ProjectionFolderError
from pynenc_kafka.projections.row_json import dump, load

__all__ = ["STATE_VIEWS", "View", "ViewBatch", "ViewStore", "dump"]


class View(StrEnum):
    """Column families of a projection; the value says what a row's key is."""

    INVOCATIONS = "invocations"  # invocation id -> invocation JSON
    CALLS = "calls"  # call id key -> serialized arguments JSON
    CHILDREN = "children"  # parent id \0 child id
    BY_PARENT_EVENT = "by_parent_event"  # trigger event id \0 invocation id
    BY_WORKFLOW = "by_workflow"  # workflow id \0 invocation id
    BY_WORKFLOW_TYPE = "by_workflow_type"  # workflow type key \0 invocation id
    HISTORY = "history"  # invocation id \0 time \0 position -> entry JSON
    HISTORY_BY_TIME = "history_by_time"  # time position invocation id -> entry JSON
    RESULTS = "results"  # invocation id -> serialized result
    EXCEPTIONS = "exceptions"  # invocation id -> serialized exception
    WORKFLOW_RUNS = "workflow_runs"  # workflow id -> identity JSON
    WORKFLOW_TYPES = "workflow_types"  # workflow type key
    WORKFLOW_RUNS_BY_TYPE = "workflow_runs_by_type"  # type key \0 workflow id
    WORKFLOW_DATA = "workflow_data"  # workflow id \0 data key -> serialized value
    SUB_INVOCATIONS = "sub_invocations"  # workflow id \0 sub-invocation id
    RUNNER_CONTEXTS = "runner_contexts"  # runner id -> context JSON
    APP_INFO = "app_info"  # app id -> AppInfo JSON
    ORCH_INVOCATIONS = "orch_invocations"  # invocation id -> orchestration row JSON
    ORCH_INDEX = "orch_index"  # index name \0 value(s) \0 invocation id (see views/orchestration.py)
    ORCH_OUTCOMES = "orch_outcomes"  # transition request id -> outcome JSON
    ORCH_BLOCKING = "orch_blocking"  # blocking control's graph (see views/blocking.py)
    ATOMIC_SERVICE = "atomic_service"  # atomic-service executions (see views/atomic_service.py)
    CLIENT_DATA = "client_data"  # content-hash reference key -> serialized value
    TRIGGERS = "triggers"  # trigger table \0 row id -> row (see views/triggers.py)
    CHECKPOINT = "checkpoint"  # see ProjectionCheckpoint


class ViewBatch:
    """Rows staged for one atomic write of a :class:`ViewStore`: blind puts, never a read.

    :param ViewStore store: The store the batch will be written to.
    """

    __slots__ = ("batch", "_handles")

    def __init__(self, store: ViewStore) -> None:
        self.batch = WriteBatch(raw_mode=True)
        self._handles = store.handles()

    def put(self, view: View, key: bytes, value: bytes = b"") -> None:
        """Stage one row of ``view`` (a set member when ``value`` is empty)."""
        self.batch.put(key, value, self._handles[view])

    def delete(self, view: View, key: bytes) -> None:
        """Stage the deletion of one row of ``view``."""
        self.batch.delete(key, self._handles[view])

    def clear(self, view: View) -> None:
        """Stage the deletion of every row of ``view``."""
        self.batch.delete_range(b"", keys.END, self._handles[view])


#: Views of the client data store: its purge empties them, and only them.
CLIENT_DATA_VIEWS = (View.CLIENT_DATA,)
#: Views of the orchestrator: its purge empties them, and only them.
ORCHESTRATION_VIEWS = (
    View.ORCH_INVOCATIONS,
    View.ORCH_INDEX,
    View.ORCH_OUTCOMES,
    View.ORCH_BLOCKING,
    View.ATOMIC_SERVICE,
)
#: Views of the trigger: its purge empties them, and only them.
TRIGGER_VIEWS = (View.TRIGGERS,)
#: Views of the state backend: its purge empties them; the other components' views and the
#: checkpoint survive it.
STATE_VIEWS = tuple(
    v
    for v in View
    if v is not View.CHECKPOINT and v not in CLIENT_DATA_VIEWS + ORCHESTRATION_VIEWS + TRIGGER_VIEWS
)
#: The views a purge of each scope empties (a marker from before scopes is the state's).
PURGE_SCOPES: dict[str, tuple[View, ...]] = {
    "state": STATE_VIEWS,
    "client_data": CLIENT_DATA_VIEWS,
    "orchestration": ORCHESTRATION_VIEWS,
    "trigger": TRIGGER_VIEWS,
}


def purged_views(marker: dict[str, Any]) -> tuple[View, ...] | None:
    """The views a completed purge empties, or ``None`` for a scope this version does not know (a
    newer writer's): dropping views it was not meant for would lose data nobody purged."""
    return PURGE_SCOPES.get(marker.get("scope") or "state")


#: Every view the events write (all but the checkpoint): what a replay must rebuild row for row.
PROJECTED_VIEWS = STATE_VIEWS + CLIENT_DATA_VIEWS + ORCHESTRATION_VIEWS + TRIGGER_VIEWS


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    opts.set_write_buffer_size(4 << 20)
    opts.set_keep_log_file_num(2)
    opts.set_max_log_file_size(1 << 20)
    opts.set_is_fd_close_on_exec(True)
    # RocksDB loads table handles with up to 16 threads it starts for the purpose, per column
    # family, each time a secondary opens or catches up with the primary: with 19 column families
    # that made every catch-up ~12 ms of thread starts. The views' tables are few and small, so
    # the calling thread loads them (see the README's figures).
    opts.set_max_file_opening_threads(1)
    return opts


class ViewStore:
    """An app's views in one RocksDB.

    :param Path path: The projection folder.
    :param secondary_path: Private folder for a secondary instance; ``None`` opens the primary.
    :param bool read_only: Open for reading only (a replayed folder inspected as of a moment).
    """

    def __init__(self, path: Path, secondary_path: Path | None = None, read_only: bool = False) -> None:
        self.path = path
        self.is_secondary = secondary_path is not None
        try:
            path.mkdir(parents=True, exist_ok=True)
            if secondary_path is not None:
                secondary_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectionFolderError(
                f"cannot use {exc.filename or path} as a projection folder ({exc.strerror or exc}); "
                "point PYNENC__KAFKA_PROJECTION_DIR at a folder this process may write"
            ) from exc
        if secondary_path is not None:
            access = AccessType.secondary(str(secondary_path))
        elif read_only:
            access = AccessType.read_only(False)
        else:
            access = AccessType.read_write()
        try:
            self._db = Rdict(
                str(path), _options(), column_families={v.value: _options() for v in View}, access_type=access
            )
        except Exception as exc:  # rocksdict raises a bare Exception with RocksDB's status
            raise _open_error(path, exc) from exc
        self._families = {v: self._db.get_column_family(v.value) for v in View}
        self._handles = {v: self._db.get_column_family_handle(v.value) for v in View}

    def handles(self) -> dict[View, Any]:
        """The column family handles, for a :class:`ViewBatch` (use them, don't keep them)."""
        return self._handles

    def get(self, view: View, key: bytes) -> bytes | None:
        """One row's value, or ``None``.

        :raises DamagedProjectionError: If RocksDB could not read it (a damaged block).
        """
        try:
            value = self._families[view].get(key)
        except Exception as exc:  # rocksdict raises a bare Exception with RocksDB's status
            raise self._damaged(view, exc) from exc
        return None if value is None else bytes(value)

    def get_json(self, view: View, key: bytes) -> Any:
        """One row's value parsed as JSON, or ``None``."""
        value = self.get(view, key)
        return None if value is None else load(value)

    def _damaged(self, view: View, exc: Exception) -> DamagedProjectionError:
        return DamagedProjectionError(
            f"reading view {view.value!r} of the projection {self.path} failed: {exc}; the folder is "
            "damaged: delete it and it is rebuilt from the log"
        )

    def scan(self, view: View, start: bytes = b"", end: bytes = keys.END) -> Iterator[tuple[bytes, bytes]]:
        """Rows with ``start <= key < end``, in key order.

        :raises DamagedProjectionError: If RocksDB stopped the scan on an error (a damaged block).
        """
        rows = self._families[view].iter()
        rows.seek(start)
        while rows.valid():
            key = rows.key()
            if key >= end:
                return
            yield key, rows.value()
            rows.next()
        try:
            rows.status()
        except Exception as exc:  # rocksdict raises a bare Exception with RocksDB's status
            raise self._damaged(view, exc) from exc

    def scan_prefix(self, view: View, key_prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Rows whose key starts with ``key_prefix``, in key order."""
        return self.scan(view, key_prefix, key_prefix + keys.END)

    def count(self, view: View) -> int:
        """Number of rows of a view (a full scan: for tests and tools)."""
        return sum(1 for _ in self.scan(view))

    def new_batch(self) -> ViewBatch:
        """An empty atomic batch for :meth:`write`."""
        return ViewBatch(self)

    def write(self, batch: ViewBatch) -> None:
        """Apply a batch atomically: all of it or none of it survives a crash."""
        self._db.write(batch.batch)

    def catch_up(self) -> None:
        """Secondary only: read what the primary wrote since the last call."""
        self._db.try_catch_up_with_primary()

    def close(self) -> None:
        """Close the database and release its lock; the store is unusable afterwards.

        Column family objects keep RocksDB open, so none may outlive this call: the store
        holds the only ones, and hands out handles for immediate use only.
        """
        self._families.clear()
        self._handles.clear()
        self._db.close()


def _open_error(path: Path, exc: Exception) -> DamagedProjectionError | ProjectionFolderError:
    """What RocksDB's refusal to open ``path`` means: damaged files, or a folder we cannot use."""
    text = str(exc)
    if any(mark in text for mark in ("Corruption", "No such file", "MANIFEST", "checksum")):
        return DamagedProjectionError(
            f"the projection {path} cannot be opened: {text}; the folder is damaged: delete it and it "
            "is rebuilt from the log"
        )
    return ProjectionFolderError(f"the projection {path} cannot be opened: {text}")
