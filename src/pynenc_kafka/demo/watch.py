"""Watch the fleet while the main thread waits for results: show progress, notice a dead worker."""

from __future__ import annotations

import _thread
import logging
import signal
import subprocess
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from pynenc_kafka.demo.fleet import DeadWorker, WorkerDied, first_dead
from pynenc_kafka.demo.progress import ProgressLine

logger = logging.getLogger("pynenc_kafka.demo")

#: The signal the watch simulates in the main thread to stop its wait for results.
INTERRUPT = signal.SIGUSR1


class FleetWatch:
    """A daemon thread that updates the progress line and checks the workers every ``interval``.

    A worker that exits while the fleet runs is a real failure: the main thread would wait for
    results that may never come, so the watch raises :class:`~pynenc_kafka.demo.fleet.WorkerDied`
    there (by simulating :data:`INTERRUPT`, whose handler it installs). Nothing is raised once
    :meth:`stop` began. :meth:`start` and :meth:`stop` must be called from the main thread.

    :param workers: the fleet's worker processes.
    :param count_done: returns how many tasks have finished.
    :param progress: the progress line to update.
    :param interval: seconds between two checks.
    """

    def __init__(
        self,
        workers: list[subprocess.Popen[bytes]],
        count_done: Callable[[], int],
        progress: ProgressLine,
        interval: float = 0.5,
    ) -> None:
        self.workers = workers
        self.count_done = count_done
        self.progress = progress
        self.interval = interval
        self.dead: DeadWorker | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fleet-watch", daemon=True)
        self._previous_handler: Callable[[int, FrameType | None], Any] | int | None = None

    def start(self) -> None:
        """Start watching."""
        self._previous_handler = signal.signal(INTERRUPT, self._raise_dead)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and clear the progress line; no :class:`WorkerDied` comes after this."""
        with self._lock:
            self._stop.set()
        self._thread.join()
        if self._previous_handler is not None:
            signal.signal(INTERRUPT, self._previous_handler)
        self.progress.close()

    def _raise_dead(self, signum: int, frame: FrameType | None) -> None:
        """The handler of :data:`INTERRUPT` in the main thread.

        :param signum: the signal.
        :param frame: where the main thread was.
        :raises WorkerDied: always, with the worker the watch found dead.
        """
        del signum, frame
        assert self.dead is not None
        raise WorkerDied(self.dead)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._stop.is_set():
                    return
                self.dead = first_dead(self.workers)
                if self.dead is not None:
                    _thread.interrupt_main(INTERRUPT)
                    return
            try:
                self.progress.update(self.count_done())
            except Exception:  # a progress line is not worth failing the run for
                logger.warning("could not count the finished tasks", exc_info=True)
