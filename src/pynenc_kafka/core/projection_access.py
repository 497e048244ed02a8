"""How the backend uses its projection: held open while read, reopened when replaced, behind the barrier.

A fact that never changes once written is served at once when present (:meth:`ProjectionAccess.immutable`),
and so is a row in a state no event can leave (:meth:`ProjectionAccess.settled`); anything else is
read after the read barrier (:meth:`ProjectionAccess.fresh`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from pynenc_kafka.core.app_projection import (
    AppProjection,
    AppSpec,
    ProjectionClosedError,
    ProjectionReplacedError,
)
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.producers.publisher import Position
from pynenc_kafka.projections.errors import DamagedProjectionError, LogRewoundError
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.schemas.topology import partition_for

#: Times a call opens the projection again when it was replaced under it.
_REOPENS = 5


class ProjectionAccess:
    """One backend's access to its app's projection in this process.

    :param AppSpec spec: The app and where its projection lives.
    """

    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self._opened: AppProjection | None = None

    @property
    def projection(self) -> AppProjection:
        """This app's projection in this process (opened, and topics created, on first use)."""
        opened = self._opened
        if opened is None or opened.closing or opened.pid != os.getpid():
            opened = self._opened = RUNTIME.app(self.spec)
        return opened

    def use[T](self, work: Callable[[AppProjection], T]) -> T:
        """Run ``work`` on the projection, held open meanwhile.

        A projection closed under us, or replaced (rebuilt, or its topic created again), is opened
        again and ``work`` retried. Views found damaged fail the call with a clear error and are
        rebuilt from the log before the next one: never a partial answer.
        """
        for _ in range(_REOPENS):
            projection = self.projection
            try:
                projection.acquire()
            except ProjectionClosedError as exc:
                RUNTIME.discard(projection, replaced=isinstance(exc, ProjectionReplacedError))
                continue
            try:
                return work(projection)
            except (ProjectionReplacedError, LogRewoundError):
                pass
            except DamagedProjectionError:
                projection.layout.mark_damaged()
                projection.retire()
                raise
            finally:
                projection.release()
            RUNTIME.discard(projection, replaced=True)
        raise ProjectionClosedError(
            f"the projection of {self.spec.topics.events} kept being replaced; try again"
        )

    def immutable[T](self, aggregate_key: str | None, read: Callable[[ViewStore], T | None]) -> T | None:
        """A fact that never changes once written: served at once when present, else after the barrier
        of its aggregate's partition (of every partition when the key is not known)."""
        return self.settled(aggregate_key, read, lambda found: found is not None)

    def settled[T](
        self, aggregate_key: str | None, read: Callable[[ViewStore], T], final: Callable[[T], bool]
    ) -> T:
        """``read`` at once when what the views hold is ``final`` (no later event can change it),
        else after the barrier of its aggregate's partition (of every partition when the key is not known)."""

        def look(projection: AppProjection) -> T:
            found = read(projection.store)
            if not final(found):
                partitions = (
                    None
                    if aggregate_key is None
                    else [partition_for(aggregate_key, projection.log.partitions)]
                )
                projection.barrier.wait(partitions)
                found = read(projection.store)
            return found

        return self.use(look)

    def after_written[T](self, positions: Sequence[Position], read: Callable[[ViewStore], T]) -> T:
        """``read`` once the projection applied this process's own writes at ``positions``: the
        outcome of a request decided in log order (no need to ask Kafka where the log ends)."""

        def look(projection: AppProjection) -> T:
            ends: dict[int, int] = {}
            for position in positions:
                ends[position.partition] = max(ends.get(position.partition, 0), position.offset + 1)
            projection.barrier.wait_for_written(ends)
            return read(projection.store)

        return self.use(look)

    def fresh[T](self, read: Callable[[ViewStore], T], aggregate_key: str | None = None) -> T:
        """``read`` after the barrier: of one aggregate's partition, or of all."""

        def look(projection: AppProjection) -> T:
            partitions = (
                None if aggregate_key is None else [partition_for(aggregate_key, projection.log.partitions)]
            )
            projection.barrier.wait(partitions)
            return read(projection.store)

        return self.use(look)
