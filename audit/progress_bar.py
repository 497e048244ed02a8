"""A one-line progress bar for long reads of the log: done/total, events per second, ETA.

It draws only on a terminal, so logs and pipes stay clean.
"""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 28


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """Redraws one line of ``stream`` at most every ``interval`` seconds.

    :param TextIO stream: Where to draw (usually stderr).
    :param str label: What is progressing, e.g. ``"replay"``.
    :param enabled: Draw or not; ``None`` draws only when ``stream`` is a terminal.
    :param float interval: Seconds between redraws at least.
    """

    def __init__(
        self, stream: TextIO, label: str, enabled: bool | None = None, interval: float = 0.2
    ) -> None:
        self._stream = stream
        self._label = label
        self.enabled = stream.isatty() if enabled is None else enabled
        self._interval = interval
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        """Report progress: ``done`` of ``total`` events."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at < self._interval and done < total:
            return
        self._drawn_at = now
        self._stream.write("\r" + self.render(done, total, now - self._started) + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    def render(self, done: int, total: int, elapsed: float) -> str:
        """The bar's text for ``done`` of ``total`` after ``elapsed`` seconds."""
        fraction = min(1.0, done / total) if total else 1.0
        filled = int(fraction * _WIDTH)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = _duration((total - done) / rate) if rate > 0 else "?"
        bar = "#" * filled + "." * (_WIDTH - filled)
        return (
            f"{self._label} [{bar}] {fraction:4.0%} {done:,}/{total:,} events {rate:,.0f} events/s ETA {eta}"
        )

    def close(self) -> None:
        """Erase the bar, leaving the line for the summary."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False
