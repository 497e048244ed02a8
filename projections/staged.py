"""Reads of a projection as the batch being staged will leave it.

Most views are written blind: an event's rows depend on the event alone. A *decision* (may this
invocation move to RUNNING?) depends on the state the events before it left, including those
earlier in the same batch, which RocksDB has not seen yet. :class:`StagedView` answers reads from
the rows staged so far, then from the store, so a decision made in the middle of a batch sees
exactly the state a one-event-at-a-time apply would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore

#: What a staged row holds: its new value, or ``None`` for a staged deletion.
_Staged = bytes | None


class StagedView:
    """A :class:`ViewBatch` that can be read back, through to its :class:`ViewStore`.

    :param ViewStore store: The projection the batch will be written to.
    :param ViewBatch batch: The batch being staged.
    """

    __slots__ = ("store", "batch", "_rows", "_cleared")

    def __init__(self, store: ViewStore, batch: ViewBatch) -> None:
        self.store = store
        self.batch = batch
        self._rows: dict[View, dict[bytes, _Staged]] = {}
        self._cleared: set[View] = set()

    def put(self, view: View, key: bytes, value: bytes = b"") -> None:
        """Stage one row, visible to the reads that follow."""
        self.batch.put(view, key, value)
        self._rows.setdefault(view, {})[key] = value

    def delete(self, view: View, key: bytes) -> None:
        """Stage the deletion of one row, visible to the reads that follow."""
        self.batch.delete(view, key)
        self._rows.setdefault(view, {})[key] = None

    def clear(self, view: View) -> None:
        """Stage the deletion of every row of ``view``: reads no longer reach the store's rows."""
        self.batch.clear(view)
        self._rows.pop(view, None)
        self._cleared.add(view)

    def get(self, view: View, key: bytes) -> bytes | None:
        """A row as the batch leaves it, or ``None``."""
        staged = self._rows.get(view)
        if staged is not None and key in staged:
            return staged[key]
        return None if view in self._cleared else self.store.get(view, key)

    def scan_prefix(self, view: View, key_prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Rows whose key starts with ``key_prefix`` as the batch leaves them, in key order."""
        merged: dict[bytes, _Staged] = {}
        if view not in self._cleared:
            merged.update(self.store.scan_prefix(view, key_prefix))
        end = key_prefix + keys.END
        merged.update((k, v) for k, v in self._rows.get(view, {}).items() if key_prefix <= k < end)
        for key in sorted(merged):
            value = merged[key]
            if value is not None:
                yield key, value
