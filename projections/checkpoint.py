"""Where a projection stands in the log, stored in the same WriteBatch as the views.

Because offsets and view rows are written atomically, a crash never leaves views
ahead of or behind their offsets: a restart resumes exactly after the last applied
event, and re-applying is never needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pynenc_kafka.projections.errors import ForeignProjectionError, StaleProjectionError
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore, dump

_OFFSET = b"offset:"
_APPLIED = b"applied:"
_SKIPPED = b"skipped:"
_PENDING_PURGES = b"pending-purges"
_IDENTITY = b"identity"


def _p(kind: bytes, partition: int) -> bytes:
    return kind + partition.to_bytes(4, "big")


@dataclass
class CheckpointState:
    """A projection's position, per partition.

    :param dict next_offsets: The next offset to consume of each partition.
    :param dict applied: Events applied per partition, since the folder was created.
    :param dict skipped: Undecodable or foreign records skipped per partition.
    :param dict pending_purges: Purge id -> partitions whose marker was already applied.
    """

    next_offsets: dict[int, int] = field(default_factory=dict)
    applied: dict[int, int] = field(default_factory=dict)
    skipped: dict[int, int] = field(default_factory=dict)
    pending_purges: dict[str, list[int]] = field(default_factory=dict)


class ProjectionCheckpoint:
    """Reads and stages the checkpoint rows of a :class:`ViewStore`.

    :param ViewStore store: The projection.
    """

    def __init__(self, store: ViewStore) -> None:
        self._store = store

    def load(self) -> CheckpointState:
        """Read the stored position (empty for a new folder)."""
        state = CheckpointState()
        for kind, target in (
            (_OFFSET, state.next_offsets),
            (_APPLIED, state.applied),
            (_SKIPPED, state.skipped),
        ):
            for key, value in self._store.scan_prefix(View.CHECKPOINT, kind):
                target[int.from_bytes(key[len(kind) :], "big")] = int.from_bytes(value, "big")
        pending = self._store.get(View.CHECKPOINT, _PENDING_PURGES)
        state.pending_purges = json.loads(pending) if pending else {}
        return state

    @staticmethod
    def stage(batch: ViewBatch, state: CheckpointState, partitions: set[int]) -> None:
        """Add the position of ``partitions`` to ``batch``, to commit with the views.

        :param ViewBatch batch: The batch that also holds the view rows.
        :param CheckpointState state: The position after the batch.
        :param set partitions: Partitions the batch touched.
        """
        for p in partitions:
            batch.put(View.CHECKPOINT, _p(_OFFSET, p), state.next_offsets[p].to_bytes(8, "big"))
            batch.put(View.CHECKPOINT, _p(_APPLIED, p), state.applied.get(p, 0).to_bytes(8, "big"))
            batch.put(View.CHECKPOINT, _p(_SKIPPED, p), state.skipped.get(p, 0).to_bytes(8, "big"))
        batch.put(View.CHECKPOINT, _PENDING_PURGES, dump(state.pending_purges))

    def bind(self, cluster_id: str, topic: str, app_id: str, topic_id: str | None = None) -> None:
        """Claim a new folder for one app's log, or check that it already belongs to it.

        :param str cluster_id: The Kafka cluster's id.
        :param str topic: The log's name.
        :param str app_id: The app.
        :param topic_id: Kafka's id of the log; ``None`` (a reader that does not know it) accepts
            any log of that name.
        :raises StaleProjectionError: If the folder was built from an earlier topic of the same name.
        :raises ForeignProjectionError: If the folder holds another cluster's, topic's or app's views.
        """
        named = {"cluster_id": cluster_id, "topic": topic, "app_id": app_id}
        identity = named if topic_id is None else {**named, "topic_id": topic_id}
        stored = self._store.get(View.CHECKPOINT, _IDENTITY)
        if stored is None:
            if self._store.is_secondary:
                return
            batch = self._store.new_batch()
            batch.put(View.CHECKPOINT, _IDENTITY, dump(identity))
            self._store.write(batch)
            return
        try:
            found = json.loads(stored)
        except ValueError:
            found = None
        if found == identity:
            return
        if isinstance(found, dict) and {k: v for k, v in found.items() if k != "topic_id"} == named:
            if topic_id is None:
                return
            raise StaleProjectionError(
                f"projection folder {self._store.path} was built from an earlier topic {topic!r} (topic id "
                f"{found.get('topic_id', 'unknown')}), not from the one Kafka serves now (topic id {topic_id}): "
                "the topic was deleted and created again"
            )
        if found != identity:
            raise ForeignProjectionError(
                f"projection folder {self._store.path} holds views of {found}, not of {identity}; "
                "point PYNENC__KAFKA_PROJECTION_DIR elsewhere or delete the folder to rebuild it"
            )
