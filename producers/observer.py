"""What the write side reports as it works, for whoever watches (the glue wires Prometheus to it).

The write side imports nothing but the contract, so it does not know how its figures are
exported: the publisher calls a :class:`WriteObserver` once per publish call.
"""

from __future__ import annotations

from typing import Protocol


class WriteObserver(Protocol):
    """Receives how the process's writes went."""

    def acknowledged(self, seconds: float) -> None:
        """A publish call's records were all acknowledged ``seconds`` after it started."""

    def failed(self, cause: str) -> None:
        """A publish call failed; ``cause`` is one of :data:`WRITE_ERROR_CAUSES`."""


#: Why a write failed, as the publisher names it.
WRITE_ERROR_CAUSES = (
    "timeout",
    "queue_full",
    "too_large",
    "not_authorized",
    "unknown_topic",
    "not_confirmed",
)


class _Unobserved:
    """Nobody watches: every report is dropped."""

    def acknowledged(self, seconds: float) -> None:
        """Dropped."""

    def failed(self, cause: str) -> None:
        """Dropped."""


#: The observer of a publisher nobody watches.
UNOBSERVED: WriteObserver = _Unobserved()
