"""Rows staged away from the store: what a replay worker process builds and the writer process writes.

A RocksDB folder has one writer, so a parallel replay decodes and builds rows in worker processes
and sends them to the process that holds the store. :class:`StagedRows` stands in for a
:class:`~pynenc_kafka.projections.store.ViewBatch` while the views' row writers stage their rows
(the same functions the live projector calls, so the rows are the same bytes), and a
:class:`RowChunk` carries one partition's stretch of them, with what the checkpoint needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynenc_kafka.projections.store import View, ViewBatch

#: A view's index in :data:`VIEWS`: rows cross processes with it rather than the enum member.
VIEWS: tuple[View, ...] = tuple(View)
_INDEX = {view: index for index, view in enumerate(VIEWS)}


class StagedRows(ViewBatch):
    """A :class:`ViewBatch` with no store: it keeps the rows, ``(view index, key, value)``.

    A purge (:meth:`clear`) is never staged here: the writer process applies it.
    """

    __slots__ = ("rows",)

    def __init__(self) -> None:  # no store, no RocksDB batch
        self.rows: list[tuple[int, bytes, bytes]] = []

    def put(self, view: View, key: bytes, value: bytes = b"") -> None:
        """Stage one row of ``view``."""
        self.rows.append((_INDEX[view], key, value))

    def clear(self, view: View) -> None:
        """Refused: purges are the writer's business (see :class:`RowChunk`)."""
        raise NotImplementedError("a purge is applied by the writer process, not staged")


@dataclass
class RowChunk:
    """Consecutive records of one partition, decoded into rows.

    :param int partition: The partition.
    :param int next_offset: The offset after the chunk's last record.
    :param int records: Records the chunk covers.
    :param list rows: The rows, ``(view index, key, value)``, in log order.
    :param int applied: Events of the app among the records.
    :param list skipped: Records skipped: ``(offset, why)``.
    :param dict kinds: Applied events per kind name.
    :param purge: The payload of a ``Purged`` marker the chunk ends with (its rows come before
        it), or ``None``.
    :param decision: An event the chunk ends with whose rows are a decision on the state the
        events before it left (``(kind, payload, offset)``; see ``views.DECIDERS``): only the one
        writer, which holds that state, can make it. ``None`` if none.
    """

    partition: int
    next_offset: int = 0
    records: int = 0
    rows: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    applied: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    purge: dict[str, Any] | None = None
    decision: tuple[str, dict[str, Any], int] | None = None
