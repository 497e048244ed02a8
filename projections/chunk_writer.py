"""Writing :class:`RowChunk` s that worker processes built: the store's one writer in a parallel replay.

It does what the :class:`~pynenc_kafka.projections.writer.ViewWriter` does with the rows its
records give: each call's rows and the checkpoint after them are one RocksDB WriteBatch, skipped
records are counted and logged with their partition and offset, and a ``Purged`` marker holds
its partition (its later chunks wait here) until every partition's marker arrived; then the
views are emptied in the same batch and the held chunks follow, in partition order. Pending
purges are part of the checkpoint, so a resumed replay holds the same partitions again.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from pynenc_kafka.projections.checkpoint import CheckpointState, ProjectionCheckpoint
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.staged_rows import VIEWS, RowChunk
from pynenc_kafka.projections.store import ViewStore, purged_views
from pynenc_kafka.projections.views import DECIDERS
from pynenc_kafka.projections.writer import unknown_purge_scope
from pynenc_kafka.schemas.kinds import EventKind

logger = logging.getLogger("pynenc_kafka.projector")


class ChunkWriter:
    """Applies row chunks of one app's log to its :class:`ViewStore` (opened as primary).

    :param ViewStore store: The projection.
    :param str topic: The app's log, named in warnings.
    :param str app_id: The app (the decisions are made for it).
    """

    def __init__(self, store: ViewStore, topic: str, app_id: str) -> None:
        self.store = store
        self.topic = topic
        self.app_id = app_id
        self._checkpoint = ProjectionCheckpoint(store)
        #: Where the projection stands; updated by every :meth:`apply`.
        self.state: CheckpointState = self._checkpoint.load()
        self._held: dict[int, list[RowChunk]] = {
            p: [] for ps in self.state.pending_purges.values() for p in ps
        }

    def apply(self, chunks: list[RowChunk]) -> int:
        """Write ``chunks`` (each partition's in log order) and the checkpoint in one WriteBatch.

        :return: Records the chunks covered (held ones included: they were read).
        """
        batch = self.store.new_batch()
        staged = StagedView(self.store, batch)
        put, handles = batch.batch.put, self.store.handles()
        family = [handles[view] for view in VIEWS]
        state, touched = self.state, set()
        work = deque(chunks)
        while work:
            chunk = work.popleft()
            p = chunk.partition
            if p in self._held:
                self._held[p].append(chunk)
                continue
            for view, key, value in chunk.rows:
                put(key, value, family[view])
            touched.add(p)
            state.next_offsets[p] = chunk.next_offset
            state.applied[p] = state.applied.get(p, 0) + chunk.applied
            if chunk.skipped:
                state.skipped[p] = state.skipped.get(p, 0) + len(chunk.skipped)
                for offset, why in chunk.skipped:
                    logger.warning(
                        "skipped record at %s partition %d offset %d: %s", self.topic, p, offset, why
                    )
            if chunk.decision is not None:
                kind, payload, offset = chunk.decision
                DECIDERS[EventKind.of(kind)](staged, self.app_id, payload, p, offset)
            if chunk.purge is not None:
                released = self._marker(chunk.purge, p)
                if released is not None:
                    dropped = purged_views(chunk.purge)
                    if dropped is None:
                        unknown_purge_scope(self.topic, chunk.purge, p, chunk.next_offset - 1)
                    for purged in dropped or ():
                        staged.clear(purged)
                    work.extendleft(reversed(released))
        if touched:
            self._checkpoint.stage(batch, state, touched)
            self.store.write(batch)
        return sum(chunk.records for chunk in chunks)

    def _marker(self, payload: dict[str, Any], partition: int) -> list[RowChunk] | None:
        """Register a partition's marker; once all arrived, the held chunks to apply after the purge."""
        seen = self.state.pending_purges.setdefault(payload["purge_id"], [])
        if partition not in seen:
            seen.append(partition)
        if len(seen) < payload["partitions"]:
            self._held.setdefault(partition, [])
            return None
        del self.state.pending_purges[payload["purge_id"]]
        released: list[RowChunk] = []
        for held in sorted(self._held):
            released.extend(self._held.pop(held))
        return released
