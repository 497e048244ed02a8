"""One worker process of the demo fleet: runs the app's runner until SIGTERM.

Its stdout and stderr are its log file (see :mod:`pynenc_kafka.demo.logs`): logging, warnings
and the tracebacks of failing tasks all go there.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, NoReturn

from pynenc_kafka.demo.logs import adopt_app_logger, log_to

if TYPE_CHECKING:
    from pynenc import Pynenc


def stop_with_parent(parent: int, interval: float = 1.0) -> None:
    """SIGTERM this process once its parent is gone, so that no worker outlives a killed fleet.

    The workers run in their own process group, so a signal to the demo's group misses them.

    :param parent: the pid of the process that started this one.
    :param interval: seconds between two checks.
    """
    while os.getppid() == parent:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)


def run_until_sigterm(app: Pynenc) -> NoReturn:
    """Run the app's runner until SIGTERM, then exit 0.

    The signal handler only starts pynenc's ``stop_runner_loop`` in a thread: it waits for the
    loop, which runs in this (the handler's) thread.

    :param app: the app whose runner to run.
    """

    def stop(signum: int, frame: object) -> None:
        del signum, frame
        threading.Thread(target=app.runner.stop_runner_loop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    app.runner.run()
    sys.exit(0)


def main() -> None:
    """Build the app from the environment and run its runner; stop it cleanly on SIGTERM."""
    log_to(sys.stderr)
    from pynenc_kafka.demo.tasks import app

    adopt_app_logger(app)
    threading.Thread(target=stop_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    run_until_sigterm(app)


if __name__ == "__main__":
    main()
