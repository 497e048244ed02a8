"""The fleet's progress on the terminal: one line rewritten in place, or a line every few seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Tasks done so far and the rate.

    On a terminal the line is rewritten at every :meth:`update`; otherwise (a pipe, a CI log)
    a new line is printed at most every ``every`` seconds.

    :param total: the tasks the run will do.
    :param stream: where to write (default ``sys.stdout``).
    :param every: seconds between two lines when ``stream`` is not a terminal.
    """

    def __init__(self, total: int, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self.every = every
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()
        self._last_printed = self.started
        self._shown = False

    def text(self, done: int) -> str:
        """:param done: tasks finished so far.
        :return: the progress line, without a line end.
        """
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        return f"    {done}/{self.total} tasks done, {rate:.0f} tasks/s ({elapsed:.0f}s)"

    def update(self, done: int) -> None:
        """Show ``done`` if it is time to.

        :param done: tasks finished so far.
        """
        now = time.monotonic()
        if self.interactive:
            self.stream.write(f"\r\x1b[K{self.text(done)}")
            self._shown = True
        elif now - self._last_printed >= self.every:
            self.stream.write(f"{self.text(done)}\n")
            self._last_printed = now
        else:
            return
        self.stream.flush()

    def close(self) -> None:
        """Clear the line on a terminal, so what follows starts on a clean line."""
        if self.interactive and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
