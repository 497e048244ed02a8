"""What the read side reports as it works, for whoever watches (the glue wires Prometheus to it).

The read side imports nothing but the contract, so it does not know how its figures are
exported: it calls a :class:`ProjectionObserver`, and :data:`UNOBSERVED` when nobody watches.
Calls happen once per applied batch or per barrier wait, never on a read that hits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ProjectionObserver(Protocol):
    """Receives what one app's projection did."""

    def applied(self, kinds: Mapping[str, int]) -> None:
        """A batch was applied: how many events of each kind (``"ResultSet"``: 3)."""

    def skipped(self, count: int) -> None:
        """``count`` records were skipped (not our events: foreign or undecodable bytes)."""

    def barrier_waited(self, seconds: float, timed_out: bool) -> None:
        """A read waited ``seconds`` at the read barrier; ``timed_out`` if it gave up."""


class _Unobserved:
    """Nobody watches: every report is dropped."""

    def applied(self, kinds: Mapping[str, int]) -> None:
        """Dropped."""

    def skipped(self, count: int) -> None:
        """Dropped."""

    def barrier_waited(self, seconds: float, timed_out: bool) -> None:
        """Dropped."""


#: The observer of projections nobody watches (replays, tests).
UNOBSERVED: ProjectionObserver = _Unobserved()
