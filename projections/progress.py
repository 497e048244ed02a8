"""How far a projection has applied the log, observable by waiting readers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping


class ProjectionProgress:
    """Next offsets applied per partition; readers wait for targets.

    In the projecting process the projector calls :meth:`advance` after every batch.
    In a reading process ``refresh`` catches the RocksDB secondary up and returns the
    stored offsets; waiting then polls it.

    :param dict initial: Next offsets already applied when the projection opened.
    :param refresh: Reads fresh offsets from elsewhere (secondary instances), or ``None``.
    """

    POLL_SECONDS = 0.0002

    def __init__(
        self, initial: Mapping[int, int], refresh: Callable[[], Mapping[int, int]] | None = None
    ) -> None:
        self._next = dict(initial)
        self._refresh = refresh
        self._changed = threading.Condition()

    def snapshot(self) -> dict[int, int]:
        """The next offset to apply of each partition seen so far."""
        with self._changed:
            return dict(self._next)

    def current(self) -> dict[int, int]:
        """Like :meth:`snapshot`, after catching up first where the offsets come from elsewhere."""
        if self._refresh is not None:
            self.advance(self._refresh())
        return self.snapshot()

    def advance(self, next_offsets: Mapping[int, int]) -> None:
        """Record newly applied offsets and wake waiting readers."""
        with self._changed:
            self._next.update(next_offsets)
            self._changed.notify_all()

    def reached(self, targets: Mapping[int, int]) -> bool:
        """Whether every partition's next offset is at least its target."""
        with self._changed:
            return all(self._next.get(p, 0) >= end for p, end in targets.items())

    def wait_for(self, targets: Mapping[int, int], timeout: float) -> bool:
        """Block until :meth:`reached` or the timeout; return whether it was reached.

        :param targets: Partition -> end offset the reader needs applied.
        :param float timeout: Seconds to wait at most.
        """
        deadline = time.monotonic() + timeout
        if self._refresh is not None:
            poll = self.POLL_SECONDS
            while True:
                self.advance(self._refresh())
                if self.reached(targets):
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(poll)
                poll = min(poll * 2, 0.05)
        with self._changed:
            return self._changed.wait_for(
                lambda: all(self._next.get(p, 0) >= end for p, end in targets.items()),
                max(0.0, deadline - time.monotonic()),
            )
