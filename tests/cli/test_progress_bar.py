"""The progress bar: drawn on a terminal with rate and ETA, silent elsewhere."""

from __future__ import annotations

import io

from pynenc_kafka.audit.progress_bar import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_shows_progress_rate_and_eta() -> None:
    bar = ProgressBar(io.StringIO(), "replay", enabled=True)
    text = bar.render(250_000, 1_000_000, 5.0)
    assert text.startswith("replay [#######.....................]  25% 250,000/1,000,000 events")
    assert "50,000 events/s" in text and text.endswith("ETA 0:00:15")


def test_the_bar_draws_on_a_terminal_and_erases_itself() -> None:
    terminal = _Terminal()
    bar = ProgressBar(terminal, "replay", interval=0)
    bar.update(5, 10)
    bar.update(10, 10)
    assert terminal.getvalue().count("\r") == 2 and "10/10 events" in terminal.getvalue()
    bar.close()
    assert terminal.getvalue().endswith("\r\x1b[K")


def test_the_bar_is_silent_off_a_terminal() -> None:
    pipe = io.StringIO()
    bar = ProgressBar(pipe, "replay", interval=0)
    bar.update(5, 10)
    bar.close()
    assert pipe.getvalue() == ""
