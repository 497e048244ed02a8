"""Where the fleet's output goes: one folder per run, the terminal keeps only progress and the summary.

``demo.log`` gets this process' logging (pynenc's, librdkafka's through ``pynenc_kafka.librdkafka``),
its warnings and the exceptions of its threads; ``worker-N.log`` gets everything a worker process
writes, including the tracebacks of the tasks that fail on purpose.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from pynenc import Pynenc

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger("pynenc_kafka.demo")


class RunLogs:
    """The log folder of one run.

    :param root: the folder of every run's logs.
    :param app_id: the run's app id, the name of its folder.
    """

    def __init__(self, root: Path, app_id: str) -> None:
        self.folder = root.expanduser() / app_id
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def demo(self) -> Path:
        """:return: the log of the process that submits the work."""
        return self.folder / "demo.log"

    def worker(self, index: int) -> Path:
        """:param index: the worker's number, from 1.
        :return: the stdout and stderr of that worker process.
        """
        return self.folder / f"worker-{index}.log"


def log_to(stream: TextIO) -> None:
    """Send this process' logging, warnings and its threads' uncaught exceptions to ``stream``.

    :param stream: an open text file (a worker passes its stderr, which is its log file).
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_exception
    sys.unraisablehook = _log_unraisable


def adopt_app_logger(app: Pynenc) -> None:
    """Make pynenc's app logger write where this process logs.

    pynenc gives its app logger a handler on the ``sys.stderr`` of the moment and stops it from
    propagating; this hands its records to the root logger's handlers instead.

    :param app: the app whose logger to adopt.
    """
    app.logger.handlers = []
    app.logger.propagate = True


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """:param args: what :data:`threading.excepthook` receives."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "a thread"
    logger.error("uncaught exception in %s", name, exc_info=args.exc_value or True)


def _log_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """:param unraisable: what :data:`sys.unraisablehook` receives."""
    message = unraisable.err_msg or "Exception ignored in"
    logger.error("%s: %r", message, unraisable.object, exc_info=unraisable.exc_value or True)
